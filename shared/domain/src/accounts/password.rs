//! The password policy (NIST SP 800-63B-4): a length window counted in Unicode
//! scalar values, no composition rules, and a blocklist of common and expected
//! values (the bundled list, a single repeated character, the account's own user
//! name or e-mail).

use std::collections::HashSet;
use std::sync::LazyLock;

/// The longest password accepted, in characters: long passphrases are welcome,
/// megabyte inputs that would only feed a hashing denial of service are not.
pub const MAX_PASSWORD_LENGTH: usize = 128;

/// The bundled list of common passwords (one per line, `#` starts a comment).
const COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

/// The bundled list, lower-cased, built on first use.
static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_lowercase)
        .collect()
});

/// Why a password was refused (answered as 422 `WEAK_PASSWORD` with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    /// Fewer characters than the configured minimum.
    #[error("the password must be at least {0} characters long")]
    TooShort(usize),
    /// More than [`MAX_PASSWORD_LENGTH`] characters.
    #[error("the password must be at most {0} characters long")]
    TooLong(usize),
    /// In the bundled list of common passwords.
    #[error("this password is too common: it is in a list of passwords attackers try first")]
    Common,
    /// One character repeated.
    #[error("the password must not be a single repeated character")]
    Repeated,
    /// Equal to the account's user name.
    #[error("the password must not be the user name")]
    SameAsUserName,
    /// Equal to the account's e-mail address.
    #[error("the password must not be the e-mail address")]
    SameAsEmail,
}

/// Which passwords patron-hub accepts; built once from the configured minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_length: usize,
}

impl PasswordPolicy {
    /// A policy asking for at least `min_length` characters (kept between 1 and
    /// [`MAX_PASSWORD_LENGTH`]).
    pub fn new(min_length: usize) -> Self {
        Self {
            min_length: min_length.clamp(1, MAX_PASSWORD_LENGTH),
        }
    }

    /// The minimum length in characters.
    pub fn min_length(&self) -> usize {
        self.min_length
    }

    /// Checks `password` for the account named `user_name` with address `email`
    /// (both compared without case). Nothing is trimmed or truncated: every
    /// character, spaces included, counts.
    pub fn check(&self, password: &str, user_name: &str, email: &str) -> Result<(), WeakPassword> {
        let length = password.chars().count();
        if length < self.min_length {
            return Err(WeakPassword::TooShort(self.min_length));
        }
        if length > MAX_PASSWORD_LENGTH {
            return Err(WeakPassword::TooLong(MAX_PASSWORD_LENGTH));
        }
        let lower = password.to_lowercase();
        if !user_name.is_empty() && lower == user_name.trim().to_lowercase() {
            return Err(WeakPassword::SameAsUserName);
        }
        if !email.is_empty() && lower == email.trim().to_lowercase() {
            return Err(WeakPassword::SameAsEmail);
        }
        let mut chars = password.chars();
        if let Some(first) = chars.next() {
            if chars.all(|c| c == first) {
                return Err(WeakPassword::Repeated);
            }
        }
        if COMMON.contains(&lower) {
            return Err(WeakPassword::Common);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "c.lefebvre";
    const EMAIL: &str = "camille.lefebvre@univ-example.fr";

    fn check(password: &str) -> Result<(), WeakPassword> {
        PasswordPolicy::new(12).check(password, USER, EMAIL)
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        // 11 characters but 21 bytes: too short.
        assert_eq!(check("ééééééééééa"), Err(WeakPassword::TooShort(12)));
        // 12 characters, 14 bytes: long enough.
        assert_eq!(check("éléphantvert"), Ok(()));
        let max = format!("{}b", "a".repeat(MAX_PASSWORD_LENGTH - 1));
        assert_eq!(check(&max), Ok(()));
        assert_eq!(
            check(&format!("{max}c")),
            Err(WeakPassword::TooLong(MAX_PASSWORD_LENGTH))
        );
    }

    #[test]
    fn the_minimum_is_configurable() {
        let relaxed = PasswordPolicy::new(8);
        assert_eq!(relaxed.check("tortue-bleu", USER, EMAIL), Ok(()));
        assert_eq!(check("tortue-bleu"), Err(WeakPassword::TooShort(12)));
        assert_eq!(PasswordPolicy::new(0).min_length(), 1);
        assert_eq!(
            PasswordPolicy::new(10_000).min_length(),
            MAX_PASSWORD_LENGTH
        );
    }

    #[test]
    fn no_composition_rules() {
        for fine in [
            "correct cheval agrafe pile",
            "onlylowercaseletters",
            "      spaced passphrase",
            "紅茶とケーキが大好きです",
        ] {
            assert_eq!(check(fine), Ok(()), "{fine}");
        }
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in [
            "password1234",
            "Password1234",
            "MOTDEPASSE123",
            "azertyuiop123",
            "1qaz2wsx3edc",
            "qwertyuiop12",
            "iloveyouiloveyou",
            "soleilsoleil",
            "nicolas12345",
            "bibliotheque2024",
            "123456789012",
        ] {
            assert_eq!(check(common), Err(WeakPassword::Common), "{common}");
        }
    }

    #[test]
    fn every_entry_of_the_bundled_list_is_refused() {
        let entries: Vec<&str> = COMMON_PASSWORDS
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect();
        assert!(entries.len() >= 300, "only {} entries", entries.len());
        for entry in entries {
            assert!(
                entry.chars().count() >= 12,
                "{entry} is shorter than the minimum"
            );
            assert!(check(entry).is_err(), "{entry}");
        }
    }

    #[test]
    fn the_user_name_and_email_are_refused() {
        let policy = PasswordPolicy::new(8);
        assert_eq!(
            policy.check("C.Lefebvre", USER, EMAIL),
            Err(WeakPassword::SameAsUserName)
        );
        assert_eq!(
            check("Camille.Lefebvre@univ-example.fr"),
            Err(WeakPassword::SameAsEmail)
        );
        assert_eq!(check("camille.lefebvre@univ-example.fr!"), Ok(()));
    }

    #[test]
    fn a_single_repeated_character_is_refused() {
        assert_eq!(check("ééééééééééééé"), Err(WeakPassword::Repeated));
        assert_eq!(check("ééééééééééééa"), Ok(()));
    }
}
