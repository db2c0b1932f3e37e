//! Login sessions, kept by the SHA-256 of their token only. Timeouts are the
//! domain's rule: this store only keeps when each session started and was last
//! used, and purges those started before a time (one range of its start index).

use crate::codec::{db_error, micros, parse_time, time_text};
use crate::purge::Purge;
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use patron_hub_domain::accounts::{AccountId, SessionRecord, SessionStore, TokenHash};
use patron_hub_domain::StoreError;
use rusqlite::{params, OptionalExtension, Transaction};
use uuid::Uuid;

/// The sessions started before `?1` (`account_sessions_by_start`).
static STARTED_BEFORE: Purge = Purge {
    count: "SELECT count(*) FROM account_sessions WHERE started_at_us < ?1",
    delete: "DELETE FROM account_sessions WHERE started_at_us < ?1",
};

/// Reads one session back.
fn get(tx: &Transaction<'_>, hash: &TokenHash) -> Result<Option<SessionRecord>, StoreError> {
    let stored: Option<(String, String, String)> = tx
        .query_row(
            "SELECT account_id, created_at, last_used_at FROM account_sessions WHERE hash = ?1",
            params![hash.as_str()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
        .map_err(db_error)?;
    let Some((account_id, created_at, last_used_at)) = stored else {
        return Ok(None);
    };
    let account_id = Uuid::parse_str(&account_id)
        .map(AccountId)
        .map_err(|error| {
            StoreError::Corrupt(format!("stored account id {account_id:?}: {error}"))
        })?;
    Ok(Some(SessionRecord {
        hash: hash.clone(),
        account_id,
        created_at: parse_time(&created_at)?,
        last_used_at: parse_time(&last_used_at)?,
    }))
}

/// Runs one statement with `values` in a write transaction.
async fn execute<P>(store: &SqliteStore, sql: &'static str, values: P) -> Result<(), StoreError>
where
    P: rusqlite::Params + Send + 'static,
{
    store
        .write(move |tx| tx.execute(sql, values).map(drop).map_err(db_error))
        .await
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let values = (
            session.hash.as_str().to_owned(),
            session.account_id.to_string(),
            time_text(session.created_at),
            time_text(session.last_used_at),
            micros(session.created_at),
        );
        execute(
            self,
            "INSERT INTO account_sessions (hash, account_id, created_at, last_used_at, started_at_us)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            values,
        )
        .await
    }

    async fn get(&self, hash: &TokenHash) -> Result<Option<SessionRecord>, StoreError> {
        let hash = hash.clone();
        self.read(move |tx| get(tx, &hash)).await
    }

    async fn touch(&self, hash: &TokenHash, at: DateTime<Utc>) -> Result<(), StoreError> {
        execute(
            self,
            "UPDATE account_sessions SET last_used_at = ?2 WHERE hash = ?1",
            (hash.as_str().to_owned(), time_text(at)),
        )
        .await
    }

    async fn delete(&self, hash: &TokenHash) -> Result<(), StoreError> {
        execute(
            self,
            "DELETE FROM account_sessions WHERE hash = ?1",
            (hash.as_str().to_owned(),),
        )
        .await
    }

    async fn delete_all(&self, account_id: AccountId) -> Result<(), StoreError> {
        execute(
            self,
            "DELETE FROM account_sessions WHERE account_id = ?1",
            (account_id.to_string(),),
        )
        .await
    }

    async fn purge_started_before(
        &self,
        cutoff: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<u64, StoreError> {
        self.purge(&STARTED_BEFORE, micros(cutoff), dry_run).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::{migrated_in_memory, migrated_in_memory_up_to, query_plan};

    #[test]
    fn purging_is_an_index_range_scan() {
        let conn = migrated_in_memory();
        for sql in [STARTED_BEFORE.count, STARTED_BEFORE.delete] {
            let plan = query_plan(&conn, sql);
            assert!(plan.contains("account_sessions_by_start"), "{plan}");
            assert!(!plan.contains("SCAN"), "{plan}");
        }
    }

    /// Sessions from before the start index get their start from their text.
    #[test]
    fn migration_10_reads_the_start_of_existing_sessions() {
        let mut conn = migrated_in_memory_up_to(9);
        conn.execute(
            "INSERT INTO account_sessions (hash, account_id, created_at, last_used_at)
             VALUES ('h', 'a', '2026-03-02T09:00:00.25Z', '2026-03-02T09:05:00Z')",
            [],
        )
        .unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        let started: i64 = conn
            .query_row("SELECT started_at_us FROM account_sessions", [], |row| {
                row.get(0)
            })
            .unwrap();
        let expected = "2026-03-02T09:00:00.25Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(started, micros(expected));
    }
}
