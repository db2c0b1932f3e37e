//! The distribution ledger on DynamoDB, all with conditional writes:
//! - a claim item per job (`in_progress` with a lease, `released` after a try
//!   that failed transiently, then `applied`, `skipped` or `dead_lettered`),
//!   with the count of its failed `tries`, expiring after [`CLAIM_RETENTION`];
//! - a lane item per patron and institution: the job (`holder`, its event id)
//!   applying a change to that patron there, until `lease_until`. A claim takes
//!   it in the same TransactWriteItems as the claim item, with a check that no
//!   newer event was applied meanwhile; `record` and `release` delete it if the
//!   job holds it, so one patron's events reach one institution one at a time
//!   even when several Lambda invocations work on its queue;
//! - a position item per patron and institution: the time of the last applied
//!   event, only ever moved forward;
//! - an outcome item per finished job in the patron's partition, sorted by
//!   when it finished, so a patron's history is one Query;
//! - a "wrote" item per patron and institution where patron-hub wrote (or was
//!   about to write) the patron's record.

use crate::error::{conditional, unavailable};
use crate::item::{json, key, n, nanos_time, number, s, text, to_json, Item};
use crate::keys::{
    claim_pk, epoch_seconds, lane_sk, later, nanos, outcome_sk, patron_pk, position_sk, wrote_sk,
    CLAIM_SK, EXPIRES_AT, OUTCOME_PREFIX,
};
use crate::transact::{self, Condition, Outcome};
use crate::AwsStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use patron_hub_domain::distribution::{JobOutcome, OutcomeStatus};
use patron_hub_domain::ports::{Claim, DistributionLedger};
use patron_hub_domain::{InstitutionCode, Job, PrimaryId, StoreError};
use std::time::Duration;

/// How long a claim is remembered: longer than SQS keeps a message (14 days
/// at most) plus a replay from the dead-letter queue.
const CLAIM_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

const IN_PROGRESS: &str = "in_progress";
const RELEASED: &str = "released";

/// A job's claim may be taken: nobody has it, its lease ended, it was
/// released after a failed try or dead-lettered; and its count of tries is
/// still the one read before (so the answer's count is exact).
const CLAIMABLE: &str =
    "(attribute_not_exists(pk) OR (#state = :in_progress AND lease_until <= :now) \
     OR #state = :released OR #state = :dead_lettered) \
     AND (attribute_not_exists(tries) OR tries = :tries)";

/// A patron's lane may be taken: free, its lease ended, or this job holds it already.
const LANE_FREE: &str = "attribute_not_exists(pk) OR lease_until <= :now OR holder = :this_job";

/// No event newer than this job's was applied to the patron in the institution.
const NOT_STALE: &str = "attribute_not_exists(pk) OR event_time <= :event_time";

/// What the claim item says about a job at some instant.
enum Held {
    /// Applied or skipped already.
    Done,
    /// In progress under a lease that has not ended.
    Busy,
    /// Absent, released, dead-lettered, or its lease has ended; with the
    /// failed tries it has had.
    Free {
        /// The count of failed tries stored on the claim (0 when none).
        tries: u32,
    },
}

/// What the reads before a claim tell.
enum Reading {
    /// The claim's answer, without taking it.
    Answer(Claim),
    /// The job may be taken; it has had this many failed tries.
    Claimable {
        /// As stored on the claim.
        tries: u32,
    },
}

