//! The institution worker's SQS handler: each record becomes a delivery, the
//! domain works the batch, and only the records to retry are reported back
//! (`ReportBatchItemFailures`), so successes are never processed twice.

use crate::wiring::InstitutionWorker;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use patron_hub_domain::distribution::{work_batch, Settled};
use patron_hub_domain::ports::Delivery;
use patron_hub_domain::Job;
use patron_hub_store_aws::sent_at;

/// Works one SQS batch and names the messages that must stay on the queue.
pub async fn handle_batch(event: SqsEvent, worker: &InstitutionWorker) -> SqsBatchResponse {
    let mut failures = Vec::new();
    let mut deliveries = Vec::with_capacity(event.records.len());
    let mut message_ids = Vec::with_capacity(event.records.len());
    for record in event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        match delivery(record) {
            Ok(delivery) => {
                deliveries.push(delivery);
                message_ids.push(message_id);
            }
            Err(reason) => {
                // Left on the queue: after maxReceiveCount it lands in the
                // queue's dead-letter queue, which raises an alarm.
                tracing::error!(message_id = %message_id, reason = %reason, "unreadable job message");
                failures.push(message_id);
            }
        }
    }
    worker.budget.refresh().await;
    let results = work_batch(
        &worker.store,
        &worker.distributor,
        worker.clock.as_ref(),
        &deliveries,
    )
    .await;
    for (message_id, result) in message_ids.into_iter().zip(results) {
        match result {
            Ok(Settled::Completed | Settled::DeadLettered) => {}
            Ok(Settled::RetryScheduled) => failures.push(message_id),
            Err(error) => {
                tracing::warn!(message_id = %message_id, %error, "job not settled; SQS will deliver it again");
                failures.push(message_id);
            }
        }
    }
    SqsBatchResponse {
        batch_item_failures: failures
            .into_iter()
            .map(|item_identifier| BatchItemFailure { item_identifier })
            .collect(),
    }
}

/// Reads one record: its body is a job; its receive count only bounds the
/// job's waits (the ledger counts its tries).
fn delivery(record: SqsMessage) -> Result<Delivery, String> {
    let handle = record
        .receipt_handle
        .ok_or("the record has no receipt handle")?;
    let body = record.body.ok_or("the record has no body")?;
    let job: Job = serde_json::from_str(&body).map_err(|e| {
        // serde's message quotes the offending value (patron data): only its kind and place.
        format!(
            "the body is not a job ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        )
    })?;
    let receive_count = record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse().ok())
        .unwrap_or(1);
    Ok(Delivery {
        handle,
        job,
        receive_count,
        queued_at: record
            .attributes
            .get("SentTimestamp")
            .and_then(|sent| sent_at(sent)),
    })
}
