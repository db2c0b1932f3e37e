//! The worker loop's one step, shared by the local worker tasks and the Lambda
//! SQS handler: take a delivery, handle it, settle its message.

use super::{Disposition, Distributor};
use crate::operations::{self, Tally};
use crate::ports::{Delivery, JobQueue};
use crate::{telemetry, Clock, InstitutionCode, StoreError};
use futures::future::{join_all, select, Either};
use std::collections::{BTreeMap, BTreeSet};
use std::pin::pin;
use std::sync::Mutex;
use tracing::Instrument;

/// Where a delivery's message ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Removed from the queue: done.
    Completed,
    /// Left on the queue, visible again after a delay.
    RetryScheduled,
    /// Moved to the dead letters.
    DeadLettered,
}

/// Settles one delivery on its queue according to what the distributor decided.
pub async fn settle(
    queue: &dyn JobQueue,
    clock: &dyn Clock,
    delivery: &Delivery,
    disposition: &Disposition,
) -> Result<Settled, StoreError> {
    match disposition {
        Disposition::Done(_) => {
            queue.complete(delivery).await?;
            Ok(Settled::Completed)
        }
        Disposition::Retry { after, .. } => {
            queue.retry_later(delivery, *after).await?;
            Ok(Settled::RetryScheduled)
        }
        Disposition::DeadLetter { reason, attempts } => {
            queue
                .dead_letter(delivery, reason, *attempts, clock.now())
                .await?;
            Ok(Settled::DeadLettered)
        }
    }
}

/// Takes up to `batch` jobs of one institution and works on them: the body of
/// every local worker task. Returns how many jobs were taken.
pub async fn work_once(
    queue: &dyn JobQueue,
    distributor: &Distributor,
    clock: &dyn Clock,
    institution: &InstitutionCode,
    batch: usize,
) -> Result<usize, StoreError> {
    let lease = distributor.settings().lease();
    let deliveries = queue.receive(institution, batch, lease).await?;
    for settled in work_batch(queue, distributor, clock, &deliveries).await {
        settled?;
    }
    Ok(deliveries.len())
}

/// Works on a batch of deliveries (a local receive, or one SQS event) and
/// settles each; the results are in the order of `deliveries`. Jobs of
/// different patrons run concurrently (the Alma client paces them under the
/// institution's threshold); jobs of one patron run one after the other, oldest
/// event first, so a patron's changes keep their order.
pub async fn work_batch(
    queue: &dyn JobQueue,
    distributor: &Distributor,
    clock: &dyn Clock,
    deliveries: &[Delivery],
) -> Vec<Result<Settled, StoreError>> {
    let mut by_patron: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, delivery) in deliveries.iter().enumerate() {
        by_patron
            .entry(delivery.job.primary_id.as_str())
            .or_default()
            .push(index);
    }
    let unsettled = Mutex::new((0..deliveries.len()).collect::<BTreeSet<usize>>());
    let unsettled = &unsettled;
    let lanes = by_patron.into_values().map(|mut lane| async move {
        lane.sort_by_key(|&i| deliveries[i].job.event_time);
        let mut results = Vec::with_capacity(lane.len());
        for index in lane {
            let settled = work_on(queue, distributor, clock, &deliveries[index]).await;
            lock(unsettled).remove(&index);
            results.push((index, settled));
        }
        results
    });
    let work = join_all(lanes);
    let heartbeat = keep_hidden(queue, distributor, deliveries, unsettled);
    let mut results: Vec<_> = match select(pin!(work), pin!(heartbeat)).await {
        Either::Left((results, _)) => results,
        Either::Right(((), work)) => work.await,
    }
    .into_iter()
    .flatten()
    .collect();
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, settled)| settled).collect()
}

/// The batch's heartbeat: every third of a lease, keeps the deliveries not
/// settled yet hidden for another lease, so that a short lease lapses only
/// when the process working on them died, however long the batch takes.
async fn keep_hidden(
    queue: &dyn JobQueue,
    distributor: &Distributor,
    deliveries: &[Delivery],
    unsettled: &Mutex<BTreeSet<usize>>,
) {
    let settings = distributor.settings();
    loop {
        tokio::time::sleep(settings.heartbeat()).await;
        let pending: Vec<usize> = lock(unsettled).iter().copied().collect();
        for index in pending {
            if let Err(error) = queue
                .keep_hidden(&deliveries[index], settings.lease())
                .await
            {
                tracing::warn!(%error, "a job's queue lease could not be renewed");
            }
        }
    }
}

/// The set of unsettled deliveries, even if a holder panicked.
fn lock(unsettled: &Mutex<BTreeSet<usize>>) -> std::sync::MutexGuard<'_, BTreeSet<usize>> {
    unsettled
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Handles and settles one delivery, inside a span naming the job.
async fn work_on(
    queue: &dyn JobQueue,
    distributor: &Distributor,
    clock: &dyn Clock,
    delivery: &Delivery,
) -> Result<Settled, StoreError> {
    let job = &delivery.job;
    let span = tracing::info_span!(
        "job",
        event_id = %job.event_id,
        institution = %job.institution,
        primary_id = %job.primary_id,
        action = job.action.as_str(),
        receive_count = delivery.receive_count
    );
    async {
        let disposition = match distributor.handle(delivery).await {
            Ok(disposition) => disposition,
            Err(error) => distributor.wait(delivery, &format!("the store did not answer: {error}")),
        };
        let settled = settle(queue, clock, delivery, &disposition).await?;
        log_disposition(&disposition, settled);
        let now = clock.now();
        telemetry::job_settled(&job.institution, &disposition, delivery.queued_at, now);
        if let Some(tally) = Tally::settled(&disposition, delivery.queued_at, now) {
            operations::record(distributor.operations(), &job.institution, now, tally).await;
        }
        Ok(settled)
    }
    .instrument(span)
    .await
}

/// One log line per settled job: its outcome, never a secret or personal data.
pub(crate) fn log_disposition(disposition: &Disposition, settled: Settled) {
    match disposition {
        Disposition::Done(Some(outcome)) => {
            tracing::info!(outcome = outcome.status.as_str(), "job done")
        }
        Disposition::Done(None) => tracing::info!(outcome = "already_done", "duplicate delivery"),
        Disposition::Retry { after, reason } => {
            tracing::warn!(outcome = "retry", retry_in_ms = after.as_millis() as u64, reason = %reason, ?settled)
        }
        // Alma's message can name the patron's identifiers: only the code is
        // logged; the message is kept with the dead letter.
        Disposition::DeadLetter { reason, attempts } => {
            tracing::warn!(outcome = "dead_lettered", code = %reason.code, attempts)
        }
    }
}
