//! Reading published events back on AWS: a "bus subscription" is an SQS queue
//! that an EventBridge rule on the bus targets (see `bus_setup`). Each
//! `recent` drains what the queue holds into memory (deleting the messages),
//! one event per id, and answers from memory: the events this process has seen
//! since it started, which is what a test or a local console needs.
//!
//! Each message body is EventBridge's envelope; its `detail` is the
//! `DomainEvent` that [`crate::EventBridgePublisher`] put on the bus.

use crate::error::{json_error, unavailable};
use async_trait::async_trait;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message};
use patron_hub_domain::registration::{DomainEvent, EventLog};
use patron_hub_domain::StoreError;
use std::collections::HashMap;
use tokio::sync::Mutex;

/// Seconds one ReceiveMessage waits for a message before the drain stops:
/// long enough to let EventBridge deliver what was just published.
const WAIT_SECONDS: i32 = 1;
/// The most messages one ReceiveMessage returns.
const BATCH: i32 = 10;
/// Receives per drain, so that a bus busier than the reader cannot hold it for ever.
const MAX_RECEIVES: usize = 100;
/// The most events kept in memory; the oldest are forgotten first.
const MAX_KEPT: usize = 10_000;

/// The events published on a bus, read through a queue subscribed to it.
#[derive(Debug)]
pub struct BusSubscription {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    seen: Mutex<HashMap<String, DomainEvent>>,
}

impl BusSubscription {
    /// A subscription reading the queue at `queue_url`, which a rule on the
    /// bus must already target (see [`crate::subscribe_queue`]).
    pub fn new(sqs: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            sqs,
            queue_url: queue_url.into(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Moves everything the queue holds into `seen`, deleting each message read.
    async fn drain(&self, seen: &mut HashMap<String, DomainEvent>) -> Result<(), StoreError> {
        for _ in 0..MAX_RECEIVES {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(BATCH)
                .wait_time_seconds(WAIT_SECONDS)
                .send()
                .await
                .map_err(|e| unavailable("ReceiveMessage events", e))?;
            let messages = output.messages();
            if messages.is_empty() {
                break;
            }
            for message in messages {
                match read_event(message) {
                    Ok(event) => {
                        seen.insert(event.id.clone(), event);
                    }
                    // Not one of ours: dropped (it would only come back).
                    Err(error) => tracing::warn!(%error, "unreadable event message dropped"),
                }
            }
            self.delete(messages).await?;
        }
        forget_oldest(seen);
        Ok(())
    }

    /// Deletes the messages read. One that fails to go comes back later and
    /// is recognised by its id.
    async fn delete(&self, messages: &[Message]) -> Result<(), StoreError> {
        let entries = messages
            .iter()
            .enumerate()
            .filter_map(|(position, message)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(position.to_string())
                    .set_receipt_handle(message.receipt_handle().map(str::to_owned))
                    .build()
                    .ok()
            })
            .collect();
        let output = self
            .sqs
            .delete_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| unavailable("DeleteMessageBatch events", e))?;
        if !output.failed().is_empty() {
            tracing::warn!(failed = output.failed().len(), "event messages not deleted");
        }
        Ok(())
    }
}

#[async_trait]
impl EventLog for BusSubscription {
    async fn recent(&self, kind: &str, limit: usize) -> Result<Vec<DomainEvent>, StoreError> {
        let mut seen = self.seen.lock().await;
        self.drain(&mut seen).await?;
        let mut events: Vec<DomainEvent> = seen
            .values()
            .filter(|event| event.kind == kind)
            .cloned()
            .collect();
        newest_first(&mut events);
        events.truncate(limit);
        Ok(events)
    }
}

/// The `DomainEvent` in an EventBridge envelope's `detail`.
fn read_event(message: &Message) -> Result<DomainEvent, StoreError> {
    let body = message
        .body()
        .ok_or_else(|| StoreError::Corrupt("event message without body".to_owned()))?;
    let mut envelope: serde_json::Value =
        serde_json::from_str(body).map_err(|e| StoreError::Corrupt(json_error(&e)))?;
    let detail = envelope
        .get_mut("detail")
        .map(serde_json::Value::take)
        .ok_or_else(|| StoreError::Corrupt("event message without detail".to_owned()))?;
    serde_json::from_value(detail).map_err(|e| StoreError::Corrupt(json_error(&e)))
}

/// Newest first; events of the same instant by id, so the order is stable.
fn newest_first(events: &mut [DomainEvent]) {
    events.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| b.id.cmp(&a.id)));
}

/// Keeps only the newest [`MAX_KEPT`] events.
fn forget_oldest(seen: &mut HashMap<String, DomainEvent>) {
    if seen.len() <= MAX_KEPT {
        return;
    }
    let mut events: Vec<DomainEvent> = seen.drain().map(|(_, event)| event).collect();
    newest_first(&mut events);
    events.truncate(MAX_KEPT);
    seen.extend(events.into_iter().map(|event| (event.id.clone(), event)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use serde_json::json;

    fn event(id: &str, seconds: i64) -> DomainEvent {
        DomainEvent {
            id: id.to_owned(),
            kind: "patron.registered".to_owned(),
            time: DateTime::<Utc>::from_timestamp(seconds, 0).unwrap(),
            detail: json!({"primaryId": id}),
        }
    }

    #[test]
    fn the_event_is_read_from_the_envelope_detail() {
        let published = event("e-1", 1_800_000_000);
        let envelope = json!({
            "version": "0", "id": "bus-id", "detail-type": "patron.registered",
            "source": "patron-hub", "time": "2027-01-15T08:00:00Z",
            "detail": serde_json::to_value(&published).unwrap(),
        });
        let message = Message::builder().body(envelope.to_string()).build();
        assert_eq!(read_event(&message).unwrap(), published);
        let foreign = Message::builder().body(r#"{"detail":{"x":1}}"#).build();
        assert!(matches!(read_event(&foreign), Err(StoreError::Corrupt(_))));
        let empty = Message::builder().build();
        assert!(read_event(&empty).is_err());
    }

    #[test]
    fn events_sort_newest_first_then_by_id() {
        let mut events = vec![event("a", 1), event("c", 3), event("b", 3)];
        newest_first(&mut events);
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["c", "b", "a"]);
    }

    #[test]
    fn only_the_newest_events_are_kept() {
        let mut seen: HashMap<String, DomainEvent> = (0..MAX_KEPT as i64 + 5)
            .map(|n| (format!("e-{n}"), event(&format!("e-{n}"), n)))
            .collect();
        forget_oldest(&mut seen);
        assert_eq!(seen.len(), MAX_KEPT);
        assert!(!seen.contains_key("e-4") && seen.contains_key("e-5"));
    }
}
