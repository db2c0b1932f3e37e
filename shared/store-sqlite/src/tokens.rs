//! Single-use tokens, kept by their SHA-256 only (the record holds the hash,
//! never the token). Using one deletes it in the same transaction that reads
//! it, so two concurrent uses cannot both succeed. The tokens expired before
//! an instant are one range of the expiry index, purged in one statement.

use crate::codec::{db_error, from_json, json_row, micros, to_json};
use crate::purge::Purge;
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use patron_hub_domain::accounts::{AccountId, TokenHash, TokenRecord, TokenStore};
use patron_hub_domain::StoreError;
use rusqlite::{params, OptionalExtension, Transaction};

/// The tokens expired before `?1` (`account_tokens_by_expiry`).
static EXPIRED: Purge = Purge {
    count: "SELECT count(*) FROM account_tokens WHERE expires_at_us < ?1",
    delete: "DELETE FROM account_tokens WHERE expires_at_us < ?1",
};

/// Keeps a new token, and forgets the tokens of the same account that had
/// already expired when it was issued, so unused tokens do not pile up.
fn issue(tx: &Transaction<'_>, token: &TokenRecord) -> Result<(), StoreError> {
    let account_id = token.account_id.to_string();
    tx.execute(
        "DELETE FROM account_tokens WHERE account_id = ?1 AND expires_at_us <= ?2",
        params![account_id, micros(token.issued_at)],
    )
    .map_err(db_error)?;
    tx.execute(
        "INSERT INTO account_tokens (hash, account_id, expires_at_us, token) VALUES (?1, ?2, ?3, ?4)",
        params![
            token.hash.as_str(),
            account_id,
            micros(token.expires_at),
            to_json(token)?
        ],
    )
    .map(drop)
    .map_err(db_error)
}

/// Removes the token and gives it back if it was still valid at `now`.
fn consume(
    tx: &Transaction<'_>,
    hash: &TokenHash,
    now: DateTime<Utc>,
) -> Result<Option<TokenRecord>, StoreError> {
    let stored: Option<String> = tx
        .query_row(
            "DELETE FROM account_tokens WHERE hash = ?1 RETURNING token",
            params![hash.as_str()],
            |row| row.get(0),
        )
        .optional()
        .map_err(db_error)?;
    let Some(stored) = stored else {
        return Ok(None);
    };
    let token: TokenRecord = from_json(&stored)?;
    Ok((token.expires_at > now).then_some(token))
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn issue(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let token = token.clone();
        self.write(move |tx| issue(tx, &token)).await
    }

    async fn consume(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let hash = hash.clone();
        self.write(move |tx| consume(tx, &hash, now)).await
    }

    async fn find(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let hash = hash.clone();
        let token: Option<TokenRecord> = self
            .read(move |tx| {
                json_row(
                    tx,
                    "SELECT token FROM account_tokens WHERE hash = ?1",
                    params![hash.as_str()],
                )
            })
            .await?;
        Ok(token.filter(|token| token.expires_at > now))
    }

    async fn revoke_all(&self, account_id: AccountId) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM account_tokens WHERE account_id = ?1",
                params![account_id.to_string()],
            )
            .map(drop)
            .map_err(db_error)
        })
        .await
    }

    async fn purge_expired(&self, now: DateTime<Utc>, dry_run: bool) -> Result<u64, StoreError> {
        self.purge(&EXPIRED, micros(now), dry_run).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::{migrated_in_memory, query_plan};

    #[test]
    fn expired_tokens_are_one_range_of_the_expiry_index() {
        let conn = migrated_in_memory();
        for sql in [EXPIRED.count, EXPIRED.delete] {
            let plan = query_plan(&conn, sql);
            assert!(
                plan.contains("account_tokens USING COVERING INDEX account_tokens_by_expiry (expires_at_us<?)"),
                "{plan}"
            );
            assert!(!plan.contains("SCAN"), "{plan}");
        }
    }
}
