//! Cases of the staging records: a record is found by id and by e-mail, one
//! e-mail holds at most one record even under concurrent creations, updates and
//! removals are optimistically locked, a removal frees the e-mail, and the daily
//! rollover purges exactly the records nobody updated since a cutoff.

use crate::people::{email, unique_word};
use crate::support::now_ms;
use crate::Backend;
use chrono::{DateTime, TimeDelta, Utc};
use patron_hub_domain::accounts::Email;
use patron_hub_domain::registration::{
    AddressInfo, Communication, ContactInfo, ExternalSystemId, GeneralInfo, RecordWriteError,
    StagingRecord, Tier,
};

/// How many creations race for one e-mail in the concurrent case.
const RACERS: usize = 20;

/// An e-mail no other case uses.
fn fresh_email() -> Email {
    email(&format!("visitor.{}@example.org", unique_word()))
}

/// A new record (version 1) holding `address`, every field filled with
/// non-ASCII text so a lossy round trip shows.
fn record(address: &Email) -> StagingRecord {
    let at = now_ms();
    StagingRecord {
        external_system_id: ExternalSystemId::generate(),
        status: Tier::Tier2,
        is_email_verified: false,
        minor: true,
        general_info: GeneralInfo {
            first_name: "Zoë".to_owned(),
            preferred_first_name: Some("Zo".to_owned()),
            middle_name: Some("Ève".to_owned()),
            last_name: "Ørsted-Łukasiewicz".to_owned(),
        },
        address_info: AddressInfo {
            address_line0: Some("12 rue de l'Université".to_owned()),
            address_line1: Some("Bâtiment B".to_owned()),
            city: Some("Genève".to_owned()),
            province: Some("GE".to_owned()),
            zip: Some("1205".to_owned()),
            country: Some("CH".to_owned()),
        },
        contact_info: ContactInfo {
            phone: Some("+41 22 000 00 00".to_owned()),
            mobile_phone: Some("+41 79 000 00 00".to_owned()),
            email: address.clone(),
        },
        preferred_email_communication: vec![Communication::Programs, Communication::Support],
        created_date: at,
        updated_date: at,
        version: 1,
    }
}

/// A new record (version 1) holding a fresh e-mail, made and last updated at `at`.
fn updated_at(at: DateTime<Utc>) -> StagingRecord {
    StagingRecord {
        created_date: at,
        updated_date: at,
        ..record(&fresh_email())
    }
}

/// Purges (or counts, on a dry run), failing the case on a storage error.
async fn purge(b: &Backend, updated_before: DateTime<Utc>, dry_run: bool) -> u64 {
    match b.staging.purge_stale(updated_before, dry_run).await {
        Ok(count) => count,
        Err(error) => panic!("purge_stale({updated_before}, dry run {dry_run}) failed: {error}"),
    }
}

/// `stored` as its next update would write it: verified, Tier 1, version bumped.
fn next(stored: &StagingRecord) -> StagingRecord {
    StagingRecord {
        status: Tier::Tier1,
        is_email_verified: true,
        updated_date: stored.updated_date + TimeDelta::milliseconds(1500),
        version: stored.version + 1,
        ..stored.clone()
    }
}

/// Fails unless `result` is the refusal `expected` names.
fn assert_refused(result: Result<(), RecordWriteError>, expected: &str, why: &str) {
    let answered = match &result {
        Ok(()) => "Ok",
        Err(RecordWriteError::VersionConflict) => "VersionConflict",
        Err(RecordWriteError::EmailTaken) => "EmailTaken",
        Err(RecordWriteError::Store(error)) => panic!("{why}: storage failed: {error}"),
    };
    assert_eq!(answered, expected, "{why}: answered {result:?}");
}

/// Creates, failing the case on any error.
async fn create(b: &Backend, record: &StagingRecord) {
    if let Err(error) = b.staging.create(record).await {
        panic!("create of {} failed: {error}", record.external_system_id);
    }
}

/// Updates, failing the case on any error.
async fn update(b: &Backend, record: &StagingRecord) {
    if let Err(error) = b.staging.update(record).await {
        panic!(
            "update of {} to version {} failed: {error}",
            record.external_system_id, record.version
        );
    }
}

