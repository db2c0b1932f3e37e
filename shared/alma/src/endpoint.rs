//! The URLs of the Users API calls, with exactly the query parameters
//! patron-hub relies on.

use patron_hub_domain::alma::{AlmaError, PageSize, UserQuery};
use patron_hub_domain::{InstitutionCode, PrimaryId};
use reqwest::Url;

/// Code of the refusal of a primary id that cannot be a path segment.
const UNADDRESSABLE_PRIMARY_ID: &str = "UNADDRESSABLE_PRIMARY_ID";

/// An institution's `…/almaws/v1` root.
#[derive(Debug, Clone)]
pub(crate) struct UsersApi {
    root: Url,
}

impl UsersApi {
    /// The API under `base_url` (an absolute http(s) URL without query or
    /// fragment; a path prefix, e.g. of a proxy, is kept).
    pub(crate) fn new(base_url: &str) -> Option<Self> {
        let mut root = Url::parse(base_url.trim()).ok()?;
        let usable = matches!(root.scheme(), "http" | "https")
            && root.host_str().is_some()
            && root.query().is_none()
            && root.fragment().is_none()
            && root.username().is_empty()
            && root.password().is_none();
        if !usable {
            return None;
        }
        root.path_segments_mut()
            .ok()?
            .pop_if_empty()
            .extend(["almaws", "v1"]);
        Some(Self { root })
    }

    /// `GET /users/{id}`: the full record, by any unique identifier.
    pub(crate) fn get_user(&self, primary_id: &PrimaryId) -> Result<Url, AlmaError> {
        self.user(
            primary_id,
            &[
                ("user_id_type", "all_unique"),
                ("view", "full"),
                ("expand", "none"),
            ],
        )
    }

    /// `POST /users`: no letters, no registration rules, no social login.
    pub(crate) fn create_user(&self) -> Url {
        self.users(&[])
    }

    /// `POST /users` creating a linked copy of `primary_id` from `source`.
    pub(crate) fn create_linked_user(
        &self,
        source: &InstitutionCode,
        primary_id: &PrimaryId,
    ) -> Url {
        self.users(&[
            ("source_institution_code", source.as_str()),
            ("source_user_id", primary_id.as_str()),
        ])
    }

    /// `PUT /users/{id}`: roles recalculated, no letters, no registration rules.
    pub(crate) fn update_user(&self, primary_id: &PrimaryId) -> Result<Url, AlmaError> {
        self.user(
            primary_id,
            &[
                ("user_id_type", "all_unique"),
                ("recalculate_roles", "true"),
                ("send_pin_number_letter", "false"),
                ("registration_rules", "false"),
            ],
        )
    }

    /// `DELETE /users/{id}`.
    pub(crate) fn delete_user(&self, primary_id: &PrimaryId) -> Result<Url, AlmaError> {
        self.user(primary_id, &[("user_id_type", "all_unique")])
    }

    /// `GET /users`: one page of the list, `q` and `order_by` only when asked.
    pub(crate) fn list_users(&self, query: &UserQuery) -> Url {
        let mut url = self.users_path();
        {
            let mut pairs = url.query_pairs_mut();
            pairs
                .append_pair("limit", &query.limit.get().to_string())
                .append_pair("offset", &query.offset.to_string());
            if let Some(order) = query.order_by {
                pairs.append_pair("order_by", order.name());
            }
            if let Some(search) = &query.search {
                pairs.append_pair("q", &search.to_q());
            }
        }
        url
    }

    /// `GET /users?source_institution_code=…&source_user_id=…`: the linked
    /// copies of a user of `source`, in one page of the largest size.
    pub(crate) fn linked_copies(
        &self,
        source: &InstitutionCode,
        source_user_id: &PrimaryId,
    ) -> Url {
        let mut url = self.users_path();
        url.query_pairs_mut()
            .append_pair("limit", &PageSize::MAX.get().to_string())
            .append_pair("offset", "0")
            .append_pair("source_institution_code", source.as_str())
            .append_pair("source_user_id", source_user_id.as_str());
        url
    }

    /// `POST /users` with the write flags and `extra`.
    fn users(&self, extra: &[(&str, &str)]) -> Url {
        let mut url = self.users_path();
        url.query_pairs_mut()
            .append_pair("social_authentication", "false")
            .append_pair("send_pin_number_letter", "false")
            .append_pair("registration_rules", "false")
            .extend_pairs(extra);
        url
    }