#[async_trait]
impl DistributionLedger for AwsStore {
    async fn claim(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let tries = match self.read_before_claiming(job, now).await? {
            Reading::Answer(answer) => return Ok(answer),
            Reading::Claimable { tries } => tries,
        };
        let lease_until = later(now, lease);
        let mut claim = key(claim_pk(&job.institution, &job.event_id), CLAIM_SK);
        claim.extend([
            ("state".to_owned(), s(IN_PROGRESS)),
            ("lease_until".to_owned(), n(nanos(lease_until))),
            ("tries".to_owned(), n(tries)),
            (
                EXPIRES_AT.to_owned(),
                n(epoch_seconds(later(now, CLAIM_RETENTION))),
            ),
        ]);
        let mut lane = key(patron_pk(&job.primary_id), lane_sk(&job.institution));
        lane.extend([
            ("holder".to_owned(), s(&job.event_id)),
            ("lease_until".to_owned(), n(nanos(lease_until))),
            // An abandoned lane may go once its lease has ended.
            (EXPIRES_AT.to_owned(), n(epoch_seconds(lease_until))),
        ]);
        let items = vec![
            transact::put(
                &self.table,
                claim,
                Some(
                    Condition::new(CLAIMABLE)
                        .naming("#state", "state")
                        .with(":in_progress", s(IN_PROGRESS))
                        .with(":released", s(RELEASED))
                        .with(":dead_lettered", s(OutcomeStatus::DeadLettered.as_str()))
                        .with(":now", n(nanos(now)))
                        .with(":tries", n(tries)),
                ),
            )?,
            transact::put(
                &self.table,
                lane,
                Some(
                    Condition::new(LANE_FREE)
                        .with(":now", n(nanos(now)))
                        .with(":this_job", s(&job.event_id)),
                ),
            )?,
            transact::check(
                &self.table,
                key(patron_pk(&job.primary_id), position_sk(&job.institution)),
                Condition::new(NOT_STALE).with(":event_time", n(nanos(job.event_time))),
            )?,
        ];
        match self.transact("TransactWriteItems claim", items).await? {
            Outcome::Written => Ok(Claim::Proceed { tries }),
            // Another worker won the race for the job or the lane (or settled
            // a try of it), or a newer event was applied since the reads above.
            Outcome::Refused(_) => Ok(match self.read_before_claiming(job, now).await? {
                Reading::Answer(answer) => answer,
                Reading::Claimable { .. } => Claim::Busy,
            }),
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
        // The claim is settled and the lane freed last, so a failure above leaves
        // the job retryable, and the patron's next event sees the new position.
        let mut claim = key(claim_pk(&outcome.institution, &outcome.event_id), CLAIM_SK);
        claim.extend([
            ("state".to_owned(), s(outcome.status.as_str())),
            (
                EXPIRES_AT.to_owned(),
                n(epoch_seconds(later(outcome.finished_at, CLAIM_RETENTION))),
            ),
        ]);
        tokio::try_join!(
            self.put_unconditionally(claim, "PutItem claim"),
            self.free_lane(&outcome.primary_id, &outcome.institution, &outcome.event_id),
        )?;
        Ok(())
    }

    async fn release(&self, job: &Job) -> Result<(), StoreError> {
        // Only a claim in progress is released: a finished job stays finished.
        let release_claim = async {
            let update = self
                .dynamodb
                .update_item()
                .table_name(&*self.table)
                .set_key(Some(key(
                    claim_pk(&job.institution, &job.event_id),
                    CLAIM_SK,
                )))
                .update_expression(
                    "SET #state = :released, tries = if_not_exists(tries, :zero) + :one \
                     REMOVE lease_until",
                )
                .condition_expression("#state = :in_progress")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":in_progress", s(IN_PROGRESS))
                .expression_attribute_values(":released", s(RELEASED))
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":one", n(1))
                .send()
                .await;
            conditional("UpdateItem release claim", update).map(drop)
        };
        tokio::try_join!(
            release_claim,
            self.free_lane(&job.primary_id, &job.institution, &job.event_id),
        )?;
        Ok(())
    }

    async fn renew(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let lease_until = later(now, lease);
        let renew_claim = async {
            let update = self
                .dynamodb
                .update_item()
                .table_name(&*self.table)
                .set_key(Some(key(
                    claim_pk(&job.institution, &job.event_id),
                    CLAIM_SK,
                )))
                .update_expression("SET lease_until = :lease_until")
                .condition_expression("#state = :in_progress")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":in_progress", s(IN_PROGRESS))
                .expression_attribute_values(":lease_until", n(nanos(lease_until)))
                .send()
                .await;
            conditional("UpdateItem renew claim", update).map(|renewed| renewed.is_some())
        };
        let renew_lane = async {
            let update = self
                .dynamodb
                .update_item()
                .table_name(&*self.table)
                .set_key(Some(key(
                    patron_pk(&job.primary_id),
                    lane_sk(&job.institution),
                )))
                .update_expression("SET lease_until = :lease_until, #expires = :expires")
                .condition_expression("holder = :this_job")
                .expression_attribute_names("#expires", EXPIRES_AT)
                .expression_attribute_values(":this_job", s(&job.event_id))
                .expression_attribute_values(":lease_until", n(nanos(lease_until)))
                .expression_attribute_values(":expires", n(epoch_seconds(lease_until)))
                .send()
                .await;
            conditional("UpdateItem renew lane", update).map(|renewed| renewed.is_some())
        };
        let (claim, lane) = tokio::try_join!(renew_claim, renew_lane)?;
        Ok(claim && lane)
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

    async fn position(
        &self,
        patron: &PrimaryId,
        institution: &InstitutionCode,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read_position(patron, institution).await
    }

    async fn note_holdings(
        &self,
        holdings: &[(PrimaryId, InstitutionCode)],
    ) -> Result<(), StoreError> {
        let items = holdings
            .iter()
            .map(|(patron, institution)| key(patron_pk(patron), wrote_sk(institution)))
            .collect();
        self.put_many(items).await
    }

    async fn known_holding(
        &self,
        patron: &PrimaryId,
        institution: &InstitutionCode,
    ) -> Result<bool, StoreError> {
        let exists = |sk: String, operation: &'static str| async move {
            let output = self
                .dynamodb
                .get_item()
                .table_name(&*self.table)
                .set_key(Some(key(patron_pk(patron), sk)))
                .projection_expression("pk")
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| unavailable(operation, e))?;
            Ok::<_, StoreError>(output.item.is_some())
        };
        let (wrote, positioned) = tokio::try_join!(
            exists(wrote_sk(institution), "GetItem wrote"),
            exists(position_sk(institution), "GetItem position"),
        )?;
        Ok(wrote || positioned)
    }
}

