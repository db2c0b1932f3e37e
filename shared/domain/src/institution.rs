//! Institutions of an Alma network and the network zone above them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An Alma institution code such as `33PUDB_UB` or `DEMO_A`: the key of every
/// queue, rate limit and API key. Parsed once at the edge so it is always valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstitutionCode(String);

/// Why a text is not an institution code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an institution code is 1 to 64 letters, digits, '_' or '-': {0:?}")]
pub struct InvalidInstitutionCode(pub String);

impl InstitutionCode {
    /// Parses an institution code.
    pub fn parse(code: &str) -> Result<Self, InvalidInstitutionCode> {
        let valid = !code.is_empty()
            && code.len() <= 64
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid {
            Ok(Self(code.to_owned()))
        } else {
            Err(InvalidInstitutionCode(code.to_owned()))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for InstitutionCode {
    type Err = InvalidInstitutionCode;
    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Self::parse(code)
    }
}

impl TryFrom<String> for InstitutionCode {
    type Error = InvalidInstitutionCode;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<InstitutionCode> for String {
    fn from(code: InstitutionCode) -> Self {
        code.0
    }
}

impl fmt::Display for InstitutionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The shape of one Alma network: its network zone and its member institutions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// The network zone's institution code (e.g. `33PUDB_NETWORK`).
    pub zone: InstitutionCode,
    /// Every member institution, in the order operators list them.
    pub members: Vec<InstitutionCode>,
}

impl Network {
    /// Whether `code` names the network zone.
    pub fn is_zone(&self, code: &InstitutionCode) -> bool {
        &self.zone == code
    }

    /// Whether `code` is a member institution.
    pub fn is_member(&self, code: &InstitutionCode) -> bool {
        self.members.contains(code)
    }

    /// Every institution with a job queue and a worker: the network zone
    /// (for the console's actions on its own records), then the members.
    pub fn institutions(&self) -> Vec<InstitutionCode> {
        std::iter::once(self.zone.clone())
            .chain(self.members.iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_alma_codes_and_refuses_others() {
        assert!(InstitutionCode::parse("33PUDB_NETWORK").is_ok());
        assert!(InstitutionCode::parse("DEMO-A").is_ok());
        assert!(InstitutionCode::parse("").is_err());
        assert!(InstitutionCode::parse("DEMO A").is_err());
        assert!(InstitutionCode::parse("ÉCOLE").is_err());
        assert!(InstitutionCode::parse(&"A".repeat(65)).is_err());
    }
}
