//! The Alma sandbox: a local HTTP server that behaves like the Alma Users API
//! of every institution of one network (the institution is chosen by API key),
//! closely enough that code written against it works against real Alma.
//!
//! It owns the simulated users of each institution and network zone (indexed
//! so that 100,000 users per institution stay fast), Alma's JSON and XML error
//! bodies, linked copies of network-zone users, the user list with its word
//! search and linked-copy lookup, the per-institution per-second threshold,
//! injected faults, call counters, seeding many users at once for benchmarks,
//! and the librarian routes (`/sandbox/…`) that play Alma's staff UI: each
//! change made there sends a signed `USER_*` webhook to the configured listener.
//!
//! It must never send a webhook for a change made through the API (real Alma
//! does not), never apply the API's faults, threshold or counters to the
//! `/sandbox/…` routes (only the webhook faults apply to the webhooks they
//! send), and never hold a lock across an `.await`. It is a test and demo
//! double: it is not a place for patron-hub's own rules.
//!
//! # How faithful the user list is
//!
//! Markers as in `/work/shared/reference/alma.md`: **\[C\]** Ex Libris's own
//! text, **\[P\]** public code that works against Alma, **\[U\]** not confirmed.
//!
//! - \[C\] `GET /almaws/v1/users` ("Retrieve users",
//!   developers.exlibrisgroup.com/alma/apis/docs/users/R0VUIC9hbG1hd3MvdjEvdXNlcnM=/):
//!   `limit` 0–100 (default 10), `offset` (default 0), `q` = `field~words` over
//!   `primary_id`, `first_name`, `last_name`, `middle_name`, `email`,
//!   `phone_number`, `job_category`, `identifiers`, `birth_date`,
//!   `general_info` (every field but e-mails, birth date and identifiers) and
//!   `ALL` (every field, no `AND`); `order_by` one of `last_name`,
//!   `first_name`, `primary_id`, with the primary id added after a name, the
//!   default being last name, first name, primary id; `source_institution_code`
//!   with `source_user_id`. The answer is a `users` object: `user` entries and
//!   `total_record_count` (rest_users.xsd). Its error table: 402119, 401651
//!   (source institution not valid), 401861 ("Source institution user with
//!   given identifier not found"), 4019990 ("Local copied user information not
//!   found"), 60224–60226.
//! - \[P\] An empty page has no `user` key: public clients test
//!   `'user' in …` or `total_record_count == 0` first (SLSP almapiwrapper
//!   `fetch_users`, MIT's Alma mocks `{"total_record_count": 0}`, DCB). Clauses
//!   are joined by ` AND ` (UC Davis almapipy). `user_group~` is not in the
//!   documented list but public code uses it (almapiwrapper, scripts): accepted.
//! - \[U\] The brief entry. The XSD only says "user"; public code reads only
//!   `primary_id` from entries. The sandbox gives `primary_id`, `first_name`,
//!   `last_name`, `user_group`, `status` (those present) and `link` (the full
//!   record's URL) — no e-mail, no identifier, no date: read the full record.
//! - \[U\] The word match (`src/search.rs`): every query word must
//!   be a whole word of the field, compared without case; words are runs of
//!   letters and digits; no wildcard, phrase, stemming or accent folding; a
//!   `birth_date` is matched without its trailing `Z`.
//! - \[U\] Order: names are compared in lower case, and every order (with `q`
//!   too, where Alma says it does not sort by primary id) ends with the primary
//!   id, so that pages are stable. Do not rely on Alma's order among equal names.
//! - \[U\] A `limit` outside 0–100, a bad `offset`, `order_by` or `q`, or half a
//!   source pair answers 400 `40166410` "The parameter X is invalid. Valid
//!   options are: \[…\]." — Alma's invalid-parameter error as public code parses
//!   it on other APIs (Ex Libris cloud apps); the users page lists only 402119.
//! - \[U\] The linked lookup: 4019990 when the caller holds no copy (an error,
//!   not an empty list, from the error table), 401861 when the source user does
//!   not exist, 401651 when the source is not in the network or is the caller;
//!   60224–60226 are never answered (one network, no fulfillment-network
//!   layout). `q`, `order_by` and the page apply to it too. Neither it nor the
//!   list copies a network-zone user (only `GET /users/{id}` does).
//! - \[P\] Full records carry `created_date` and `last_modified_date`
//!   (ugent-library alma-go's `User`). \[U\] Their form: the sandbox writes
//!   them as Alma's JSON writes a `dateTime` (UTC, milliseconds,
//!   `2019-12-18T14:36:48.659Z` in Ex Libris's sample user), stamps
//!   `last_modified_date` on every change (API, librarian, zone pass-down) and
//!   lets no caller write either. Real Alma may give a date only: compare them
//!   as instants and keep a tie-break.

mod api;
mod config;
mod errors;
mod faults;
mod librarian;
mod search;
mod seed;
mod state;
mod stats;
mod throttle;
mod webhook;

pub use config::SandboxConfig;
pub use faults::Faults;
pub use seed::{Seed, SeedError, Seeded, MAX_SEED};
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

    /// Stores `seed`'s users in `institution` at once, all or none: no
    /// webhook, no API call counted. For benchmarks and large-list tests.
    pub fn seed(&self, institution: &str, seed: &Seed) -> Result<Seeded, SeedError> {
        lock(&self.inner.directory)
            .seed(institution, seed, chrono::Utc::now())
            .map_err(SeedError)
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
