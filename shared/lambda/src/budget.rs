//! The institution worker's share of its institution's Alma budget: all of
//! it, or `1 - RUN_SHARE` while a backfill or a reconcile reads the
//! institution (the `network-reconcile` function takes `RUN_SHARE`), so that
//! together they never pass `ALMA_CALLS_PER_SECOND`. `serve` does the same
//! with its budget watch.

use patron_hub_alma::AlmaClient;
use patron_hub_domain::reconciliation::{busy_institutions, ReconciliationStore, RUN_SHARE};
use patron_hub_domain::{Clock, InstitutionCode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a look at the runs holds: at most one look (two queries) per
/// this long per worker process.
const LOOK_EVERY: Duration = Duration::from_secs(5);

/// Sets the worker's Alma pacer from the runs in the table.
pub struct BudgetShare {
    alma: Arc<AlmaClient>,
    institution: InstitutionCode,
    runs: Arc<dyn ReconciliationStore>,
    clock: Arc<dyn Clock>,
    last_look: Mutex<Option<Instant>>,
}

impl BudgetShare {
    /// The share of `institution`'s budget `alma` paces it at, from `runs`.
    pub fn new(
        alma: Arc<AlmaClient>,
        institution: InstitutionCode,
        runs: Arc<dyn ReconciliationStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            alma,
            institution,
            runs,
            clock,
            last_look: Mutex::new(None),
        }
    }

    /// Looks at the runs unless it did within [`LOOK_EVERY`], and sets the
    /// share. Runs that cannot be read leave the share as it was.
    pub async fn refresh(&self) {
        {
            let mut last_look = self.last_look.lock().unwrap_or_else(|e| e.into_inner());
            if last_look.is_some_and(|at| at.elapsed() < LOOK_EVERY) {
                return;
            }
            *last_look = Some(Instant::now());
        }
        match busy_institutions(self.runs.as_ref(), self.clock.now()).await {
            Ok(busy) => {
                let share = match busy.contains(&self.institution) {
                    true => 1.0 - RUN_SHARE,
                    false => 1.0,
                };
                self.alma.set_share(&self.institution, share);
            }
            Err(error) => tracing::warn!(%error, "runs unreadable; Alma budget share unchanged"),
        }
    }

    /// The share the worker paces its institution at now.
    pub fn share(&self) -> f64 {
        self.alma.share(&self.institution).unwrap_or(1.0)
    }
}
