//! Parsers of the request fields that have no type of their own in the model.

use super::{InvalidField, Language, NetworkRole, OrganizationId};
use chrono::NaiveDate;
use std::collections::BTreeSet;
use uuid::Uuid;

/// How an import's `dept` is kept among the department role names until the
/// organizations issue turns it into a membership: `dept:` then the acronym
/// (role names cannot contain `:`, so the two never mix).
pub const IMPORTED_DEPARTMENT_PREFIX: &str = "dept:";

/// A mail language: `fr` (also when absent or empty) or `en`.
pub(crate) fn language(value: Option<&str>) -> Result<Language, InvalidField> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("fr") => Ok(Language::Fr),
        Some("en") => Ok(Language::En),
        Some(_) => Err(InvalidField::new("language", "must be fr or en")),
    }
}

/// A calendar day written `YYYY-MM-DD`.
pub(crate) fn day(field: &'static str, value: &str) -> Result<NaiveDate, InvalidField> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| InvalidField::new(field, "must be a date written YYYY-MM-DD"))
}

/// An organization id (a UUID).
pub(crate) fn department(value: &str) -> Result<OrganizationId, InvalidField> {
    Uuid::parse_str(value.trim())
        .map(OrganizationId)
        .map_err(|_| InvalidField::new("department", "must be an organization id"))
}

/// Network roles by their API names, `SUPER_ADMIN` and `NETWORK_STAFF`.
pub(crate) fn network_roles(values: &[String]) -> Result<BTreeSet<NetworkRole>, InvalidField> {
    values
        .iter()
        .map(|value| match value.trim() {
            "SUPER_ADMIN" => Ok(NetworkRole::SuperAdmin),
            "NETWORK_STAFF" => Ok(NetworkRole::NetworkStaff),
            other => Err(InvalidField::new(
                "network_roles",
                format!("unknown role {other:?} (SUPER_ADMIN or NETWORK_STAFF)"),
            )),
        })
        .collect()
}

/// Department role names from a comma-separated list; spaces are ignored and
/// empty items dropped. A name is 1 to 64 letters, digits, `_`, `-` or `.`.
pub(crate) fn role_names(value: &str) -> Result<Vec<String>, InvalidField> {
    let mut names: Vec<String> = Vec::new();
    for item in value.split(',') {
        let name: String = item.chars().filter(|c| !c.is_whitespace()).collect();
        if name.is_empty() {
            continue;
        }
        if name.chars().count() > 64
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(InvalidField::new(
                "roles",
                format!(
                    "{name:?} is not a role name (letters, digits, '_', '-' and '.', at most 64)"
                ),
            ));
        }
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// A department acronym (1 to 32 letters, digits, `_` or `-`, kept in capitals), or none when empty.
pub(crate) fn department_acronym(value: &str) -> Result<Option<String>, InvalidField> {
    let acronym = value.trim();
    if acronym.is_empty() {
        return Ok(None);
    }
    if acronym.chars().count() > 32
        || !acronym
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-'))
    {
        return Err(InvalidField::new(
            "dept",
            format!("{acronym:?} is not a department acronym (letters, digits, '_' and '-', at most 32)"),
        ));
    }
    Ok(Some(acronym.to_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages() {
        assert_eq!(language(None), Ok(Language::Fr));
        assert_eq!(language(Some(" EN ")), Ok(Language::En));
        assert_eq!(language(Some("de")).unwrap_err().field, "language");
    }

    #[test]
    fn days_and_departments() {
        assert_eq!(
            day("expires_on", "2026-06-30").unwrap(),
            NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()
        );
        assert_eq!(
            day("expires_on", "30/06/2026").unwrap_err().field,
            "expires_on"
        );
        assert!(department("0b6f1c3e-5d0a-4c1b-9a8e-2f1d3c4b5a69").is_ok());
        assert_eq!(department("RT").unwrap_err().field, "department");
    }

    #[test]
    fn network_roles_by_api_name() {
        let roles = network_roles(&["NETWORK_STAFF".into(), " SUPER_ADMIN".into()]).unwrap();
        assert!(
            roles.contains(&NetworkRole::SuperAdmin) && roles.contains(&NetworkRole::NetworkStaff)
        );
        assert_eq!(
            network_roles(&["ADMIN".into()]).unwrap_err().field,
            "network_roles"
        );
    }

    #[test]
    fn role_names_ignore_spaces_and_empty_items() {
        assert_eq!(
            role_names("Admin_RT, Ens_GEII ,, Ens _RT").unwrap(),
            vec!["Admin_RT", "Ens_GEII", "Ens_RT"]
        );
        assert_eq!(role_names(" ").unwrap(), Vec::<String>::new());
        assert_eq!(role_names("Admin:RT").unwrap_err().field, "roles");
    }

    #[test]
    fn department_acronyms_are_capitalised() {
        assert_eq!(
            department_acronym(" geii ").unwrap(),
            Some("GEII".to_owned())
        );
        assert_eq!(department_acronym("").unwrap(), None);
        assert_eq!(department_acronym("R&T").unwrap_err().field, "dept");
    }
}
