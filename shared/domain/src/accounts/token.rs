//! Secret tokens (activation, password reset, sessions): 256 random bits handed
//! to the person once, and only their SHA-256 kept.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// A token as given to its holder (in a link or a cookie). Never stored, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    /// 32 bytes from the operating system's CSPRNG, Base64url without padding (43 characters).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as presented by its holder (not checked here: an unknown token
    /// simply has no stored hash).
    pub fn presented(token: &str) -> Self {
        Self(token.trim().to_owned())
    }

    /// The text to hand out.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash under which the token is stored and looked up.
    pub fn hash(&self) -> TokenHash {
        TokenHash(hex(&Sha256::digest(self.0.as_bytes())))
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(redacted)")
    }
}

/// SHA-256 of a token, in lower-case hex: what storage holds. Looking a token up
/// by its hash is an exact-match index lookup, so no byte-by-byte comparison of
/// secrets happens in patron-hub's code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(pub String);

impl TokenHash {
    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_bits_and_differ() {
        let (a, b) = (SecretToken::generate(), SecretToken::generate());
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a, b);
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn the_hash_is_sha256_hex_and_the_token_is_not_in_it() {
        let token = SecretToken::presented("abc");
        assert_eq!(
            token.hash().as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(format!("{token:?}"), "SecretToken(redacted)");
    }
}
