//! Alma's user list, `GET /users`: its query parameters, the `q` word search,
//! the orders, and the brief records of a page.
//!
//! The word search: `q` is `field~words`, clauses may be joined by ` AND `
//! (not after `ALL~`, which takes the rest of `q` as its words). The words of
//! the query and of the field are the runs of letters and digits of each text,
//! compared without case; a clause matches a user when **every** word of the
//! clause is a whole word of the field (`last_name~Lovelace` finds "Lovelace"
//! and "Byron-Lovelace", not "Lovelaces"; `email~ada@example.org` finds that
//! address, and `email~example` every address at example.org). Why: Alma
//! documents a search "for words" from the fields, not for values or
//! substrings; requiring every word narrows the way a keyword search does, so
//! a consumer that keeps the exact values it wants from the answer gets all
//! of them and drops the few extra. The details Alma does not document
//! (tokens, wildcards, accents) are in the crate's notes.

use crate::errors::ApiError;
use crate::state::{identifiers, text, UserRecord};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Alma's page size when `limit` is not given.
const DEFAULT_LIMIT: usize = 10;

/// The largest `limit` Alma accepts.
const MAX_LIMIT: usize = 100;

/// What a list entry carries: Alma's list is of brief records (no e-mails,
/// no identifiers), plus `link`, the URL of the full record.
const BRIEF_FIELDS: [&str; 5] = [
    "primary_id",
    "first_name",
    "last_name",
    "user_group",
    "status",
];

/// Never searched: a password or PIN must not be found by guessing words.
const SECRET_FIELDS: [&str; 2] = ["password", "pin_number"];

/// The query parameters of `GET /users` the sandbox reads, as sent (the
/// others, e.g. `apikey`, `format`, `expand`, are ignored).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListParams {
    limit: Option<String>,
    offset: Option<String>,
    q: Option<String>,
    order_by: Option<String>,
    source_institution_code: Option<String>,
    source_user_id: Option<String>,
}

/// One call of the list, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListQuery {
    /// Which users (`q`); empty: all of them.
    pub(crate) search: Search,
    /// In what order (`order_by`).
    pub(crate) order: Order,
    /// How many at most (`limit`).
    pub(crate) limit: usize,
    /// How many to skip first (`offset`).
    pub(crate) offset: usize,
    /// Only the linked copies of this user of another institution.
    pub(crate) source: Option<SourceUser>,
}

/// `source_institution_code` and `source_user_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceUser {
    pub(crate) institution: String,
    pub(crate) user_id: String,
}

impl ListQuery {
    /// Reads the parameters; an unusable one is Alma's invalid-parameter error.
    pub(crate) fn parse(params: ListParams) -> Result<Self, ApiError> {
        let limit = match non_empty(&params.limit) {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|limit| *limit <= MAX_LIMIT)
                .ok_or(ApiError::InvalidParameter {
                    parameter: "limit",
                    valid: "0-100",
                })?,
        };
        let offset = match non_empty(&params.offset) {
            None => 0,
            Some(text) => text
                .parse::<usize>()
                .map_err(|_| ApiError::InvalidParameter {
                    parameter: "offset",
                    valid: "0 or more",
                })?,
        };
        let source = match (
            non_empty(&params.source_institution_code),
            non_empty(&params.source_user_id),
        ) {
            (None, None) => None,
            (Some(institution), Some(user_id)) => Some(SourceUser {
                institution: institution.to_owned(),
                user_id: user_id.to_owned(),
            }),
            (Some(_), None) => return Err(missing_partner("source_user_id")),
            (None, Some(_)) => return Err(missing_partner("source_institution_code")),
        };
        Ok(Self {
            search: Search::parse(params.q.as_deref().unwrap_or_default())?,
            order: Order::parse(non_empty(&params.order_by))?,
            limit,
            offset,
            source,
        })
    }
}

