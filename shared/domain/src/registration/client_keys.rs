//! API keys of the client systems (the discovery layer, a kiosk) that call the
//! registration API. Only SHA-256 hashes of the keys are configured or stored,
//! and a presented key is compared with every hash in constant time.

use crate::settings::Sha256Hex;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// What a client key allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientScope {
    /// Staging records and registration status.
    Registration,
    /// Everything `registration` allows, plus on-site completion.
    Staff,
}

/// One configured client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientKey {
    /// Who the client is (for logs).
    pub name: String,
    /// The SHA-256 of the key (never the key itself).
    pub sha256: Sha256Hex,
    /// What it may do.
    pub scope: ClientScope,
}

impl ClientKey {
    /// A client entry for a plain key (hashes it); for the demo key and tests.
    pub fn from_plain(name: &str, key: &str, scope: ClientScope) -> Self {
        Self {
            name: name.to_owned(),
            sha256: Sha256Hex::of(key),
            scope,
        }
    }
}

/// The SHA-256 of a key as lower-case hex: what the configuration holds.
pub fn hash_key(key: &str) -> String {
    Sha256Hex::of(key).into()
}

/// The configured client keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientKeys(Vec<ClientKey>);

impl ClientKeys {
    /// The keys a deployment accepts.
    pub fn new(keys: Vec<ClientKey>) -> Self {
        Self(keys)
    }

    /// The client a presented key belongs to. Every configured hash is compared
    /// (in constant time) whatever the key, so timing says nothing about which
    /// hash came close.
    pub fn authenticate(&self, presented: &str) -> Option<&ClientKey> {
        let presented = hash_key(presented);
        let mut found = None;
        for key in &self.0 {
            let equal: bool = key
                .sha256
                .as_str()
                .as_bytes()
                .ct_eq(presented.as_bytes())
                .into();
            if equal && found.is_none() {
                found = Some(key);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_key_authenticates() {
        let keys = ClientKeys::new(vec![
            ClientKey::from_plain("kiosk", "k1", ClientScope::Registration),
            ClientKey::from_plain("desk", "k2", ClientScope::Staff),
        ]);
        assert_eq!(keys.authenticate("k2").unwrap().scope, ClientScope::Staff);
        assert_eq!(keys.authenticate("k1").unwrap().name, "kiosk");
        assert!(keys.authenticate("k3").is_none());
        assert!(keys.authenticate("").is_none());
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
