//! Failed logins on DynamoDB, one item per failure in the partition of the
//! submitted identifier's SHA-256 (`LOGIN#{sha256}` / `FAILED#{time}#{uuid}`): the
//! identifier as typed is never stored. Counting the failures of a window is
//! one Query of the sort keys from the window's start (COUNT only); concurrent
//! failures each add their own item, so none is lost. Each item's TTL is one
//! window after the failure, the window being `at - since` of the call that
//! recorded it.

use crate::error::unavailable;
use crate::item::{key, n, s};
use crate::keys::{epoch_seconds, failure_sk, failures_from, login_pk, EXPIRES_AT, FAILURE_PREFIX};
use crate::AwsStore;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::Select;
use chrono::{DateTime, Utc};
use patron_hub_domain::accounts::LoginAttempts;
use patron_hub_domain::StoreError;

#[async_trait]
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
        let mut item = key(login_pk(identifier), failure_sk(at));
        item.insert(EXPIRES_AT.to_owned(), n(epoch_seconds(forget_at)));
        self.put_unconditionally(item, "PutItem login failure")
            .await?;
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
        let failures = self
            .keys_under(login_pk(identifier), FAILURE_PREFIX)
            .await?;
        self.delete_many(failures).await
    }
}
