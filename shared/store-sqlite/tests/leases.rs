//! The SQLite queue's lease fencing: a worker whose lease ran out, and whose job
//! was handed out again, cannot settle it any more (SQS gives no such promise, so
//! this is not in the shared contract). Time is a fixed clock: no waiting.

use chrono::{DateTime, TimeDelta};
use patron_hub_domain::distribution::FailureReason;
use patron_hub_domain::ports::JobQueue;
use patron_hub_domain::{FixedClock, InstitutionCode, Job, JobAction, PrimaryId};
use patron_hub_store_sqlite::SqliteStore;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn a_superseded_delivery_cannot_complete_retry_renew_or_dead_letter_the_job() {
    let folder = tempfile::tempdir().unwrap();
    let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let clock = Arc::new(FixedClock::at(start));
    let store = SqliteStore::open(&folder.path().join("db.sqlite3"), clock.clone()).unwrap();
    let institution = InstitutionCode::parse("DEMO_A").unwrap();
    let job = Job {
        event_id: "evt-1".to_owned(),
        institution: institution.clone(),
        origin: InstitutionCode::parse("DEMO_NETWORK").unwrap(),
        action: JobAction::Delete,
        primary_id: PrimaryId::parse("patron-1").unwrap(),
        event_time: start,
        user: None,
    };
    let lease = Duration::from_secs(10);
    store.enqueue(std::slice::from_ref(&job)).await.unwrap();
    let slow = store
        .receive(&institution, 1, lease)
        .await
        .unwrap()
        .remove(0);
    clock.advance(TimeDelta::seconds(11));
    let current = store
        .receive(&institution, 1, lease)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(current.receive_count, 2);
    assert_ne!(slow.handle, current.handle);

    let reason = FailureReason {
        code: "X".to_owned(),
        message: "late".to_owned(),
    };
    store.complete(&slow).await.unwrap();
    store.retry_later(&slow, Duration::ZERO).await.unwrap();
    store
        .keep_hidden(&slow, Duration::from_secs(3600))
        .await
        .unwrap();
    store.dead_letter(&slow, &reason, 1, start).await.unwrap();
    assert!(store.dead_letters(&institution).await.unwrap().is_empty());
    assert!(
        store
            .receive(&institution, 1, lease)
            .await
            .unwrap()
            .is_empty(),
        "the current holder's lease still hides the job"
    );

    clock.advance(TimeDelta::seconds(11));
    let third = store.receive(&institution, 1, lease).await.unwrap();
    assert_eq!(third.len(), 1, "the late worker did not remove the job");
    assert_eq!(third[0].receive_count, 3);

    store.complete(&third[0]).await.unwrap();
    clock.advance(TimeDelta::seconds(11));
    assert!(store
        .receive(&institution, 1, lease)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_late_worker_whose_job_was_not_handed_out_again_may_still_settle_it() {
    let folder = tempfile::tempdir().unwrap();
    let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let clock = Arc::new(FixedClock::at(start));
    let store = SqliteStore::open(&folder.path().join("db.sqlite3"), clock.clone()).unwrap();
    let institution = InstitutionCode::parse("DEMO_B").unwrap();
    let job = Job {
        event_id: "evt-2".to_owned(),
        institution: institution.clone(),
        origin: InstitutionCode::parse("DEMO_A").unwrap(),
        action: JobAction::Link,
        primary_id: PrimaryId::parse("patron-2").unwrap(),
        event_time: start,
        user: None,
    };
    store.enqueue(&[job]).await.unwrap();
    let late = store
        .receive(&institution, 1, Duration::from_secs(10))
        .await
        .unwrap()
        .remove(0);
    clock.advance(TimeDelta::seconds(30));
    store.complete(&late).await.unwrap();
    assert!(store
        .receive(&institution, 1, Duration::from_secs(10))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_handle_from_elsewhere_is_an_error_not_a_panic() {
    let folder = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::at(DateTime::from_timestamp(0, 0).unwrap()));
    let store = SqliteStore::open(&folder.path().join("db.sqlite3"), clock).unwrap();
    let delivery = patron_hub_domain::ports::Delivery {
        handle: "AQEB-sqs-receipt".to_owned(),
        job: Job {
            event_id: "e".to_owned(),
            institution: InstitutionCode::parse("DEMO_A").unwrap(),
            origin: InstitutionCode::parse("DEMO_B").unwrap(),
            action: JobAction::Link,
            primary_id: PrimaryId::parse("p").unwrap(),
            event_time: DateTime::from_timestamp(0, 0).unwrap(),
            user: None,
        },
        receive_count: 1,
        queued_at: None,
    };
    assert!(store.complete(&delivery).await.is_err());
    assert!(store.retry_later(&delivery, Duration::ZERO).await.is_err());
}
