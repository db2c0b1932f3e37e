//! The worker's use case: apply one job to one institution through the Alma port.

use super::{Backoff, FailureReason, JobOutcome, OutcomeStatus};
use crate::alma::{AlmaError, AlmaUsers};
use crate::ports::{Claim, DistributionLedger};
use crate::registration::RegistrySync;
use crate::{AlmaUser, Clock, InstitutionCode, Job, JobAction, PrimaryId, StoreError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The dead-letter code of an upsert whose primary id is another user's
/// identifier in the target institution.
pub const IDENTIFIER_MISMATCH: &str = "IDENTIFIER_MISMATCH";

/// How soon a job held by another worker is looked at again.
const BUSY_RETRY: Duration = Duration::from_secs(5);

/// How a network-zone user is made to exist in a member institution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkMethod {
    /// `GET /users/{id}` in the member institution: Alma copies and links the
    /// network-zone user on lookup (what the seed system does in production).
    #[default]
    Lookup,
    /// `POST /users?source_institution_code=…&source_user_id=…`, the documented link call.
    LinkedPost,
}

/// The tunable part of the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    /// How `link` jobs are applied.
    pub link_method: LinkMethod,
    /// Fields each institution keeps for itself: never copied to another
    /// institution and kept when its record is updated (`user_role` always is).
    pub local_fields: Vec<String>,
    /// Attempts before a transient failure is given up.
    pub max_attempts: u32,
    /// Delays between attempts.
    pub backoff: Backoff,
    /// How long a worker holds a job before another may take it (seconds).
    pub lease_seconds: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            link_method: LinkMethod::Lookup,
            local_fields: [
                "user_note",
                "user_block",
                "user_statistic",
                "proxy_for_user",
                "campus_code",
                "rs_library",
                "library_notice",
                "pin_number",
            ]
            .map(str::to_owned)
            .to_vec(),
            max_attempts: 5,
            backoff: Backoff::default(),
            lease_seconds: 60,
        }
    }
}

impl WorkerSettings {
    /// The lease as a duration.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_seconds.max(1))
    }
}

/// What to do with the job's queue message.
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    /// Finished (applied, skipped as stale, or already done by an earlier delivery).
    Done(Option<JobOutcome>),
    /// Try again after a delay.
    Retry {
        /// The delay.
        after: Duration,
        /// What went wrong this time.
        reason: String,
    },
    /// Give up and keep the job as a dead letter.
    DeadLetter(FailureReason),
}

/// Applies jobs to institutions. Built once and shared by every worker task.
pub struct Distributor {
    alma: Arc<dyn AlmaUsers>,
    ledger: Arc<dyn DistributionLedger>,
    clock: Arc<dyn Clock>,
    zone: InstitutionCode,
    settings: WorkerSettings,
    registry: Option<Arc<RegistrySync>>,
}

/// What an applied job left in the target institution, for the registry.
enum Applied {
    /// The institution holds this record now.
    Holds(AlmaUser),
    /// The institution holds the patron, record unknown (a link that existed).
    Linked,
    /// The institution no longer holds the patron.
    Removed,
}

impl Distributor {
    /// A distributor for a network whose zone is `zone`.
    pub fn new(
        alma: Arc<dyn AlmaUsers>,
        ledger: Arc<dyn DistributionLedger>,
        clock: Arc<dyn Clock>,
        zone: InstitutionCode,
        settings: WorkerSettings,
    ) -> Self {
        Self {
            alma,
            ledger,
            clock,
            zone,
            settings,
            registry: None,
        }
    }

