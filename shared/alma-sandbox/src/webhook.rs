//! The USER webhooks Alma sends when a librarian changes a user: the envelope,
//! its signature, one delivery attempt, and the record of what was sent.

use crate::lock;
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Alma waits this long for the listener before counting the delivery as failed.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// One webhook as it was sent, kept so tests and the demo can check or replay it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// The envelope's `id`.
    pub event_id: String,
    /// The exact bytes sent, as UTF-8.
    pub body: String,
    /// The `X-Exl-Signature` header sent.
    pub signature: String,
    /// The listener's HTTP status; `None` when no listener is set or it did not answer.
    pub status: Option<u16>,
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

/// Sends the webhooks: one HTTP client for the sandbox's life.
#[derive(Debug)]
pub(crate) struct Webhooks {
    client: reqwest::Client,
    secret: String,
    listener: Mutex<Option<String>>,
    deliveries: Mutex<Vec<WebhookDelivery>>,
    next_id: AtomicU64,
}

impl Webhooks {
    /// Signs with `secret` and posts to `listener`, if any.
    pub(crate) fn new(secret: String, listener: Option<String>) -> Self {
        // Ids are 19 digits: the start time in ms, then a counter, so they stay
        // unique across restarts of the sandbox.
        let start = u64::try_from(Utc::now().timestamp_millis()).unwrap_or_default();
        Self {
            client: reqwest::Client::builder()
                .timeout(DELIVERY_TIMEOUT)
                .build()
                .unwrap_or_default(),
            secret,
            listener: Mutex::new(listener),
            deliveries: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(start.saturating_mul(1_000_000)),
        }
    }

    /// Points the webhooks at another listener, or with `None` stops sending them.
    pub(crate) fn set_listener(&self, url: Option<String>) {
        *lock(&self.listener) = url;
    }

    /// Every webhook sent so far.
    pub(crate) fn deliveries(&self) -> Vec<WebhookDelivery> {
        lock(&self.deliveries).clone()
    }

    /// Builds, signs, sends once and records the webhook telling that `user`
    /// of `institution` went through `change`.
    pub(crate) async fn send(
        &self,
        institution: &str,
        change: Change,
        user: Value,
    ) -> WebhookDelivery {
        let event_id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let (event, description, method) = change.names();
        let envelope = json!({
            "id": event_id,
            "action": "USER",
            "institution": {"value": institution, "desc": institution},
            "time": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            "event": {"value": event, "desc": description},
            "webhook_user": {"cause": "UI", "method": method, "user": user},
        });
        let body = envelope.to_string();
        let signature = patron_hub_domain::webhook::sign(&self.secret, body.as_bytes());
        let listener = lock(&self.listener).clone();
        let status = match listener {
            Some(url) => self.post(&url, &body, &signature, &event_id).await,
            None => None,
        };
        let delivery = WebhookDelivery {
            event_id,
            body,
            signature,
            status,
        };
        lock(&self.deliveries).push(delivery.clone());
        delivery
    }

    /// One attempt; the listener's status, or `None` when it did not answer.
    async fn post(&self, url: &str, body: &str, signature: &str, event_id: &str) -> Option<u16> {
        let sent = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Exl-Signature", signature)
            .body(body.to_owned())
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
                tracing::warn!(event_id, %error, "webhook not delivered");
                None
            }
        }
    }
}