impl AwsStore {
    /// What a claim of `job` answers without taking it, from consistent reads:
    /// done already, held by another worker, or stale; or that it may be
    /// taken, with the tries it has had.
    async fn read_before_claiming(
        &self,
        job: &Job,
        now: DateTime<Utc>,
    ) -> Result<Reading, StoreError> {
        let (claim, newer) = tokio::try_join!(
            self.read_claim(job),
            self.read_position(&job.primary_id, &job.institution)
        )?;
        let tries = match held(claim.as_ref(), now)? {
            Held::Done => return Ok(Reading::Answer(Claim::AlreadyDone)),
            Held::Busy => return Ok(Reading::Answer(Claim::Busy)),
            Held::Free { tries } => tries,
        };
        Ok(match newer.filter(|newer| *newer > job.event_time) {
            Some(newer) => Reading::Answer(Claim::Stale { newer }),
            None => Reading::Claimable { tries },
        })
    }

    /// Deletes the lane of `patron` in `institution` if the job of `event_id`
    /// holds it; a lane taken over by another job stays.
    async fn free_lane(
        &self,
        patron: &PrimaryId,
        institution: &InstitutionCode,
        event_id: &str,
    ) -> Result<(), StoreError> {
        let delete = self
            .dynamodb
            .delete_item()
            .table_name(&*self.table)
            .set_key(Some(key(patron_pk(patron), lane_sk(institution))))
            .condition_expression("holder = :this_job")
            .expression_attribute_values(":this_job", s(event_id))
            .send()
            .await;
        conditional("DeleteItem lane", delete)?;
        Ok(())
    }

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

    /// The time of the last event applied to `patron` in `institution`.
    async fn read_position(
        &self,
        patron: &PrimaryId,
        institution: &InstitutionCode,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let output = self
            .dynamodb
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(key(patron_pk(patron), position_sk(institution))))
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
        self.advance(
            &outcome.primary_id,
            &outcome.institution,
            outcome.event_time,
            &outcome.event_id,
        )
        .await
    }

    /// Moves the position of `patron` in `institution` forward to the event
    /// `event_id` of `event_time`; a newer position already there stays.
    pub(crate) async fn advance(
        &self,
        patron: &PrimaryId,
        institution: &InstitutionCode,
        event_time: DateTime<Utc>,
        event_id: &str,
    ) -> Result<(), StoreError> {
        let update = self
            .dynamodb
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(key(patron_pk(patron), position_sk(institution))))
            .update_expression("SET event_time = :event_time, event_id = :event_id")
            .condition_expression("attribute_not_exists(pk) OR event_time < :event_time")
            .expression_attribute_values(":event_time", n(nanos(event_time)))
            .expression_attribute_values(":event_id", s(event_id))
            .send()
            .await;
        conditional("UpdateItem position", update)?;
        Ok(())
    }
}

/// Reads a claim item at `now`.
fn held(item: Option<&Item>, now: DateTime<Utc>) -> Result<Held, StoreError> {
    let Some(item) = item else {
        return Ok(Held::Free { tries: 0 });
    };
    let state = text(item, "state")?;
    if state == OutcomeStatus::Applied.as_str() || state == OutcomeStatus::Skipped.as_str() {
        return Ok(Held::Done);
    }
    if state == IN_PROGRESS && nanos_time(item, "lease_until")? > now {
        return Ok(Held::Busy);
    }
    let tries = match item.contains_key("tries") {
        true => number(item, "tries")?,
        false => 0,
    };
    Ok(Held::Free { tries })
}
