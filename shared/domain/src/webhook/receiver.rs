//! The webhook receiver's use case: verify, parse, route, record once, queue.

use super::{parse_envelope, EnvelopeError, InvalidSignature, WebhookSecrets};
use crate::ports::{Acceptance, EventReceipt, WebhookInbox};
use crate::registration::RegistrySync;
use crate::routing::{route, Route, RoutingRules};
use crate::{Clock, Job, Network, StoreError};
use std::sync::Arc;

/// What the receiver did with a delivery (all answered with 200).
#[derive(Debug, Clone, PartialEq)]
pub enum Reception {
    /// Recorded for the first time, with the jobs it queued.
    Accepted {
        /// Alma's message id.
        event_id: String,
        /// The queued jobs.
        jobs: Vec<Job>,
    },
    /// Already received: nothing queued again.
    Duplicate {
        /// Alma's message id.
        event_id: String,
    },
    /// Nothing to distribute.
    Ignored {
        /// Alma's message id.
        event_id: String,
        /// Why.
        reason: String,
    },
}

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReceptionError {
    /// Bad or missing signature: nothing is recorded.
    #[error(transparent)]
    InvalidSignature(#[from] InvalidSignature),
    /// Signed, but not a usable envelope.
    #[error(transparent)]
    BadEnvelope(#[from] EnvelopeError),
    /// Storage or queue failed: Alma must retry.
    #[error(transparent)]
    Unavailable(#[from] StoreError),
}

/// Receives Alma user webhooks. Built once at start-up and shared by every request.
pub struct WebhookReceiver {
    secrets: WebhookSecrets,
    network: Network,
    rules: RoutingRules,
    inbox: Arc<dyn WebhookInbox>,
    clock: Arc<dyn Clock>,
    retention: chrono::Duration,
    registry: Option<Arc<RegistrySync>>,
}

impl WebhookReceiver {
    /// How long a received event id is remembered: Alma retries for 10 hours,
    /// and a week leaves room for a manual resend.
    pub const DEFAULT_RETENTION: chrono::Duration = chrono::Duration::days(7);

    /// A receiver for one network.
    pub fn new(
        secrets: WebhookSecrets,
        network: Network,
        rules: RoutingRules,
        inbox: Arc<dyn WebhookInbox>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            secrets,
            network,
            rules,
            inbox,
            clock,
            retention: Self::DEFAULT_RETENTION,
            registry: None,
        }
    }

    /// Also records every user event, distributed or not, in the patron
    /// registry before answering (a registry failure is a 503: Alma retries).
    pub fn with_registry(mut self, registry: Arc<RegistrySync>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Handles one POSTed delivery: the signature is checked on the raw bytes
    /// before anything is parsed.
    pub async fn receive(
        &self,
        body: &[u8],
        signature: Option<&str>,
    ) -> Result<Reception, ReceptionError> {
        self.secrets.verify(body, signature)?;
        let now = self.clock.now();
        let envelope = parse_envelope(body, now)?;
        let event = match envelope.event {
            Ok(event) => event,
            Err(reason) => {
                return Ok(Reception::Ignored {
                    event_id: envelope.id,
                    reason,
                })
            }
        };
        if let Some(registry) = &self.registry {
            registry.on_event(&event).await?;
        }
        let jobs = match route(&event, &self.network, &self.rules) {
            Route::Jobs(jobs) => jobs,
            Route::Ignored(reason) => {
                return Ok(Reception::Ignored {
                    event_id: envelope.id,
                    reason,
                })
            }
        };
        let receipt = EventReceipt {
            event_id: envelope.id.clone(),
            institution: event.institution.clone(),
            received_at: now,
            keep_until: now + self.retention,
        };
        match self.inbox.accept(&receipt, &jobs).await? {
            Acceptance::Accepted => Ok(Reception::Accepted {
                event_id: envelope.id,
                jobs,
            }),
            Acceptance::Duplicate => Ok(Reception::Duplicate {
                event_id: envelope.id,
            }),
        }
    }
}
