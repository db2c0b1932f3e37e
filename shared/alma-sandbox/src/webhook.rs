//! The USER webhooks Alma sends when a librarian changes a user: the envelope,
//! its signature, delivery with Alma's redeliveries, the webhook faults
//! (lost and repeated webhooks), and the record of what was sent.

use crate::lock;
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Alma waits this long for the listener before counting the delivery as failed.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// One webhook event as it was sent, kept so tests and the demo can check or replay it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// The envelope's `id`.
    pub event_id: String,
    /// The exact bytes sent, as UTF-8.
    pub body: String,
    /// The `X-Exl-Signature` header sent.
    pub signature: String,
    /// The listener's HTTP status at the last attempt; `None` when no
    /// listener is set, it did not answer, or the webhook was lost.
    pub status: Option<u16>,
    /// How many times it was posted: redeliveries and deliberate repeats included.
    pub attempts: u32,
}

/// How Alma delivers again a webhook the listener did not take (a non-2xx
/// answer, a timeout, a refused connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redelivery {
    /// Attempts in all, the first included; 0 means until it is taken.
    pub attempts: u32,
    /// The wait before the first redelivery; each later one waits twice as
    /// long, up to eight times this. Alma waits 1, 3 and 6 hours: the
    /// sandbox keeps the shape on a scale tests can wait for.
    pub first_delay: Duration,
}

impl Default for Redelivery {
    /// Four attempts, as Alma makes, one second apart and doubling.
    fn default() -> Self {
        Self {
            attempts: 4,
            first_delay: Duration::from_secs(1),
        }
    }
}

impl Redelivery {
    /// The wait before attempt `next` (2 for the first redelivery), or `None`
    /// when no attempt is left.
    fn wait_before(&self, next: u32) -> Option<Duration> {
        if self.attempts != 0 && next > self.attempts {
            return None;
        }
        let factor = 1u32 << next.saturating_sub(2).min(3);
        Some(self.first_delay.saturating_mul(factor))
    }
}

/// How the webhooks of one institution misbehave, on top of the listener's own faults.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct WebhookFaults {
    /// The share of changes whose webhook is never sent (the change is made).
    pub(crate) drop_rate: f64,
    /// The share of webhooks posted once more after being taken, as Alma may.
    pub(crate) duplicate_rate: f64,
}

/// What was sent so far, in numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSummary {
    /// Changes that had a webhook (lost ones included).
    pub events: u64,
    /// Posts made, redeliveries and repeats included.
    pub attempts: u64,
    /// Webhooks the listener took (a 2xx answer).
    pub delivered: u64,
    /// Webhooks lost on purpose (`webhook_drop_rate`): never sent.
    pub lost: u64,
    /// Webhooks Alma gave up on after its last attempt.
    pub given_up: u64,
    /// Webhooks waiting for a redelivery.
    pub pending: u64,
}

/// What the librarian did to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Created,
    Updated,
    Deleted,
}

impl Change {
    /// `event.value`, `event.desc` and `webhook_user.method`.
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Change::Created => ("USER_CREATED", "User created", "CREATE"),
            Change::Updated => ("USER_UPDATED", "User updated", "UPDATE"),
            Change::Deleted => ("USER_DELETED", "User deleted", "DELETE"),
        }
    }
}

/// How a webhook's delivery ended, for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Delivered,
    Lost,
    GivenUp,
    Pending,
}

/// Sends the webhooks: one HTTP client for the sandbox's life. Clones share
/// everything, so redeliveries run as tasks of their own.
#[derive(Debug, Clone)]
pub(crate) struct Webhooks {
    client: reqwest::Client,
    secret: Arc<str>,
    redelivery: Redelivery,
    listener: Arc<Mutex<Option<String>>>,
    deliveries: Arc<Mutex<Vec<(WebhookDelivery, Fate)>>>,
    next_id: Arc<AtomicU64>,
}

impl Webhooks {
    /// Signs with `secret`, posts to `listener` if any, delivers again as `redelivery` says.
    pub(crate) fn new(secret: String, listener: Option<String>, redelivery: Redelivery) -> Self {
        // Ids are 19 digits: the start time in ms, then a counter, so they stay
        // unique across restarts of the sandbox.
        let start = u64::try_from(Utc::now().timestamp_millis()).unwrap_or_default();
        Self {
            client: reqwest::Client::builder()
                .timeout(DELIVERY_TIMEOUT)
                .build()
                .unwrap_or_default(),
            secret: secret.into(),
            redelivery,
            listener: Arc::new(Mutex::new(listener)),
            deliveries: Arc::new(Mutex::new(Vec::new())),
            next_id: Arc::new(AtomicU64::new(start.saturating_mul(1_000_000))),
        }
    }

    /// Points the webhooks at another listener, or with `None` stops sending them.
    pub(crate) fn set_listener(&self, url: Option<String>) {
        *lock(&self.listener) = url;
    }

    /// Every webhook sent so far.
    pub(crate) fn deliveries(&self) -> Vec<WebhookDelivery> {
        lock(&self.deliveries)
            .iter()
            .map(|(delivery, _)| delivery.clone())
            .collect()
    }

