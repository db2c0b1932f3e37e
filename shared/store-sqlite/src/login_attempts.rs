//! Failed logins, one row per failure and submitted identifier (or account)
//! in `login_failures` (see `counters`).

use crate::codec::db_error;
use crate::counters::{count_since, LOGIN_FAILURES};
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use patron_hub_domain::accounts::LoginAttempts;
use patron_hub_domain::StoreError;
use rusqlite::params;

#[async_trait]
impl LoginAttempts for SqliteStore {
    async fn record_failure(
        &self,
        identifier: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        self.record_counted(&LOGIN_FAILURES, identifier.to_owned(), at, since)
            .await
    }

    async fn failures_since(
        &self,
        identifier: &str,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let identifier = identifier.to_owned();
        self.read(move |tx| count_since(tx, &LOGIN_FAILURES, &identifier, since))
            .await
    }

    async fn purge_expired(&self, now: DateTime<Utc>, dry_run: bool) -> Result<u64, StoreError> {
        self.purge_counted(&LOGIN_FAILURES, now, dry_run).await
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
