//! The runs of backfills and reconciles, and what a reconcile read and found:
//! - `reconciliation_runs`: one row per run (its JSON and version). A first
//!   save inserts it only if absent, a later one updates it only where the
//!   stored version is the one before, so two processes never both move a
//!   run forward. Its kind and start (what `recent_runs` lists it by) are
//!   those of its first save, as on DynamoDB;
//! - `reconciliation_versions`: one row per run, patron and institution (a
//!   version read again replaces the row), paged by whole patrons;
//! - `reconciliation_differences`: one row per run, patron, institution and
//!   kind, paged after the last difference of the page before.
//!
//! Every read is one range of a primary key or index, in its order.

use crate::codec::{db_error, json_row, json_rows, micros, stored_version, to_json};
use crate::SqliteStore;
use async_trait::async_trait;
use patron_hub_domain::reconciliation::{
    Difference, DriftKind, ReadVersion, ReconciliationStore, Run, RunKind, RunWriteError,
};
use patron_hub_domain::{InstitutionCode, PrimaryId, StoreError};
use rusqlite::{params, Transaction};

/// One run by id (primary key).
const SELECT_RUN: &str = "SELECT run FROM reconciliation_runs WHERE id = ?1";

/// Up to `?2` runs of kind `?1`, newest first (`reconciliation_runs_by_kind`,
/// read backwards).
const SELECT_RECENT: &str = "SELECT run FROM reconciliation_runs WHERE kind = ?1
     ORDER BY started_at_us DESC, id DESC LIMIT ?2";

/// The versions of run `?1` of the first `?3` patrons after `?2`: the
/// patrons are the first `?3` distinct primary ids of the key range after
/// `?2`, the versions the key range up to the last of them.
const SELECT_VERSIONS: &str = "SELECT version FROM reconciliation_versions
     WHERE run_id = ?1 AND primary_id > ?2 AND primary_id <= (
         SELECT max(primary_id) FROM (
             SELECT DISTINCT primary_id FROM reconciliation_versions
             WHERE run_id = ?1 AND primary_id > ?2
             ORDER BY primary_id LIMIT ?3))
     ORDER BY primary_id, institution";

/// Up to `?5` differences of run `?1` after the patron `?2`, institution
/// `?3` and kind `?4`, in key order.
const SELECT_DIFFERENCES: &str = "SELECT difference FROM reconciliation_differences
     WHERE run_id = ?1 AND (primary_id, institution, kind) > (?2, ?3, ?4)
     ORDER BY primary_id, institution, kind LIMIT ?5";

/// Every version of one run (a primary-key range).
const DELETE_VERSIONS: &str = "DELETE FROM reconciliation_versions WHERE run_id = ?1";

/// Below every primary id, institution code and kind (none is empty): the
/// cursor of a first page.
const BEFORE_ALL: &str = "";

/// Stores `run` if it is the next version of the stored one (absent for 1).
fn save_run(tx: &Transaction<'_>, run: &Run) -> Result<(), RunWriteError> {
    let (version, json) = (stored_version(run.version)?, to_json(run)?);
    let written = if run.version == 1 {
        tx.prepare_cached(
            "INSERT INTO reconciliation_runs (id, kind, started_at_us, version, run)
             VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT (id) DO NOTHING",
        )
        .and_then(|mut insert| {
            insert.execute(params![
                run.id,
                run.kind.as_str(),
                micros(run.started_at),
                json
            ])
        })
    } else {
        tx.prepare_cached(
            "UPDATE reconciliation_runs SET version = ?2, run = ?3
             WHERE id = ?1 AND version = ?2 - 1",
        )
        .and_then(|mut update| update.execute(params![run.id, version, json]))
    }
    .map_err(db_error)?;
    if written == 0 {
        return Err(RunWriteError::Overtaken);
    }
    Ok(())
}

/// Keeps each version, replacing the one of its run, patron and institution.
fn keep_versions(
    tx: &Transaction<'_>,
    run_id: &str,
    versions: &[ReadVersion],
) -> Result<(), StoreError> {
    let mut upsert = tx
        .prepare_cached(
            "INSERT INTO reconciliation_versions (run_id, primary_id, institution, version)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (run_id, primary_id, institution) DO UPDATE SET version = excluded.version",
        )
        .map_err(db_error)?;
    for version in versions {
        let json = to_json(version)?;
        upsert
            .execute(params![
                run_id,
                version.primary_id.as_str(),
                version.institution.as_str(),
                json
            ])
            .map_err(db_error)?;
    }
    Ok(())
}

/// Keeps each difference, replacing the one of its run, patron, institution
/// and kind.
fn keep_differences(
    tx: &Transaction<'_>,
    run_id: &str,
    differences: &[Difference],
) -> Result<(), StoreError> {
    let mut upsert = tx
        .prepare_cached(
            "INSERT INTO reconciliation_differences
                 (run_id, primary_id, institution, kind, difference)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (run_id, primary_id, institution, kind)
             DO UPDATE SET difference = excluded.difference",
        )
        .map_err(db_error)?;
    for difference in differences {
        let json = to_json(difference)?;
        upsert
            .execute(params![
                run_id,
                difference.primary_id.as_str(),
                difference.institution.as_str(),
                difference.kind.as_str(),
                json
            ])
            .map_err(db_error)?;
    }
    Ok(())
}