fn missing_partner(parameter: &'static str) -> ApiError {
    ApiError::InvalidParameter {
        parameter,
        valid: "given with its partner: source_institution_code and source_user_id go together",
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The order of a list (`order_by`). Every order ends with the primary id, so
/// that pages are stable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Order {
    /// Alma's default: last name, first name, primary id.
    #[default]
    Names,
    /// `last_name`, then primary id.
    LastName,
    /// `first_name`, then primary id.
    FirstName,
    /// `primary_id`.
    PrimaryId,
}

/// A user's place in an order: compared names (lower case), then the primary id.
pub(crate) type SortKey = (String, String, String);

impl Order {
    fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        match value {
            None => Ok(Order::Names),
            Some("last_name") => Ok(Order::LastName),
            Some("first_name") => Ok(Order::FirstName),
            Some("primary_id") => Ok(Order::PrimaryId),
            Some(_) => Err(ApiError::InvalidParameter {
                parameter: "order_by",
                valid: "last_name,first_name,primary_id",
            }),
        }
    }

    /// Where `user` stands in this order.
    pub(crate) fn key(self, user: &UserRecord, primary_id: &str) -> SortKey {
        let name = |field| text(user, field).unwrap_or_default().to_lowercase();
        let primary_id = primary_id.to_owned();
        match self {
            Order::Names => (name("last_name"), name("first_name"), primary_id),
            Order::LastName => (name("last_name"), String::new(), primary_id),
            Order::FirstName => (name("first_name"), String::new(), primary_id),
            Order::PrimaryId => (String::new(), String::new(), primary_id),
        }
    }
}

/// The fields `q` may search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    PrimaryId,
    FirstName,
    LastName,
    MiddleName,
    Email,
    PhoneNumber,
    JobCategory,
    UserGroup,
    Identifiers,
    BirthDate,
    /// Every field but e-mails, birth date and identifiers.
    GeneralInfo,
    /// Every field; takes the rest of `q` as words (no `AND`).
    All,
}

/// The accepted `field~` names, as the error message lists them.
const FIELD_NAMES: &str = "primary_id,first_name,last_name,middle_name,email,phone_number,\
job_category,user_group,identifiers,birth_date,general_info,ALL (as field~words)";

impl Field {
    fn parse(name: &str) -> Option<Self> {
        let field = match name.trim() {
            "primary_id" => Field::PrimaryId,
            "first_name" => Field::FirstName,
            "last_name" => Field::LastName,
            "middle_name" => Field::MiddleName,
            "email" => Field::Email,
            "phone_number" => Field::PhoneNumber,
            "job_category" => Field::JobCategory,
            "user_group" => Field::UserGroup,
            "identifiers" => Field::Identifiers,
            "birth_date" => Field::BirthDate,
            "general_info" => Field::GeneralInfo,
            all if all.eq_ignore_ascii_case("ALL") => Field::All,
            _ => return None,
        };
        Some(field)
    }

    /// The texts of `user` this field searches.
    fn texts(self, user: &UserRecord) -> Vec<&str> {
        let mut texts = Vec::new();
        let top = |field| text(user, field).into_iter();
        match self {
            Field::PrimaryId => texts.extend(top("primary_id")),
            Field::FirstName => texts.extend(top("first_name")),
            Field::LastName => texts.extend(top("last_name")),
            Field::MiddleName => texts.extend(top("middle_name")),
            // Alma writes a date `1815-12-10Z`: the zone is no word of it.
            Field::BirthDate => {
                texts.extend(top("birth_date").map(|date| date.trim_end_matches('Z')))
            }
            Field::Email => texts.extend(contacts(user, "email", "email_address")),
            Field::PhoneNumber => texts.extend(contacts(user, "phone", "phone_number")),
            Field::JobCategory => code_texts(user.get("job_category"), &mut texts),
            Field::UserGroup => code_texts(user.get("user_group"), &mut texts),
            Field::Identifiers => texts.extend(identifiers(user).map(|(_, value)| value)),
            Field::GeneralInfo => {
                let skipped = ["email", "birth_date", "user_identifier"];
                for (name, value) in user {
                    if !skipped.contains(&name.as_str()) && !SECRET_FIELDS.contains(&name.as_str())
                    {
                        leaves(value, &skipped, &mut texts);
                    }
                }
            }
            Field::All => {
                for (name, value) in user {
                    if !SECRET_FIELDS.contains(&name.as_str()) {
                        leaves(value, &[], &mut texts);
                    }
                }
            }
        }
        texts
    }
}

/// `contact_info.{list}[].{field}`.
fn contacts<'u>(user: &'u UserRecord, list: &str, field: &str) -> Vec<&'u str> {
    user.get("contact_info")
        .and_then(|info| info.get(list))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.get(field).and_then(Value::as_str))
        .collect()
}

