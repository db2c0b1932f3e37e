//! Alma's user list (`GET /users`) as the domain asks for it: a word search
//! in one field, an order, a page; and the page it reads back.

use crate::AlmaUser;

/// A field Alma's user search (`q=field~words`) looks in: the ones its
/// "Retrieve users" documentation lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchField {
    /// `primary_id`.
    PrimaryId,
    /// `first_name`.
    FirstName,
    /// `last_name`.
    LastName,
    /// `middle_name`.
    MiddleName,
    /// `email`: the e-mail addresses.
    Email,
    /// `phone_number`.
    PhoneNumber,
    /// `job_category`, e.g. the distributed categories `Exterieur` or `PEB`.
    JobCategory,
    /// `identifiers`: the values of the user's identifiers.
    Identifiers,
    /// `birth_date`.
    BirthDate,
    /// `general_info`: every field but e-mails, birth date and identifiers.
    GeneralInfo,
    /// `ALL`: every field.
    All,
}

impl SearchField {
    /// The name Alma's `q` uses.
    pub fn name(self) -> &'static str {
        match self {
            SearchField::PrimaryId => "primary_id",
            SearchField::FirstName => "first_name",
            SearchField::LastName => "last_name",
            SearchField::MiddleName => "middle_name",
            SearchField::Email => "email",
            SearchField::PhoneNumber => "phone_number",
            SearchField::JobCategory => "job_category",
            SearchField::Identifiers => "identifiers",
            SearchField::BirthDate => "birth_date",
            SearchField::GeneralInfo => "general_info",
            SearchField::All => "ALL",
        }
    }
}

/// One `field~words` search. Alma searches for words, not exact values: the
/// caller keeps only the users whose field is what it wants (e.g. a
/// `job_category~PEB` search may also find a category "PEB interne").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserSearch {
    field: SearchField,
    words: String,
}

impl UserSearch {
    /// A search for `words` in `field`; `None` when the words hold no letter
    /// or digit, or a `~` (which would start another clause).
    pub fn new(field: SearchField, words: &str) -> Option<Self> {
        let words = words.trim();
        let usable = words.chars().any(char::is_alphanumeric) && !words.contains('~');
        usable.then(|| Self {
            field,
            words: words.to_owned(),
        })
    }

    /// The field searched.
    pub fn field(&self) -> SearchField {
        self.field
    }

    /// The `q` parameter: `field~words`.
    pub fn to_q(&self) -> String {
        format!("{}~{}", self.field.name(), self.words)
    }
}

/// The order of a list (`order_by`), each followed by the primary id. Without
/// one Alma orders by last name, first name and primary id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserOrder {
    /// `last_name`.
    LastName,
    /// `first_name`.
    FirstName,
    /// `primary_id`.
    PrimaryId,
}

impl UserOrder {
    /// The name Alma's `order_by` uses.
    pub fn name(self) -> &'static str {
        match self {
            UserOrder::LastName => "last_name",
            UserOrder::FirstName => "first_name",
            UserOrder::PrimaryId => "primary_id",
        }
    }
}

/// How many users a page holds at most (`limit`): 0 to 100, as Alma accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageSize(u8);

impl PageSize {
    /// Alma's largest page: 100 users.
    pub const MAX: PageSize = PageSize(100);

    /// A page of `size` users; `None` over 100.
    pub fn new(size: u8) -> Option<Self> {
        (size <= Self::MAX.0).then_some(Self(size))
    }

    /// The size.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// What `GET /users` is asked: which users, in what order, which page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserQuery {
    /// `q`; `None`: every user of the institution.
    pub search: Option<UserSearch>,
    /// `order_by`; `None`: Alma's default order.
    pub order_by: Option<UserOrder>,
    /// `limit`.
    pub limit: PageSize,
    /// `offset`: how many users of the list come before the page.
    pub offset: u32,
}

impl Default for UserQuery {
    /// Every user, in Alma's order, the first page of the largest size.
    fn default() -> Self {
        Self {
            search: None,
            order_by: None,
            limit: PageSize::MAX,
            offset: 0,
        }
    }
}

/// One page of the list: how many users the query selects in all, and the
/// brief records of the page. A brief record carries no e-mail and no
/// identifier: read the full record (`get_user`) for those.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserPage {
    /// Alma's `total_record_count`.
    pub total_record_count: u64,
    /// The page's brief records, in the list's order.
    pub users: Vec<AlmaUser>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_is_field_tilde_words_and_refuses_empty_or_clause_like_words() {
        let search = UserSearch::new(SearchField::JobCategory, " Exterieur ").unwrap();
        assert_eq!(search.to_q(), "job_category~Exterieur");
        assert_eq!(
            UserSearch::new(SearchField::All, "Ada Lovelace")
                .unwrap()
                .to_q(),
            "ALL~Ada Lovelace"
        );
        assert!(UserSearch::new(SearchField::LastName, " - ").is_none());
        assert!(UserSearch::new(SearchField::LastName, "a AND email~b").is_none());
    }

    #[test]
    fn a_page_holds_at_most_a_hundred_users() {
        assert_eq!(PageSize::new(0).map(PageSize::get), Some(0));
        assert_eq!(PageSize::new(100), Some(PageSize::MAX));
        assert!(PageSize::new(101).is_none());
        assert_eq!(UserQuery::default().limit, PageSize::MAX);
    }
}