/// Reads one record by id, failing the case on a storage error.
async fn get(b: &Backend, id: &ExternalSystemId) -> Option<StagingRecord> {
    match b.staging.get(id).await {
        Ok(record) => record,
        Err(error) => panic!("get of {id} failed: {error}"),
    }
}

/// Reads the record holding an e-mail, failing the case on a storage error.
async fn by_email(b: &Backend, address: &Email) -> Option<StagingRecord> {
    match b.staging.find_by_email(address).await {
        Ok(record) => record,
        Err(error) => panic!("find_by_email({address}) failed: {error}"),
    }
}

/// A created record reads back intact by id and by e-mail; unknown ones are None.
pub async fn created_record_is_found_by_id_and_email(b: Backend) {
    let created = record(&fresh_email());
    create(&b, &created).await;
    assert_eq!(
        get(&b, &created.external_system_id).await.as_ref(),
        Some(&created)
    );
    assert_eq!(
        by_email(&b, &created.contact_info.email).await.as_ref(),
        Some(&created)
    );
    assert_eq!(get(&b, &ExternalSystemId::generate()).await, None);
    assert_eq!(by_email(&b, &fresh_email()).await, None);
}

/// A second record with an e-mail already held is EmailTaken and not stored.
pub async fn second_record_with_the_same_email_is_email_taken(b: Backend) {
    let first = record(&fresh_email());
    create(&b, &first).await;
    let second = record(&first.contact_info.email);
    assert_refused(
        b.staging.create(&second).await,
        "EmailTaken",
        "a second record with one e-mail",
    );
    assert_eq!(get(&b, &second.external_system_id).await, None);
    assert_eq!(
        by_email(&b, &first.contact_info.email).await.as_ref(),
        Some(&first)
    );
}

