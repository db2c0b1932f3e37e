//! Counted events on DynamoDB, shared by the failed logins (`login_attempts`)
//! and the counted requests (`request_counters`), each in a key layout of its
//! own ([`CounterKeys`]): one item per event in the partition of its counter
//! key's SHA-256 (the key as typed is never stored). Counting the events of a
//! window is one Query of the sort keys from the window's start (COUNT only);
//! concurrent events each add their own item, so none is lost.
//!
//! An event counts in windows as long as `at - since` of the call that
//! recorded it: after `at + (at - since)` nothing counts it. That time is its
//! TTL, and the sort key of its entry in its kind's expiry index (sixteen
//! partitions by the first digit of the hash), written with it in one
//! BatchWriteItem and named by its `due` attribute, so that the daily purge
//! reads only the events no window counts any more — those of keys never
//! counted again included — and clearing a counter removes both.

use crate::error::unavailable;
use crate::item::{key, n, s, text, Item};
use crate::keys::{counter_expiry_sk, epoch_seconds, time_key, CounterKeys, EXPIRES_AT, PK, SK};
use crate::AwsStore;
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use chrono::{DateTime, Utc};
use patron_hub_domain::StoreError;

/// The attribute of an event naming its expiry entry's sort key.
const DUE: &str = "due";
/// The attributes of an expiry entry naming its event.
const COUNTER_PK: &str = "counter_pk";
const COUNTER_SK: &str = "counter_sk";

/// Expired events purged per round (read, then deleted with their entries).
const PURGE_PAGE: usize = 1000;

impl AwsStore {
    /// Records an event of `counter` at `at` and counts the window from
    /// `since` it falls in, this one included.
    pub(crate) async fn record_counted(
        &self,
        keys: &'static CounterKeys,
        counter: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let window = (at - since).max(chrono::TimeDelta::zero());
        let forget_at = at
            .checked_add_signed(window)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let ttl = n(epoch_seconds(forget_at));
        let (pk, sk) = (keys.pk(counter), keys.event_sk(at));
        let due_sk = counter_expiry_sk(forget_at, &sk);
        let mut due = key(keys.expiry_pk(&pk), due_sk.clone());
        due.extend([
            (COUNTER_PK.to_owned(), s(&pk)),
            (COUNTER_SK.to_owned(), s(&sk)),
            (EXPIRES_AT.to_owned(), ttl.clone()),
        ]);
        let mut event = key(pk, sk);
        event.extend([(DUE.to_owned(), s(due_sk)), (EXPIRES_AT.to_owned(), ttl)]);
        self.put_many(vec![event, due]).await?;
        self.counted_since(keys, counter, since).await
    }

    /// The events of `counter` at or after `since`.
    pub(crate) async fn counted_since(
        &self,
        keys: &'static CounterKeys,
        counter: &str,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let (pk, from) = (keys.pk(counter), keys.events_from(since));
        let counted = self
            .count_items(keys.query, "pk = :pk AND sk >= :bound", &pk, from)
            .await?;
        Ok(u32::try_from(counted).unwrap_or(u32::MAX))
    }

    /// Forgets every event of `counter`, with their expiry entries.
    pub(crate) async fn clear_counted(
        &self,
        keys: &'static CounterKeys,
        counter: &str,
    ) -> Result<(), StoreError> {
        let pk = keys.pk(counter);
        let events = self
            .items_starting(keys.query, pk.clone(), keys.event_prefix())
            .await?;
        let mut deleted = Vec::with_capacity(events.len() * 2);
        for event in &events {
            if let Some(AttributeValue::S(due)) = event.get(DUE) {
                deleted.push(key(keys.expiry_pk(&pk), due.clone()));
            }
            deleted.push(key(pk.clone(), text(event, SK)?));
        }
        self.delete_many(deleted).await
    }

    /// Counts, and unless `dry_run` removes, the events of this kind no
    /// window reaching `now` counts any more.
    pub(crate) async fn purge_counted(
        &self,
        keys: &'static CounterKeys,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<u64, StoreError> {
        let mut purged = 0;
        for pk in keys.expiry_pks() {
            purged += if dry_run {
                self.count_expired(keys, &pk, now).await?
            } else {
                self.purge_shard(keys, &pk, now).await?
            };
        }
        Ok(purged)
    }

    /// How many entries of the expiry partition `pk` sort before `now`.
    async fn count_expired(
        &self,
        keys: &'static CounterKeys,
        pk: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let condition = "pk = :pk AND sk < :bound";
        self.count_items(keys.query_expiry, condition, pk, time_key(now))
            .await
    }

    /// How many items of the partition `pk` meet `condition` on the sort key
    /// and `:bound` (a Query of every page, COUNT only).
    async fn count_items(
        &self,
        operation: &'static str,
        condition: &'static str,
        pk: &str,
        bound: String,
    ) -> Result<u64, StoreError> {
        let mut pages = self
            .dynamodb
            .query()
            .table_name(&*self.table)
            .key_condition_expression(condition)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":bound", s(bound))
            .select(Select::Count)
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut counted: u64 = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| unavailable(operation, e))?;
            counted = counted.saturating_add(u64::try_from(page.count()).unwrap_or(0));
        }
        Ok(counted)
    }

    /// Deletes the events of the expiry partition `pk` that expired before
    /// `now`, with their entries, a page at a time; how many.
    async fn purge_shard(
        &self,
        keys: &'static CounterKeys,
        pk: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut purged = 0;
        loop {
            let entries: Vec<Item> = self
                .due_items(keys.query_expiry, pk, time_key(now), PURGE_PAGE, |entry| {
                    Ok(Some(entry))
                })
                .await?;
            if entries.is_empty() {
                return Ok(purged);
            }
            let mut deleted = Vec::with_capacity(entries.len() * 2);
            for entry in &entries {
                deleted.push(key(
                    text(entry, COUNTER_PK)?.to_owned(),
                    text(entry, COUNTER_SK)?,
                ));
                deleted.push(key(text(entry, PK)?.to_owned(), text(entry, SK)?));
            }
            self.delete_many(deleted).await?;
            purged += entries.len() as u64;
        }
    }
}