/// The `value` and `desc` of a code-table field (or the field itself when a string).
fn code_texts<'u>(code: Option<&'u Value>, texts: &mut Vec<&'u str>) {
    match code {
        Some(Value::String(value)) => texts.push(value),
        Some(Value::Object(code)) => {
            texts.extend(
                ["value", "desc"]
                    .iter()
                    .filter_map(|k| code.get(*k)?.as_str()),
            );
        }
        _ => {}
    }
}

/// Every string inside `value`, except under the keys `skipped`.
fn leaves<'u>(value: &'u Value, skipped: &[&str], texts: &mut Vec<&'u str>) {
    match value {
        Value::String(text) => texts.push(text),
        Value::Array(items) => items.iter().for_each(|item| leaves(item, skipped, texts)),
        Value::Object(fields) => fields
            .iter()
            .filter(|(name, _)| !skipped.contains(&name.as_str()))
            .for_each(|(_, item)| leaves(item, skipped, texts)),
        _ => {}
    }
}

/// One `field~words` of `q`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Clause {
    field: Field,
    /// Lower case, at least one.
    words: Vec<String>,
}

/// A parsed `q`: every clause must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Search {
    clauses: Vec<Clause>,
}

impl Search {
    /// Reads `q`; an empty one selects every user.
    fn parse(q: &str) -> Result<Self, ApiError> {
        let invalid = || ApiError::InvalidParameter {
            parameter: "q",
            valid: FIELD_NAMES,
        };
        let mut clauses = Vec::new();
        let mut rest = Some(q.trim()).filter(|q| !q.is_empty());
        while let Some(clause) = rest {
            let (name, after) = clause.split_once('~').ok_or_else(invalid)?;
            let field = Field::parse(name).ok_or_else(invalid)?;
            let (text, next) = match field {
                Field::All => (after, None),
                _ => split_at_and(after),
            };
            let words: Vec<String> = words(text).collect();
            if words.is_empty() {
                return Err(invalid());
            }
            clauses.push(Clause { field, words });
            rest = next;
        }
        Ok(Self { clauses })
    }

    /// Whether no clause narrows the list.
    pub(crate) fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// Whether `user` matches every clause.
    pub(crate) fn matches(&self, user: &UserRecord) -> bool {
        self.clauses.iter().all(|clause| {
            let texts = clause.field.texts(user);
            clause
                .words
                .iter()
                .all(|word| texts.iter().any(|text| has_word(text, word)))
        })
    }
}

/// Splits `text` before a ` AND ` that starts another clause (`field~…`).
fn split_at_and(text: &str) -> (&str, Option<&str>) {
    const AND: &str = " AND ";
    let mut from = 0;
    while let Some(found) = text[from..].find(AND) {
        let at = from + found;
        let next = text[at + AND.len()..].trim_start();
        let starts_clause = next
            .split_whitespace()
            .next()
            .is_some_and(|word| word.contains('~'));
        if starts_clause {
            return (&text[..at], Some(next));
        }
        from = at + 1;
    }
    (text, None)
}

/// The words of a text: runs of letters and digits, in lower case.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
}

/// Whether `word` (lower case) is one of the words of `text`.
fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric()).any(|candidate| {
        candidate
            .chars()
            .flat_map(char::to_lowercase)
            .eq(word.chars())
    })
}

/// The brief record of a list entry (without its `link`).
pub(crate) fn brief(user: &UserRecord) -> UserRecord {
    BRIEF_FIELDS
        .iter()
        .filter_map(|field| Some(((*field).to_owned(), user.get(*field)?.clone())))
        .collect()
}

/// One page of a list: the users selected in all, and the brief records asked for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Page {
    pub(crate) total_record_count: usize,
    pub(crate) users: Vec<UserRecord>,
}

impl Page {
    /// Alma's `users` object; each entry gets its `link`, `{users_url}/{primary id}`
    /// (`users_url` is `…/almaws/v1/users`). Like Alma, an empty page has no
    /// `user` at all.
    pub(crate) fn into_json(self, users_url: &str) -> Value {
        let mut body = Map::new();
        if !self.users.is_empty() {
            let entries: Vec<Value> = self
                .users
                .into_iter()
                .map(|mut user| {
                    let id = text(&user, "primary_id").unwrap_or_default();
                    let link = format!("{users_url}/{}", path_segment(id));
                    user.insert("link".into(), Value::String(link));
                    Value::Object(user)
                })
                .collect();
            body.insert("user".into(), Value::Array(entries));
        }
        body.insert("total_record_count".into(), json!(self.total_record_count));
        Value::Object(body)
    }
}

