//! Cases of the domain events: what is published is read back from the log,
//! newest first, only of the kind asked for, once per id, at most `limit`. A log
//! may see an event a little after it was published (a bus delivering to a queue),
//! so reads wait up to [`PATIENCE`] for the events a case expects.

use crate::people::unique_word;
use crate::support::{event_id, now_ms, patron, PATIENCE};
use crate::Backend;
use chrono::{DateTime, TimeDelta, Utc};
use patron_hub_domain::registration::DomainEvent;
use serde_json::json;
use std::time::{Duration, Instant};

/// The limit of a read that should see everything a case published.
const ALL: usize = 50;

/// Pause between two reads while waiting.
const POLL: Duration = Duration::from_millis(100);

/// An event type no other case (nor another run on the same bus) uses.
fn fresh_kind() -> String {
    format!("patron.registered.{}", unique_word())
}

/// A new event of `kind` that happened `offset` seconds after `t`, with a detail
/// in the shape registration publishes (nested, non-ASCII, a null).
fn event(kind: &str, t: DateTime<Utc>, offset: i64) -> DomainEvent {
    DomainEvent {
        id: event_id(),
        kind: kind.to_owned(),
        time: t + TimeDelta::seconds(offset),
        detail: json!({
            "primaryId": patron().as_str(),
            "homeInstitution": "INST_A",
            "name": {"first": "Zoë", "last": "Ørsted-Łukasiewicz"},
            "renewal": false,
            "expiryDate": null,
            "sequence": offset
        }),
    }
}

/// Publishes, failing the case on a storage error.
async fn publish(b: &Backend, event: &DomainEvent) {
    if let Err(error) = b.events.publish(event).await {
        panic!("publish of {} failed: {error}", event.id);
    }
}

/// Reads once, failing the case on a storage error.
async fn recent(b: &Backend, kind: &str, limit: usize) -> Vec<DomainEvent> {
    match b.event_log.recent(kind, limit).await {
        Ok(events) => events,
        Err(error) => panic!("recent({kind}, {limit}) failed: {error}"),
    }
}

/// Reads until at least `count` events of `kind` are seen or [`PATIENCE`] has
/// passed; returns the last read.
async fn recent_at_least(b: &Backend, kind: &str, count: usize) -> Vec<DomainEvent> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let events = recent(b, kind, ALL).await;
        if events.len() >= count || Instant::now() >= deadline {
            return events;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Events published out of order are read back newest first (by their time), and
/// a read of one kind holds no event of another.
pub async fn published_events_are_read_newest_first_and_only_of_their_kind(b: Backend) {
    let (kind, other_kind, t) = (fresh_kind(), fresh_kind(), now_ms());
    let (oldest, middle, newest) = (event(&kind, t, 0), event(&kind, t, 1), event(&kind, t, 2));
    let other = event(&other_kind, t, 3);
    for published in [&middle, &other, &newest, &oldest] {
        publish(&b, published).await;
    }
    assert_eq!(
        recent_at_least(&b, &kind, 3).await,
        vec![newest, middle, oldest]
    );
    assert_eq!(recent_at_least(&b, &other_kind, 1).await, vec![other]);
    assert!(
        recent(&b, &fresh_kind(), ALL).await.is_empty(),
        "a kind never published"
    );
}

/// An event published twice (same id) is read once, in this read and the next.
pub async fn an_event_published_twice_is_read_once(b: Backend) {
    let (kind, t) = (fresh_kind(), now_ms());
    let (repeated, later) = (event(&kind, t, 0), event(&kind, t, 1));
    for published in [&repeated, &repeated, &later] {
        publish(&b, published).await;
    }
    let expected = vec![later, repeated];
    assert_eq!(recent_at_least(&b, &kind, 2).await, expected);
    tokio::time::sleep(POLL).await;
    assert_eq!(recent(&b, &kind, ALL).await, expected, "a second read");
}

/// A read returns the `limit` newest events of the kind, and none for a limit of 0.
pub async fn recent_returns_at_most_limit_newest_events(b: Backend) {
    let (kind, t) = (fresh_kind(), now_ms());
    let events: Vec<DomainEvent> = [3, 0, 4, 1, 2].map(|s| event(&kind, t, s)).into();
    for published in &events {
        publish(&b, published).await;
    }
    let mut newest_first = events.clone();
    newest_first.sort_by_key(|e| std::cmp::Reverse(e.time));
    assert_eq!(recent_at_least(&b, &kind, events.len()).await, newest_first);
    assert_eq!(recent(&b, &kind, 2).await, newest_first[..2].to_vec());
    assert_eq!(recent(&b, &kind, events.len()).await, newest_first);
    assert!(recent(&b, &kind, 0).await.is_empty(), "limit 0");
}
