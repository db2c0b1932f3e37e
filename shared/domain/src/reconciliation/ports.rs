//! What backfills and reconciles keep between pages: the runs with their
//! checkpoints and figures, the versions a reconcile read, and the
//! differences it found. One adapter per backend, held to the contract suite.

use super::{Difference, DriftKind, ReadVersion, Run, RunKind};
use crate::{PrimaryId, StoreError};
use async_trait::async_trait;

/// Why a run could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum RunWriteError {
    /// Another process saved the run since it was read.
    #[error("the run was moved forward by another process")]
    Overtaken,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The runs of backfills and reconciles, and what a reconcile read and found.
#[async_trait]
pub trait ReconciliationStore: Send + Sync {
    /// Stores `run` if its stored version is `run.version - 1` (absent for
    /// version 1): a checkpoint that two processes cannot both take.
    async fn save_run(&self, run: &Run) -> Result<(), RunWriteError>;
    /// One run by id.
    async fn run(&self, id: &str) -> Result<Option<Run>, StoreError>;
    /// The most recent runs of one kind, newest first (by `started_at`, then
    /// by id), at most `limit`.
    async fn recent_runs(&self, kind: RunKind, limit: usize) -> Result<Vec<Run>, StoreError>;
    /// Keeps versions a reconcile read (one per patron and institution; a
    /// version read again replaces the earlier one).
    async fn keep_versions(&self, run_id: &str, versions: &[ReadVersion])
        -> Result<(), StoreError>;
    /// Every version kept for the first `patrons` patrons after `after`, in
    /// primary-id order, whole patrons only (never part of one patron's).
    async fn versions_after(
        &self,
        run_id: &str,
        after: Option<&PrimaryId>,
        patrons: usize,
    ) -> Result<Vec<ReadVersion>, StoreError>;
    /// Keeps differences a reconcile found (one per patron, institution and
    /// kind; found again, it replaces the earlier one).
    async fn keep_differences(
        &self,
        run_id: &str,
        differences: &[Difference],
    ) -> Result<(), StoreError>;
    /// The differences of a run in patron, institution, then kind order (by
    /// [`DriftKind::as_str`]), at most `limit` after the difference `after`
    /// (its patron, institution and kind): one patron and institution may
    /// have several kinds, and a page may end between them.
    async fn differences(
        &self,
        run_id: &str,
        after: Option<(&PrimaryId, &crate::InstitutionCode, DriftKind)>,
        limit: usize,
    ) -> Result<Vec<Difference>, StoreError>;
    /// Forgets a run's versions (its differences and the run itself stay
    /// for the console): once compared, they are no longer needed.
    async fn forget_versions(&self, run_id: &str) -> Result<(), StoreError>;
}
