//! The operations metrics of patron-hub, recorded through the `metrics` facade
//! where the work happens: the worker settling a job, the webhook answering,
//! the Alma client's calls, a reconcile finishing, and the queue gauges a
//! process samples from the store. Names and labels live here only.
//!
//! Which recorder receives them is the process's choice (`serve` renders
//! Prometheus's text format, a Lambda function writes CloudWatch embedded
//! metric format lines); with none installed every call is a no-op. This
//! module never names an exporter.

use crate::distribution::{Disposition, OutcomeStatus};
use crate::ports::QueueAge;
use crate::reconciliation::{Run, RunKind};
use crate::InstitutionCode;
use chrono::{DateTime, Utc};
use metrics::{counter, gauge, histogram};
use std::time::Duration;

/// Jobs on an institution's queue, visible or not (gauge; `institution`).
pub const QUEUE_DEPTH: &str = "patron_hub_queue_depth";
/// Seconds the oldest job of an institution's queue has waited (gauge; `institution`).
pub const OLDEST_JOB_AGE: &str = "patron_hub_oldest_job_age_seconds";
/// Jobs settled by the workers (counter; `institution`, `outcome`).
pub const JOBS: &str = "patron_hub_jobs_total";
/// Dead letters kept for an institution (gauge; `institution`).
pub const DEAD_LETTERS: &str = "patron_hub_dead_letters";
/// Webhook deliveries answered (counter; `status`).
pub const WEBHOOK_REQUESTS: &str = "patron_hub_webhook_requests_total";
/// Calls to Alma (counter; `institution`, `status`, `0` when no answer came).
pub const ALMA_CALLS: &str = "patron_hub_alma_calls_total";
/// Seconds each Alma call took, its pacing wait excluded (histogram).
pub const ALMA_CALL_SECONDS: &str = "patron_hub_alma_call_seconds";
/// Seconds from a job's queueing (its webhook accepted) to its application (histogram).
pub const JOB_LAG: &str = "patron_hub_job_lag_seconds";
/// Patrons the last finished reconcile compared (gauge).
pub const DRIFT_CHECKED: &str = "patron_hub_reconcile_checked";
/// Distributed readers a member lacked at the last finished reconcile (gauge).
pub const DRIFT_MISSING: &str = "patron_hub_reconcile_missing";
/// Older versions a member held at the last finished reconcile (gauge).
pub const DRIFT_STALE: &str = "patron_hub_reconcile_stale";
/// Missing linked copies at the last finished reconcile (gauge).
pub const DRIFT_UNLINKED: &str = "patron_hub_reconcile_unlinked";
/// When the last reconcile finished, in seconds since the epoch (gauge).
pub const DRIFT_FINISHED_AT: &str = "patron_hub_reconcile_finished_timestamp_seconds";

/// The `outcome` label of a settled job, or `None` for a duplicate delivery
/// of a job already done (no work, not counted).
pub fn job_outcome(disposition: &Disposition) -> Option<&'static str> {
    match disposition {
        Disposition::Done(Some(outcome)) => Some(match outcome.status {
            OutcomeStatus::Applied => "applied",
            OutcomeStatus::Skipped => "stale",
            OutcomeStatus::DeadLettered => "dead_lettered",
        }),
        Disposition::Done(None) => None,
        Disposition::Retry { .. } => Some("retried"),
        Disposition::DeadLetter { .. } => Some("dead_lettered"),
    }
}

/// Counts a settled job and, for an applied one queued at `queued_at`, its lag at `now`.
pub fn job_settled(
    institution: &InstitutionCode,
    disposition: &Disposition,
    queued_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) {
    let Some(outcome) = job_outcome(disposition) else {
        return;
    };
    counter!(JOBS, "institution" => institution.to_string(), "outcome" => outcome).increment(1);
    if let (Some(queued_at), "applied") = (queued_at, outcome) {
        let lag = (now - queued_at).to_std().unwrap_or_default();
        histogram!(JOB_LAG).record(lag.as_secs_f64());
    }
}

/// Counts one webhook delivery answered with `status`.
pub fn webhook_answered(status: u16) {
    counter!(WEBHOOK_REQUESTS, "status" => status.to_string()).increment(1);
}

/// Counts one Alma call to `institution` answered with `status` (0: no
/// answer came) after `elapsed`.
pub fn alma_called(institution: &InstitutionCode, status: u16, elapsed: Duration) {
    counter!(ALMA_CALLS, "institution" => institution.to_string(), "status" => status.to_string())
        .increment(1);
    histogram!(ALMA_CALL_SECONDS).record(elapsed.as_secs_f64());
}

/// Sets the queue gauges of one institution as sampled from the store. An
/// age measured elsewhere (CloudWatch's, on SQS) leaves its gauge unset.
pub fn queue_sampled(institution: &InstitutionCode, depth: u64, age: QueueAge, dead_letters: u64) {
    let label = || [("institution", institution.to_string())];
    gauge!(QUEUE_DEPTH, &label()).set(depth as f64);
    gauge!(DEAD_LETTERS, &label()).set(dead_letters as f64);
    match age {
        QueueAge::Empty => gauge!(OLDEST_JOB_AGE, &label()).set(0.0),
        QueueAge::Oldest(waited) => gauge!(OLDEST_JOB_AGE, &label()).set(waited.as_secs_f64()),
        QueueAge::MeasuredElsewhere => {}
    }
}

/// Sets the drift gauges from a finished reconcile (anything else is ignored).
pub fn reconcile_finished(run: &Run) {
    let (RunKind::Reconcile, Some(finished_at)) = (run.kind, run.finished_at) else {
        return;
    };
    gauge!(DRIFT_CHECKED).set(run.counts.checked as f64);
    gauge!(DRIFT_MISSING).set(run.counts.missing as f64);
    gauge!(DRIFT_STALE).set(run.counts.stale as f64);
    gauge!(DRIFT_UNLINKED).set(run.counts.unlinked as f64);
    gauge!(DRIFT_FINISHED_AT).set(finished_at.timestamp() as f64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::FailureReason;

    #[test]
    fn each_disposition_has_its_outcome_and_a_duplicate_none() {
        let retry = Disposition::Retry {
            after: Duration::from_secs(1),
            reason: "429".to_owned(),
        };
        let dead = Disposition::DeadLetter {
            reason: FailureReason::default(),
            attempts: 3,
        };
        assert_eq!(job_outcome(&retry), Some("retried"));
        assert_eq!(job_outcome(&dead), Some("dead_lettered"));
        assert_eq!(job_outcome(&Disposition::Done(None)), None);
    }
}
