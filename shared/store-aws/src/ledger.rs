//! The distribution ledger on DynamoDB, all with conditional writes:
//! - a claim item per job (`in_progress` with a lease, then `applied`,
//!   `skipped` or `dead_lettered`), expiring after [`CLAIM_RETENTION`];
//! - a position item per patron and institution: the time of the last applied
//!   event, only ever moved forward;
//! - an outcome item per finished job in the patron's partition, sorted by
//!   when it finished, so a patron's history is one Query.

use crate::error::{conditional, unavailable};
use crate::item::{json, key, n, nanos_time, s, text, to_json, Item};
use crate::keys::{
    claim_pk, epoch_seconds, later, nanos, outcome_sk, patron_pk, position_sk, CLAIM_SK,
    EXPIRES_AT, OUTCOME_PREFIX,
};
use crate::AwsStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use patron_hub_domain::distribution::{JobOutcome, OutcomeStatus};
use patron_hub_domain::ports::{Claim, DistributionLedger};
use patron_hub_domain::{Job, PrimaryId, StoreError};
use std::time::Duration;

/// How long a claim is remembered: longer than SQS keeps a message (14 days
/// at most) plus a replay from the dead-letter queue.
const CLAIM_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

const IN_PROGRESS: &str = "in_progress";

/// What the claim item says about a job at some instant.
enum Held {
    /// Applied or skipped already.
    Done,
    /// In progress under a lease that has not ended.
    Busy,
    /// Absent, released, dead-lettered, or its lease has ended.
    Free,
}

#[async_trait]
impl DistributionLedger for AwsStore {
    async fn claim(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let (claim, newer) = tokio::try_join!(self.read_claim(job), self.read_position(job))?;
        match held(claim.as_ref(), now)? {
            Held::Done => return Ok(Claim::AlreadyDone),
            Held::Busy => return Ok(Claim::Busy),
            Held::Free => {}
        }
        if let Some(newer) = newer.filter(|newer| *newer > job.event_time) {
            return Ok(Claim::Stale { newer });
        }
        let lease_until = later(now, lease);
        let mut item = key(claim_pk(&job.institution, &job.event_id), CLAIM_SK);
        item.extend([
            ("state".to_owned(), s(IN_PROGRESS)),
            ("lease_until".to_owned(), n(nanos(lease_until))),
            (
                EXPIRES_AT.to_owned(),
                n(epoch_seconds(later(now, CLAIM_RETENTION))),
            ),
        ]);
        let put = self
            .dynamodb
            .put_item()
            .table_name(&*self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR (#state = :in_progress AND lease_until <= :now) \
                 OR #state = :dead_lettered",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .expression_attribute_values(":dead_lettered", s(OutcomeStatus::DeadLettered.as_str()))
            .expression_attribute_values(":now", n(nanos(now)))
            .send()
            .await;
        if conditional("PutItem claim", put)?.is_some() {
            return Ok(Claim::Proceed);
        }
        // Another worker won the race: it either finished or holds the job.
        match held(self.read_claim(job).await?.as_ref(), now)? {
            Held::Done => Ok(Claim::AlreadyDone),
            Held::Busy | Held::Free => Ok(Claim::Busy),
        }
    }

    async fn record(&self, outcome: &JobOutcome) -> Result<(), StoreError> {
        let mut item = key(
            patron_pk(&outcome.primary_id),
            outcome_sk(outcome.finished_at, &outcome.institution, &outcome.event_id),
        );
        item.insert("outcome".to_owned(), s(to_json(outcome)?));
        let put_outcome = async { self.put_unconditionally(item, "PutItem outcome").await };
        tokio::try_join!(put_outcome, self.advance_position(outcome))?;
        // The claim is settled last, so a failure above leaves the job retryable.
        let mut claim = key(claim_pk(&outcome.institution, &outcome.event_id), CLAIM_SK);
        claim.extend([
            ("state".to_owned(), s(outcome.status.as_str())),
            (
                EXPIRES_AT.to_owned(),
                n(epoch_seconds(later(outcome.finished_at, CLAIM_RETENTION))),
            ),
        ]);
        self.put_unconditionally(claim, "PutItem claim").await?;
        Ok(())
    }

    async fn release(&self, job: &Job) -> Result<(), StoreError> {
        // Only a claim in progress is freed: a finished job stays finished.
        let delete = self
            .dynamodb
            .delete_item()
            .table_name(&*self.table)
            .set_key(Some(key(
                claim_pk(&job.institution, &job.event_id),
                CLAIM_SK,
            )))
            .condition_expression("#state = :in_progress")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .send()
            .await;
        conditional("DeleteItem claim", delete)?;
        Ok(())
    }

    async fn outcomes(&self, primary_id: &PrimaryId) -> Result<Vec<JobOutcome>, StoreError> {
        let items = self
            .dynamodb
            .query()
            .table_name(&*self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(patron_pk(primary_id)))
            .expression_attribute_values(":prefix", s(OUTCOME_PREFIX))
            .scan_index_forward(false)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| unavailable("Query outcomes", e))?;
        items.iter().map(|item| json(item, "outcome")).collect()
    }
}

impl AwsStore {
    async fn read_claim(&self, job: &Job) -> Result<Option<Item>, StoreError> {
        let output = self
            .dynamodb
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(key(
                claim_pk(&job.institution, &job.event_id),
                CLAIM_SK,
            )))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem claim", e))?;
        Ok(output.item)
    }

    /// The time of the last event applied to the job's patron in its institution.
    async fn read_position(&self, job: &Job) -> Result<Option<DateTime<Utc>>, StoreError> {
        let output = self
            .dynamodb
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(key(
                patron_pk(&job.primary_id),
                position_sk(&job.institution),
            )))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem position", e))?;
        output
            .item
            .map(|item| nanos_time(&item, "event_time"))
            .transpose()
    }

    /// Moves the patron's position forward to an applied outcome's event time;
    /// a newer position already there stays (the condition fails, which is fine).
    async fn advance_position(&self, outcome: &JobOutcome) -> Result<(), StoreError> {
        if outcome.status != OutcomeStatus::Applied {
            return Ok(());
        }
        let update = self
            .dynamodb
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(key(
                patron_pk(&outcome.primary_id),
                position_sk(&outcome.institution),
            )))
            .update_expression("SET event_time = :event_time, event_id = :event_id")
            .condition_expression("attribute_not_exists(pk) OR event_time < :event_time")
            .expression_attribute_values(":event_time", n(nanos(outcome.event_time)))
            .expression_attribute_values(":event_id", s(&outcome.event_id))
            .send()
            .await;
        conditional("UpdateItem position", update)?;
        Ok(())
    }
}

/// Reads a claim item at `now`.
fn held(item: Option<&Item>, now: DateTime<Utc>) -> Result<Held, StoreError> {
    let Some(item) = item else {
        return Ok(Held::Free);
    };
    let state = text(item, "state")?;
    if state == OutcomeStatus::Applied.as_str() || state == OutcomeStatus::Skipped.as_str() {
        return Ok(Held::Done);
    }
    if state == IN_PROGRESS && nanos_time(item, "lease_until")? > now {
        return Ok(Held::Busy);
    }
    Ok(Held::Free)
}
