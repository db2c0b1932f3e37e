//! The worker's use case: apply one job to one institution through the Alma port.

use super::{Backoff, FailureReason, JobOutcome, OutcomeStatus};
use crate::alma::{AlmaError, AlmaUsers};
use crate::operations::OperationsLog;
use crate::ports::{Claim, Delivery, DistributionLedger};
use crate::reconciliation::comparison::fingerprints;
use crate::registration::RegistrySync;
use crate::{AlmaUser, Clock, InstitutionCode, Job, JobAction, PrimaryId, StoreError};
use futures::future::{select, Either};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

/// The dead-letter code of an upsert whose primary id is another user's
/// identifier in the target institution.
pub const IDENTIFIER_MISMATCH: &str = "IDENTIFIER_MISMATCH";

/// The dead-letter code of an upsert that met, in the target institution, a
/// different person under the same primary id: a user patron-hub never wrote
/// there for this patron, whose names differ from the distributed record's.
pub const PRIMARY_ID_COLLISION: &str = "PRIMARY_ID_COLLISION";

/// The dead-letter code of a job that waited [`WorkerSettings::max_waits`]
/// times for its patron's lane without ever getting it.
pub const LANE_BUSY: &str = "LANE_BUSY";

/// Added to the lease when a waiting job is put back, so that it looks again
/// just after a lapsed lease, never just before.
const WAIT_MARGIN: Duration = Duration::from_secs(1);

/// The first wait of a job put back without a try; later waits double.
const FIRST_WAIT: Duration = Duration::from_secs(1);

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
    /// Tries before a transient failure is given up. Only tries that reached
    /// Alma, or failed at the network or with 429 / 5xx, count.
    pub max_attempts: u32,
    /// Delays between attempts.
    pub backoff: Backoff,
    /// How long a worker holds a job, and its patron's lane, before another
    /// may take them (seconds). A live worker renews it every third of it, so
    /// it only lapses when the worker died: it bounds how long a patron's
    /// next job waits after a crash.
    pub lease_seconds: u64,
    /// How many times a job may be put back without a try (its patron's lane
    /// held by another job, the store unavailable) before it is given up as
    /// [`LANE_BUSY`]. Each wait lasts at most the lease plus a margin.
    pub max_waits: u32,
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
            max_attempts: 10,
            backoff: Backoff::default(),
            lease_seconds: 15,
            max_waits: 100,
        }
    }
}

impl WorkerSettings {
    /// The lease as a duration.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_seconds.max(1))
    }

    /// How often a worker renews the leases it holds: three times a lease.
    pub fn heartbeat(&self) -> Duration {
        self.lease() / 3
    }

    /// How long a job put back without a try waits, at its `receive_count`-th
    /// delivery: 1 s, then doubling, never more than the lease plus a margin
    /// (by then a holder that died has lost its lease), with up to half of it
    /// drawn at random so that waiting jobs do not come back in step.
    pub fn wait(&self, receive_count: u32, rng: &mut impl rand::Rng) -> Duration {
        let doubled = FIRST_WAIT.saturating_mul(1 << receive_count.saturating_sub(1).min(16));
        let ceiling = doubled.min(self.lease() + WAIT_MARGIN);
        let half = ceiling / 2;
        half + Duration::from_millis(rng.gen_range(0..=half.as_millis() as u64))
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
    DeadLetter {
        /// Why.
        reason: FailureReason,
        /// The tries that counted against the job's attempts.
        attempts: u32,
    },
}

/// Applies jobs to institutions. Built once and shared by every worker task.
pub struct Distributor {
    alma: Arc<dyn AlmaUsers>,
    ledger: Arc<dyn DistributionLedger>,
    clock: Arc<dyn Clock>,
    zone: InstitutionCode,
    settings: WorkerSettings,
    registry: Option<Arc<RegistrySync>>,
    operations: Option<Arc<dyn OperationsLog>>,
}

