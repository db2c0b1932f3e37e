//! The Alma sandbox: a local HTTP server that behaves like the Alma Users API
//! of every institution of one network (the institution is chosen by API key),
//! closely enough that code written against it works against real Alma.
//!
//! It owns the simulated users of each institution and network zone, Alma's
//! JSON and XML error bodies, linked copies of network-zone users, the
//! per-institution per-second threshold, injected faults, call counters, and the
//! librarian routes (`/sandbox/…`) that play Alma's staff UI: each change made
//! there sends a signed `USER_*` webhook to the configured listener.
//!
//! It must never send a webhook for a change made through the API (real Alma
//! does not), never apply the API's faults, threshold or counters to the
//! `/sandbox/…` routes (only the webhook faults apply to the webhooks they
//! send), and never hold a lock across an `.await`. It is a test and demo
//! double: it is not a place for patron-hub's own rules.

mod api;
mod config;
mod errors;
mod faults;
mod librarian;
mod state;
mod stats;
mod throttle;
mod webhook;

pub use config::SandboxConfig;
pub use faults::Faults;
pub use stats::CallCount;
pub use webhook::{Redelivery, WebhookDelivery, WebhookSummary};

use faults::FaultPlan;
use state::Directory;
use stats::Stats;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use throttle::{DailyAllowance, Threshold};
use tokio::task::JoinHandle;
use webhook::Webhooks;

/// A handle on one simulated network; clones share it.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

/// Everything the routes share.
struct Inner {
    /// API key → institution code.
    keys: HashMap<String, String>,
    directory: Mutex<Directory>,
    threshold: Threshold,
    allowance: DailyAllowance,
    faults: Mutex<FaultPlan>,
    stats: Stats,
    webhooks: Webhooks,
}

impl Sandbox {
    /// An empty network as configured: no users, no faults, no calls counted.
    pub fn new(config: SandboxConfig) -> Self {
        let keys = config
            .all_codes()
            .map(|code| (format!("{}{code}", config.api_key_prefix), code.to_owned()))
            .collect();
        let inner = Inner {
            keys,
            directory: Mutex::new(Directory::new(&config)),
            threshold: Threshold::new(config.all_codes(), config.calls_per_second),
            allowance: DailyAllowance::new(config.all_codes()),
            faults: Mutex::new(FaultPlan::default()),
            stats: Stats::default(),
            webhooks: Webhooks::new(
                config.webhook_secret,
                config.webhook_listener,
                config.webhook_redelivery,
            ),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Every route: the Alma API under `/almaws/v1` and the librarian routes under `/sandbox`.
    pub fn router(&self) -> axum::Router {
        api::routes(self.clone())
            .merge(librarian::routes())
            .with_state(self.clone())
    }

    /// Injects faults in the API of one institution, or with `None` of all of them
    /// (replacing any per-institution faults).
    pub fn set_faults(&self, institution: Option<&str>, faults: Faults) {
        lock(&self.inner.faults).set(institution, faults);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.set_faults(None, Faults::default());
    }

    /// Where the librarian routes send their webhooks; `None` sends none.
    pub fn set_webhook_listener(&self, url: Option<String>) {
        self.inner.webhooks.set_listener(url);
    }

    /// Restricts the user groups an institution accepts, or with `None` accepts any.
    /// An unknown institution is ignored.
    pub fn set_user_groups(&self, institution: &str, groups: Option<Vec<String>>) {
        // An unknown institution has no users to restrict: nothing to do.
        let _ = lock(&self.inner.directory).set_user_groups(institution, groups);
    }

    /// The stored record of a user, read without counting a call or linking anything.
    pub fn user(&self, institution: &str, primary_id: &str) -> Option<serde_json::Value> {
        lock(&self.inner.directory)
            .user(institution, primary_id)
            .ok()
    }

    /// Every stored record of an institution (empty for an unknown one).
    pub fn users(&self, institution: &str) -> Vec<serde_json::Value> {
        lock(&self.inner.directory)
            .users(institution)
            .unwrap_or_default()
    }

    /// The API calls counted so far, by institution, method and status.
    pub fn stats(&self) -> Vec<CallCount> {
        self.inner.stats.snapshot()
    }

    /// Forgets the calls counted so far.
    pub fn reset_stats(&self) {
        self.inner.stats.reset();
    }

    /// Every webhook the librarian routes sent, in order.
    pub fn deliveries(&self) -> Vec<WebhookDelivery> {
        self.inner.webhooks.deliveries()
    }

    /// The webhooks sent so far, in numbers: delivered, lost, waiting for a redelivery.
    pub fn webhook_summary(&self) -> WebhookSummary {
        self.inner.webhooks.summary()
    }

    /// Every user created more than once under one primary id in one
    /// institution (created, removed, created again): `(institution,
    /// primary id, creations)`.
    pub fn repeated_creations(&self) -> Vec<(String, String, u32)> {
        lock(&self.inner.directory).repeated_creations()
    }
}

/// A sandbox serving on a socket.
pub struct RunningSandbox {
    /// `http://IP:PORT`, without a trailing slash.
    pub base_url: String,
    /// The sandbox served, to seed users, inject faults or read counters.
    pub sandbox: Sandbox,
    server: JoinHandle<std::io::Result<()>>,
}

impl RunningSandbox {
    /// Stops serving (the sandbox's state stays readable).
    pub fn stop(&self) {
        self.server.abort();
    }

    /// Waits until the server stops, e.g. in a command that only runs the sandbox.
    pub async fn join(self) -> std::io::Result<()> {
        match self.server.await {
            Ok(served) => served,
            Err(stopped) if stopped.is_cancelled() => Ok(()),
            Err(crashed) => Err(std::io::Error::other(crashed)),
        }
    }
}

/// Binds `addr` (e.g. `127.0.0.1:0` for any free port) and serves a new sandbox
/// on the current Tokio runtime until stopped or the runtime ends.
pub async fn spawn(config: SandboxConfig, addr: &str) -> std::io::Result<RunningSandbox> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let sandbox = Sandbox::new(config);
    let router = sandbox.router();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    tracing::info!(%base_url, "Alma sandbox listening");
    Ok(RunningSandbox {
        base_url,
        sandbox,
        server,
    })
}

/// Locks a mutex, going on with the data if a holder panicked: every update
/// of the sandbox's state is a single step, so the data stays consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
