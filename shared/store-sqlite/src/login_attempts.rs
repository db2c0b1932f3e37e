//! Failed logins, one row per failure and submitted identifier, with the time
//! no window counts it any more. Recording one forgets that identifier's
//! failures older than the window it counts in, so the table holds at most one
//! window of failures per identifier; the daily purge removes the rest (those
//! of identifiers never tried again) by one range of `forget_at_us`.

use crate::codec::{attempts, db_error, micros};
use crate::purge::Purge;
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use patron_hub_domain::accounts::LoginAttempts;
use patron_hub_domain::StoreError;
use rusqlite::{params, Transaction};

/// The failures of `?1` at or after `?2` (`login_failures_by_identifier`).
const COUNT_SINCE: &str =
    "SELECT COUNT(*) FROM login_failures WHERE identifier = ?1 AND failed_at_us >= ?2";

/// The failures no window reaching `?1` counts (`login_failures_by_forget_at`).
static FORGOTTEN: Purge = Purge {
    count: "SELECT count(*) FROM login_failures WHERE forget_at_us < ?1",
    delete: "DELETE FROM login_failures WHERE forget_at_us < ?1",
};

/// Counts the failures of `identifier` since `since`.
fn failures_since(
    tx: &Transaction<'_>,
    identifier: &str,
    since: DateTime<Utc>,
) -> Result<u32, StoreError> {
    let count: i64 = tx
        .prepare_cached(COUNT_SINCE)
        .and_then(|mut count| count.query_row(params![identifier, micros(since)], |row| row.get(0)))
        .map_err(db_error)?;
    attempts(count)
}

/// Records a failure and counts the window it falls in.
fn record_failure(
    tx: &Transaction<'_>,
    identifier: &str,
    at: DateTime<Utc>,
    since: DateTime<Utc>,
) -> Result<u32, StoreError> {
    tx.execute(
        "DELETE FROM login_failures WHERE identifier = ?1 AND failed_at_us < ?2",
        params![identifier, micros(since)],
    )
    .map_err(db_error)?;
    let forget_at = micros(at).saturating_add(micros(at).saturating_sub(micros(since)).max(0));
    tx.execute(
        "INSERT INTO login_failures (identifier, failed_at_us, forget_at_us) VALUES (?1, ?2, ?3)",
        params![identifier, micros(at), forget_at],
    )
    .map_err(db_error)?;
    failures_since(tx, identifier, since)
}

#[async_trait]
impl LoginAttempts for SqliteStore {
    async fn record_failure(
        &self,
        identifier: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let identifier = identifier.to_owned();
        self.write(move |tx| record_failure(tx, &identifier, at, since))
            .await
    }

    async fn failures_since(
        &self,
        identifier: &str,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let identifier = identifier.to_owned();
        self.read(move |tx| failures_since(tx, &identifier, since))
            .await
    }

    async fn purge_expired(&self, now: DateTime<Utc>, dry_run: bool) -> Result<u64, StoreError> {
        self.purge(&FORGOTTEN, micros(now), dry_run).await
    }

    async fn clear(&self, identifier: &str) -> Result<(), StoreError> {
        let identifier = identifier.to_owned();
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM login_failures WHERE identifier = ?1",
                params![identifier],
            )
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

    #[test]
    fn purging_is_an_index_range_scan() {
        let conn = migrated_in_memory();
        for sql in [FORGOTTEN.count, FORGOTTEN.delete] {
            let plan = query_plan(&conn, sql);
            assert!(plan.contains("login_failures_by_forget_at"), "{plan}");
            assert!(!plan.contains("SCAN"), "{plan}");
        }
    }

    #[test]
    fn counting_a_window_is_an_index_range_scan() {
        let plan = query_plan(&migrated_in_memory(), COUNT_SINCE);
        assert!(
            plan.contains("USING COVERING INDEX login_failures_by_identifier"),
            "{plan}"
        );
        assert!(!plan.contains("SCAN"), "{plan}");
    }
}
