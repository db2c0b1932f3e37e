//! The operations time series on DynamoDB: one item per institution and
//! 10-minute bucket (`OPS#{institution}` / `BUCKET#{start}`, the start in
//! seconds since the epoch, zero-padded so that sort keys order as times),
//! one number attribute per series (`c_applied`, `c_lag_3`, ...) raised by an
//! UpdateItem's ADD, so concurrent writers all count. Its TTL
//! (`expires_at`) is the end of the retention, so DynamoDB deletes it by
//! itself; until it does, reads skip it.

use crate::error::unavailable;
use crate::item::{key, n, s, text, Item};
use crate::keys::{epoch_seconds, EXPIRES_AT, SK};
use crate::AwsStore;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use patron_hub_domain::operations::{
    bucket_start, first_kept, Bucket, OperationsLog, Tally, RETENTION,
};
use patron_hub_domain::{InstitutionCode, StoreError};

/// The prefix of a series' counter attribute.
const COUNTER: &str = "c_";
/// The prefix of a bucket's sort key.
const BUCKET_PREFIX: &str = "BUCKET#";

fn operations_pk(institution: &InstitutionCode) -> String {
    format!("OPS#{institution}")
}

fn bucket_sk(start: i64) -> String {
    format!("{BUCKET_PREFIX}{start:012}")
}

/// A bucket read back from its item.
fn bucket(item: &Item) -> Result<Bucket, StoreError> {
    let sk = text(item, SK)?;
    let start = sk
        .strip_prefix(BUCKET_PREFIX)
        .and_then(|start| start.parse::<i64>().ok())
        .and_then(|start| DateTime::from_timestamp(start, 0))
        .ok_or_else(|| StoreError::Corrupt(format!("operations bucket {sk}")))?;
    let counters = item.iter().filter_map(|(name, value)| {
        let series = name.strip_prefix(COUNTER)?;
        let AttributeValue::N(count) = value else {
            return None;
        };
        Some((series, count.parse::<u64>().ok()?))
    });
    Ok(Bucket::from_series(start, counters))
}

#[async_trait::async_trait]
impl OperationsLog for AwsStore {
    async fn add(
        &self,
        institution: &InstitutionCode,
        at: DateTime<Utc>,
        tally: Tally,
    ) -> Result<(), StoreError> {
        let start = bucket_start(at);
        let mut update = self
            .dynamodb
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(key(
                operations_pk(institution),
                bucket_sk(start.timestamp()),
            )))
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(epoch_seconds(start + RETENTION)));
        let mut adds = Vec::new();
        for (index, series) in tally.series().iter().enumerate() {
            update = update
                .expression_attribute_names(format!("#c{index}"), format!("{COUNTER}{series}"));
            adds.push(format!("#c{index} :one"));
        }
        update
            .update_expression(format!("ADD {} SET #expires = :ttl", adds.join(", ")))
            .send()
            .await
            .map_err(|e| unavailable("UpdateItem operations bucket", e))?;
        Ok(())
    }

    async fn buckets(
        &self,
        institution: &InstitutionCode,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Bucket>, StoreError> {
        let from = first_kept(since, now).timestamp();
        let mut pages = self
            .dynamodb
            .query()
            .table_name(&*self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(operations_pk(institution)))
            .expression_attribute_values(":from", s(bucket_sk(from)))
            .expression_attribute_values(":to", s(bucket_sk(now.timestamp())))
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut buckets = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| unavailable("Query operations buckets", e))?;
            for item in page.items() {
                let bucket = bucket(item)?;
                if bucket.start >= since && !bucket.is_empty() {
                    buckets.push(bucket);
                }
            }
        }
        Ok(buckets)
    }

    /// DynamoDB's TTL deletes the old buckets: nothing to do.
    async fn purge(&self, _now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(0)
    }
}
