//! What was committed is still there after the store is dropped and the file reopened.

use chrono::{DateTime, TimeDelta, Utc};
use patron_hub_domain::distribution::{FailureReason, JobOutcome, OutcomeStatus};
use patron_hub_domain::ports::{
    Acceptance, Claim, DistributionLedger, EventReceipt, JobQueue, WebhookInbox,
};
use patron_hub_domain::{FixedClock, InstitutionCode, Job, JobAction, PrimaryId};
use patron_hub_store_sqlite::SqliteStore;
use std::sync::Arc;
use std::time::Duration;

fn demo(code: &str) -> InstitutionCode {
    InstitutionCode::parse(code).unwrap()
}

fn job(event_id: &str, institution: &str, at: DateTime<Utc>) -> Job {
    Job {
        event_id: event_id.to_owned(),
        institution: demo(institution),
        origin: demo("DEMO_NETWORK"),
        action: JobAction::Link,
        primary_id: PrimaryId::parse("patron-1").unwrap(),
        event_time: at,
        user: None,
    }
}

#[tokio::test]
async fn queued_jobs_leases_dead_letters_receipts_and_outcomes_survive_reopening() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("data").join("patron-hub.sqlite3");
    let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let clock = Arc::new(FixedClock::at(start));
    let (a, b) = (demo("DEMO_A"), demo("DEMO_B"));
    let receipt = EventReceipt {
        event_id: "evt-1".to_owned(),
        institution: demo("DEMO_NETWORK"),
        received_at: start,
        keep_until: start + TimeDelta::days(7),
    };
    let reason = FailureReason {
        code: "401664".to_owned(),
        message: "Mandatory field missing".to_owned(),
    };
    let applied = JobOutcome {
        event_id: "evt-0".to_owned(),
        institution: b.clone(),
        primary_id: PrimaryId::parse("patron-1").unwrap(),
        action: JobAction::Link,
        status: OutcomeStatus::Applied,
        event_time: start,
        finished_at: start,
        attempts: 1,
        reason: None,
        written: None,
    };
    {
        let store = SqliteStore::open(&path, clock.clone()).unwrap();
        let accepted = [job("evt-1", "DEMO_A", start), job("evt-1", "DEMO_B", start)];
        assert_eq!(
            store.accept(&receipt, &accepted).await.unwrap(),
            Acceptance::Accepted
        );
        store
            .enqueue(&[job("evt-2", "DEMO_A", start), job("evt-3", "DEMO_A", start)])
            .await
            .unwrap();
        let taken = store.receive(&a, 2, Duration::from_secs(60)).await.unwrap();
        assert_eq!(taken.len(), 2);
        store
            .dead_letter(&taken[0], &reason, 1, start)
            .await
            .unwrap();
        store.record(&applied).await.unwrap();
    }
    let store = SqliteStore::open(&path, clock.clone()).unwrap();
    assert_eq!(
        store.accept(&receipt, &[]).await.unwrap(),
        Acceptance::Duplicate,
        "the receipt is remembered"
    );
    let letters = store.dead_letters(&a).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].job.event_id, "evt-1");
    assert_eq!(letters[0].reason, reason);
    let visible = store
        .receive(&a, 10, Duration::from_secs(60))
        .await
        .unwrap();
    let ids: Vec<_> = visible.iter().map(|d| d.job.event_id.as_str()).collect();
    assert_eq!(
        ids,
        ["evt-3"],
        "evt-2 is still leased, evt-1 is a dead letter"
    );
    store.complete(&visible[0]).await.unwrap();
    clock.advance(TimeDelta::seconds(61));
    let released = store
        .receive(&a, 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        released.len(),
        1,
        "the lease taken before reopening runs out"
    );
    assert_eq!(
        (released[0].job.event_id.as_str(), released[0].receive_count),
        ("evt-2", 2)
    );
    assert_eq!(
        store
            .receive(&b, 10, Duration::from_secs(60))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store.outcomes(&applied.primary_id).await.unwrap(),
        vec![applied.clone()]
    );
    let again = job("evt-0", "DEMO_B", start);
    assert_eq!(
        store
            .claim(&again, start, Duration::from_secs(60))
            .await
            .unwrap(),
        Claim::AlreadyDone
    );
}
