//! `X-Exl-Signature`: standard padded Base64 of HMAC-SHA256 over the raw body,
//! keyed with the secret's UTF-8 bytes.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The signature is missing, malformed, or made with none of the accepted secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the webhook signature is missing or invalid")]
pub struct InvalidSignature;

/// The webhook secrets currently accepted: the current one first, and during a
/// rotation the previous one too, so no delivery is refused while Alma's
/// integration profile and patron-hub are switched over.
#[derive(Clone)]
pub struct WebhookSecrets(Vec<Vec<u8>>);

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookSecrets({} secrets, redacted)", self.0.len())
    }
}

impl WebhookSecrets {
    /// Accepts signatures made with any of `secrets` (empty secrets are dropped).
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        Self(
            secrets
                .into_iter()
                .map(|s| s.as_ref().as_bytes().to_vec())
                .filter(|s| !s.is_empty())
                .collect(),
        )
    }

    /// How many secrets are accepted.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no secret is configured (then every delivery is refused).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks `header` against `body` in constant time for each secret. The tag
    /// is decoded and its length checked before any comparison.
    pub fn verify(&self, body: &[u8], header: Option<&str>) -> Result<(), InvalidSignature> {
        let tag = STANDARD
            .decode(header.ok_or(InvalidSignature)?.trim())
            .map_err(|_| InvalidSignature)?;
        if tag.len() != 32 {
            return Err(InvalidSignature);
        }
        let mut valid = false;
        for secret in &self.0 {
            let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| InvalidSignature)?;
            mac.update(body);
            // `verify_slice` compares in constant time; every secret is tried so
            // the time taken does not tell which one matched.
            valid |= mac.verify_slice(&tag).is_ok();
        }
        valid.then_some(()).ok_or(InvalidSignature)
    }
}

/// Signs `body` as Alma does: what the Alma sandbox, the benchmarks and the tests
/// put in `X-Exl-Signature`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vector() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), Base64.
        assert_eq!(
            sign("key", b"The quick brown fox jumps over the lazy dog"),
            "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
        );
    }

    #[test]
    fn refuses_missing_malformed_short_and_wrong_signatures() {
        let secrets = WebhookSecrets::new(["s3cret"]);
        let body = br#"{"id":"1"}"#;
        assert_eq!(secrets.verify(body, None), Err(InvalidSignature));
        assert_eq!(
            secrets.verify(body, Some("not base64!")),
            Err(InvalidSignature)
        );
        assert_eq!(secrets.verify(body, Some("AAAA")), Err(InvalidSignature));
        assert_eq!(
            secrets.verify(body, Some(&sign("other", body))),
            Err(InvalidSignature)
        );
        assert_eq!(secrets.verify(body, Some(&sign("s3cret", body))), Ok(()));
    }

    #[test]
    fn accepts_the_previous_secret_during_rotation() {
        let secrets = WebhookSecrets::new(["new", "old"]);
        assert_eq!(secrets.verify(b"x", Some(&sign("old", b"x"))), Ok(()));
        assert_eq!(secrets.verify(b"x", Some(&sign("new", b"x"))), Ok(()));
    }

    #[test]
    fn no_secret_accepts_nothing() {
        let secrets = WebhookSecrets::new([""]);
        assert!(secrets.is_empty());
        assert_eq!(
            secrets.verify(b"x", Some(&sign("", b"x"))),
            Err(InvalidSignature)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn signed_bodies_verify_and_any_bit_flip_fails(body in proptest::collection::vec(any::<u8>(), 0..512), bit in any::<usize>()) {
            let secrets = WebhookSecrets::new(["demo-webhook-secret"]);
            let signature = sign("demo-webhook-secret", &body);
            prop_assert_eq!(secrets.verify(&body, Some(&signature)), Ok(()));
            if !body.is_empty() {
                let mut tampered = body.clone();
                let bit = bit % (tampered.len() * 8);
                tampered[bit / 8] ^= 1 << (bit % 8);
                prop_assert_eq!(secrets.verify(&tampered, Some(&signature)), Err(InvalidSignature));
            }
        }
    }
}