mod upsert;

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
            operations: None,
        }
    }

    /// Also counts each applied and dead-lettered job, with its lag, in the
    /// operations time series.
    pub fn with_operations(mut self, operations: Arc<dyn OperationsLog>) -> Self {
        self.operations = Some(operations);
        self
    }

    /// Where settled jobs are counted for the operations view, if anywhere.
    pub fn operations(&self) -> Option<&dyn OperationsLog> {
        self.operations.as_deref()
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

    /// Handles one delivery of a job: claims it, applies it while renewing
    /// the claim, and says what to do with its message. Only tries count
    /// against `max_attempts`; a job put back because its patron's lane is
    /// busy keeps its count and is bounded by `max_waits` instead.
    pub async fn handle(&self, delivery: &Delivery) -> Result<Disposition, StoreError> {
        let job = &delivery.job;
        let tries = match self
            .ledger
            .claim(job, self.clock.now(), self.settings.lease())
            .await?
        {
            Claim::Proceed { tries } => tries,
            Claim::AlreadyDone => return Ok(Disposition::Done(None)),
            Claim::Busy => return Ok(self.wait_for_lane(delivery)),
            Claim::Stale { newer } => {
                let reason = FailureReason {
                    code: "STALE".to_owned(),
                    message: format!("an event of {newer} was already applied"),
                };
                let outcome = self.outcome(job, OutcomeStatus::Skipped, 0, Some(reason));
                self.ledger.record(&outcome).await?;
                return Ok(Disposition::Done(Some(outcome)));
            }
        };
        let attempt = tries.saturating_add(1);
        match self.holding_claim(job, self.apply(job)).await? {
            Ok(applied) => {
                let written = match &applied {
                    Applied::Holds(user) => Some(fingerprints(user, &self.settings.local_fields)),
                    Applied::Linked | Applied::Removed => None,
                };
                self.note_in_registry(job, applied).await?;
                let outcome = JobOutcome {
                    written,
                    ..self.outcome(job, OutcomeStatus::Applied, attempt, None)
                };
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
                    reason: format!("try {attempt}: {error}"),
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
                Ok(Disposition::DeadLetter {
                    reason,
                    attempts: attempt,
                })
            }
        }
    }

    /// A job put back without a try: another worker holds it or its patron's
    /// lane here, or the store did not answer. It waits without using up an
    /// attempt; past `max_waits` it is given up as [`LANE_BUSY`].
    pub fn wait(&self, delivery: &Delivery, why: &str) -> Disposition {
        let waits = delivery.receive_count;
        if waits
            > self
                .settings
                .max_waits
                .saturating_add(self.settings.max_attempts)
        {
            return Disposition::DeadLetter {
                reason: FailureReason {
                    code: LANE_BUSY.to_owned(),
                    message: format!("handed out {waits} times without getting its turn ({why})"),
                },
                attempts: 0,
            };
        }
        Disposition::Retry {
            after: self
                .settings
                .wait(delivery.receive_count, &mut rand::thread_rng()),
            reason: format!("wait {waits}: {why}"),
        }
    }

    fn wait_for_lane(&self, delivery: &Delivery) -> Disposition {
        self.wait(
            delivery,
            "another worker holds this job or another job of this patron here",
        )
    }

    /// Runs `work` while renewing the job's claim and lane every heartbeat, so
    /// that they lapse only if this process dies.
    async fn holding_claim<T>(&self, job: &Job, work: impl Future<Output = T>) -> T {
        let renewals = async {
            loop {
                tokio::time::sleep(self.settings.heartbeat()).await;
                match self
                    .ledger
                    .renew(job, self.clock.now(), self.settings.lease())
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!("the job's claim lapsed while it ran"),
                    Err(error) => tracing::warn!(%error, "the job's claim could not be renewed"),
                }
            }
        };
        match select(pin!(work), pin!(renewals)).await {
            Either::Left((done, _)) => done,
            Either::Right(((), work)) => work.await,
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

    /// Applies the job in its institution. A store failure on the way is the
    /// outer error (a wait, not a try); Alma's answer is the inner result.
    async fn apply(&self, job: &Job) -> Result<Result<Applied, AlmaError>, StoreError> {
        match job.action {
            JobAction::Upsert => self.upsert(job).await,
            _ => Ok(self.apply_in_alma(job).await),
        }
    }

    /// Applies a job that needs nothing but Alma: link, patch or delete.
    async fn apply_in_alma(&self, job: &Job) -> Result<Applied, AlmaError> {
        let (institution, primary_id) = (&job.institution, &job.primary_id);
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
            JobAction::Upsert => Err(no_record("upsert")),
            JobAction::Patch => {
                let fields = job.user.as_ref().ok_or_else(|| no_record("patch"))?;
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
            written: None,
        }
    }
}

/// The refusal of a job that carries no user record although its action needs one.
fn no_record(action: &str) -> AlmaError {
    AlmaError::Rejected {
        status: 0,
        code: "NO_USER_RECORD".to_owned(),
        message: format!("the {action} job carries no user record"),
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
        assert_eq!(s.max_attempts, 10);
        assert!(
            s.lease() <= Duration::from_secs(15),
            "a crashed worker's lane comes back within 15 s"
        );
        assert_eq!(s.heartbeat(), s.lease() / 3);
    }
}
