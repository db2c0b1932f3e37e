//! Failed logins on DynamoDB, one item per failure in the partition of the
//! submitted identifier's SHA-256 (`LOGIN#{sha256}` / `FAILED#{time}#{uuid}`): the
//! identifier as typed is never stored. Counting the failures of a window is
//! one Query of the sort keys from the window's start (COUNT only); concurrent
//! failures each add their own item, so none is lost.
//!
//! A failure counts in windows as long as `at - since` of the call that
//! recorded it: after `at + (at - since)` nothing counts it. That time is its
//! TTL, and the sort key of its entry in the counter expiry index
//! (`DUE#COUNTER_EXPIRY#{shard}`, sixteen partitions by the first digit of the
//! hash), written with it in one BatchWriteItem and named by its `due`
//! attribute, so that the daily purge reads only the failures no window counts
//! any more — those of identifiers never tried again included — and `clear`
//! removes both.

use crate::error::unavailable;
use crate::item::{key, n, s, text, Item};
use crate::keys::{
    counter_expiry_pk, counter_expiry_pks, counter_expiry_sk, epoch_seconds, failure_sk,
    failures_from, login_pk, time_key, EXPIRES_AT, FAILURE_PREFIX, PK, SK,
};
use crate::AwsStore;
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use chrono::{DateTime, Utc};
use patron_hub_domain::accounts::LoginAttempts;
use patron_hub_domain::StoreError;

/// The attribute of a failure naming its expiry entry's sort key.
const DUE: &str = "due";
/// The attributes of an expiry entry naming its failure.
const COUNTER_PK: &str = "counter_pk";
const COUNTER_SK: &str = "counter_sk";

/// Expired failures purged per round (read, then deleted with their entries).
const PURGE_PAGE: usize = 1000;

#[async_trait::async_trait]
impl LoginAttempts for AwsStore {
    async fn record_failure(
        &self,
        identifier: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let window = (at - since).max(chrono::TimeDelta::zero());
        let forget_at = at
            .checked_add_signed(window)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let ttl = n(epoch_seconds(forget_at));
        let (pk, sk) = (login_pk(identifier), failure_sk(at));
        let due_sk = counter_expiry_sk(forget_at, &sk);
        let mut due = key(counter_expiry_pk(&pk), due_sk.clone());
        due.extend([
            (COUNTER_PK.to_owned(), s(&pk)),
            (COUNTER_SK.to_owned(), s(&sk)),
            (EXPIRES_AT.to_owned(), ttl.clone()),
        ]);
        let mut failure = key(pk, sk);
        failure.extend([(DUE.to_owned(), s(due_sk)), (EXPIRES_AT.to_owned(), ttl)]);
        self.put_many(vec![failure, due]).await?;
        self.failures_since(identifier, since).await
    }

    async fn failures_since(
        &self,
        identifier: &str,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let mut pages = self
            .dynamodb
            .query()
            .table_name(&*self.table)
            .key_condition_expression("pk = :pk AND sk >= :since")
            .expression_attribute_values(":pk", s(login_pk(identifier)))
            .expression_attribute_values(":since", s(failures_from(since)))
            .select(Select::Count)
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut failures: u32 = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| unavailable("Query login failures", e))?;
            let counted = u32::try_from(page.count()).unwrap_or(0);
            failures = failures.saturating_add(counted);
        }
        Ok(failures)
    }

    async fn clear(&self, identifier: &str) -> Result<(), StoreError> {
        let pk = login_pk(identifier);
        let failures = self
            .items_starting("Query login failures", pk.clone(), FAILURE_PREFIX)
            .await?;
        let mut keys = Vec::with_capacity(failures.len() * 2);
        for failure in &failures {
            if let Some(AttributeValue::S(due)) = failure.get(DUE) {
                keys.push(key(counter_expiry_pk(&pk), due.clone()));
            }
            keys.push(key(pk.clone(), text(failure, SK)?));
        }
        self.delete_many(keys).await
    }

    async fn purge_expired(&self, now: DateTime<Utc>, dry_run: bool) -> Result<u64, StoreError> {
        let mut purged = 0;
        for pk in counter_expiry_pks() {
            purged += if dry_run {
                self.count_expired(&pk, now).await?
            } else {
                self.purge_shard(&pk, now).await?
            };
        }
        Ok(purged)
    }
}

impl AwsStore {
    /// How many entries of the expiry partition `pk` sort before `now`.
    async fn count_expired(&self, pk: &str, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut pages = self
            .dynamodb
            .query()
            .table_name(&*self.table)
            .key_condition_expression("pk = :pk AND sk < :below")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":below", s(time_key(now)))
            .select(Select::Count)
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut counted = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| unavailable("Query counter expiry index", e))?;
            counted += u64::try_from(page.count()).unwrap_or(0);
        }
        Ok(counted)
    }

    /// Deletes the failures of the expiry partition `pk` that expired before
    /// `now`, with their entries, a page at a time; how many.
    async fn purge_shard(&self, pk: &str, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut purged = 0;
        loop {
            let entries: Vec<Item> = self
                .due_items(
                    "Query counter expiry index",
                    pk,
                    time_key(now),
                    PURGE_PAGE,
                    |entry| Ok(Some(entry)),
                )
                .await?;
            if entries.is_empty() {
                return Ok(purged);
            }
            let mut keys = Vec::with_capacity(entries.len() * 2);
            for entry in &entries {
                keys.push(key(
                    text(entry, COUNTER_PK)?.to_owned(),
                    text(entry, COUNTER_SK)?,
                ));
                keys.push(key(text(entry, PK)?.to_owned(), text(entry, SK)?));
            }
            self.delete_many(keys).await?;
            purged += entries.len() as u64;
        }
    }
}