/// Twenty concurrent creations with one e-mail: exactly one succeeds, the others
/// are EmailTaken and not stored, and the e-mail leads to the winner.
pub async fn concurrent_creates_with_one_email_create_one_record(b: Backend) {
    let shared = fresh_email();
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let (candidate, staging) = (record(&shared), b.staging.clone());
            tokio::spawn(async move {
                let result = staging.create(&candidate).await;
                (candidate, result)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for joined in futures::future::join_all(tasks).await {
        let (candidate, result) = joined.expect("a creating task panicked");
        match result {
            Ok(()) => winners.push(candidate),
            Err(RecordWriteError::EmailTaken) => {
                let stored = get(&b, &candidate.external_system_id).await;
                assert_eq!(stored, None, "a refused creation was stored");
            }
            Err(error) => panic!("a concurrent creation failed: {error}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one creation may succeed");
    assert_eq!(by_email(&b, &shared).await.as_ref(), Some(&winners[0]));
}

/// An update from the stored version is kept; one from an older or a future
/// version, or of a record never created, is a VersionConflict that changes nothing.
pub async fn update_bumps_the_version_and_refuses_stale_or_missing(b: Backend) {
    let first = record(&fresh_email());
    create(&b, &first).await;
    let second = next(&first);
    update(&b, &second).await;
    let id = &first.external_system_id;
    assert_eq!(get(&b, id).await.as_ref(), Some(&second));
    let stale = StagingRecord {
        minor: false,
        ..second.clone()
    };
    assert_refused(
        b.staging.update(&stale).await,
        "VersionConflict",
        "an update from version 1 when 2 is stored",
    );
    let ahead = StagingRecord {
        version: 4,
        ..stale.clone()
    };
    assert_refused(
        b.staging.update(&ahead).await,
        "VersionConflict",
        "an update skipping a version",
    );
    assert_eq!(get(&b, id).await.as_ref(), Some(&second));
    assert_eq!(
        by_email(&b, &first.contact_info.email).await.as_ref(),
        Some(&second)
    );
    let missing = next(&record(&fresh_email()));
    assert_refused(
        b.staging.update(&missing).await,
        "VersionConflict",
        "an update of a record never created",
    );
    assert_eq!(get(&b, &missing.external_system_id).await, None);
    assert_eq!(by_email(&b, &missing.contact_info.email).await, None);
}

/// A removal of an older version is a VersionConflict that keeps the record; the
/// current version's removal frees the e-mail for a new record.
pub async fn remove_frees_the_email_and_refuses_a_stale_version(b: Backend) {
    let first = record(&fresh_email());
    create(&b, &first).await;
    let second = next(&first);
    update(&b, &second).await;
    assert_refused(
        b.staging.remove(&first).await,
        "VersionConflict",
        "removal of version 1 when 2 is stored",
    );
    let address = &first.contact_info.email;
    assert_eq!(by_email(&b, address).await.as_ref(), Some(&second));
    if let Err(error) = b.staging.remove(&second).await {
        panic!("remove of the current version failed: {error}");
    }
    assert_eq!(get(&b, &first.external_system_id).await, None);
    assert_eq!(by_email(&b, address).await, None);
    assert_refused(
        b.staging.remove(&second).await,
        "VersionConflict",
        "removal of a removed record",
    );
    let successor = record(address);
    create(&b, &successor).await;
    assert_eq!(by_email(&b, address).await.as_ref(), Some(&successor));
}

/// A purge counts exactly the records last updated before the cutoff (not one
/// updated at it); a dry run counts them and removes nothing, the purge removes
/// them and frees their e-mails, and a second purge finds none.
pub async fn purge_stale_counts_then_removes_exactly_the_stale_records(b: Backend) {
    let cutoff = now_ms();
    let at = |milliseconds| cutoff + TimeDelta::milliseconds(milliseconds);
    let stale = [updated_at(at(-400 * 86_400_000)), updated_at(at(-1))];
    let fresh = [updated_at(cutoff), updated_at(at(1))];
    for created in stale.iter().chain(&fresh) {
        create(&b, created).await;
    }
    assert_eq!(purge(&b, cutoff, true).await, 2, "a dry run");
    assert_eq!(purge(&b, cutoff, true).await, 2, "a second dry run");
    assert_eq!(
        purge(&b, at(-1), true).await,
        1,
        "a dry run with the second one's update as cutoff"
    );
    for kept in stale.iter().chain(&fresh) {
        assert_eq!(
            get(&b, &kept.external_system_id).await.as_ref(),
            Some(kept),
            "after the dry runs"
        );
    }
    assert_eq!(purge(&b, cutoff, false).await, 2, "the purge");
    assert_eq!(purge(&b, cutoff, false).await, 0, "purging twice");
    assert_eq!(
        purge(&b, cutoff, true).await,
        0,
        "a dry run after the purge"
    );
    for purged in &stale {
        assert_eq!(get(&b, &purged.external_system_id).await, None);
        let address = &purged.contact_info.email;
        assert_eq!(
            by_email(&b, address).await,
            None,
            "a purged record's e-mail"
        );
        let successor = record(address);
        create(&b, &successor).await;
        assert_eq!(by_email(&b, address).await.as_ref(), Some(&successor));
    }
    for kept in &fresh {
        assert_eq!(
            get(&b, &kept.external_system_id).await.as_ref(),
            Some(kept),
            "a record updated at or after the cutoff"
        );
    }
}

/// A stale record updated after the cutoff is no longer stale; one updated but
/// still before it stays stale (counted once); a removed one is not counted.
pub async fn purge_stale_follows_updates_and_removals(b: Backend) {
    let cutoff = now_ms();
    let long_ago = cutoff - TimeDelta::days(30);
    let (revived, still_stale, removed) = (
        updated_at(long_ago),
        updated_at(long_ago),
        updated_at(long_ago),
    );
    for created in [&revived, &still_stale, &removed] {
        create(&b, created).await;
    }
    assert_eq!(purge(&b, cutoff, true).await, 3, "case setup");
    let revived = StagingRecord {
        updated_date: cutoff + TimeDelta::minutes(1),
        ..next(&revived)
    };
    update(&b, &revived).await;
    let still_stale = StagingRecord {
        updated_date: cutoff - TimeDelta::days(1),
        ..next(&still_stale)
    };
    update(&b, &still_stale).await;
    if let Err(error) = b.staging.remove(&removed).await {
        panic!("remove of {} failed: {error}", removed.external_system_id);
    }
    assert_eq!(purge(&b, cutoff, true).await, 1, "a dry run");
    assert_eq!(purge(&b, cutoff, false).await, 1, "the purge");
    assert_eq!(purge(&b, cutoff, false).await, 0, "purging twice");
    assert_eq!(get(&b, &still_stale.external_system_id).await, None);
    assert_eq!(
        get(&b, &revived.external_system_id).await.as_ref(),
        Some(&revived),
        "the record updated after the cutoff"
    );
}