/// `text` as one URL path segment: every byte but the unreserved ones percent-encoded.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(value: Value) -> UserRecord {
        match value {
            Value::Object(user) => user,
            _ => unreachable!(),
        }
    }

    fn search(q: &str) -> Search {
        Search::parse(q).unwrap()
    }

    #[test]
    fn a_clause_needs_every_word_as_a_whole_word_without_case() {
        let ada =
            user(json!({"primary_id": "p-1", "last_name": "Byron-Lovelace", "first_name": "Ada"}));
        assert!(search("last_name~lovelace").matches(&ada));
        assert!(search("last_name~LOVELACE byron").matches(&ada));
        assert!(!search("last_name~Lovelac").matches(&ada));
        assert!(
            !search("last_name~Lovelace Ada").matches(&ada),
            "Ada is a first name"
        );
        assert!(search("primary_id~p-1").matches(&ada));
        assert!(search("first_name~Ada AND last_name~Byron").matches(&ada));
        assert!(!search("first_name~Ada AND last_name~Smith").matches(&ada));
    }

    #[test]
    fn all_takes_the_rest_and_searches_every_field_but_secrets() {
        let ada = user(
            json!({"primary_id": "p1", "last_name": "Lovelace", "pin_number": "4554",
            "contact_info": {"email": [{"email_address": "ada@example.org"}]}}),
        );
        assert!(search("ALL~lovelace example").matches(&ada));
        assert!(search("ALL~Lovelace p1").matches(&ada));
        assert!(
            !search("ALL~Lovelace AND primary_id~p1").matches(&ada),
            "no AND after ALL: its words include 'and', 'primary' and 'id'"
        );
        assert!(!search("ALL~4554").matches(&ada));
        assert!(
            !search("general_info~example").matches(&ada),
            "no e-mails in general_info"
        );
        assert!(search("general_info~lovelace").matches(&ada));
    }

    #[test]
    fn and_splits_only_before_another_clause() {
        let (first, rest) = split_at_and("Smith AND Jones AND last_name~x");
        assert_eq!(first, "Smith AND Jones");
        assert_eq!(rest, Some("last_name~x"));
        assert_eq!(split_at_and("Smith"), ("Smith", None));
    }

    #[test]
    fn unusable_queries_are_invalid_parameters() {
        for q in [
            "Smith",
            "nickname~Smith",
            "last_name~",
            "last_name~ - ",
            "last_name~a AND x~b",
        ] {
            assert!(
                matches!(
                    Search::parse(q),
                    Err(ApiError::InvalidParameter { parameter: "q", .. })
                ),
                "{q}"
            );
        }
        assert!(Search::parse("  ").unwrap().is_empty());
    }

    #[test]
    fn code_table_fields_search_their_value_and_description() {
        let reader = user(
            json!({"job_category": {"value": "PEB", "desc": "Prêt entre bibliothèques"},
            "user_group": "EXT"}),
        );
        assert!(search("job_category~peb").matches(&reader));
        assert!(search("job_category~bibliothèques").matches(&reader));
        assert!(search("user_group~ext").matches(&reader));
    }

    #[test]
    fn links_encode_the_primary_id_and_an_empty_page_has_no_user() {
        let page = Page {
            total_record_count: 3,
            users: vec![user(json!({"primary_id": "a b/é"}))],
        };
        let body = page.into_json("http://h/almaws/v1/users");
        assert_eq!(
            body["user"][0]["link"],
            "http://h/almaws/v1/users/a%20b%2F%C3%A9"
        );
        let empty = Page {
            total_record_count: 3,
            users: Vec::new(),
        }
        .into_json("http://h");
        assert_eq!(empty, json!({"total_record_count": 3}));
    }

    #[test]
    fn the_brief_record_keeps_only_its_fields() {
        let full = user(
            json!({"primary_id": "p1", "last_name": "L", "status": {"value": "ACTIVE"},
            "contact_info": {}, "user_identifier": []}),
        );
        let brief = brief(&full);
        let mut fields: Vec<&String> = brief.keys().collect();
        fields.sort();
        assert_eq!(fields, ["last_name", "primary_id", "status"]);
    }
}
