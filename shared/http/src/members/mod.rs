//! The `members-api` function: `/people` (accounts as organizations see them)
//! and `/organizations` (organizations, their members and roles, renewals,
//! statistics and member exports), as HAL JSON listings in seed 001's shape.
//! Every route needs a logged-in account; the organization service decides
//! what that account may do.

mod auth;
mod body;
mod error;
mod export;
mod hal;
pub(crate) mod openapi;
mod query;
mod routes;
mod view;

pub use routes::{router, Route, ROUTES};

use patron_hub_domain::accounts::AccountService;
use patron_hub_domain::organizations::OrganizationService;
use std::sync::Arc;

/// What the members router is built from, once at start-up.
#[derive(Clone)]
pub struct MembersApi {
    /// The organization use cases.
    pub service: Arc<OrganizationService>,
    /// Reads sessions (bearer token or cookie), as the accounts router does.
    pub accounts: Arc<AccountService>,
}
