//! The webhook inbox on DynamoDB and SQS: one receipt item per Alma event id,
//! written with a condition, then the jobs sent to the institution queues and
//! each origin's position of the patron moved forward to the event.
//!
//! A receipt is `pending` while one delivery (its `holder`, until `lease_until`)
//! queues the jobs, and `queued` once they are all on their queues. A second
//! delivery of the event finds the receipt and:
//! - `queued`: answers Duplicate;
//! - `pending` with an ended lease (an earlier delivery failed part-way and
//!   answered 503): takes the receipt over and sends the jobs again. Jobs sent
//!   twice are harmless: the ledger makes them exactly-once in effect;
//! - `pending` and held (a concurrent delivery): waits briefly for it to finish,
//!   then answers Duplicate, or Unavailable (503, Alma retries) if it did not.

use crate::error::{conditional, unavailable};
use crate::item::{key, n, nanos_time, s, text, Item};
use crate::keys::{epoch_seconds, event_pk, later, nanos, time_key, EXPIRES_AT, RECEIPT_SK};
use crate::AwsStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use patron_hub_domain::ports::{Acceptance, EventReceipt, WebhookInbox};
use patron_hub_domain::{origin_changes, Job, StoreError};
use std::time::Duration;

/// How long one delivery may hold a pending receipt before another takes over.
const QUEUEING_LEASE: Duration = Duration::from_secs(10);
/// How long a concurrent delivery waits for the holder to finish queueing.
const WAIT_FOR_HOLDER: Duration = Duration::from_secs(3);
/// Pause between two looks at a pending receipt.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Rounds of put-then-read before giving up (a receipt can expire in between).
const ROUNDS: usize = 3;

const PENDING: &str = "pending";
const QUEUED: &str = "queued";

/// What a delivery found when the receipt already existed.
enum Found {
    /// The jobs are queued: the delivery is a duplicate.
    Queued,
    /// Pending and nobody holds it any more: `holder` was the last one.
    Abandoned { holder: String },
    /// Pending and still held by a live delivery.
    Held,
    /// Gone (expired and deleted meanwhile).
    Absent,
}

#[async_trait]
impl WebhookInbox for AwsStore {
    async fn accept(&self, receipt: &EventReceipt, jobs: &[Job]) -> Result<Acceptance, StoreError> {
        let holder = uuid::Uuid::new_v4().to_string();
        for _ in 0..ROUNDS {
            if self.put_receipt(receipt, &holder).await? {
                return self.queue_jobs(receipt, &holder, jobs).await;
            }
            match self.wait_for_holder(receipt).await? {
                Found::Queued => return Ok(Acceptance::Duplicate),
                Found::Abandoned { holder: previous } => {
                    if self.take_over(receipt, &previous, &holder).await? {
                        return self.queue_jobs(receipt, &holder, jobs).await;
                    }
                }
                Found::Held => {
                    return Err(StoreError::Unavailable(format!(
                        "event {} is being queued by another delivery",
                        receipt.event_id
                    )))
                }
                Found::Absent => {}
            }
        }
        Err(StoreError::Unavailable(format!(
            "event {} could not be recorded: its receipt kept changing",
            receipt.event_id
        )))
    }
}

