//! Patrons as Alma holds them: the user record and its primary identifier.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// A patron's Alma `primary_id`, the identifier every institution shares.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PrimaryId(String);

/// Why a text is not a primary id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a primary id is 1 to 255 characters with no control characters or '/'")]
pub struct InvalidPrimaryId;

impl PrimaryId {
    /// Parses a primary id (leading and trailing spaces removed).
    pub fn parse(id: &str) -> Result<Self, InvalidPrimaryId> {
        let id = id.trim();
        let valid = !id.is_empty()
            && id.chars().count() <= 255
            && !id.chars().any(|c| c.is_control() || c == '/');
        if valid {
            Ok(Self(id.to_owned()))
        } else {
            Err(InvalidPrimaryId)
        }
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PrimaryId {
    type Error = InvalidPrimaryId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PrimaryId> for String {
    fn from(id: PrimaryId) -> Self {
        id.0
    }
}

impl fmt::Display for PrimaryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An Alma user object exactly as `GET /almaws/v1/users/{id}` returns it. Kept as
/// JSON because Alma's record is large and institution-configured: patron-hub reads
/// the few fields its rules need and carries the rest through untouched.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AlmaUser(pub Map<String, Value>);

impl AlmaUser {
    /// The user's `primary_id`, when present and valid.
    pub fn primary_id(&self) -> Option<PrimaryId> {
        self.0
            .get("primary_id")
            .and_then(Value::as_str)
            .and_then(|id| PrimaryId::parse(id).ok())
    }

    /// The `value` of a code-table field such as `job_category` or `status`.
    pub fn code_value(&self, field: &str) -> Option<&str> {
        match self.0.get(field)? {
            Value::Object(code) => code.get("value").and_then(Value::as_str),
            Value::String(value) => Some(value),
            _ => None,
        }
    }

    /// The record without the fields an institution keeps for itself
    /// (`user_role` always, plus the configured `local_fields`): what may be
    /// created in another institution.
    pub fn distributable(&self, local_fields: &[String]) -> AlmaUser {
        let mut record = self.0.clone();
        record.remove("user_role");
        for field in local_fields {
            record.remove(field);
        }
        AlmaUser(record)
    }

    /// The target institution's record with every distributed field of `origin`
    /// laid over it: what to PUT, since Alma's PUT replaces the whole record and
    /// the target's own roles and local fields must survive.
    pub fn merged_with(&self, origin: &AlmaUser, local_fields: &[String]) -> AlmaUser {
        let mut record = self.0.clone();
        for (field, value) in origin.distributable(local_fields).0 {
            record.insert(field, value);
        }
        AlmaUser(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(value: Value) -> AlmaUser {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn primary_id_is_trimmed_and_refuses_slashes() {
        assert_eq!(PrimaryId::parse(" abc ").unwrap().as_str(), "abc");
        assert!(PrimaryId::parse("a/b").is_err());
        assert!(PrimaryId::parse("  ").is_err());
    }

    #[test]
    fn reads_code_table_values() {
        let u = user(json!({"job_category": {"value": "PEB", "desc": "ILL"}, "status": "ACTIVE"}));
        assert_eq!(u.code_value("job_category"), Some("PEB"));
        assert_eq!(u.code_value("status"), Some("ACTIVE"));
        assert_eq!(u.code_value("user_group"), None);
    }

    #[test]
    fn merge_keeps_target_roles_and_local_fields() {
        let target = user(json!({
            "primary_id": "p1", "last_name": "Old", "user_role": [{"role_type": {"value": "200"}}],
            "user_note": [{"note_text": "local"}], "expiry_date": "2025-01-01Z"
        }));
        let origin = user(json!({
            "primary_id": "p1", "last_name": "New", "user_role": [{"role_type": {"value": "999"}}],
            "user_note": [{"note_text": "origin"}], "expiry_date": "2030-01-01Z"
        }));
        let merged = target.merged_with(&origin, &["user_note".to_owned()]);
        assert_eq!(merged.0["last_name"], "New");
        assert_eq!(merged.0["expiry_date"], "2030-01-01Z");
        assert_eq!(merged.0["user_role"][0]["role_type"]["value"], "200");
        assert_eq!(merged.0["user_note"][0]["note_text"], "local");
    }
}
