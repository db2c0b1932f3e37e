//! Knowing the network as it is, not only as webhooks told it: the go-live
//! backfill of the patron registry from every institution's users, and the
//! reconcile that finds distributed readers missing, stale or unlinked in a
//! member and repairs them through ordinary distribution jobs. Both work one
//! page at a time and keep a checkpoint after each, so that they resume after
//! a crash and fit a Lambda's time limit.

pub mod comparison;
mod ports;
mod run;

pub use ports::{ReconciliationStore, RunWriteError};
pub use run::{Difference, DriftKind, Position, ReadVersion, Run, RunCounts, RunKind};
