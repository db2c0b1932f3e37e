//! Putting jobs on institution queues with `SendMessageBatch`: the one path
//! used by the inbox, `enqueue` and dead-letter replay.

use crate::error::{no_queue, unavailable};
use crate::item::to_json;
use crate::AwsStore;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures::future::try_join_all;
use patron_hub_domain::{InstitutionCode, Job, StoreError};
use std::collections::BTreeMap;

/// SQS takes at most 10 messages per batch.
const MAX_BATCH_MESSAGES: usize = 10;
/// SQS limits a whole batch to 256 KiB of bodies.
const MAX_BATCH_BYTES: usize = 256 * 1024;
/// Sends of one batch before its failing entries are given up.
const SEND_ROUNDS: usize = 3;

impl AwsStore {
    /// Queues every job on its institution's queue, institutions in parallel.
    pub(crate) async fn send_jobs(&self, jobs: &[Job]) -> Result<(), StoreError> {
        let mut per_queue: BTreeMap<&InstitutionCode, Vec<String>> = BTreeMap::new();
        for job in jobs {
            per_queue
                .entry(&job.institution)
                .or_default()
                .push(to_json(job)?);
        }
        let sends = per_queue
            .into_iter()
            .map(|(institution, bodies)| async move {
                let queue_url = self.queue_url(institution)?;
                for batch in batches(bodies) {
                    self.send_batch(queue_url, batch).await?;
                }
                Ok::<(), StoreError>(())
            });
        try_join_all(sends).await.map(drop)
    }

    /// Sends one batch, sending again the entries SQS reports as failed
    /// (unless the failure is the sender's fault, which a resend cannot fix).
    async fn send_batch(&self, queue_url: &str, bodies: Vec<String>) -> Result<(), StoreError> {
        let mut pending: Vec<(String, String)> = bodies
            .into_iter()
            .enumerate()
            .map(|(index, body)| (format!("m{index}"), body))
            .collect();
        for _ in 0..SEND_ROUNDS {
            let entries = pending
                .iter()
                .map(|(id, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(id)
                        .message_body(body)
                        .build()
                        .map_err(|e| StoreError::Unavailable(format!("SendMessageBatch: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .sqs
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| unavailable("SendMessageBatch", e))?;
            let failed = output.failed();
            if failed.is_empty() {
                return Ok(());
            }
            for entry in failed {
                tracing::warn!(
                    code = entry.code(),
                    message = entry.message().unwrap_or_default(),
                    sender_fault = entry.sender_fault(),
                    "SQS refused a message of a batch"
                );
            }
            if let Some(entry) = failed.iter().find(|entry| entry.sender_fault()) {
                return Err(StoreError::Unavailable(format!(
                    "SendMessageBatch refused a job: {}",
                    entry.code()
                )));
            }
            pending.retain(|(id, _)| failed.iter().any(|entry| entry.id() == id));
        }
        Err(StoreError::Unavailable(format!(
            "SendMessageBatch: {} job(s) still failing after {SEND_ROUNDS} sends",
            pending.len()
        )))
    }

    /// The queue URL of an institution.
    pub(crate) fn queue_url(&self, institution: &InstitutionCode) -> Result<&str, StoreError> {
        self.queues
            .get(institution)
            .map(String::as_str)
            .ok_or_else(|| no_queue(institution))
    }
}

/// Splits message bodies into SQS batches: at most 10 messages and 256 KiB each.
/// A body bigger than the limit goes alone (and SQS says whether it fits).
fn batches(bodies: Vec<String>) -> Vec<Vec<String>> {
    let mut batches: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut current_bytes = 0;
    for body in bodies {
        let full = current.len() == MAX_BATCH_MESSAGES
            || (!current.is_empty() && current_bytes + body.len() > MAX_BATCH_BYTES);
        if full {
            batches.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current_bytes += body.len();
        current.push(body);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies(count: usize, size: usize) -> Vec<String> {
        (0..count)
            .map(|i| format!("{i:>3}{}", "x".repeat(size - 3)))
            .collect()
    }

    #[test]
    fn batches_hold_at_most_ten_messages_in_order() {
        let sent = bodies(25, 3);
        let split = batches(sent.clone());
        assert_eq!(
            split.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![10, 10, 5]
        );
        assert_eq!(split.concat(), sent);
        assert!(batches(Vec::new()).is_empty());
    }

    #[test]
    fn batches_stay_under_the_byte_limit() {
        let sent = bodies(6, 100 * 1024);
        let split = batches(sent.clone());
        assert_eq!(
            split.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![2, 2, 2]
        );
        assert!(split
            .iter()
            .all(|batch| batch.iter().map(String::len).sum::<usize>() <= MAX_BATCH_BYTES));
        assert_eq!(split.concat(), sent);
    }

    #[test]
    fn an_oversized_body_goes_alone() {
        let mut sent = bodies(2, 10);
        sent.insert(1, "x".repeat(MAX_BATCH_BYTES + 1));
        let split = batches(sent);
        assert_eq!(
            split.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![1, 1, 1]
        );
    }
}
