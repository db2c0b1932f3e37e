//! How the DynamoDB inbox recovers from deliveries that stopped part-way: paths
//! the shared contract cannot force (it has no way to fail a backend mid-call).

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeDelta, Utc};
use patron_hub_domain::ports::{Acceptance, EventReceipt, JobQueue, WebhookInbox};
use patron_hub_domain::{FixedClock, InstitutionCode, Job, JobAction, PrimaryId, StoreError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::Fixture;

fn code(text: &str) -> InstitutionCode {
    InstitutionCode::parse(text).expect("a valid institution code")
}

fn receipt(event_id: &str, received_at: DateTime<Utc>) -> EventReceipt {
    EventReceipt {
        event_id: event_id.to_owned(),
        institution: code("INST_A"),
        received_at,
        keep_until: received_at + TimeDelta::hours(1),
    }
}

fn link(event_id: &str, target: &str) -> Job {
    Job {
        event_id: event_id.to_owned(),
        institution: code(target),
        origin: code("INST_A"),
        action: JobAction::Link,
        primary_id: PrimaryId::parse("patron-1").expect("a valid primary id"),
        event_time: DateTime::from_timestamp(1_767_225_600, 0).expect("a valid time"),
        user: None,
    }
}

/// Every job visible on an institution's queue now (short polls until one is empty).
async fn drain(queue: &dyn JobQueue, institution: &str) -> Vec<Job> {
    let mut jobs = Vec::new();
    loop {
        let batch = queue
            .receive(&code(institution), 10, Duration::from_secs(30))
            .await
            .expect("receive");
        if batch.is_empty() {
            return jobs;
        }
        jobs.extend(batch.into_iter().map(|delivery| delivery.job));
    }
}

/// A delivery that queued only some jobs answers Unavailable (503, Alma retries);
/// the next delivery takes over at once and queues the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_failed_part_way_is_finished_by_the_next() {
    let fixture = Fixture::new().await;
    let clock = Arc::new(FixedClock::at(Utc::now()));
    let mut without_c = fixture.queues.clone();
    without_c.remove(&code("INST_C"));
    let broken = fixture.store(without_c, clock.clone());
    let store = fixture.store(fixture.queues.clone(), clock.clone());
    let event = receipt("evt-part-way", Utc::now());
    let jobs = [
        link("evt-part-way", "INST_B"),
        link("evt-part-way", "INST_C"),
    ];

    let failed = broken.accept(&event, &jobs).await;
    assert!(
        matches!(failed, Err(StoreError::Unavailable(_))),
        "a queue that cannot be reached fails the delivery: {failed:?}"
    );
    assert!(drain(&store, "INST_C").await.is_empty());

    let retried_at = Instant::now();
    assert_eq!(
        store.accept(&event, &jobs).await.expect("the retry"),
        Acceptance::Accepted
    );
    assert!(
        retried_at.elapsed() < Duration::from_secs(2),
        "the failed delivery gave its lease back, so the retry need not wait"
    );
    assert_eq!(
        store.accept(&event, &jobs).await.expect("a redelivery"),
        Acceptance::Duplicate
    );
    assert_eq!(drain(&store, "INST_C").await, vec![jobs[1].clone()]);
    let on_b = drain(&store, "INST_B").await;
    assert!(
        (1..=2).contains(&on_b.len()) && on_b.iter().all(|job| job == &jobs[0]),
        "the job that may have been sent before the failure is queued at least once: {on_b:?}"
    );
}

/// While another delivery holds the receipt, a second one queues nothing and
/// answers Unavailable; once that holder's lease has ended, the next delivery
/// takes over and queues the jobs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_receipt_is_left_to_its_holder_until_its_lease_ends() {
    let fixture = Fixture::new().await;
    let now = Utc::now();
    let clock = Arc::new(FixedClock::at(now));
    let store = fixture.store(fixture.queues.clone(), clock.clone());
    let event = receipt("evt-held", now);
    let jobs = [link("evt-held", "INST_B")];
    let nanos = |t: DateTime<Utc>| {
        AttributeValue::N(
            t.timestamp_nanos_opt()
                .expect("a time in range")
                .to_string(),
        )
    };
    // What a delivery that stopped right after writing the receipt leaves behind.
    fixture
        .dynamodb
        .put_item()
        .table_name(&fixture.table)
        .item("pk", AttributeValue::S("EVENT#evt-held".to_owned()))
        .item("sk", AttributeValue::S("RECEIPT".to_owned()))
        .item("state", AttributeValue::S("pending".to_owned()))
        .item("holder", AttributeValue::S("a-stopped-delivery".to_owned()))
        .item("lease_until", nanos(now + TimeDelta::seconds(10)))
        .item("keep_until", nanos(event.keep_until))
        .send()
        .await
        .expect("write a held receipt");

    let held = store.accept(&event, &jobs).await;
    assert!(
        matches!(held, Err(StoreError::Unavailable(_))),
        "a held receipt is not taken: {held:?}"
    );
    assert!(drain(&store, "INST_B").await.is_empty());

    clock.advance(TimeDelta::seconds(11));
    assert_eq!(
        store.accept(&event, &jobs).await.expect("the retry"),
        Acceptance::Accepted
    );
    assert_eq!(
        store.accept(&event, &jobs).await.expect("a redelivery"),
        Acceptance::Duplicate
    );
    assert_eq!(drain(&store, "INST_B").await, jobs.to_vec());
}
