//! The `registration-api` function: staging records (`POST /patron`,
//! `PUT`/`GET /patron/{externalSystemId}`), the registration-status query, on-site
//! completion and, locally, the published events. Client systems present an
//! `X-Api-Key`; completion also accepts a logged-in staff account.

mod auth;
mod body;
mod error;
pub(crate) mod openapi;
mod routes;
mod view;

pub use auth::API_KEY_HEADER;
pub use routes::router;

use patron_hub_domain::accounts::AccountService;
use patron_hub_domain::registration::{ClientKeys, EventLog, RegistrationService};
use std::sync::Arc;

/// What the registration router is built from, once at start-up.
#[derive(Clone)]
pub struct RegistrationApi {
    /// The registration use cases.
    pub service: Arc<RegistrationService>,
    /// Reads staff sessions (cookie or bearer) for on-site completion.
    pub accounts: Arc<AccountService>,
    /// The client systems' keys.
    pub client_keys: Arc<ClientKeys>,
    /// Published events, readable at `GET /events` (local server only).
    pub events: Option<Arc<dyn EventLog>>,
}
