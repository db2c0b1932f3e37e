//! The job queue on SQS: one standard queue per institution, the job as the
//! message body, the receipt handle as the delivery handle.

use crate::error::{json_error, unavailable};
use crate::AwsStore;
use async_trait::async_trait;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use chrono::{DateTime, Utc};
use patron_hub_domain::distribution::FailureReason;
use patron_hub_domain::ports::{DeadLetter, Delivery, JobQueue, QueueAge};
use patron_hub_domain::{InstitutionCode, Job, StoreError};
use std::time::Duration;

/// SQS hands out at most 10 messages per receive.
const MAX_RECEIVE: usize = 10;
/// SQS's longest visibility timeout: 12 hours.
const MAX_VISIBILITY_SECONDS: u64 = 43_200;

#[async_trait]
impl JobQueue for AwsStore {
    async fn enqueue(&self, jobs: &[Job]) -> Result<(), StoreError> {
        self.send_jobs(jobs).await
    }

    /// Short polling (`WaitTimeSeconds` 0): the caller's loop polls again, and a
    /// long poll could hand out a message whose lease ended during the wait.
    /// With real SQS an empty answer may hide a few messages; in production the
    /// Lambda event source mapping receives instead of this method.
    async fn receive(
        &self,
        institution: &InstitutionCode,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Delivery>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let output = self
            .sqs
            .receive_message()
            .queue_url(self.queue_url(institution)?)
            .max_number_of_messages(count_i32(max.min(MAX_RECEIVE)))
            .visibility_timeout(visibility_seconds(lease))
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(|e| unavailable("ReceiveMessage", e))?;
        Ok(output.messages().iter().filter_map(delivery).collect())
    }

    async fn complete(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.sqs
            .delete_message()
            .queue_url(self.queue_url(&delivery.job.institution)?)
            .receipt_handle(&delivery.handle)
            .send()
            .await
            .map_err(|e| unavailable("DeleteMessage", e))?;
        Ok(())
    }

    async fn retry_later(&self, delivery: &Delivery, delay: Duration) -> Result<(), StoreError> {
        self.hide_for(delivery, delay).await
    }

    async fn keep_hidden(&self, delivery: &Delivery, lease: Duration) -> Result<(), StoreError> {
        self.hide_for(delivery, lease).await
    }

    async fn dead_letter(
        &self,
        delivery: &Delivery,
        reason: &FailureReason,
        attempts: u32,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.keep_dead_letter(delivery, reason, attempts, at)
            .await?;
        self.complete(delivery).await
    }

    /// The queue's approximate counts of visible, in-flight and delayed messages.
    async fn depth(&self, institution: &InstitutionCode) -> Result<u64, StoreError> {
        let counts = [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ];
        let output = self
            .sqs
            .get_queue_attributes()
            .queue_url(self.queue_url(institution)?)
            .set_attribute_names(Some(counts.to_vec()))
            .send()
            .await
            .map_err(|e| unavailable("GetQueueAttributes", e))?;
        let attributes = output.attributes();
        Ok(counts
            .iter()
            .filter_map(|name| attributes?.get(name)?.parse::<u64>().ok())
            .sum())
    }

    /// SQS keeps no queue attribute for the age of the oldest message: it is
    /// CloudWatch's `ApproximateAgeOfOldestMessage` metric of the queue, which
    /// SQS publishes on its own. Keeping a second record of every queued job
    /// in the table, only to answer this, would double the writes of each job
    /// for a figure CloudWatch already has; so this only tells an empty queue
    /// from one that holds jobs.
    async fn oldest_job_age(&self, institution: &InstitutionCode) -> Result<QueueAge, StoreError> {
        Ok(match self.depth(institution).await? {
            0 => QueueAge::Empty,
            _ => QueueAge::MeasuredElsewhere,
        })
    }

    async fn dead_letters(
        &self,
        institution: &InstitutionCode,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        self.list_dead_letters(institution).await
    }

    async fn replay(
        &self,
        institution: &InstitutionCode,
        dead_letter_id: &str,
    ) -> Result<bool, StoreError> {
        self.replay_dead_letter(institution, dead_letter_id).await
    }
}

