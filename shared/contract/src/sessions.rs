//! Cases of the session store: a session is found by its hash until it ends, a
//! use moves only its last-used time, a password reset ends every session of
//! one account, and the daily purge removes the sessions started before a
//! time. The store is given times, so these cases never wait.

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

/// Counts, and unless `dry_run` removes, the sessions started before `cutoff`.
async fn purge(b: &Backend, cutoff: DateTime<Utc>, dry_run: bool) -> u64 {
    match b.sessions.purge_started_before(cutoff, dry_run).await {
        Ok(count) => count,
        Err(error) => panic!("purge_started_before failed: {error}"),
    }
}

/// The purge counts (dry run) then removes exactly the sessions started before
/// the cutoff, whoever they belong to and however recently used; sessions
/// ended before are not counted, later ones stay and still end normally, and a
/// second purge finds nothing.
pub async fn purge_started_before_counts_then_removes_exactly_the_older_sessions(b: Backend) {
    let (one, two, t) = (AccountId::new(), AccountId::new(), now_ms());
    let old = [
        session(one, plus(t, -3 * 3600)),
        session(two, plus(t, -2 * 3600)),
        session(one, plus(t, -3600 - 1)),
    ];
    let recent = [session(one, plus(t, -3600)), session(two, t)];
    let ended = session(two, plus(t, -4 * 3600));
    for record in old.iter().chain(&recent).chain([&ended]) {
        create(&b, record).await;
    }
    delete(&b, &ended.hash).await;
    if let Err(error) = b.sessions.touch(&old[0].hash, t).await {
        panic!("touch failed: {error}");
    }
    let cutoff = plus(t, -3600);
    assert_eq!(purge(&b, cutoff, true).await, 3, "the dry run counts");
    assert!(get(&b, &old[0].hash).await.is_some(), "and keeps");
    assert_eq!(purge(&b, cutoff, false).await, 3);
    for record in &old {
        assert_eq!(get(&b, &record.hash).await, None, "an old session survived");
    }
    for record in &recent {
        assert_eq!(get(&b, &record.hash).await.as_ref(), Some(record));
    }
    assert_eq!(purge(&b, cutoff, false).await, 0, "nothing twice");
    if let Err(error) = b.sessions.delete_all(one).await {
        panic!("delete_all failed: {error}");
    }
    assert_eq!(get(&b, &recent[0].hash).await, None);
    assert_eq!(
        purge(&b, plus(t, 1), false).await,
        1,
        "only the one left, once"
    );
    assert_eq!(get(&b, &recent[1].hash).await, None);
}
