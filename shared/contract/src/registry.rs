//! Cases of the patron registry: an entry is found by primary id, by each of its
//! e-mails and by its external id as soon as it is saved; saves and removals are
//! optimistically locked; lookup keys move with the entry in the same write and
//! are not unique (two patrons may share an e-mail).

use crate::people::unique_word;
use crate::support::{institution, now_ms, patron};
use crate::Backend;
use chrono::{NaiveDate, TimeDelta};
use patron_hub_domain::registration::{
    ExternalSystemId, Holding, PatronStatus, RecordType, RecordWriteError, RegistryEntry,
};
use patron_hub_domain::PrimaryId;
use std::collections::BTreeMap;

/// How many writers race in the concurrent case.
const RACERS: usize = 10;

/// A normalised e-mail no other case uses.
fn fresh_email() -> String {
    format!("reader.{}@example.org", unique_word())
}

/// An external id no other case uses.
fn fresh_external_id() -> String {
    ExternalSystemId::generate().to_string()
}

/// A new entry (version 1) of a new patron with these e-mails and external id,
/// every field filled (non-ASCII names, two holdings) so a lossy round trip shows.
fn entry(emails: &[&str], external_id: Option<&str>) -> RegistryEntry {
    let at = now_ms();
    let expiry = NaiveDate::from_ymd_opt(2030, 12, 31);
    let mut emails: Vec<String> = emails.iter().map(|e| (*e).to_owned()).collect();
    emails.sort();
    let holdings = BTreeMap::from([
        (
            institution(0),
            Holding {
                status: PatronStatus::Active,
                expiry_date: expiry,
                user_group: Some("EXT".to_owned()),
                seen_at: at,
            },
        ),
        (
            institution(1),
            Holding {
                status: PatronStatus::Inactive,
                expiry_date: None,
                user_group: None,
                seen_at: at - TimeDelta::seconds(90),
            },
        ),
    ]);
    RegistryEntry {
        primary_id: patron(),
        emails,
        record_type: RecordType::Patron,
        status: PatronStatus::Active,
        expiry_date: expiry,
        user_group: Some("EXT".to_owned()),
        first_name: Some("Zoë".to_owned()),
        last_name: Some("Ørsted-Łukasiewicz".to_owned()),
        external_system_id: external_id.map(str::to_owned),
        holdings,
        updated_at: at,
        version: 1,
    }
}

/// `previous` as its next save would write it, with `change` applied.
fn next(previous: &RegistryEntry, change: impl FnOnce(&mut RegistryEntry)) -> RegistryEntry {
    let mut entry = previous.clone();
    entry.version = previous.version + 1;
    entry.updated_at = previous.updated_at + TimeDelta::milliseconds(1);
    change(&mut entry);
    entry
}

/// Saves, failing the case on any error.
async fn save(b: &Backend, previous: Option<&RegistryEntry>, entry: &RegistryEntry) {
    if let Err(error) = b.registry.save(previous, entry).await {
        panic!(
            "save of {} version {} failed: {error}",
            entry.primary_id, entry.version
        );
    }
}

/// Fails unless `result` is a VersionConflict.
fn assert_conflict(result: Result<(), RecordWriteError>, why: &str) {
    match result {
        Err(RecordWriteError::VersionConflict) => {}
        Err(RecordWriteError::Store(error)) => panic!("{why}: storage failed: {error}"),
        other => panic!("{why}: expected VersionConflict, got {other:?}"),
    }
}

/// Reads one entry, failing the case on a storage error.
async fn get(b: &Backend, id: &PrimaryId) -> Option<RegistryEntry> {
    match b.registry.get(id).await {
        Ok(entry) => entry,
        Err(error) => panic!("get of {id} failed: {error}"),
    }
}

/// Every entry with this e-mail, in primary-id order.
async fn by_email(b: &Backend, email: &str) -> Vec<RegistryEntry> {
    match b.registry.find_by_email(email).await {
        Ok(entries) => sorted(entries),
        Err(error) => panic!("find_by_email({email}) failed: {error}"),
    }
}

/// Every entry with this external id, in primary-id order.
async fn by_external_id(b: &Backend, id: &str) -> Vec<RegistryEntry> {
    let parsed = ExternalSystemId::parse(id).expect("the suite's external ids are valid");
    match b.registry.find_by_external_id(&parsed).await {
        Ok(entries) => sorted(entries),
        Err(error) => panic!("find_by_external_id({id}) failed: {error}"),
    }
}

