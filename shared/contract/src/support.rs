//! What the cases share: sample jobs and patrons, and receiving with patience
//! (a queue may hand out fewer jobs than are visible, as SQS does).

use chrono::{DateTime, Utc};
use patron_hub_domain::ports::{Delivery, JobQueue};
use patron_hub_domain::{AlmaUser, InstitutionCode, Job, JobAction, PrimaryId};
use serde_json::json;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// The codes behind [`crate::institutions`].
pub(crate) const INSTITUTIONS: [&str; 3] = ["INST_A", "INST_B", "INST_C"];

/// How long a case waits for a job that should be (or become) visible.
pub(crate) const PATIENCE: Duration = Duration::from_secs(3);

/// A lease long enough never to end during a case.
pub(crate) const LONG_LEASE: Duration = Duration::from_secs(30);

/// Pause between two receives while waiting.
const POLL: Duration = Duration::from_millis(100);

/// Institution `i` of [`INSTITUTIONS`].
pub(crate) fn institution(i: usize) -> InstitutionCode {
    InstitutionCode::parse(INSTITUTIONS[i % INSTITUTIONS.len()])
        .expect("the suite's institution codes are valid")
}

/// An event id no other case (nor another run against the same backend) uses.
pub(crate) fn event_id() -> String {
    format!("evt-{}", uuid::Uuid::new_v4())
}

/// A patron no other case uses.
pub(crate) fn patron() -> PrimaryId {
    PrimaryId::parse(&format!("patron-{}", uuid::Uuid::new_v4()))
        .expect("a uuid makes a valid primary id")
}

/// The current time cut to whole milliseconds: what every adapter must keep exactly.
pub(crate) fn now_ms() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis())
        .expect("the current time is within chrono's range")
}

/// A user record with the JSON shapes Alma sends: nested objects, arrays,
/// numbers, booleans, null and non-ASCII text.
pub(crate) fn alma_user(primary_id: &PrimaryId) -> AlmaUser {
    let record = json!({
        "primary_id": primary_id.as_str(),
        "first_name": "Zoë",
        "last_name": "Ørsted-Łukasiewicz",
        "user_group": {"value": "PEB", "desc": "Prêt entre bibliothèques"},
        "status": {"value": "ACTIVE"},
        "expiry_date": "2030-12-31Z",
        "contact_info": {
            "email": [{"email_address": "zoe@example.org", "preferred": true}],
            "phone": []
        },
        "user_statistic": [{"statistic_category": {"value": "A1"}, "segment_type": "External"}],
        "loans": 3,
        "fees": 12.5,
        "pin_number": null
    });
    serde_json::from_value(record).expect("the sample record is a JSON object")
}

/// An `upsert` job of `patron` for institution `target`, carrying a user record.
pub(crate) fn upsert(
    event_id: &str,
    target: &InstitutionCode,
    patron: &PrimaryId,
    event_time: DateTime<Utc>,
) -> Job {
    Job {
        event_id: event_id.to_owned(),
        institution: target.clone(),
        origin: institution(0),
        action: JobAction::Upsert,
        primary_id: patron.clone(),
        event_time,
        user: Some(alma_user(patron)),
    }
}

/// A `link` job (no user record) of a new patron for institution `target`.
pub(crate) fn link(event_id: &str, target: &InstitutionCode) -> Job {
    Job {
        event_id: event_id.to_owned(),
        institution: target.clone(),
        origin: institution(0),
        action: JobAction::Link,
        primary_id: patron(),
        event_time: now_ms(),
        user: None,
    }
}

/// Receives once, failing the case on a storage error.
pub(crate) async fn receive(
    queue: &dyn JobQueue,
    institution: &InstitutionCode,
    max: usize,
    lease: Duration,
) -> Vec<Delivery> {
    match queue.receive(institution, max, lease).await {
        Ok(deliveries) => deliveries,
        Err(error) => panic!("receive on {institution} failed: {error}"),
    }
}

/// Receives until `count` jobs have come or `patience` has passed; every receive
/// must respect `max`.
pub(crate) async fn receive_count(
    queue: &dyn JobQueue,
    institution: &InstitutionCode,
    count: usize,
    max: usize,
    lease: Duration,
    patience: Duration,
) -> Vec<Delivery> {
    let deadline = Instant::now() + patience;
    let mut taken: Vec<Delivery> = Vec::new();
    while taken.len() < count && Instant::now() < deadline {
        let batch = receive(queue, institution, max, lease).await;
        assert!(
            batch.len() <= max,
            "receive(max = {max}) handed out {} jobs",
            batch.len()
        );
        if batch.is_empty() {
            tokio::time::sleep(POLL).await;
        }
        taken.extend(batch);
    }
    assert_eq!(
        taken.len(),
        count,
        "expected {count} jobs on {institution} within {patience:?}, got {:?}",
        keys(&taken)
    );
    taken
}

/// Receives the one job expected on the queue, waiting up to `patience` for it.
pub(crate) async fn receive_one(
    queue: &dyn JobQueue,
    institution: &InstitutionCode,
    lease: Duration,
    patience: Duration,
) -> Delivery {
    let mut one = receive_count(queue, institution, 1, 10, lease, patience).await;
    one.remove(0)
}

/// Checks that nothing is visible on the queue right now.
pub(crate) async fn assert_empty(queue: &dyn JobQueue, institution: &InstitutionCode, why: &str) {
    let extra = receive(queue, institution, 10, LONG_LEASE).await;
    assert!(
        extra.is_empty(),
        "{why}: {institution} still handed out {:?}",
        keys(&extra)
    );
}

/// Fails if two deliveries carry the same job.
pub(crate) fn assert_distinct(deliveries: &[Delivery]) {
    let mut seen = HashSet::new();
    for delivery in deliveries {
        let key = delivery.job.key();
        assert!(seen.insert(key.clone()), "job {key} was handed out twice");
    }
}

/// The keys of some deliveries, for failure messages.
pub(crate) fn keys(deliveries: &[Delivery]) -> Vec<String> {
    deliveries.iter().map(|d| d.job.key().to_string()).collect()
}

/// Runs `count(i)` for `i` from 0 to 9 all at once, each a counter's count of
/// one more event, and checks that none was lost: each returns a count from 1
/// to 10 and the last to finish sees all ten.
pub(crate) async fn ten_concurrent_counts<F, Fut>(count: F)
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = Result<u32, patron_hub_domain::StoreError>> + Send + 'static,
{
    let tasks: Vec<_> = (0..10).map(|i| tokio::spawn(count(i))).collect();
    let mut counts = Vec::new();
    for result in futures::future::join_all(tasks).await {
        match result.expect("a counting task panicked") {
            Ok(count) => counts.push(count),
            Err(error) => panic!("a concurrent count failed: {error}"),
        }
    }
    assert!(
        counts.iter().all(|count| (1..=10).contains(count)),
        "counts {counts:?}"
    );
    assert_eq!(
        counts.iter().max(),
        Some(&10),
        "a count was lost: {counts:?}"
    );
}
