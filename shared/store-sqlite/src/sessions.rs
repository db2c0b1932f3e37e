//! Login sessions, kept by the SHA-256 of their token only. Timeouts are the
//! domain's rule: this store only keeps when each session started and was last used.

use crate::codec::{db_error, parse_time, time_text};
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use patron_hub_domain::accounts::{AccountId, SessionRecord, SessionStore, TokenHash};
use patron_hub_domain::StoreError;
use rusqlite::{params, OptionalExtension, Transaction};
use uuid::Uuid;

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
        );
        execute(
            self,
            "INSERT INTO account_sessions (hash, account_id, created_at, last_used_at)
             VALUES (?1, ?2, ?3, ?4)",
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
}
