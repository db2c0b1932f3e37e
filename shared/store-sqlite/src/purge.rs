//! Purging by cutoff, shared by the expired tokens and the stale staging
//! records: a dry run counts in one read, a real purge deletes in one statement,
//! both over the same index range, so they agree on what is due.

use crate::codec::db_error;
use crate::SqliteStore;
use patron_hub_domain::StoreError;
use rusqlite::params;

/// One kind of row a purge removes: the rows below a cutoff given as `?1`.
pub(crate) struct Purge {
    /// Counts the rows below the cutoff.
    pub(crate) count: &'static str,
    /// Deletes the rows below the cutoff.
    pub(crate) delete: &'static str,
}

impl SqliteStore {
    /// Counts, and unless `dry_run` deletes, the rows of `purge` below `cutoff`.
    pub(crate) async fn purge(
        &self,
        purge: &'static Purge,
        cutoff: i64,
        dry_run: bool,
    ) -> Result<u64, StoreError> {
        if dry_run {
            let counted: i64 = self
                .read(move |tx| {
                    tx.prepare_cached(purge.count)
                        .and_then(|mut count| count.query_row(params![cutoff], |row| row.get(0)))
                        .map_err(db_error)
                })
                .await?;
            u64::try_from(counted)
                .map_err(|_| StoreError::Corrupt(format!("row count {counted} out of range")))
        } else {
            let deleted = self
                .write(move |tx| {
                    tx.prepare_cached(purge.delete)
                        .and_then(|mut delete| delete.execute(params![cutoff]))
                        .map_err(db_error)
                })
                .await?;
            u64::try_from(deleted)
                .map_err(|_| StoreError::Corrupt(format!("row count {deleted} out of range")))
        }
    }
}
