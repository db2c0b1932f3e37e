//! Values an operator writes in a setting, checked one way whichever front-end
//! reads them: `patron-hub.toml` (serde) and the Lambda functions' environment
//! (text). Both refuse the same values with the same message, so that a value
//! that starts `serve` also starts a function, and the other way round.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why a setting's value is refused (never quoting it: some are secrets' hashes
/// or keys pasted by mistake).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// Not a whole number, or zero.
    #[error("expected a whole number ≥ 1")]
    NotAtLeastOne,
    /// Not a SHA-256 written as 64 hexadecimal digits.
    #[error(
        "expected the SHA-256 of the key as 64 hexadecimal digits (`patron-hub client-key` \
         prints it), not the key itself"
    )]
    NotSha256Hex,
}

/// A whole number of at least one: days kept, seconds waited, calls per
/// second, rows, attempts. Zero is refused rather than clamped or taken to
/// mean "never", since no such setting has a sensible zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "u32")]
pub struct AtLeastOne(u32);

impl AtLeastOne {
    /// `value`, when it is at least one.
    pub const fn new(value: u32) -> Option<Self> {
        match value {
            0 => None,
            _ => Some(Self(value)),
        }
    }

    /// `value`, which the caller knows is at least one (defaults written in
    /// code); one when it is not.
    pub const fn or_one(value: u32) -> Self {
        match Self::new(value) {
            Some(value) => value,
            None => Self(1),
        }
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl From<AtLeastOne> for u32 {
    fn from(value: AtLeastOne) -> Self {
        value.0
    }
}

impl FromStr for AtLeastOne {
    type Err = SettingError;

    fn from_str(text: &str) -> Result<Self, SettingError> {
        text.trim()
            .parse::<u32>()
            .ok()
            .and_then(Self::new)
            .ok_or(SettingError::NotAtLeastOne)
    }
}

impl<'de> Deserialize<'de> for AtLeastOne {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = i64::deserialize(deserializer)
            .map_err(|_| serde::de::Error::custom(SettingError::NotAtLeastOne))?;
        u32::try_from(number)
            .ok()
            .and_then(Self::new)
            .ok_or_else(|| serde::de::Error::custom(SettingError::NotAtLeastOne))
    }
}

impl fmt::Display for AtLeastOne {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A SHA-256 written as 64 hexadecimal digits, kept lower-case: how client
/// keys are configured, so that a plain key pasted in its place is refused
/// instead of being taken for a hash no key can match.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct Sha256Hex(String);

impl Sha256Hex {
    /// The SHA-256 of `key`.
    pub fn of(key: &str) -> Self {
        use sha2::{Digest, Sha256};
        Self(
            Sha256::digest(key.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        )
    }

    /// The 64 lower-case hexadecimal digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Sha256Hex {
    type Err = SettingError;

    fn from_str(text: &str) -> Result<Self, SettingError> {
        let text = text.trim();
        match text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            true => Ok(Self(text.to_ascii_lowercase())),
            false => Err(SettingError::NotSha256Hex),
        }
    }
}

impl From<Sha256Hex> for String {
    fn from(value: Sha256Hex) -> Self {
        value.0
    }
}

impl<'de> Deserialize<'de> for Sha256Hex {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)
            .map_err(|_| serde::de::Error::custom(SettingError::NotSha256Hex))?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_least_one_refuses_zero_and_non_numbers_alike_from_text_and_json() {
        assert_eq!("3".parse::<AtLeastOne>().unwrap().get(), 3);
        for text in ["0", "-1", "1.5", "", "ten", "4294967296"] {
            assert_eq!(
                text.parse::<AtLeastOne>(),
                Err(SettingError::NotAtLeastOne),
                "{text:?}"
            );
        }
        assert_eq!(
            serde_json::from_str::<AtLeastOne>("7").unwrap(),
            AtLeastOne::or_one(7)
        );
        for json in ["0", "-3", "\"5\"", "2.5"] {
            let error = serde_json::from_str::<AtLeastOne>(json).unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with(&SettingError::NotAtLeastOne.to_string()),
                "{json}: {error}"
            );
        }
        assert_eq!(AtLeastOne::or_one(0).get(), 1);
    }

    #[test]
    fn sha256_hex_takes_a_hash_in_either_case_and_refuses_a_plain_key() {
        let upper = "AB".repeat(32);
        let hash: Sha256Hex = upper.parse().unwrap();
        assert_eq!(hash.as_str(), "ab".repeat(32));
        for text in ["kiosk-key", &"ab".repeat(31), &"zz".repeat(32)] {
            assert_eq!(text.parse::<Sha256Hex>(), Err(SettingError::NotSha256Hex));
            let json = serde_json::to_string(text).unwrap();
            let error = serde_json::from_str::<Sha256Hex>(&json).unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with(&SettingError::NotSha256Hex.to_string()),
                "{error}"
            );
            assert!(!error.to_string().contains("kiosk-key"));
        }
    }
}
