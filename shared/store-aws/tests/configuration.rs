//! A deployment whose queues do not match its institutions fails with a
//! `StoreError` the caller can report, never a panic.

mod support;

use chrono::{DateTime, Utc};
use patron_hub_domain::ports::JobQueue;
use patron_hub_domain::{InstitutionCode, Job, JobAction, PrimaryId, StoreError, SystemClock};
use std::sync::Arc;
use support::Fixture;

fn code(text: &str) -> InstitutionCode {
    InstitutionCode::parse(text).expect("a valid institution code")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_queue_is_reported_at_start_up() {
    let fixture = Fixture::new().await;
    let resolved = patron_hub_store_aws::resolve_queue_urls(
        &fixture.sqs,
        "no-such-stack-jobs-",
        &[code("INST_A")],
    )
    .await;
    match resolved {
        Err(StoreError::Unavailable(detail)) => assert!(
            detail.contains("GetQueueUrl"),
            "the error names the call that failed: {detail}"
        ),
        other => panic!("a missing queue must be an error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_for_an_institution_without_a_queue_is_refused() {
    let fixture = Fixture::new().await;
    let mut queues = fixture.queues.clone();
    queues.remove(&code("INST_B"));
    let store = fixture.store(queues, Arc::new(SystemClock));
    let job = Job {
        event_id: "evt-1".to_owned(),
        institution: code("INST_B"),
        origin: code("INST_A"),
        action: JobAction::Delete,
        primary_id: PrimaryId::parse("patron-1").expect("a valid primary id"),
        event_time: DateTime::<Utc>::from_timestamp(1_767_225_600, 0).expect("a valid time"),
        user: None,
    };
    match store.enqueue(&[job]).await {
        Err(StoreError::Unavailable(detail)) => assert!(detail.contains("INST_B"), "{detail}"),
        other => panic!("a job without a queue must be refused, got {other:?}"),
    }
    assert!(store
        .receive(&code("INST_B"), 10, std::time::Duration::from_secs(1))
        .await
        .is_err());
}
