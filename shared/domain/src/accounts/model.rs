//! The account and the typed values it is made of, each parsed once at the edge.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use uuid::Uuid;

/// A field that failed validation: which one, and why (answered as 422 naming the field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidField {
    /// The field's name as the API spells it.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl InvalidField {
    /// An invalid `field`, for `reason`.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// An account's identifier (a random UUID, never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub Uuid);

impl AccountId {
    /// A fresh identifier.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for AccountId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An organization's identifier (institution, department or club).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrganizationId(pub Uuid);

/// A login name: 1 to 64 ASCII letters, digits, `.`, `_`, `-` or `@` (no accents),
/// unique among accounts regardless of case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserName(String);

impl UserName {
    /// Parses a user name (surrounding spaces removed).
    pub fn parse(name: &str) -> Result<Self, InvalidField> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(InvalidField::new("user_name", "must be 1 to 64 characters"));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
        {
            return Err(InvalidField::new(
                "user_name",
                "may only contain letters without accents, digits, '.', '_', '-' and '@'",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is checked on (case-insensitive).
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl TryFrom<String> for UserName {
    type Error = InvalidField;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<UserName> for String {
    fn from(name: UserName) -> Self {
        name.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address, normalised (trimmed, lower case) so that one mailbox is
/// one account; reserved for ever once used, also by an inactive account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parses and normalises an address.
    pub fn parse(address: &str) -> Result<Self, InvalidField> {
        let address = address.trim().to_lowercase();
        let invalid = || InvalidField::new("email", "is not a valid e-mail address");
        if address.len() > 254 || address.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = address.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(address))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidField;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A first or last name: 1 to 100 characters once trimmed, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    /// Parses the name of `field`.
    pub fn parse(field: &'static str, name: &str) -> Result<Self, InvalidField> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(InvalidField::new(field, "must be 1 to 100 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidField::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where an account is in its life. Accounts are never deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// Registered, e-mail not yet confirmed: cannot log in.
    PendingActivation,
    /// Can log in (unless past its expiry date).
    Active,
    /// Closed: cannot log in, keeps its user name and e-mail reserved.
    Inactive,
}

/// Roles held across the whole network (organization roles come with memberships).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NetworkRole {
    /// Grants every right, including network roles.
    SuperAdmin,
    /// Staff console and on-site registration.
    NetworkStaff,
}

/// The language of an account's mails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// French.
    #[default]
    Fr,
    /// English.
    En,
}

/// A login account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Identifier.
    pub id: AccountId,
    /// Login name, unique.
    pub user_name: UserName,
    /// E-mail, unique for ever.
    pub email: Email,
    /// First name.
    pub first_name: PersonName,
    /// Last name.
    pub last_name: PersonName,
    /// The organization the account belongs to, if any.
    pub department: Option<OrganizationId>,
    /// Department role names given at import, kept until memberships replace them.
    #[serde(default)]
    pub department_roles: Vec<String>,
    /// Whether the person is paid (staff, salaried students): chooses between a
    /// club's two membership fees.
    #[serde(default)]
    pub paid: bool,
    /// Lifecycle state.
    pub state: AccountState,
    /// The last day the account may log in, if limited.
    pub expires_on: Option<NaiveDate>,
    /// Network-level roles.
    #[serde(default)]
    pub network_roles: BTreeSet<NetworkRole>,
    /// The argon2id PHC string (parameters included), or none until a password is set.
    pub password_hash: Option<String>,
    /// The language of its mails.
    #[serde(default)]
    pub language: Language,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last logged in.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// When its password last changed.
    pub password_changed_at: Option<DateTime<Utc>>,
    /// Optimistic-locking version, bumped by every update.
    pub version: u64,
}

impl Account {
    /// Whether the account may log in on `today`.
    pub fn can_log_in(&self, today: NaiveDate) -> bool {
        self.state == AccountState::Active
            && self.password_hash.is_some()
            && self.expires_on.is_none_or(|last_day| today <= last_day)
    }

    /// Whether the account holds `role`.
    pub fn has_role(&self, role: NetworkRole) -> bool {
        self.network_roles.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_ascii_and_unique_without_case() {
        assert!(UserName::parse("j.dupont-2@ub").is_ok());
        assert!(UserName::parse("jérôme").is_err());
        assert!(UserName::parse("with space").is_err());
        assert!(UserName::parse("").is_err());
        assert_eq!(UserName::parse("JDupont").unwrap().key(), "jdupont");
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Camille.L@Example.ORG ").unwrap().as_str(),
            "camille.l@example.org"
        );
        for bad in [
            "",
            "no-at",
            "a@b",
            "a@@b.org",
            "a b@c.org",
            "@example.org",
            "a@.org",
            "a@example..org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            PersonName::parse("first_name", "  Zoé ").unwrap().as_str(),
            "Zoé"
        );
        assert_eq!(
            PersonName::parse("last_name", " ").unwrap_err().field,
            "last_name"
        );
        assert!(PersonName::parse("last_name", &"x".repeat(101)).is_err());
    }
}
