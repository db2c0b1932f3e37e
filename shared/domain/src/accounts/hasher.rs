//! Password hashing with Argon2id (OWASP Password Storage: m=19456 KiB, t=2,
//! p=1), stored as a PHC string so the parameters can be raised later and old
//! hashes upgraded on the next successful login.
//!
//! Hashing is deliberately slow and memory-hungry, so it runs on tokio's blocking
//! pool, and at most one hash per core runs at a time (a login flood queues up
//! instead of exhausting memory).

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Argon2id memory cost in KiB (19 MiB).
pub const ARGON2_MEMORY_KIB: u32 = 19_456;
/// Argon2id passes over memory.
pub const ARGON2_ITERATIONS: u32 = 2;
/// Argon2id lanes.
pub const ARGON2_PARALLELISM: u32 = 1;

/// The salt of the dummy verification done for an identifier no account holds:
/// the same Argon2id work as a real verification, whose result is thrown away.
const DUMMY_SALT: &[u8; 16] = b"patron-hub-dummy";

/// Hashing could not run (the blocking pool is gone, or argon2 refused its input).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashingError(String);

/// The outcome of checking a password against an account's stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password is right.
    Match {
        /// The stored hash uses weaker parameters than today's: store a new one.
        needs_rehash: bool,
    },
    /// Wrong password, no stored hash, or no account at all.
    Mismatch,
}

/// Hashes and verifies passwords; built once and shared by the account service.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    params: Params,
    /// Hashes running at once: one per core.
    permits: Arc<Semaphore>,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordHasher {
    /// A hasher with today's parameters.
    pub fn new() -> Self {
        let params = Params::new(
            ARGON2_MEMORY_KIB,
            ARGON2_ITERATIONS,
            ARGON2_PARALLELISM,
            None,
        )
        .unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            params,
            permits: Arc::new(Semaphore::new(cores)),
        }
    }

    /// The PHC string of `password` with a fresh 128-bit salt.
    pub async fn hash(&self, password: &str) -> Result<String, HashingError> {
        let password = password.to_owned();
        self.blocking(move |hasher| hasher.hash_now(&password))
            .await?
    }

    /// Checks `password` against `stored`. With no stored hash (unknown account,
    /// or no password set yet) the same Argon2id work is done against a dummy,
    /// so that the time taken does not tell whether the account exists.
    pub async fn verify(
        &self,
        stored: Option<&str>,
        password: &str,
    ) -> Result<Verification, HashingError> {
        let (stored, password) = (stored.map(str::to_owned), password.to_owned());
        self.blocking(move |hasher| hasher.verify_now(stored.as_deref(), &password))
            .await
    }

    /// Whether `stored` was made with weaker parameters (or another algorithm or
    /// version) than today's.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let Ok(hash) = PasswordHash::new(stored) else {
            return true;
        };
        let Ok(params) = Params::try_from(&hash) else {
            return true;
        };
        hash.algorithm != Algorithm::Argon2id.ident()
            || hash.version != Some(Version::V0x13.into())
            || params.m_cost() < self.params.m_cost()
            || params.t_cost() < self.params.t_cost()
            || params.p_cost() < self.params.p_cost()
    }

    /// Runs `work` on the blocking pool once a permit is free.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, HashingError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashingError(e.to_string()))?;
        let hasher = self.clone();
        tokio::task::spawn_blocking(move || work(&hasher))
            .await
            .map_err(|e| HashingError(e.to_string()))
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    fn hash_now(&self, password: &str) -> Result<String, HashingError> {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| HashingError(e.to_string()))?;
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| HashingError(e.to_string()))
    }

    fn verify_now(&self, stored: Option<&str>, password: &str) -> Verification {
        match stored.and_then(|s| PasswordHash::new(s).ok()) {
            Some(hash) => match self.argon2().verify_password(password.as_bytes(), &hash) {
                Ok(()) => Verification::Match {
                    needs_rehash: self.needs_rehash(hash.serialize().as_str()),
                },
                Err(_) => Verification::Mismatch,
            },
            None => {
                let mut thrown_away = [0u8; 32];
                // The result is thrown away: only the work matters.
                let _ = self.argon2().hash_password_into(
                    password.as_bytes(),
                    DUMMY_SALT,
                    &mut thrown_away,
                );
                Verification::Mismatch
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PHC string made with weaker parameters than today's.
    fn weak_hash(password: &str) -> String {
        let params = Params::new(8 * 1024, 1, 1, None).unwrap();
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_with_todays_parameters() {
        let hasher = PasswordHasher::new();
        let hash = hasher.hash("tortue bleue du lundi").await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains("tortue"));
        let again = hasher.hash("tortue bleue du lundi").await.unwrap();
        assert_ne!(hash, again, "every hash has its own salt");
        assert!(!hasher.needs_rehash(&hash));
    }

    #[tokio::test]
    async fn verification_tells_right_from_wrong() {
        let hasher = PasswordHasher::new();
        let hash = hasher.hash("tortue bleue du lundi").await.unwrap();
        assert_eq!(
            hasher
                .verify(Some(&hash), "tortue bleue du lundi")
                .await
                .unwrap(),
            Verification::Match {
                needs_rehash: false
            }
        );
        assert_eq!(
            hasher
                .verify(Some(&hash), "tortue bleue du mardi")
                .await
                .unwrap(),
            Verification::Mismatch
        );
        assert_eq!(
            hasher.verify(None, "tortue bleue du lundi").await.unwrap(),
            Verification::Mismatch
        );
        assert_eq!(
            hasher.verify(Some("not a phc string"), "x").await.unwrap(),
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn weaker_hashes_verify_and_ask_to_be_rehashed() {
        let hasher = PasswordHasher::new();
        let old = weak_hash("ancien mot de passe");
        assert!(hasher.needs_rehash(&old));
        assert_eq!(
            hasher
                .verify(Some(&old), "ancien mot de passe")
                .await
                .unwrap(),
            Verification::Match { needs_rehash: true }
        );
        let argon2i = old.replacen("$argon2id$", "$argon2i$", 1);
        assert!(hasher.needs_rehash(&argon2i));
    }
}
