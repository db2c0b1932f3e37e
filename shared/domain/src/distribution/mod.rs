//! Applying distribution jobs: what a worker does with one job in one institution,
//! how failures are classified, and how the outcome is kept.

mod backoff;
mod distributor;
mod outcome;
mod worker;

pub use backoff::Backoff;
pub use distributor::{
    Disposition, Distributor, LinkMethod, WorkerSettings, LANE_BUSY, PRIMARY_ID_COLLISION,
};
pub use outcome::{FailureReason, JobOutcome, OutcomeStatus};
pub use worker::{settle, work_batch, work_once, Settled};