/// A count or limit as SQLite's integer (a larger one means "all").
fn sql_limit(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

#[async_trait]
impl ReconciliationStore for SqliteStore {
    async fn save_run(&self, run: &Run) -> Result<(), RunWriteError> {
        if run.version == 0 {
            return Err(RunWriteError::Overtaken);
        }
        let run = run.clone();
        self.write(move |tx| save_run(tx, &run)).await
    }

    async fn run(&self, id: &str) -> Result<Option<Run>, StoreError> {
        let id = id.to_owned();
        self.read(move |tx| json_row(tx, SELECT_RUN, params![id]))
            .await
    }

    async fn recent_runs(&self, kind: RunKind, limit: usize) -> Result<Vec<Run>, StoreError> {
        let limit = sql_limit(limit);
        self.read(move |tx| json_rows(tx, SELECT_RECENT, params![kind.as_str(), limit]))
            .await
    }

    async fn keep_versions(
        &self,
        run_id: &str,
        versions: &[ReadVersion],
    ) -> Result<(), StoreError> {
        let (run_id, versions) = (run_id.to_owned(), versions.to_vec());
        self.write(move |tx| keep_versions(tx, &run_id, &versions))
            .await
    }

    async fn versions_after(
        &self,
        run_id: &str,
        after: Option<&PrimaryId>,
        patrons: usize,
    ) -> Result<Vec<ReadVersion>, StoreError> {
        let run_id = run_id.to_owned();
        let after = after.map_or(BEFORE_ALL, PrimaryId::as_str).to_owned();
        let patrons = sql_limit(patrons);
        self.read(move |tx| json_rows(tx, SELECT_VERSIONS, params![run_id, after, patrons]))
            .await
    }

    async fn keep_differences(
        &self,
        run_id: &str,
        differences: &[Difference],
    ) -> Result<(), StoreError> {
        let (run_id, differences) = (run_id.to_owned(), differences.to_vec());
        self.write(move |tx| keep_differences(tx, &run_id, &differences))
            .await
    }

    async fn differences(
        &self,
        run_id: &str,
        after: Option<(&PrimaryId, &InstitutionCode, DriftKind)>,
        limit: usize,
    ) -> Result<Vec<Difference>, StoreError> {
        let run_id = run_id.to_owned();
        let (patron, institution, kind) = match after {
            Some((patron, institution, kind)) => (
                patron.as_str().to_owned(),
                institution.as_str().to_owned(),
                kind.as_str(),
            ),
            None => (BEFORE_ALL.to_owned(), BEFORE_ALL.to_owned(), BEFORE_ALL),
        };
        let limit = sql_limit(limit);
        self.read(move |tx| {
            json_rows(
                tx,
                SELECT_DIFFERENCES,
                params![run_id, patron, institution, kind, limit],
            )
        })
        .await
    }

    async fn forget_versions(&self, run_id: &str) -> Result<(), StoreError> {
        let run_id = run_id.to_owned();
        self.write(move |tx| {
            tx.prepare_cached(DELETE_VERSIONS)
                .and_then(|mut delete| delete.execute(params![run_id]))
                .map(drop)
                .map_err(db_error)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::{migrated_in_memory, query_plan};

    /// Fails unless `sql` reads only ranges of keys, in their order.
    fn assert_ranges_only(sql: &str, expected: &[&str]) {
        let conn = migrated_in_memory();
        let plan = query_plan(&conn, sql);
        for step in expected {
            assert!(plan.contains(step), "{step:?} not in:\n{plan}");
        }
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        assert!(!plan.contains("SCAN reconciliation"), "{plan}");
    }

    #[test]
    fn recent_runs_come_in_index_order_without_sorting() {
        assert_ranges_only(
            SELECT_RECENT,
            &["SEARCH reconciliation_runs USING INDEX reconciliation_runs_by_kind (kind=?)"],
        );
    }

    #[test]
    fn a_page_of_versions_reads_key_ranges_only() {
        assert_ranges_only(
            SELECT_VERSIONS,
            &[
                "SEARCH reconciliation_versions USING PRIMARY KEY (run_id=? AND primary_id>? AND primary_id<?)",
                "SEARCH reconciliation_versions USING PRIMARY KEY (run_id=? AND primary_id>?)",
            ],
        );
    }

    #[test]
    fn a_page_of_differences_is_one_key_range() {
        assert_ranges_only(
            SELECT_DIFFERENCES,
            &["SEARCH reconciliation_differences USING PRIMARY KEY (run_id=? AND (primary_id,institution,kind)>(?,?,?))"],
        );
    }

    #[test]
    fn forgetting_versions_is_one_key_range() {
        assert_ranges_only(
            DELETE_VERSIONS,
            &["SEARCH reconciliation_versions USING PRIMARY KEY (run_id=?)"],
        );
    }
}