impl AwsStore {
    /// Changes the message's visibility to `delay` from now: a retry's wait,
    /// or a heartbeat (a receipt handle of an earlier receive is refused by
    /// SQS, as a superseded local lease is).
    async fn hide_for(&self, delivery: &Delivery, delay: Duration) -> Result<(), StoreError> {
        self.sqs
            .change_message_visibility()
            .queue_url(self.queue_url(&delivery.job.institution)?)
            .receipt_handle(&delivery.handle)
            .visibility_timeout(visibility_seconds(delay))
            .send()
            .await
            .map_err(|e| unavailable("ChangeMessageVisibility", e))?;
        Ok(())
    }
}

/// A received message as a delivery. A message whose body is not a job is
/// left alone (logged): after the queue's maxReceiveCount receives SQS moves
/// it to the queue's dead-letter queue, which alarms.
fn delivery(message: &Message) -> Option<Delivery> {
    let handle = message.receipt_handle()?.to_owned();
    let job = match serde_json::from_str::<Job>(message.body().unwrap_or_default()) {
        Ok(job) => job,
        Err(error) => {
            tracing::warn!(
                message_id = message.message_id().unwrap_or_default(),
                error = %json_error(&error),
                "message is not a job; left for the SQS dead-letter queue"
            );
            return None;
        }
    };
    let attribute = |name| {
        message
            .attributes()
            .and_then(|attributes| attributes.get(&name))
    };
    let receive_count = attribute(MessageSystemAttributeName::ApproximateReceiveCount)
        .and_then(|count| count.parse::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    Some(Delivery {
        handle,
        job,
        receive_count,
        queued_at: attribute(MessageSystemAttributeName::SentTimestamp)
            .and_then(|sent| sent_at(sent)),
    })
}

/// SQS's `SentTimestamp` (milliseconds since the epoch) as a time.
pub fn sent_at(sent_timestamp: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(sent_timestamp.parse().ok()?)
}

/// A duration as SQS visibility seconds: rounded up, at most 12 hours.
fn visibility_seconds(duration: Duration) -> i32 {
    let seconds = duration
        .as_secs()
        .saturating_add(u64::from(duration.subsec_nanos() > 0));
    count_i32(seconds.min(MAX_VISIBILITY_SECONDS))
}

/// A small count as the SDK's `i32` (the callers bound it first).
fn count_i32(value: impl TryInto<i32>) -> i32 {
    value.try_into().unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_rounds_up_to_whole_seconds_and_caps_at_twelve_hours() {
        assert_eq!(visibility_seconds(Duration::ZERO), 0);
        assert_eq!(visibility_seconds(Duration::from_millis(1)), 1);
        assert_eq!(visibility_seconds(Duration::from_secs(1)), 1);
        assert_eq!(visibility_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(visibility_seconds(Duration::from_secs(86_400)), 43_200);
        assert_eq!(visibility_seconds(Duration::MAX), 43_200);
    }

    #[test]
    fn a_message_that_is_not_a_job_is_skipped() {
        let message = Message::builder()
            .receipt_handle("handle")
            .body("{not json")
            .build();
        assert!(delivery(&message).is_none());
    }

    #[test]
    fn the_receive_count_is_read() {
        let job = serde_json::json!({
            "event_id": "e1", "institution": "INST_A", "origin": "INST_B",
            "action": "delete", "primary_id": "p1", "event_time": "2026-01-01T00:00:00Z"
        });
        let message = Message::builder()
            .receipt_handle("handle")
            .body(job.to_string())
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "3")
            .attributes(MessageSystemAttributeName::SentTimestamp, "1767225600123")
            .build();
        let delivery = delivery(&message).unwrap();
        assert_eq!(delivery.receive_count, 3);
        assert_eq!(
            delivery.queued_at.map(|at| at.to_rfc3339()).as_deref(),
            Some("2026-01-01T00:00:00.123+00:00")
        );
        assert_eq!(delivery.handle, "handle");
        assert_eq!(delivery.job.event_id, "e1");
    }
}