/// Entries in primary-id order, for comparing lookups whose order is unspecified.
fn sorted(mut entries: Vec<RegistryEntry>) -> Vec<RegistryEntry> {
    entries.sort_by(|a, b| a.primary_id.cmp(&b.primary_id));
    entries
}

/// A saved entry reads back intact by primary id, by each of its e-mails and by
/// its external id; unknown ones find nothing.
pub async fn saved_entry_is_found_by_id_email_and_external_id(b: Backend) {
    let (home, work, external) = (fresh_email(), fresh_email(), fresh_external_id());
    let saved = entry(&[&home, &work], Some(&external));
    save(&b, None, &saved).await;
    assert_eq!(get(&b, &saved.primary_id).await.as_ref(), Some(&saved));
    for email in [&home, &work] {
        assert_eq!(by_email(&b, email).await, vec![saved.clone()], "by {email}");
    }
    assert_eq!(by_external_id(&b, &external).await, vec![saved.clone()]);
    assert_eq!(get(&b, &patron()).await, None, "an unknown patron");
    assert!(by_email(&b, &fresh_email()).await.is_empty());
    assert!(by_external_id(&b, &fresh_external_id()).await.is_empty());
}

/// A save whose `previous` is not what is stored (older, or never stored) and a
/// save of a new entry over a stored one are VersionConflicts that change nothing.
pub async fn stale_or_blind_saves_are_version_conflicts(b: Backend) {
    let first = entry(&[&fresh_email()], Some(&fresh_external_id()));
    save(&b, None, &first).await;
    let intruder_email = fresh_email();
    let blind = RegistryEntry {
        primary_id: first.primary_id.clone(),
        ..entry(&[&intruder_email], None)
    };
    assert_conflict(
        b.registry.save(None, &blind).await,
        "a new entry over a stored one",
    );
    let second = next(&first, |e| e.user_group = Some("STAFF".to_owned()));
    save(&b, Some(&first), &second).await;
    let stale = next(&first, |e| e.emails = vec![intruder_email.clone()]);
    assert_conflict(
        b.registry.save(Some(&first), &stale).await,
        "a save from an older version",
    );
    assert_eq!(get(&b, &first.primary_id).await.as_ref(), Some(&second));
    assert!(
        by_email(&b, &intruder_email).await.is_empty(),
        "a refused save moved a lookup key"
    );
    let never_stored = entry(&[&fresh_email()], None);
    assert_conflict(
        b.registry
            .save(Some(&never_stored), &next(&never_stored, |_| {}))
            .await,
        "a save from a version that was never stored",
    );
    assert_eq!(get(&b, &never_stored.primary_id).await, None);
}

/// A save that changes the e-mails moves the lookup keys: a dropped e-mail finds
/// nothing, a kept or added one finds the new version.
pub async fn email_change_moves_the_lookup_key(b: Backend) {
    let (dropped, kept, added) = (fresh_email(), fresh_email(), fresh_email());
    let first = entry(&[&dropped, &kept], None);
    save(&b, None, &first).await;
    let mut emails = vec![kept.clone(), added.clone()];
    emails.sort();
    let second = next(&first, |e| e.emails = emails);
    save(&b, Some(&first), &second).await;
    assert!(
        by_email(&b, &dropped).await.is_empty(),
        "the dropped e-mail still finds the patron"
    );
    for email in [&kept, &added] {
        assert_eq!(
            by_email(&b, email).await,
            vec![second.clone()],
            "by {email}"
        );
    }
}

/// A save that changes or drops the external id moves or drops its lookup key.
pub async fn external_id_change_moves_the_lookup_key(b: Backend) {
    let (old, new) = (fresh_external_id(), fresh_external_id());
    let first = entry(&[&fresh_email()], Some(&old));
    save(&b, None, &first).await;
    let second = next(&first, |e| e.external_system_id = Some(new.clone()));
    save(&b, Some(&first), &second).await;
    assert!(by_external_id(&b, &old).await.is_empty(), "the old id");
    assert_eq!(by_external_id(&b, &new).await, vec![second.clone()]);
    let third = next(&second, |e| e.external_system_id = None);
    save(&b, Some(&second), &third).await;
    assert!(by_external_id(&b, &new).await.is_empty(), "a dropped id");
    assert_eq!(get(&b, &first.primary_id).await, Some(third));
}

