//! The port of the operations time series, and how its writers record into it.

use super::bucket::Bucket;
use super::tally::Tally;
use crate::{InstitutionCode, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Counters per institution and 10-minute bucket, kept 30 days.
#[async_trait]
pub trait OperationsLog: Send + Sync {
    /// Counts `tally` in `institution`'s bucket holding `at`.
    async fn add(
        &self,
        institution: &InstitutionCode,
        at: DateTime<Utc>,
        tally: Tally,
    ) -> Result<(), StoreError>;

    /// `institution`'s non-empty buckets starting at or after `since`
    /// (never older than [`super::RETENTION`] before `now`), oldest first.
    async fn buckets(
        &self,
        institution: &InstitutionCode,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Bucket>, StoreError>;

    /// Removes the buckets older than [`super::RETENTION`] before `now`, if
    /// the store does not expire them by itself; returns how many it removed.
    async fn purge(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Counts `tally` in `log` if there is one. A failure is logged, never
/// returned: the operations view must not fail a job or an Alma call.
pub async fn record(
    log: Option<&dyn OperationsLog>,
    institution: &InstitutionCode,
    at: DateTime<Utc>,
    tally: Tally,
) {
    let Some(log) = log else {
        return;
    };
    if let Err(error) = log.add(institution, at, tally).await {
        tracing::warn!(institution = %institution, %error, "operations log not updated");
    }
}
