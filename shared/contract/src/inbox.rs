//! Cases of the webhook inbox: each event is accepted once and its jobs are queued
//! with it, however often and however concurrently Alma delivers it.

use crate::support::{
    assert_empty, event_id, institution, link, now_ms, patron, receive_count, receive_one, upsert,
    LONG_LEASE, PATIENCE,
};
use crate::Backend;
use chrono::{DateTime, TimeDelta, Utc};
use patron_hub_domain::ports::{Acceptance, Claim, EventReceipt};
use patron_hub_domain::Job;

/// A receipt of `event_id` from the first institution, kept for one hour.
fn receipt(event_id: &str, received_at: DateTime<Utc>) -> EventReceipt {
    EventReceipt {
        event_id: event_id.to_owned(),
        institution: institution(0),
        received_at,
        keep_until: received_at + TimeDelta::hours(1),
    }
}

/// One event's jobs: an upsert for the second institution and a link for the third.
fn jobs_of(event_id: &str) -> Vec<Job> {
    vec![
        upsert(event_id, &institution(1), &patron(), now_ms()),
        link(event_id, &institution(2)),
    ]
}

/// Accepts, failing the case on a storage error.
async fn accept(b: &Backend, receipt: &EventReceipt, jobs: &[Job]) -> Acceptance {
    match b.inbox.accept(receipt, jobs).await {
        Ok(acceptance) => acceptance,
        Err(error) => panic!("accept of {} failed: {error}", receipt.event_id),
    }
}

/// Checks that each job is on its institution's queue exactly once, intact, and
/// that nothing else is queued anywhere.
async fn assert_queued_once(b: &Backend, jobs: &[Job]) {
    for job in jobs {
        let delivery = receive_one(b.queue.as_ref(), &job.institution, LONG_LEASE, PATIENCE).await;
        assert_eq!(
            &delivery.job, job,
            "the queued job differs from the accepted one"
        );
        assert_eq!(
            delivery.receive_count, 1,
            "a newly queued job has never been received"
        );
    }
    for code in crate::institutions() {
        assert_empty(b.queue.as_ref(), &code, "each job must be queued once").await;
    }
}

/// A new event is Accepted and each of its jobs can be received, once, from its
/// own institution's queue.
pub async fn accepts_once_and_queues_every_job(b: Backend) {
    let id = event_id();
    let jobs = jobs_of(&id);
    assert_eq!(
        accept(&b, &receipt(&id, now_ms()), &jobs).await,
        Acceptance::Accepted
    );
    assert_queued_once(&b, &jobs).await;
}

/// The same event again while it is remembered is a Duplicate and queues nothing more.
pub async fn duplicate_event_queues_nothing_more(b: Backend) {
    let id = event_id();
    let jobs = jobs_of(&id);
    let first = now_ms();
    assert_eq!(
        accept(&b, &receipt(&id, first), &jobs).await,
        Acceptance::Accepted
    );
    let redelivery = receipt(&id, first + TimeDelta::minutes(30));
    assert_eq!(accept(&b, &redelivery, &jobs).await, Acceptance::Duplicate);
    assert_eq!(accept(&b, &redelivery, &jobs).await, Acceptance::Duplicate);
    assert_queued_once(&b, &jobs).await;
}

/// Once the stored `keep_until` is before a new receipt's `received_at`, the event
/// counts as new again (its jobs are queued again), and the new receipt is the one
/// remembered from then on.
pub async fn expired_event_counts_as_new(b: Backend) {
    let id = event_id();
    let jobs = jobs_of(&id);
    // Only the first receipt has expired by the wall clock too, so that a backend
    // purging expired receipts (or a TTL) may drop it, and nothing else, at any time.
    let first = now_ms() - TimeDelta::hours(2);
    assert_eq!(
        accept(&b, &receipt(&id, first), &jobs).await,
        Acceptance::Accepted
    );
    let late = receipt(&id, first + TimeDelta::minutes(90));
    assert_eq!(
        accept(&b, &late, &jobs).await,
        Acceptance::Accepted,
        "an event whose keep_until has passed is new again"
    );
    let again = receipt(&id, late.received_at + TimeDelta::minutes(10));
    assert_eq!(
        accept(&b, &again, &jobs).await,
        Acceptance::Duplicate,
        "the renewed receipt must be remembered until its own keep_until"
    );
    for job in &jobs {
        let both = receive_count(
            b.queue.as_ref(),
            &job.institution,
            2,
            10,
            LONG_LEASE,
            PATIENCE,
        )
        .await;
        for delivery in &both {
            assert_eq!(&delivery.job, job);
        }
    }
    for code in crate::institutions() {
        assert_empty(b.queue.as_ref(), &code, "two acceptances queue two copies").await;
    }
}

