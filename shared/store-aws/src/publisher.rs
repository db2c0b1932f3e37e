//! Domain events onto an EventBridge bus: one PutEvents per event, source
//! [`EVENT_SOURCE`], detail-type the event's type, detail the whole
//! `DomainEvent` as JSON (so a consumer reads its id, type and time there).

use crate::error::unavailable;
use crate::item::to_json;
use async_trait::async_trait;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use patron_hub_domain::registration::{DomainEvent, EventPublisher};
use patron_hub_domain::StoreError;

/// The `source` of every event patron-hub puts on its bus; the rules that
/// subscribe to patron-hub's events match it.
pub const EVENT_SOURCE: &str = "patron-hub";

/// Publishes domain events on one named EventBridge bus. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EventBridgePublisher {
    eventbridge: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBridgePublisher {
    /// A publisher on the bus named `bus`, with a client built once by the caller.
    pub fn new(eventbridge: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        Self {
            eventbridge,
            bus: bus.into(),
        }
    }
}

#[async_trait]
impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, event: &DomainEvent) -> Result<(), StoreError> {
        let time = DateTime::from_secs_and_nanos(
            event.time.timestamp(),
            event.time.timestamp_subsec_nanos(),
        );
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(EVENT_SOURCE)
            .detail_type(&event.kind)
            .detail(to_json(event)?)
            .time(time)
            .build();
        let output = self
            .eventbridge
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| unavailable("PutEvents", e))?;
        if output.failed_entry_count() == 0 {
            return Ok(());
        }
        // The error code and message name the reason (throttling, size), never the event.
        let reason = output
            .entries()
            .iter()
            .find_map(|entry| {
                entry.error_code().map(|code| {
                    format!("{code}: {}", entry.error_message().unwrap_or("no message"))
                })
            })
            .unwrap_or_else(|| "no reason given".to_owned());
        tracing::warn!(kind = %event.kind, %reason, "EventBridge refused an event");
        Err(StoreError::Unavailable(format!(
            "PutEvents refused the event: {reason}"
        )))
    }
}
