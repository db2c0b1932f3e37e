//! Cases of the session store: a session is found by its hash until it ends, a
//! use moves only its last-used time, and a password reset ends every session of
//! one account. The store is given times, so these cases never wait.

use crate::people::{plus, token_hash};
use crate::support::now_ms;
use crate::Backend;
use chrono::{DateTime, Utc};
use patron_hub_domain::accounts::{AccountId, SessionRecord, TokenHash};

/// A new session of `account`, started and last used at `at`.
fn session(account: AccountId, at: DateTime<Utc>) -> SessionRecord {
    SessionRecord {
        hash: token_hash(),
        account_id: account,
        created_at: at,
        last_used_at: at,
    }
}

/// Creates, failing the case on a storage error.
async fn create(b: &Backend, record: &SessionRecord) {
    if let Err(error) = b.sessions.create(record).await {
        panic!("create of a session failed: {error}");
    }
}

/// Reads, failing the case on a storage error.
async fn get(b: &Backend, hash: &TokenHash) -> Option<SessionRecord> {
    match b.sessions.get(hash).await {
        Ok(record) => record,
        Err(error) => panic!("get of a session failed: {error}"),
    }
}

/// Ends one session, failing the case on a storage error.
async fn delete(b: &Backend, hash: &TokenHash) {
    if let Err(error) = b.sessions.delete(hash).await {
        panic!("delete of a session failed: {error}");
    }
}

/// A created session reads back intact until it is deleted; deleting it again, or
/// an unknown one, is harmless.
pub async fn created_session_is_found_until_deleted(b: Backend) {
    let record = session(AccountId::new(), now_ms());
    let other = session(AccountId::new(), now_ms());
    create(&b, &record).await;
    create(&b, &other).await;
    assert_eq!(get(&b, &record.hash).await.as_ref(), Some(&record));
    assert_eq!(get(&b, &token_hash()).await, None, "an unknown session");
    delete(&b, &record.hash).await;
    assert_eq!(get(&b, &record.hash).await, None);
    delete(&b, &record.hash).await;
    delete(&b, &token_hash()).await;
    assert_eq!(get(&b, &other.hash).await.as_ref(), Some(&other));
}

/// A touch moves the last-used time and nothing else; touching an ended session
/// is harmless and does not bring it back.
pub async fn touch_records_the_last_use(b: Backend) {
    let t = now_ms();
    let record = session(AccountId::new(), t);
    create(&b, &record).await;
    for minutes in [5, 9] {
        let at = plus(t, 60 * minutes);
        if let Err(error) = b.sessions.touch(&record.hash, at).await {
            panic!("touch failed: {error}");
        }
        let expected = SessionRecord {
            last_used_at: at,
            ..record.clone()
        };
        assert_eq!(get(&b, &record.hash).await, Some(expected));
    }
    delete(&b, &record.hash).await;
    if let Err(error) = b.sessions.touch(&record.hash, plus(t, 600)).await {
        panic!("touch of an ended session failed: {error}");
    }
    assert_eq!(
        get(&b, &record.hash).await,
        None,
        "a touch revived an ended session"
    );
}

/// `delete_all` ends every session of one account and leaves the others'.
pub async fn delete_all_ends_only_that_accounts_sessions(b: Backend) {
    let (reset, bystander, t) = (AccountId::new(), AccountId::new(), now_ms());
    let ended = [
        session(reset, t),
        session(reset, plus(t, 1)),
        session(reset, plus(t, 2)),
    ];
    let kept = [session(bystander, t), session(bystander, plus(t, 3))];
    for record in ended.iter().chain(&kept) {
        create(&b, record).await;
    }
    if let Err(error) = b.sessions.delete_all(reset).await {
        panic!("delete_all failed: {error}");
    }
    for record in &ended {
        assert_eq!(
            get(&b, &record.hash).await,
            None,
            "a session survived delete_all"
        );
    }
    for record in &kept {
        assert_eq!(get(&b, &record.hash).await.as_ref(), Some(record));
    }
}
