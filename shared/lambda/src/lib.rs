//! What every patron-hub Lambda function shares: its settings read once from
//! environment variables and Secrets Manager, the AWS clients and adapters built
//! once per cold start, JSON logs, the SQS batch handler of the institution
//! worker, the scheduled handler of the membership rollover and the paged
//! handler of the network reconcile. The function
//! binaries under `functions/` only call into this crate.
//!
//! It must never hold a business rule: those live in `patron-hub-domain`.

pub mod budget;
pub mod client_address;
mod csrf_key;
pub mod emf;
pub mod env;
pub mod http_function;
pub mod logs;
pub mod network_reconcile;
pub mod rollover;
pub mod sqs_batch;
pub mod wiring;

pub use env::{EnvError, Environment};
