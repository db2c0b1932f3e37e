//! The axum routers of patron-hub's HTTP functions, and the one place where
//! errors become HTTP responses (`{"code","message"}` with the right status).
//!
//! Each Lambda binary runs one of these routers with `lambda_http`; `patron-hub
//! serve` merges them all on one port. This crate never builds an adapter: it is
//! handed the domain services, already wired.

pub mod accounts;
pub mod client_address;
pub mod console;
pub mod error;
pub mod health;
mod json_body;
pub mod members;
pub mod metrics_scrape;
pub mod openapi;
pub mod origin;
pub mod registration;
pub mod webhook;

pub use error::ApiError;
