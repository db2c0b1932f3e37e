//! Failed logins on DynamoDB: `LOGIN#{sha256 of the identifier}` /
//! `FAILED#{at}#{uuid}`, with the expiry index `DUE#COUNTER_EXPIRY#{shard}`
//! (see `counters`).

use crate::keys::LOGIN_FAILURES;
use crate::AwsStore;
use chrono::{DateTime, Utc};
use patron_hub_domain::accounts::LoginAttempts;
use patron_hub_domain::StoreError;

#[async_trait::async_trait]
impl LoginAttempts for AwsStore {
    async fn record_failure(
        &self,
        identifier: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        self.record_counted(&LOGIN_FAILURES, identifier, at, since)
            .await
    }

    async fn failures_since(
        &self,
        identifier: &str,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        self.counted_since(&LOGIN_FAILURES, identifier, since).await
    }

    async fn clear(&self, identifier: &str) -> Result<(), StoreError> {
        self.clear_counted(&LOGIN_FAILURES, identifier).await
    }

    async fn purge_expired(&self, now: DateTime<Utc>, dry_run: bool) -> Result<u64, StoreError> {
        self.purge_counted(&LOGIN_FAILURES, now, dry_run).await
    }
}
