//! The recorded end of a job: what the staff console shows per patron and institution.

use crate::{InstitutionCode, JobAction, PrimaryId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a job was given up: Alma's errorCode and errorMessage, or patron-hub's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureReason {
    /// Alma's errorCode (`401664` …) or `RETRIES_EXHAUSTED`.
    pub code: String,
    /// Alma's errorMessage, or a description.
    pub message: String,
}

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// Alma was changed as asked.
    Applied,
    /// Nothing to do: a newer event was already applied.
    Skipped,
    /// Given up; the job is in the dead letters.
    DeadLettered,
}

impl OutcomeStatus {
    /// The status's name in storage and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Applied => "applied",
            OutcomeStatus::Skipped => "skipped",
            OutcomeStatus::DeadLettered => "dead_lettered",
        }
    }
}

/// The end of one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobOutcome {
    /// Alma's webhook message id.
    pub event_id: String,
    /// The institution the job targeted.
    pub institution: InstitutionCode,
    /// The patron.
    pub primary_id: PrimaryId,
    /// What the job was to do.
    pub action: JobAction,
    /// How it ended.
    pub status: OutcomeStatus,
    /// When the event happened in Alma.
    pub event_time: DateTime<Utc>,
    /// When the job ended.
    pub finished_at: DateTime<Utc>,
    /// How many attempts it took.
    pub attempts: u32,
    /// Why it was skipped or dead-lettered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailureReason>,
    /// For an applied job that left a record in the institution, the
    /// fingerprints of its distributed fields as Alma stored them (see
    /// `reconciliation::comparison::fingerprints`): a reconcile tells by
    /// them whether the record still holds what this job wrote, or was
    /// changed there since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written: Option<serde_json::Map<String, serde_json::Value>>,
}
