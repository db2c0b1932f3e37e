//! Dead letters kept in the table, one partition per institution, sorted by
//! the time they were given up: listed with one Query, replayed by id.

use crate::error::{conditional, unavailable};
use crate::item::{json, key, n, number, s, text, text_time, to_json, Item};
use crate::keys::{dead_letter_id, dead_letter_pk, time_key, SK};
use crate::AwsStore;
use chrono::{DateTime, Utc};
use patron_hub_domain::distribution::FailureReason;
use patron_hub_domain::ports::{DeadLetter, Delivery};
use patron_hub_domain::{InstitutionCode, Job, StoreError};

impl AwsStore {
    /// Stores a dead letter for `delivery` (its message is deleted afterwards).
    pub(crate) async fn keep_dead_letter(
        &self,
        delivery: &Delivery,
        reason: &FailureReason,
        attempts: u32,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut item = key(
            dead_letter_pk(&delivery.job.institution),
            dead_letter_id(at),
        );
        item.extend([
            ("job".to_owned(), s(to_json(&delivery.job)?)),
            ("reason_code".to_owned(), s(&reason.code)),
            ("reason_message".to_owned(), s(&reason.message)),
            ("attempts".to_owned(), n(attempts)),
            ("dead_at".to_owned(), s(time_key(at))),
        ]);
        self.put_unconditionally(item, "PutItem dead letter")
            .await?;
        Ok(())
    }

    /// Every dead letter of an institution, oldest first.
    pub(crate) async fn list_dead_letters(
        &self,
        institution: &InstitutionCode,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let items = self
            .dynamodb
            .query()
            .table_name(&*self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(dead_letter_pk(institution)))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| unavailable("Query dead letters", e))?;
        items.iter().map(dead_letter).collect()
    }

    /// Puts a dead letter's job back on its queue, then forgets the dead
    /// letter: sent first, so that a failure part-way never loses the job
    /// (at worst it is queued twice, which the ledger makes harmless).
    pub(crate) async fn replay_dead_letter(
        &self,
        institution: &InstitutionCode,
        id: &str,
    ) -> Result<bool, StoreError> {
        if !could_be_dead_letter_id(id) {
            return Ok(false);
        }
        let output = self
            .dynamodb
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(key(dead_letter_pk(institution), id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem dead letter", e))?;
        let Some(item) = output.item() else {
            return Ok(false);
        };
        let job: Job = json(item, "job")?;
        self.send_jobs(std::slice::from_ref(&job)).await?;
        // A concurrent replay may have deleted it first: the job is queued either way.
        let delete = self
            .dynamodb
            .delete_item()
            .table_name(&*self.table)
            .set_key(Some(key(dead_letter_pk(institution), id)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        conditional("DeleteItem dead letter", delete)?;
        Ok(true)
    }
}

/// Whether `id` could name a dead letter: DynamoDB refuses an empty sort key
/// or one over 1 KiB, and such an id names nothing.
fn could_be_dead_letter_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 1024
}

/// A stored dead letter.
fn dead_letter(item: &Item) -> Result<DeadLetter, StoreError> {
    Ok(DeadLetter {
        id: text(item, SK)?.to_owned(),
        job: json(item, "job")?,
        reason: FailureReason {
            code: text(item, "reason_code")?.to_owned(),
            message: text(item, "reason_message")?.to_owned(),
        },
        attempts: number(item, "attempts")?,
        dead_at: text_time(item, "dead_at")?,
    })
}
