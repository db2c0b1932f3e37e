//! The Alma Users API client of patron-hub: the adapter behind the domain's
//! [`AlmaUsers`](patron_hub_domain::alma::AlmaUsers) port.
//!
//! It owns the HTTP side of talking to Alma: one `reqwest` client for every
//! institution, each institution's base URL and API key, a pacer per institution
//! that keeps calls under that institution's per-second threshold, and the reading
//! of Alma's answers, JSON or XML, into [`AlmaError`](patron_hub_domain::alma::AlmaError).
//!
//! It must never retry (the institution queue retries with backoff, so this crate
//! only classifies a failure as transient or not), never decide what to do with a
//! patron (that is the domain's distributor), and never log an API key or a user
//! record.

mod answer;
mod client;
mod endpoint;
mod error_body;
mod institution;
mod outcome;
mod pacer;

pub use client::AlmaClient;
pub use client::DEFAULT_TIMEOUT_SECONDS;
pub use institution::{AlmaConfigError, AlmaInstitution};
