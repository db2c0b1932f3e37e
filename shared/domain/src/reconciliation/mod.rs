//! Knowing the network as it is, not only as webhooks told it: the go-live
//! backfill of the patron registry from every institution's users, and the
//! reconcile that finds distributed readers missing, stale or unlinked in a
//! member and repairs them through ordinary distribution jobs. Both work one
//! page at a time and keep a checkpoint after each, so that they resume after
//! a crash and fit a Lambda's time limit.

pub mod comparison;

use chrono::{DateTime, TimeDelta, Utc};

/// The share of an institution's Alma calls per second a backfill or a
/// reconcile takes while it runs; the distribution workers keep the rest.
pub const RUN_SHARE: f64 = 0.5;

/// The calls per second a run takes of an institution allowing
/// `calls_per_second`: [`RUN_SHARE`] of it, at least one.
pub fn run_calls_per_second(calls_per_second: u32) -> u32 {
    ((f64::from(calls_per_second) * RUN_SHARE) as u32).max(1)
}

/// How fresh a run's checkpoint must be for the run to count as running
/// (a run killed part-way stops counting after this).
pub const RUN_ALIVE: TimeDelta = TimeDelta::seconds(60);

impl Run {
    /// Whether the run is going on at `now`: unfinished, with a checkpoint
    /// stored within [`RUN_ALIVE`].
    pub fn is_running(&self, now: DateTime<Utc>) -> bool {
        !self.is_finished() && now - self.updated_at < RUN_ALIVE
    }
}
mod ports;
mod run;
mod service;

use crate::{InstitutionCode, StoreError};
use std::collections::BTreeSet;

/// The institutions a running backfill or reconcile reads at `now` (its
/// checkpoint is fresh in `store`, whichever process moves it): where the
/// distribution workers keep to `1 - RUN_SHARE` of the Alma budget.
pub async fn busy_institutions(
    store: &dyn ReconciliationStore,
    now: DateTime<Utc>,
) -> Result<BTreeSet<InstitutionCode>, StoreError> {
    let mut busy = BTreeSet::new();
    for kind in [RunKind::Backfill, RunKind::Reconcile] {
        for run in store.recent_runs(kind, 3).await? {
            if run.is_running(now) {
                busy.extend(run.institutions.iter().cloned());
            }
        }
    }
    Ok(busy)
}

pub use ports::{ReconciliationStore, RunWriteError};
pub use run::{Difference, DriftKind, Position, ReadVersion, Run, RunCounts, RunKind};
pub use service::{
    Begun, ReconcileError, ReconcileSettings, Reconciliation, ReconciliationPorts, RepairedPatron,
};