    /// `…/users`, without a query.
    fn users_path(&self) -> Url {
        let mut url = self.root.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.push("users");
        }
        url
    }

    /// `/users/{id}` with the id as one percent-encoded path segment. `.` and
    /// `..` cannot be one (they would walk the path), so Alma cannot be asked
    /// about them.
    fn user(&self, primary_id: &PrimaryId, query: &[(&str, &str)]) -> Result<Url, AlmaError> {
        if matches!(primary_id.as_str(), "." | "..") {
            return Err(AlmaError::Rejected {
                status: 0,
                code: UNADDRESSABLE_PRIMARY_ID.to_owned(),
                message: format!("primary id {primary_id:?} cannot be a URL path segment"),
            });
        }
        let mut url = self.root.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(["users", primary_id.as_str()]);
        }
        url.query_pairs_mut().extend_pairs(query);
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use patron_hub_domain::alma::{SearchField, UserOrder, UserSearch};

    fn api(base: &str) -> UsersApi {
        UsersApi::new(base).expect("a usable base URL")
    }

    fn id(text: &str) -> PrimaryId {
        PrimaryId::parse(text).unwrap()
    }

    #[test]
    fn builds_each_call_with_its_exact_query() {
        let api = api("https://api-eu.hosted.exlibrisgroup.com");
        assert_eq!(
            api.get_user(&id("p1")).unwrap().as_str(),
            "https://api-eu.hosted.exlibrisgroup.com/almaws/v1/users/p1?user_id_type=all_unique&view=full&expand=none"
        );
        assert_eq!(
            api.create_user().as_str(),
            "https://api-eu.hosted.exlibrisgroup.com/almaws/v1/users?social_authentication=false&send_pin_number_letter=false&registration_rules=false"
        );
        assert_eq!(
            api.create_linked_user(&InstitutionCode::parse("DEMO_NETWORK").unwrap(), &id("p1")).as_str(),
            "https://api-eu.hosted.exlibrisgroup.com/almaws/v1/users?social_authentication=false&send_pin_number_letter=false&registration_rules=false&source_institution_code=DEMO_NETWORK&source_user_id=p1"
        );
        assert_eq!(
            api.update_user(&id("p1")).unwrap().as_str(),
            "https://api-eu.hosted.exlibrisgroup.com/almaws/v1/users/p1?user_id_type=all_unique&recalculate_roles=true&send_pin_number_letter=false&registration_rules=false"
        );
        assert_eq!(
            api.delete_user(&id("p1")).unwrap().as_str(),
            "https://api-eu.hosted.exlibrisgroup.com/almaws/v1/users/p1?user_id_type=all_unique"
        );
    }

    #[test]
    fn builds_the_list_and_the_linked_lookup() {
        let api = api("https://api-eu.hosted.exlibrisgroup.com");
        assert_eq!(
            api.list_users(&UserQuery::default()).as_str(),
            "https://api-eu.hosted.exlibrisgroup.com/almaws/v1/users?limit=100&offset=0"
        );
        let query = UserQuery {
            search: UserSearch::new(SearchField::JobCategory, "Prêt entre"),
            order_by: Some(UserOrder::PrimaryId),
            limit: PageSize::new(10).unwrap(),
            offset: 200,
        };
        assert_eq!(
            api.list_users(&query).as_str(),
            "https://api-eu.hosted.exlibrisgroup.com/almaws/v1/users?limit=10&offset=200&order_by=primary_id&q=job_category%7EPr%C3%AAt+entre"
        );
        assert_eq!(
            api.linked_copies(&InstitutionCode::parse("DEMO_NETWORK").unwrap(), &id("a&b")).as_str(),
            "https://api-eu.hosted.exlibrisgroup.com/almaws/v1/users?limit=100&offset=0&source_institution_code=DEMO_NETWORK&source_user_id=a%26b"
        );
    }

    #[test]
    fn the_id_is_one_encoded_path_segment() {
        let api = api("http://127.0.0.1:8081/");
        let url = api.delete_user(&id("a b?c#d%e&f")).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8081/almaws/v1/users/a%20b%3Fc%23d%25e&f?user_id_type=all_unique"
        );
        let linked = api.create_linked_user(&InstitutionCode::parse("Z").unwrap(), &id("a&b=c d"));
        assert_eq!(
            linked
                .query_pairs()
                .find(|(name, _)| name == "source_user_id")
                .unwrap()
                .1,
            "a&b=c d"
        );
    }

    #[test]
    fn dot_segments_are_refused_not_walked() {
        let api = api("http://127.0.0.1:8081");
        for dots in [".", ".."] {
            let refused = api.get_user(&id(dots)).unwrap_err();
            assert!(
                matches!(refused, AlmaError::Rejected { status: 0, ref code, .. } if code == UNADDRESSABLE_PRIMARY_ID)
            );
        }
        assert!(api
            .get_user(&id("..."))
            .unwrap()
            .path()
            .ends_with("/users/..."));
    }

    #[test]
    fn keeps_a_proxy_prefix_and_refuses_unusable_bases() {
        assert_eq!(
            api("https://proxy.example.org/alma/").create_user().path(),
            "/alma/almaws/v1/users"
        );
        for bad in [
            "",
            "api-eu.hosted.exlibrisgroup.com",
            "ftp://x.org",
            "https://x.org/?apikey=k",
            "https://u:p@x.org",
            "mailto:a@b.c",
        ] {
            assert!(UsersApi::new(bad).is_none(), "{bad}");
        }
    }
}
