//! Query strings of the listings: `page` and `limit` (400 `INVALID_PAGINATION`
//! when bad) and the `/people` filters, kept as given so the listing's links
//! can repeat them.

use super::error::invalid_parameter;
use crate::error::ApiError;
use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use patron_hub_domain::accounts::OrganizationId;
use patron_hub_domain::organizations::{PageRequest, PeopleQuery};

/// The `/people` e-mail filter's parameter name.
pub const SEARCH_EMAIL: &str = "search[email]";
/// The `/people` organization filter's parameter name.
pub const ORGANIZATION: &str = "organization";

/// Filters as `(parameter, value)` pairs, repeated in a listing's links.
pub type KeptFilters = Vec<(&'static str, String)>;

/// A listing's query parameters, in the order given.
pub struct ListQuery(Vec<(String, String)>);

/// What axum hands a handler for a listing's query string.
pub type RawQuery = Result<Query<Vec<(String, String)>>, QueryRejection>;

impl ListQuery {
    /// The parameters of a request, or 400 `INVALID_PARAMETER` for a query
    /// string that cannot be decoded.
    pub fn from_request(query: RawQuery) -> Result<Self, ApiError> {
        let Query(pairs) = query.map_err(|rejection| invalid_parameter(rejection.body_text()))?;
        Ok(Self(pairs))
    }

    /// The first value of `name`, trimmed, if given (even empty: a typed
    /// parameter given without a value is refused, never taken as absent).
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
    }

    /// The first value of the text filter `name`, if given and not blank.
    fn text(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|value| !value.is_empty())
    }

    /// The page asked for (defaults page 1, limit 10; limit at most 100); an
    /// empty or bad `page` or `limit` is 400 naming it.
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::parse(self.get("page"), self.get("limit"))?)
    }

    /// The `/people` filters, and the same as `(name, value)` pairs for the links.
    pub fn people(&self) -> Result<(PeopleQuery, KeptFilters), ApiError> {
        let mut kept = Vec::new();
        let email_contains = self.text(SEARCH_EMAIL).map(str::to_owned);
        if let Some(text) = &email_contains {
            kept.push((SEARCH_EMAIL, text.clone()));
        }
        let organization = match self.get(ORGANIZATION) {
            None => None,
            Some(text) => {
                let id = text.parse().map(OrganizationId).map_err(|_| {
                    invalid_parameter("organization must be an organization id (a UUID)")
                })?;
                kept.push((ORGANIZATION, id.0.to_string()));
                Some(id)
            }
        };
        let query = PeopleQuery {
            email_contains,
            organization,
        };
        Ok((query, kept))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> ListQuery {
        ListQuery(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn pages_default_and_refuse_bad_values() {
        assert_eq!(query(&[]).page().unwrap(), PageRequest::default());
        let page = query(&[("limit", "25"), ("page", "3")]).page().unwrap();
        assert_eq!((page.page, page.limit), (3, 25));
        for (name, value) in [
            ("page", "0"),
            ("page", "-1"),
            ("limit", "101"),
            ("limit", "ten"),
            ("page", ""),
            ("limit", " "),
        ] {
            let error = query(&[(name, value)]).page().unwrap_err();
            assert_eq!(
                (error.status.as_u16(), error.code),
                (400, "INVALID_PAGINATION")
            );
            assert!(error.message.starts_with(name), "{}", error.message);
        }
    }

    #[test]
    fn people_filters_are_parsed_and_kept_for_the_links() {
        let (filters, kept) = query(&[
            ("organization", "84D36093-B8BC-47AD-BC8A-A043B3E301A9"),
            ("search[email]", " Martin "),
            ("other", "x"),
        ])
        .people()
        .unwrap();
        assert_eq!(filters.email_contains.as_deref(), Some("Martin"));
        assert_eq!(
            filters.organization.map(|o| o.0.to_string()).as_deref(),
            Some("84d36093-b8bc-47ad-bc8a-a043b3e301a9")
        );
        assert_eq!(
            kept,
            vec![
                (SEARCH_EMAIL, "Martin".to_owned()),
                (
                    ORGANIZATION,
                    "84d36093-b8bc-47ad-bc8a-a043b3e301a9".to_owned()
                )
            ]
        );
        for bad in ["club", "", "  "] {
            let error = query(&[("organization", bad)]).people().unwrap_err();
            assert_eq!(
                (error.status.as_u16(), error.code),
                (400, "INVALID_PARAMETER"),
                "{bad:?}"
            );
            assert!(error.message.contains("organization"), "{}", error.message);
        }
        let (blank, kept) = query(&[("search[email]", "  ")]).people().unwrap();
        assert_eq!((blank, kept), (PeopleQuery::default(), vec![]));
    }
}
