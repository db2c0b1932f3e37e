//! Distribution jobs: one thing to do to one patron in one institution.

use crate::{AlmaUser, InstitutionCode, PrimaryId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a job does in its target institution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobAction {
    /// Make a network-zone user exist in the institution as a linked copy.
    Link,
    /// Create the user, or update the institution's record with the distributed fields.
    Upsert,
    /// Delete the user.
    Delete,
    /// Lay the job's fields (an expiry date, a new primary id) over the
    /// institution's record and put it back: a staff console change.
    Patch,
}

impl JobAction {
    /// The action's name in JSON, logs and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            JobAction::Link => "link",
            JobAction::Upsert => "upsert",
            JobAction::Delete => "delete",
            JobAction::Patch => "patch",
        }
    }
}

/// One job: born from one webhook event, for one target institution. It carries
/// everything the worker needs, so applying it never reads the webhook again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Alma's `id` of the webhook message the job comes from.
    pub event_id: String,
    /// The institution the job changes.
    pub institution: InstitutionCode,
    /// The institution (or network zone) where the change happened.
    pub origin: InstitutionCode,
    /// What to do.
    pub action: JobAction,
    /// The patron concerned.
    pub primary_id: PrimaryId,
    /// When the change happened in Alma: older jobs never overwrite newer data.
    pub event_time: DateTime<Utc>,
    /// The origin's user record for `upsert`; the fields to change for `patch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<AlmaUser>,
}

impl Job {
    /// The job's identity: a webhook delivered twice yields jobs with the same key.
    pub fn key(&self) -> JobKey {
        JobKey {
            event_id: self.event_id.clone(),
            institution: self.institution.clone(),
        }
    }
}

/// Identity of a job: the event it comes from and the institution it targets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobKey {
    /// Alma's webhook message id.
    pub event_id: String,
    /// The target institution.
    pub institution: InstitutionCode,
}

impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.event_id, self.institution)
    }
}