impl AwsStore {
    /// Writes a pending receipt held by `holder`, unless a live one exists.
    async fn put_receipt(&self, receipt: &EventReceipt, holder: &str) -> Result<bool, StoreError> {
        let mut item = key(event_pk(&receipt.event_id), RECEIPT_SK);
        item.extend([
            ("state".to_owned(), s(PENDING)),
            ("holder".to_owned(), s(holder)),
            ("lease_until".to_owned(), n(nanos(self.lease_end()))),
            ("institution".to_owned(), s(receipt.institution.as_str())),
            ("received_at".to_owned(), s(time_key(receipt.received_at))),
            ("keep_until".to_owned(), n(nanos(receipt.keep_until))),
            (EXPIRES_AT.to_owned(), n(epoch_seconds(receipt.keep_until))),
        ]);
        let put = self
            .dynamodb
            .put_item()
            .table_name(&*self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR keep_until < :received_at")
            .expression_attribute_values(":received_at", n(nanos(receipt.received_at)))
            .send()
            .await;
        Ok(conditional("PutItem receipt", put)?.is_some())
    }

    /// Sends the jobs, then marks the receipt queued. On failure the lease is
    /// given back at once so that Alma's retry can take over.
    async fn queue_jobs(
        &self,
        receipt: &EventReceipt,
        holder: &str,
        jobs: &[Job],
    ) -> Result<Acceptance, StoreError> {
        if let Err(error) = self.queue_and_advance(jobs).await {
            self.give_back(receipt, holder).await;
            return Err(error);
        }
        // If the condition fails, a later delivery took over and marks it itself.
        let update = self
            .dynamodb
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(key(event_pk(&receipt.event_id), RECEIPT_SK)))
            .update_expression("SET #state = :queued REMOVE holder, lease_until")
            .condition_expression("holder = :holder")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":queued", s(QUEUED))
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        conditional("UpdateItem receipt", update)?;
        Ok(Acceptance::Accepted)
    }

    /// Sends the jobs, then moves each origin's position of the patron
    /// forward to the event (the origin holds that change already).
    async fn queue_and_advance(&self, jobs: &[Job]) -> Result<(), StoreError> {
        self.send_jobs(jobs).await?;
        for change in origin_changes(jobs) {
            self.advance(
                &change.primary_id,
                &change.origin,
                change.event_time,
                &change.event_id,
            )
            .await?;
        }
        Ok(())
    }

    /// Ends this delivery's lease early; a failure here only delays the next
    /// delivery until the lease ends on its own.
    async fn give_back(&self, receipt: &EventReceipt, holder: &str) {
        let update = self
            .dynamodb
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(key(event_pk(&receipt.event_id), RECEIPT_SK)))
            .update_expression("SET lease_until = :ended")
            .condition_expression("holder = :holder")
            .expression_attribute_values(":ended", n(0))
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        if let Err(error) = conditional("UpdateItem receipt lease", update) {
            tracing::warn!(%error, event_id = %receipt.event_id, "could not give back the queueing lease");
        }
    }

    /// Makes `holder` the holder of an abandoned pending receipt.
    async fn take_over(
        &self,
        receipt: &EventReceipt,
        previous: &str,
        holder: &str,
    ) -> Result<bool, StoreError> {
        let update = self
            .dynamodb
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(key(event_pk(&receipt.event_id), RECEIPT_SK)))
            .update_expression("SET holder = :holder, lease_until = :lease_until")
            .condition_expression("#state = :pending AND holder = :previous")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":lease_until", n(nanos(self.lease_end())))
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":previous", s(previous))
            .send()
            .await;
        Ok(conditional("UpdateItem receipt holder", update)?.is_some())
    }

    /// Looks at an existing receipt until it is queued, abandoned or gone, or
    /// until the wait is over.
    async fn wait_for_holder(&self, receipt: &EventReceipt) -> Result<Found, StoreError> {
        let deadline = tokio::time::Instant::now() + WAIT_FOR_HOLDER;
        loop {
            let found = self.look_at_receipt(receipt).await?;
            if !matches!(found, Found::Held) || tokio::time::Instant::now() >= deadline {
                return Ok(found);
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// One strongly consistent read of a receipt.
    async fn look_at_receipt(&self, receipt: &EventReceipt) -> Result<Found, StoreError> {
        let output = self
            .dynamodb
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(key(event_pk(&receipt.event_id), RECEIPT_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem receipt", e))?;
        let Some(item) = output.item() else {
            return Ok(Found::Absent);
        };
        classify(item, self.clock.now())
    }

    fn lease_end(&self) -> DateTime<Utc> {
        later(self.clock.now(), QUEUEING_LEASE)
    }
}

/// What an existing receipt means for a new delivery at `now`.
fn classify(item: &Item, now: DateTime<Utc>) -> Result<Found, StoreError> {
    if text(item, "state")? == QUEUED {
        return Ok(Found::Queued);
    }
    if nanos_time(item, "lease_until")? > now {
        return Ok(Found::Held);
    }
    Ok(Found::Abandoned {
        holder: text(item, "holder")?.to_owned(),
    })
}
