//! The operations time series: one row per institution, 10-minute bucket and
//! series, its count raised by an upsert (so concurrent writers all count),
//! rows older than the retention deleted by `purge` in one range of
//! `bucket_start`.

use crate::codec::db_error;
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use patron_hub_domain::operations::{
    bucket_start, first_kept, Bucket, OperationsLog, Tally, RETENTION,
};
use patron_hub_domain::{InstitutionCode, StoreError};
use rusqlite::params;
use std::collections::BTreeMap;

/// Adds one to a counter (`?1` institution, `?2` bucket start, `?3` series).
const ADD: &str = "INSERT INTO operations_counters (institution, bucket_start, series, count)
     VALUES (?1, ?2, ?3, 1)
     ON CONFLICT (institution, bucket_start, series) DO UPDATE SET count = count + 1";

/// An institution's counters from bucket `?2` on.
const READ: &str = "SELECT bucket_start, series, count FROM operations_counters
     WHERE institution = ?1 AND bucket_start >= ?2 ORDER BY bucket_start";

#[async_trait]
impl OperationsLog for SqliteStore {
    async fn add(
        &self,
        institution: &InstitutionCode,
        at: DateTime<Utc>,
        tally: Tally,
    ) -> Result<(), StoreError> {
        let (institution, start) = (institution.to_string(), bucket_start(at).timestamp());
        self.write(move |tx| {
            let mut add = tx.prepare_cached(ADD).map_err(db_error)?;
            for series in tally.series() {
                add.execute(params![institution, start, series])
                    .map_err(db_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn buckets(
        &self,
        institution: &InstitutionCode,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Bucket>, StoreError> {
        let institution = institution.to_string();
        let from = first_kept(since, now).timestamp();
        let since = since.timestamp();
        let rows: Vec<(i64, String, i64)> = self
            .read(move |tx| {
                let mut read = tx.prepare_cached(READ).map_err(db_error)?;
                let rows = read
                    .query_map(params![institution, from], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })
                    .and_then(Iterator::collect);
                rows.map_err(db_error)
            })
            .await?;
        let mut grouped: BTreeMap<i64, Vec<(String, u64)>> = BTreeMap::new();
        for (start, series, count) in rows.into_iter().filter(|row| row.0 >= since) {
            let count = u64::try_from(count)
                .map_err(|_| StoreError::Corrupt(format!("operations count {count}")))?;
            grouped.entry(start).or_default().push((series, count));
        }
        grouped
            .into_iter()
            .map(|(start, counters)| {
                let start = DateTime::from_timestamp(start, 0)
                    .ok_or_else(|| StoreError::Corrupt(format!("bucket start {start}")))?;
                Ok(Bucket::from_series(
                    start,
                    counters
                        .iter()
                        .map(|(series, count)| (series.as_str(), *count)),
                ))
            })
            .collect()
    }

    async fn purge(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let cutoff = bucket_start(now - RETENTION).timestamp();
        let deleted = self
            .write(move |tx| {
                tx.execute(
                    "DELETE FROM operations_counters WHERE bucket_start < ?1",
                    params![cutoff],
                )
                .map_err(db_error)
            })
            .await?;
        Ok(deleted as u64)
    }
}
