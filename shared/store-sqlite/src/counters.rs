//! Counted events with a window, shared by the failed logins and the counted
//! requests, each in a table of its own: one row per event and key, with the
//! time no window counts it any more. Recording one forgets that key's events
//! older than the window it counts in, so a table holds at most one window of
//! events per key; the daily purge removes the rest (those of keys never
//! counted again) by one range of `forget_at_us`.

use crate::codec::{attempts, db_error, micros};
use crate::purge::Purge;
use crate::SqliteStore;
use chrono::{DateTime, Utc};
use patron_hub_domain::StoreError;
use rusqlite::{params, Transaction};

/// The statements over one table of counted events.
pub(crate) struct CounterTable {
    /// The events of key `?1` at or after `?2`.
    pub(crate) count_since: &'static str,
    /// Deletes the events of key `?1` before `?2`.
    forget_older: &'static str,
    /// Inserts an event of key `?1` at `?2`, forgotten at `?3`.
    insert: &'static str,
    /// The events no window reaching `?1` counts.
    pub(crate) forgotten: Purge,
}

/// Failed logins per identifier or account (`login_attempts`).
pub(crate) static LOGIN_FAILURES: CounterTable = CounterTable {
    count_since: "SELECT COUNT(*) FROM login_failures WHERE identifier = ?1 AND failed_at_us >= ?2",
    forget_older: "DELETE FROM login_failures WHERE identifier = ?1 AND failed_at_us < ?2",
    insert:
        "INSERT INTO login_failures (identifier, failed_at_us, forget_at_us) VALUES (?1, ?2, ?3)",
    forgotten: Purge {
        count: "SELECT count(*) FROM login_failures WHERE forget_at_us < ?1",
        delete: "DELETE FROM login_failures WHERE forget_at_us < ?1",
    },
};

/// Limited requests per counter key (`request_counters`).
pub(crate) static REQUEST_COUNTS: CounterTable = CounterTable {
    count_since: "SELECT COUNT(*) FROM request_counts WHERE counter = ?1 AND counted_at_us >= ?2",
    forget_older: "DELETE FROM request_counts WHERE counter = ?1 AND counted_at_us < ?2",
    insert: "INSERT INTO request_counts (counter, counted_at_us, forget_at_us) VALUES (?1, ?2, ?3)",
    forgotten: Purge {
        count: "SELECT count(*) FROM request_counts WHERE forget_at_us < ?1",
        delete: "DELETE FROM request_counts WHERE forget_at_us < ?1",
    },
};

/// Counts the events of `key` in `table` since `since`.
pub(crate) fn count_since(
    tx: &Transaction<'_>,
    table: &CounterTable,
    key: &str,
    since: DateTime<Utc>,
) -> Result<u32, StoreError> {
    let count: i64 = tx
        .prepare_cached(table.count_since)
        .and_then(|mut count| count.query_row(params![key, micros(since)], |row| row.get(0)))
        .map_err(db_error)?;
    attempts(count)
}

/// Records an event of `key` at `at` in `table` and counts the window from
/// `since` it falls in.
pub(crate) fn record(
    tx: &Transaction<'_>,
    table: &CounterTable,
    key: &str,
    at: DateTime<Utc>,
    since: DateTime<Utc>,
) -> Result<u32, StoreError> {
    tx.prepare_cached(table.forget_older)
        .and_then(|mut forget| forget.execute(params![key, micros(since)]))
        .map_err(db_error)?;
    let forget_at = micros(at).saturating_add(micros(at).saturating_sub(micros(since)).max(0));
    tx.prepare_cached(table.insert)
        .and_then(|mut insert| insert.execute(params![key, micros(at), forget_at]))
        .map_err(db_error)?;
    count_since(tx, table, key, since)
}

impl SqliteStore {
    /// Records an event of `key` in `table` (see [`record`]).
    pub(crate) async fn record_counted(
        &self,
        table: &'static CounterTable,
        key: String,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        self.write(move |tx| record(tx, table, &key, at, since))
            .await
    }

    /// Counts, and unless `dry_run` removes, the events of `table` no window
    /// reaching `now` counts any more.
    pub(crate) async fn purge_counted(
        &self,
        table: &'static CounterTable,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<u64, StoreError> {
        self.purge(&table.forgotten, micros(now), dry_run).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::{migrated_in_memory, query_plan};

    #[test]
    fn counting_and_purging_are_index_range_scans() {
        let conn = migrated_in_memory();
        for (table, by_key, by_forget_at) in [
            (
                &LOGIN_FAILURES,
                "login_failures_by_identifier",
                "login_failures_by_forget_at",
            ),
            (
                &REQUEST_COUNTS,
                "request_counts_by_counter",
                "request_counts_by_forget_at",
            ),
        ] {
            let count = query_plan(&conn, table.count_since);
            assert!(count.contains("USING COVERING INDEX"), "{count}");
            for (sql, index) in [
                (table.count_since, by_key),
                (table.forget_older, by_key),
                (table.forgotten.count, by_forget_at),
                (table.forgotten.delete, by_forget_at),
            ] {
                let plan = query_plan(&conn, sql);
                assert!(plan.contains(index), "{plan}");
                assert!(!plan.contains("SCAN"), "{plan}");
            }
        }
    }
}
