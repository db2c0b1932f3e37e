//! Counted requests on DynamoDB, apart from the failed logins:
//! `REQUESTS#{sha256 of CountedRequest::key}` / `COUNTED#{at}#{uuid}`, with
//! the expiry index `DUE#REQUEST_EXPIRY#{shard}` (see `counters`).

use crate::keys::REQUEST_COUNTS;
use crate::AwsStore;
use chrono::{DateTime, Duration, Utc};
use patron_hub_domain::accounts::{CountedRequest, RequestCounters};
use patron_hub_domain::StoreError;

#[async_trait::async_trait]
impl RequestCounters for AwsStore {
    async fn count(
        &self,
        request: &CountedRequest,
        at: DateTime<Utc>,
        window: Duration,
    ) -> Result<u32, StoreError> {
        let since = at
            .checked_sub_signed(window)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        self.record_counted(&REQUEST_COUNTS, &request.key(), at, since)
            .await
    }

    async fn purge_expired(&self, now: DateTime<Utc>, dry_run: bool) -> Result<u64, StoreError> {
        self.purge_counted(&REQUEST_COUNTS, now, dry_run).await
    }
}