/// Lookup keys are not unique: every patron holding an e-mail (a staff record
/// too) or an external id is found, and removing one leaves the others.
pub async fn entries_sharing_an_email_or_external_id_are_all_found(b: Backend) {
    let (shared, shared_id) = (fresh_email(), fresh_external_id());
    let reader = entry(&[&shared, &fresh_email()], Some(&shared_id));
    let twin = entry(&[&shared], Some(&shared_id));
    let librarian = RegistryEntry {
        record_type: RecordType::Staff,
        ..entry(&[&shared], None)
    };
    for saved in [&reader, &twin, &librarian] {
        save(&b, None, saved).await;
    }
    let everyone = sorted(vec![reader.clone(), twin.clone(), librarian.clone()]);
    assert_eq!(by_email(&b, &shared).await, everyone);
    let both = sorted(vec![reader.clone(), twin.clone()]);
    assert_eq!(by_external_id(&b, &shared_id).await, both);
    if let Err(error) = b.registry.remove(&twin).await {
        panic!("remove of {} failed: {error}", twin.primary_id);
    }
    let left = sorted(vec![reader.clone(), librarian]);
    assert_eq!(by_email(&b, &shared).await, left);
    assert_eq!(by_external_id(&b, &shared_id).await, vec![reader]);
}

/// A removal of an older version is a VersionConflict that keeps the entry; the
/// current version's removal takes the entry and every key, so the primary id
/// can be saved anew; removing it again is a VersionConflict.
pub async fn remove_takes_the_keys_and_refuses_a_stale_version(b: Backend) {
    let (email, external) = (fresh_email(), fresh_external_id());
    let first = entry(&[&email], Some(&external));
    save(&b, None, &first).await;
    let second = next(&first, |e| e.status = PatronStatus::Inactive);
    save(&b, Some(&first), &second).await;
    assert_conflict(b.registry.remove(&first).await, "removal of version 1");
    assert_eq!(get(&b, &first.primary_id).await.as_ref(), Some(&second));
    assert_eq!(by_email(&b, &email).await, vec![second.clone()]);
    if let Err(error) = b.registry.remove(&second).await {
        panic!("remove of the current version failed: {error}");
    }
    assert_eq!(get(&b, &first.primary_id).await, None);
    assert!(
        by_email(&b, &email).await.is_empty(),
        "a removed e-mail key"
    );
    assert!(
        by_external_id(&b, &external).await.is_empty(),
        "a removed id key"
    );
    assert_conflict(
        b.registry.remove(&second).await,
        "removal of a removed entry",
    );
    let reborn = RegistryEntry {
        primary_id: first.primary_id.clone(),
        ..entry(&[&fresh_email()], None)
    };
    save(&b, None, &reborn).await;
    assert_eq!(get(&b, &first.primary_id).await, Some(reborn));
}

/// Ten concurrent saves from the same previous version, each adding its own
/// e-mail: exactly one succeeds, the others are VersionConflicts, and only the
/// winner's e-mail finds the patron.
pub async fn concurrent_saves_from_one_previous_let_one_win(b: Backend) {
    let first = entry(&[&fresh_email()], None);
    save(&b, None, &first).await;
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let email = fresh_email();
            let mut emails = vec![first.emails[0].clone(), email.clone()];
            emails.sort();
            let candidate = next(&first, |e| e.emails = emails);
            let (registry, first) = (b.registry.clone(), first.clone());
            tokio::spawn(async move {
                let result = registry.save(Some(&first), &candidate).await;
                (email, candidate, result)
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut losing_emails = Vec::new();
    for joined in futures::future::join_all(tasks).await {
        let (email, candidate, result) = joined.expect("a saving task panicked");
        match result {
            Ok(()) => winners.push((email, candidate)),
            Err(RecordWriteError::VersionConflict) => losing_emails.push(email),
            Err(error) => panic!("a concurrent save failed: {error}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one concurrent save may succeed");
    let (email, winner) = winners.remove(0);
    assert_eq!(get(&b, &first.primary_id).await.as_ref(), Some(&winner));
    assert_eq!(by_email(&b, &email).await, vec![winner]);
    for lost in &losing_emails {
        assert!(
            by_email(&b, lost).await.is_empty(),
            "a refused save left its key"
        );
    }
}
