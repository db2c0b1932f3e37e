//! The library domain of patron-hub: institutions, patrons as Alma holds them,
//! Alma user webhooks, the rules that turn one webhook into per-institution
//! distribution jobs, and how a worker applies a job.
//!
//! This crate owns the rules and the ports (traits) that storage, queues, Alma and
//! the clock plug into. It must never do I/O itself, nor name an AWS, SQL or HTTP
//! framework type: adapters live in the other `shared/` crates.

pub mod accounts;
pub mod alma;
pub mod clock;
pub mod console;
pub mod distribution;
pub mod error;
pub mod institution;
pub mod job;
mod json;
pub mod operations;
pub mod organizations;
pub mod patron;
pub mod ports;
pub mod reconciliation;
pub mod registration;
pub mod routing;
pub mod settings;
pub mod telemetry;
pub mod webhook;

pub use clock::{Clock, FixedClock, SystemClock};
pub use error::StoreError;
pub use institution::{InstitutionCode, Network};
pub use job::{origin_changes, Job, JobAction, JobKey};
pub use patron::{AlmaUser, PrimaryId};
