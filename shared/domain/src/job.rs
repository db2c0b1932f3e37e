//! Distribution jobs: one thing to do to one patron in one institution.

use crate::{AlmaUser, InstitutionCode, PrimaryId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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

/// The changes the origins of `jobs` already hold: for each patron and origin
/// (a job whose origin is its own target, such as a console action, names
/// none), the job of the latest event. An inbox accepting `jobs` moves each
/// origin's position of the patron forward to it.
pub fn origin_changes(jobs: &[Job]) -> Vec<&Job> {
    let mut latest: BTreeMap<(&PrimaryId, &InstitutionCode), &Job> = BTreeMap::new();
    for job in jobs.iter().filter(|job| job.origin != job.institution) {
        let kept = latest.entry((&job.primary_id, &job.origin)).or_insert(job);
        if job.event_time > kept.event_time {
            *kept = job;
        }
    }
    latest.into_values().collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn job(target: &str, origin: &str, patron: &str, second: i64) -> Job {
        Job {
            event_id: format!("e{second}"),
            institution: InstitutionCode::parse(target).unwrap(),
            origin: InstitutionCode::parse(origin).unwrap(),
            action: JobAction::Upsert,
            primary_id: PrimaryId::parse(patron).unwrap(),
            event_time: DateTime::from_timestamp(second, 0).unwrap(),
            user: None,
        }
    }

    #[test]
    fn origin_changes_name_each_patron_and_origin_once_at_its_latest_event() {
        let jobs = [
            job("B", "A", "p", 1),
            job("C", "A", "p", 3),
            job("C", "A", "p", 2),
            job("A", "B", "q", 5),
            job("C", "C", "p", 9),
        ];
        let changes: Vec<(&str, &str, &str)> = origin_changes(&jobs)
            .iter()
            .map(|j| {
                (
                    j.primary_id.as_str(),
                    j.origin.as_str(),
                    j.event_id.as_str(),
                )
            })
            .collect();
        assert_eq!(changes, [("p", "A", "e3"), ("q", "B", "e5")]);
    }
}
