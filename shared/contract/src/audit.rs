//! Cases of the staff console's audit log: entries come back intact, newest
//! first, only for the patron they are about; a primary-id change is listed
//! under the old id and the new one; an entry recorded twice is kept once.

use crate::support::{institution, now_ms, patron};
use crate::ConsoleBackend;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use patron_hub_domain::accounts::AccountId;
use patron_hub_domain::console::{AuditEntry, ConsoleAction};
use patron_hub_domain::PrimaryId;

/// An action of staff member "Zoë" about `primary_id`, `offset` seconds after
/// `t`, queued in the first two institutions: the id is a new console action id.
fn entry(
    primary_id: &PrimaryId,
    action: ConsoleAction,
    t: DateTime<Utc>,
    offset: i64,
) -> AuditEntry {
    AuditEntry {
        id: format!("console:{}", uuid::Uuid::new_v4()),
        primary_id: primary_id.clone(),
        actor: AccountId::new(),
        actor_name: "zoë.ørsted".to_owned(),
        action,
        institutions: vec![institution(0), institution(1)],
        at: t + TimeDelta::seconds(offset),
    }
}

/// A new expiry date, the most common action.
fn set_expiry() -> ConsoleAction {
    ConsoleAction::SetExpiry {
        expiry_date: NaiveDate::from_ymd_opt(2031, 6, 30).expect("a valid day"),
    }
}

/// Records, failing the case on a storage error.
async fn record(b: &ConsoleBackend, entry: &AuditEntry) {
    if let Err(error) = b.audit.record(entry).await {
        panic!("record of {} failed: {error}", entry.id);
    }
}

/// Reads a patron's entries, failing the case on a storage error.
async fn for_patron(b: &ConsoleBackend, primary_id: &PrimaryId) -> Vec<AuditEntry> {
    match b.audit.for_patron(primary_id).await {
        Ok(entries) => entries,
        Err(error) => panic!("for_patron({primary_id}) failed: {error}"),
    }
}

/// Entries recorded out of order are read back intact (every action kind),
/// newest first.
pub async fn recorded_entries_are_read_newest_first(b: ConsoleBackend) {
    let (who, t) = (patron(), now_ms());
    let oldest = entry(&who, ConsoleAction::DeleteEverywhere, t, 0);
    let middle = entry(&who, set_expiry(), t, 60);
    let newest = entry(&who, ConsoleAction::Redistribute, t, 120);
    for recorded in [&middle, &newest, &oldest] {
        record(&b, recorded).await;
    }
    assert_eq!(for_patron(&b, &who).await, vec![newest, middle, oldest]);
}

/// A primary-id change is found under the id it was made from and under the
/// new id, among the other entries of each, in time order.
pub async fn a_primary_id_change_is_listed_under_both_ids(b: ConsoleBackend) {
    let (old_id, new_id, t) = (patron(), patron(), now_ms());
    let before = entry(&old_id, set_expiry(), t, 0);
    let change = entry(
        &old_id,
        ConsoleAction::ChangePrimaryId {
            new_primary_id: new_id.clone(),
        },
        t,
        10,
    );
    let after = entry(&new_id, ConsoleAction::DeleteEverywhere, t, 20);
    for recorded in [&after, &change, &before] {
        record(&b, recorded).await;
    }
    assert_eq!(
        for_patron(&b, &old_id).await,
        vec![change.clone(), before],
        "under the old primary id"
    );
    assert_eq!(
        for_patron(&b, &new_id).await,
        vec![after, change],
        "under the new primary id"
    );
}

/// A patron's read holds only that patron's entries, even when another
/// patron's entry has the same time; a patron without entries reads none.
pub async fn other_patrons_entries_never_show(b: ConsoleBackend) {
    let (mine, theirs, nobody, t) = (patron(), patron(), patron(), now_ms());
    let my_entry = entry(&mine, set_expiry(), t, 0);
    let their_entry = entry(&theirs, set_expiry(), t, 0);
    let their_change = entry(
        &theirs,
        ConsoleAction::ChangePrimaryId {
            new_primary_id: patron(),
        },
        t,
        5,
    );
    for recorded in [&their_entry, &my_entry, &their_change] {
        record(&b, recorded).await;
    }
    assert_eq!(for_patron(&b, &mine).await, vec![my_entry]);
    assert_eq!(
        for_patron(&b, &theirs).await,
        vec![their_change, their_entry]
    );
    assert_eq!(for_patron(&b, &nobody).await, Vec::<AuditEntry>::new());
}

/// Recording the same entry again (a retried request) keeps one copy, under
/// each of its ids.
pub async fn recording_an_entry_twice_keeps_one(b: ConsoleBackend) {
    let (old_id, new_id, t) = (patron(), patron(), now_ms());
    let change = entry(
        &old_id,
        ConsoleAction::ChangePrimaryId {
            new_primary_id: new_id.clone(),
        },
        t,
        0,
    );
    let expiry = entry(&old_id, set_expiry(), t, 30);
    for recorded in [&change, &expiry, &change, &expiry] {
        record(&b, recorded).await;
    }
    assert_eq!(for_patron(&b, &old_id).await, vec![expiry, change.clone()]);
    assert_eq!(for_patron(&b, &new_id).await, vec![change]);
}