/// Twenty concurrent deliveries of one event: exactly one is Accepted, the others
/// are Duplicates, and each job is queued once.
pub async fn concurrent_accepts_accept_once(b: Backend) {
    let id = event_id();
    let jobs = jobs_of(&id);
    let receipt = receipt(&id, now_ms());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (inbox, receipt, jobs) = (b.inbox.clone(), receipt.clone(), jobs.clone());
            tokio::spawn(async move { inbox.accept(&receipt, &jobs).await })
        })
        .collect();
    let mut accepted = 0;
    for result in futures::future::join_all(tasks).await {
        match result.expect("an accept task panicked") {
            Ok(Acceptance::Accepted) => accepted += 1,
            Ok(Acceptance::Duplicate) => {}
            Err(error) => panic!("a concurrent accept failed: {error}"),
        }
    }
    assert_eq!(
        accepted, 1,
        "exactly one concurrent delivery may be Accepted"
    );
    assert_queued_once(&b, &jobs).await;
}

/// An event that routes to no job is still recorded once.
pub async fn event_without_jobs_is_accepted(b: Backend) {
    let id = event_id();
    let at = now_ms();
    assert_eq!(
        accept(&b, &receipt(&id, at), &[]).await,
        Acceptance::Accepted
    );
    let redelivery = receipt(&id, at + TimeDelta::seconds(5));
    assert_eq!(accept(&b, &redelivery, &[]).await, Acceptance::Duplicate);
    for code in crate::institutions() {
        assert_empty(
            b.queue.as_ref(),
            &code,
            "an event without jobs queues nothing",
        )
        .await;
    }
}

/// The origin of an accepted event holds that change already: from then on an
/// older event's job for the patron there is stale, a newer one is not, and
/// the patron's position elsewhere is untouched.
pub async fn acceptance_moves_the_origin_forward(b: Backend) {
    let (who, event) = (patron(), event_id());
    let at = now_ms();
    // From institution 0 (the origin) to institution 1.
    let distributed = upsert(&event, &institution(1), &who, at);
    accept(&b, &receipt(&event, at), std::slice::from_ref(&distributed)).await;
    let for_origin = |event_time| Job {
        origin: institution(2),
        ..upsert(&event_id(), &institution(0), &who, event_time)
    };
    let older = for_origin(at - TimeDelta::seconds(1));
    match b.ledger.claim(&older, Utc::now(), LONG_LEASE).await {
        Ok(Claim::Stale { newer }) => assert_eq!(newer, at, "the origin's position"),
        other => panic!("an older event for the origin must be stale: {other:?}"),
    }
    let elsewhere = Job {
        origin: institution(2),
        ..upsert(
            &event_id(),
            &institution(1),
            &who,
            at - TimeDelta::seconds(1),
        )
    };
    assert_eq!(
        b.ledger
            .claim(&elsewhere, Utc::now(), LONG_LEASE)
            .await
            .ok(),
        Some(Claim::Proceed { tries: 0 }),
        "only the origin moved"
    );
    let newer = for_origin(at + TimeDelta::seconds(1));
    assert_eq!(
        b.ledger.claim(&newer, Utc::now(), LONG_LEASE).await.ok(),
        Some(Claim::Proceed { tries: 0 }),
        "a newer event for the origin goes ahead"
    );
}
