//! Single-use tokens and session tokens never reach the database file: only their
//! SHA-256 does. The file and its write-ahead log are scanned byte by byte.

use chrono::{TimeDelta, Utc};
use patron_hub_domain::accounts::{
    AccountId, SecretToken, SessionRecord, SessionStore, TokenPurpose, TokenRecord, TokenStore,
};
use patron_hub_domain::SystemClock;
use patron_hub_store_sqlite::SqliteStore;
use std::path::Path;
use std::sync::Arc;

/// Every byte of every file in `folder` (the database, its WAL and shared memory).
fn bytes_at_rest(folder: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    bytes
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// Which of `secrets` occur in the files of `folder`, and which of their hashes do not.
fn leaks_and_missing_hashes(folder: &Path, secrets: &[SecretToken]) -> (usize, usize) {
    let bytes = bytes_at_rest(folder);
    let leaked = secrets
        .iter()
        .filter(|s| contains(&bytes, s.expose()))
        .count();
    let missing = secrets
        .iter()
        .filter(|s| !contains(&bytes, s.hash().as_str()))
        .count();
    (leaked, missing)
}

#[tokio::test]
async fn the_file_holds_token_hashes_and_never_a_token() {
    let folder = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(
        &folder.path().join("patron-hub.sqlite3"),
        Arc::new(SystemClock),
    )
    .unwrap();
    let (account, now) = (AccountId::new(), Utc::now());
    let secrets: Vec<SecretToken> = (0..30).map(|_| SecretToken::generate()).collect();
    for (i, secret) in secrets.iter().enumerate() {
        if i % 3 == 0 {
            let session = SessionRecord {
                hash: secret.hash(),
                account_id: account,
                created_at: now,
                last_used_at: now,
            };
            store.create(&session).await.unwrap();
        } else {
            let purpose = if i % 3 == 1 {
                TokenPurpose::Activation
            } else {
                TokenPurpose::PasswordReset
            };
            let token = TokenRecord {
                hash: secret.hash(),
                account_id: account,
                purpose,
                issued_at: now,
                expires_at: now + TimeDelta::minutes(30),
            };
            store.issue(&token).await.unwrap();
        }
    }

    assert_eq!(
        leaks_and_missing_hashes(folder.path(), &secrets),
        (0, 0),
        "(tokens found in the open database, hashes not found)"
    );
    drop(store);
    assert_eq!(
        leaks_and_missing_hashes(folder.path(), &secrets),
        (0, 0),
        "(tokens found in the closed database, hashes not found)"
    );
}