    /// What was sent so far, in numbers.
    pub(crate) fn summary(&self) -> WebhookSummary {
        let deliveries = lock(&self.deliveries);
        let mut summary = WebhookSummary {
            events: deliveries.len() as u64,
            ..WebhookSummary::default()
        };
        for (delivery, fate) in deliveries.iter() {
            summary.attempts += u64::from(delivery.attempts);
            match fate {
                Fate::Delivered => summary.delivered += 1,
                Fate::Lost => summary.lost += 1,
                Fate::GivenUp => summary.given_up += 1,
                Fate::Pending => summary.pending += 1,
            }
        }
        summary
    }

    /// Builds and signs the webhook telling that `user` of `institution` went
    /// through `change`, posts it once (unless `faults` lose it), and leaves
    /// the redeliveries and a deliberate repeat to a task of their own.
    /// Returns the delivery as it stood after the first attempt.
    pub(crate) async fn send(
        &self,
        institution: &str,
        change: Change,
        user: Value,
        faults: WebhookFaults,
    ) -> WebhookDelivery {
        let event_id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let body = envelope(&event_id, institution, change, user);
        let signature = patron_hub_domain::webhook::sign(&self.secret, body.as_bytes());
        let mut delivery = WebhookDelivery {
            event_id,
            body,
            signature,
            status: None,
            attempts: 0,
        };
        let listener = lock(&self.listener).clone();
        let (Some(url), false) = (listener, happens(faults.drop_rate)) else {
            self.keep(&delivery, Fate::Lost);
            return delivery;
        };
        let index = self.keep(&delivery, Fate::Pending);
        delivery.status = self.post(&url, &delivery).await;
        delivery.attempts = 1;
        let taken = is_taken(delivery.status);
        let repeat = taken && happens(faults.duplicate_rate);
        self.settle(index, &delivery, self.fate(&delivery));
        if !taken || repeat {
            let (webhooks, first) = (self.clone(), delivery.clone());
            tokio::spawn(async move { webhooks.follow_up(index, url, first, repeat).await });
        }
        delivery
    }

    /// Redelivers until the listener takes the webhook or no attempt is left;
    /// a webhook taken and drawn for a repeat is posted once more at once.
    async fn follow_up(
        &self,
        index: usize,
        url: String,
        mut delivery: WebhookDelivery,
        repeat: bool,
    ) {
        if repeat {
            delivery.status = self.post(&url, &delivery).await;
            delivery.attempts += 1;
            self.settle(index, &delivery, Fate::Delivered);
            return;
        }
        while let Some(wait) = self.redelivery.wait_before(delivery.attempts + 1) {
            tokio::time::sleep(wait).await;
            delivery.status = self.post(&url, &delivery).await;
            delivery.attempts += 1;
            self.settle(index, &delivery, self.fate(&delivery));
            if is_taken(delivery.status) {
                return;
            }
        }
    }

    /// Where a delivery stands after its last attempt.
    fn fate(&self, delivery: &WebhookDelivery) -> Fate {
        if is_taken(delivery.status) {
            Fate::Delivered
        } else if self.redelivery.wait_before(delivery.attempts + 1).is_some() {
            Fate::Pending
        } else {
            Fate::GivenUp
        }
    }

    /// Records a new delivery; its index in the record.
    fn keep(&self, delivery: &WebhookDelivery, fate: Fate) -> usize {
        let mut deliveries = lock(&self.deliveries);
        deliveries.push((delivery.clone(), fate));
        deliveries.len() - 1
    }

    /// Updates a recorded delivery.
    fn settle(&self, index: usize, delivery: &WebhookDelivery, fate: Fate) {
        if let Some(kept) = lock(&self.deliveries).get_mut(index) {
            *kept = (delivery.clone(), fate);
        }
    }

    /// One attempt; the listener's status, or `None` when it did not answer.
    async fn post(&self, url: &str, delivery: &WebhookDelivery) -> Option<u16> {
        let event_id = delivery.event_id.as_str();
        let sent = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Exl-Signature", &delivery.signature)
            .body(delivery.body.clone())
            .send()
            .await;
        match sent {
            Ok(response) => {
                tracing::debug!(
                    event_id,
                    status = response.status().as_u16(),
                    "webhook delivered"
                );
                Some(response.status().as_u16())
            }
            Err(error) => {
                tracing::debug!(event_id, %error, "webhook not delivered");
                None
            }
        }
    }
}

/// The body Alma posts for a change of `user` in `institution`.
fn envelope(event_id: &str, institution: &str, change: Change, user: Value) -> String {
    let (event, description, method) = change.names();
    json!({
        "id": event_id,
        "action": "USER",
        "institution": {"value": institution, "desc": institution},
        "time": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "event": {"value": event, "desc": description},
        "webhook_user": {"cause": "UI", "method": method, "user": user},
    })
    .to_string()
}

/// Whether the listener took the webhook: any 2xx answer.
fn is_taken(status: Option<u16>) -> bool {
    status.is_some_and(|status| (200..300).contains(&status))
}

/// Draws an event of probability `rate`.
fn happens(rate: f64) -> bool {
    rate > 0.0 && rand::random::<f64>() < rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redeliveries_double_and_stop_after_the_last_attempt() {
        let alma = Redelivery::default();
        let waits: Vec<_> = (2..=5).map(|next| alma.wait_before(next)).collect();
        assert_eq!(
            waits,
            [
                Some(Duration::from_secs(1)),
                Some(Duration::from_secs(2)),
                Some(Duration::from_secs(4)),
                None
            ]
        );
        let forever = Redelivery {
            attempts: 0,
            first_delay: Duration::from_millis(100),
        };
        assert_eq!(forever.wait_before(50), Some(Duration::from_millis(800)));
    }
}