    /// Also records every applied job in the patron registry: Alma fires no
    /// webhook for the worker's own writes, so the registry learns of them here.
    pub fn with_registry(mut self, registry: Arc<RegistrySync>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// The settings in force.
    pub fn settings(&self) -> &WorkerSettings {
        &self.settings
    }

    /// Handles one delivery of `job`; `attempt` counts deliveries from 1.
    pub async fn handle(&self, job: &Job, attempt: u32) -> Result<Disposition, StoreError> {
        let lease = self.settings.lease();
        match self.ledger.claim(job, self.clock.now(), lease).await? {
            Claim::Proceed => {}
            Claim::AlreadyDone => return Ok(Disposition::Done(None)),
            Claim::Busy => {
                // Look again soon: the holder may have died, and its lease ends on its own.
                return Ok(Disposition::Retry {
                    after: lease.min(BUSY_RETRY),
                    reason: "another worker holds this job or this patron here".to_owned(),
                });
            }
            Claim::Stale { newer } => {
                let reason = FailureReason {
                    code: "STALE".to_owned(),
                    message: format!("an event of {newer} was already applied"),
                };
                let outcome = self.outcome(job, OutcomeStatus::Skipped, attempt, Some(reason));
                self.ledger.record(&outcome).await?;
                return Ok(Disposition::Done(Some(outcome)));
            }
        }
        match self.apply(job).await {
            Ok(applied) => {
                self.note_in_registry(job, applied).await?;
                let outcome = self.outcome(job, OutcomeStatus::Applied, attempt, None);
                self.ledger.record(&outcome).await?;
                Ok(Disposition::Done(Some(outcome)))
            }
            Err(error) if error.is_transient() && attempt < self.settings.max_attempts => {
                self.ledger.release(job).await?;
                Ok(Disposition::Retry {
                    after: self
                        .settings
                        .backoff
                        .delay(attempt, &mut rand::thread_rng()),
                    reason: error.to_string(),
                })
            }
            Err(error) => {
                let reason = failure_reason(&error, attempt);
                let outcome = self.outcome(
                    job,
                    OutcomeStatus::DeadLettered,
                    attempt,
                    Some(reason.clone()),
                );
                self.ledger.record(&outcome).await?;
                Ok(Disposition::DeadLetter(reason))
            }
        }
    }

    async fn note_in_registry(&self, job: &Job, applied: Applied) -> Result<(), StoreError> {
        let Some(registry) = &self.registry else {
            return Ok(());
        };
        match applied {
            Applied::Holds(user) => {
                // A new primary id: the old one no longer names a holding here.
                if user.primary_id().is_some_and(|id| id != job.primary_id) {
                    registry
                        .forget(&job.institution, &job.primary_id, job.event_time)
                        .await?;
                }
                registry
                    .observe(&job.institution, &user, job.event_time)
                    .await
            }
            Applied::Linked => Ok(()),
            Applied::Removed => {
                registry
                    .forget(&job.institution, &job.primary_id, job.event_time)
                    .await
            }
        }
    }

    async fn apply(&self, job: &Job) -> Result<Applied, AlmaError> {
        let (institution, primary_id) = (&job.institution, &job.primary_id);
        let local = &self.settings.local_fields;
        match job.action {
            JobAction::Link => match self.settings.link_method {
                LinkMethod::Lookup => self
                    .alma
                    .get_user(institution, primary_id)
                    .await
                    .map(Applied::Holds),
                LinkMethod::LinkedPost => {
                    match self
                        .alma
                        .create_linked_user(institution, &self.zone, primary_id)
                        .await
                    {
                        Ok(user) => Ok(Applied::Holds(user)),
                        Err(AlmaError::AlreadyExists { .. }) => Ok(Applied::Linked),
                        Err(error) => Err(error),
                    }
                }
            },
            JobAction::Upsert => {
                let origin = job.user.as_ref().ok_or_else(|| AlmaError::Rejected {
                    status: 0,
                    code: "NO_USER_RECORD".to_owned(),
                    message: "the job carries no user record to distribute".to_owned(),
                })?;
                match self.alma.get_user(institution, primary_id).await {
                    Ok(target) => {
                        let merged = same_patron(target, primary_id)?.merged_with(origin, local);
                        self.alma
                            .update_user(institution, primary_id, &merged)
                            .await
                            .map(Applied::Holds)
                    }
                    Err(AlmaError::NotFound { .. }) => self
                        .alma
                        .create_user(institution, &origin.distributable(local))
                        .await
                        .map(Applied::Holds),
                    Err(error) => Err(error),
                }
            }
            JobAction::Patch => {
                let fields = job.user.as_ref().ok_or_else(|| AlmaError::Rejected {
                    status: 0,
                    code: "NO_USER_RECORD".to_owned(),
                    message: "the job carries no fields to change".to_owned(),
                })?;
                let target = match self.alma.get_user(institution, primary_id).await {
                    Ok(target) => target,
                    Err(AlmaError::NotFound { code }) => {
                        return self.patched_already(institution, fields, code).await
                    }
                    Err(error) => return Err(error),
                };
                let mut patched = same_patron(target, primary_id)?;
                for (field, value) in &fields.0 {
                    patched.0.insert(field.clone(), value.clone());
                }
                self.alma
                    .update_user(institution, primary_id, &patched)
                    .await
                    .map(Applied::Holds)
            }
            JobAction::Delete => match self.alma.delete_user(institution, primary_id).await {
                Ok(()) | Err(AlmaError::NotFound { .. }) => Ok(Applied::Removed),
                Err(error) => Err(error),
            },
        }
    }

    /// A patch whose patron is no longer under the job's primary id: done if
    /// the patch renamed it and the record under the new id carries every
    /// patched field (an earlier delivery did it, or the network zone passed
    /// its own rename down to this linked copy); not found otherwise.
    async fn patched_already(
        &self,
        institution: &InstitutionCode,
        fields: &AlmaUser,
        not_found: String,
    ) -> Result<Applied, AlmaError> {
        let gone = || AlmaError::NotFound {
            code: not_found.clone(),
        };
        let Some(renamed) = fields.primary_id() else {
            return Err(gone());
        };
        let record = match self.alma.get_user(institution, &renamed).await {
            Ok(record) => record,
            Err(AlmaError::NotFound { .. }) => return Err(gone()),
            Err(error) => return Err(error),
        };
        let carries =
            |(field, value): (&String, &serde_json::Value)| record.0.get(field) == Some(value);
        if record.primary_id().as_ref() == Some(&renamed) && fields.0.iter().all(carries) {
            Ok(Applied::Holds(record))
        } else {
            Err(gone())
        }
    }

    fn outcome(
        &self,
        job: &Job,
        status: OutcomeStatus,
        attempts: u32,
        reason: Option<FailureReason>,
    ) -> JobOutcome {
        JobOutcome {
            event_id: job.event_id.clone(),
            institution: job.institution.clone(),
            primary_id: job.primary_id.clone(),
            action: job.action,
            status,
            event_time: job.event_time,
            finished_at: self.clock.now(),
            attempts,
            reason,
        }
    }
}

/// The target institution's record, if it is this patron's: `all_unique`
/// lookups also match barcodes and other identifiers, and another user's
/// record must never be overwritten with this patron's data.
fn same_patron(target: AlmaUser, primary_id: &PrimaryId) -> Result<AlmaUser, AlmaError> {
    if target.primary_id().as_ref() == Some(primary_id) {
        Ok(target)
    } else {
        Err(AlmaError::Rejected {
            status: 0,
            code: IDENTIFIER_MISMATCH.to_owned(),
            message: "the identifier belongs to another user in this institution".to_owned(),
        })
    }
}

/// The reason kept with a dead letter: Alma's own code and message when Alma
/// refused, or what the last transient failure was when attempts ran out.
fn failure_reason(error: &AlmaError, attempts: u32) -> FailureReason {
    match error {
        AlmaError::Rejected { code, message, .. } | AlmaError::AlreadyExists { code, message } => {
            FailureReason {
                code: code.clone(),
                message: message.clone(),
            }
        }
        AlmaError::NotFound { code } => FailureReason {
            code: code.clone(),
            message: "the user was not found in Alma".to_owned(),
        },
        AlmaError::Throttled { code } => FailureReason {
            code: code.clone(),
            message: format!("still throttled after {attempts} attempts"),
        },
        AlmaError::Unavailable(detail) => FailureReason {
            code: "ALMA_UNAVAILABLE".to_owned(),
            message: format!("gave up after {attempts} attempts: {detail}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letters_keep_almas_code_and_message() {
        let reason = failure_reason(
            &AlmaError::Rejected {
                status: 400,
                code: "401664".into(),
                message: "Mandatory field missing".into(),
            },
            1,
        );
        assert_eq!(
            reason,
            FailureReason {
                code: "401664".into(),
                message: "Mandatory field missing".into()
            }
        );
        let reason = failure_reason(&AlmaError::Unavailable("503".into()), 5);
        assert_eq!(reason.code, "ALMA_UNAVAILABLE");
        assert!(reason.message.contains("5 attempts"));
    }

    #[test]
    fn only_throttling_and_outages_are_transient() {
        assert!(AlmaError::Throttled {
            code: "PER_SECOND_THRESHOLD".into()
        }
        .is_transient());
        assert!(AlmaError::Unavailable("timeout".into()).is_transient());
        assert!(!AlmaError::NotFound {
            code: "401861".into()
        }
        .is_transient());
        assert!(!AlmaError::Rejected {
            status: 400,
            code: "x".into(),
            message: "y".into()
        }
        .is_transient());
    }

    #[test]
    fn settings_parse_with_defaults() {
        let s: WorkerSettings = serde_json::from_str(r#"{"link_method":"linked-post"}"#).unwrap();
        assert_eq!(s.link_method, LinkMethod::LinkedPost);
        assert_eq!(s.max_attempts, 5);
    }
}
