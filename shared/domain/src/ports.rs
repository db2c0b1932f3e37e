//! The ports the domain needs from the outside world. Each has one adapter per
//! backend (SQLite and the local queue; DynamoDB and SQS) held to the shared
//! contract suite in `patron-hub-contract`.

use crate::distribution::{FailureReason, JobOutcome};
use crate::{InstitutionCode, Job, PrimaryId, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// A webhook event as the inbox remembers it, for idempotency.
#[derive(Debug, Clone, PartialEq)]
pub struct EventReceipt {
    /// Alma's message id.
    pub event_id: String,
    /// The sending institution.
    pub institution: InstitutionCode,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// Until when the id is remembered (after that a redelivery counts as new).
    pub keep_until: DateTime<Utc>,
}

/// Whether an event was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// First time: its jobs are queued.
    Accepted,
    /// Seen before and its jobs were queued then: nothing queued now.
    Duplicate,
}

/// Where accepted webhooks go: records each event once and queues its jobs.
/// If it fails part-way, a later call with the same event must finish the
/// queueing (the receiver answered 503, so Alma retries).
#[async_trait]
pub trait WebhookInbox: Send + Sync {
    /// Records `receipt` and queues `jobs`, unless the event was already fully
    /// accepted. The origin of a job (when it is not the job's target) already
    /// holds that change: the ledger's "last applied event" of the job's patron
    /// in the origin moves forward to the job's event time, so that an older
    /// event from elsewhere, still on the origin's queue, is stale there.
    async fn accept(&self, receipt: &EventReceipt, jobs: &[Job]) -> Result<Acceptance, StoreError>;
}

/// One job handed to a worker, with the queue's handle on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The adapter's handle (row id, SQS receipt handle) used to settle it.
    pub handle: String,
    /// The job.
    pub job: Job,
    /// How many times the queue has handed it out, this time included (1 the
    /// first time). Not the attempt count: waits for a busy patron lane, an
    /// unavailable store or a lost lease raise it too. It only bounds those
    /// waits (the ledger counts the tries that reached Alma).
    pub receive_count: u32,
    /// When the job was put on its queue (the webhook accepted, or the dead
    /// letter replayed), when the queue tells: where the job's lag starts.
    pub queued_at: Option<DateTime<Utc>>,
}

/// How long the oldest job of one institution's queue has waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueAge {
    /// The queue holds no job.
    Empty,
    /// The oldest job (visible or not) was queued this long ago.
    Oldest(Duration),
    /// The queue holds jobs, but their age is measured outside the store: on
    /// SQS it is CloudWatch's own `ApproximateAgeOfOldestMessage`, which no
    /// queue attribute gives.
    MeasuredElsewhere,
}

/// A job that will not be retried any more, kept with its reason until replayed.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// Identifier to replay it by.
    pub id: String,
    /// The job.
    pub job: Job,
    /// Why it was given up.
    pub reason: FailureReason,
    /// How many attempts were made.
    pub attempts: u32,
    /// When it was given up.
    pub dead_at: DateTime<Utc>,
}

/// One durable queue of jobs per institution, with delayed retries and dead letters.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Queues each job on its target institution's queue.
    async fn enqueue(&self, jobs: &[Job]) -> Result<(), StoreError>;
    /// Takes up to `max` visible jobs of one institution, hiding them for `lease`.
    async fn receive(
        &self,
        institution: &InstitutionCode,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Removes a job that is done.
    async fn complete(&self, delivery: &Delivery) -> Result<(), StoreError>;
    /// Makes a job visible again after `delay`.
    async fn retry_later(&self, delivery: &Delivery, delay: Duration) -> Result<(), StoreError>;
    /// Keeps a job that is still being worked on hidden for `lease` from now:
    /// the worker's heartbeat, so that a short lease only lapses when the
    /// worker holding it is dead. A delivery that was handed out again since
    /// (its lease had lapsed) is left as it is.
    async fn keep_hidden(&self, delivery: &Delivery, lease: Duration) -> Result<(), StoreError>;
    /// Moves a job to its institution's dead letters, with the reason and the
    /// number of tries that counted against its attempts.
    async fn dead_letter(
        &self,
        delivery: &Delivery,
        reason: &FailureReason,
        attempts: u32,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// How many jobs one institution's queue holds, visible or not (on SQS an
    /// approximation): how far its worker is behind.
    async fn depth(&self, institution: &InstitutionCode) -> Result<u64, StoreError>;
    /// How long the oldest job of one institution's queue (visible or not)
    /// has waited since it was queued: how late its worker is.
    async fn oldest_job_age(&self, institution: &InstitutionCode) -> Result<QueueAge, StoreError>;
    /// The dead letters of one institution, oldest first.
    async fn dead_letters(
        &self,
        institution: &InstitutionCode,
    ) -> Result<Vec<DeadLetter>, StoreError>;
    /// Puts a dead letter back on its queue as a fresh job; false if there is no such dead letter.
    async fn replay(
        &self,
        institution: &InstitutionCode,
        dead_letter_id: &str,
    ) -> Result<bool, StoreError>;
}

/// What a worker may do with a job it is about to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Go ahead: the job is now held by this worker until the lease ends.
    Proceed {
        /// How many earlier tries of this job failed after reaching Alma (or
        /// failing at the network, or answered 429 / 5xx): the try about to be
        /// made is `tries + 1`. Waits never count.
        tries: u32,
    },
    /// The job was already applied (a duplicate delivery): do nothing.
    AlreadyDone,
    /// A newer event was already applied to this patron in this institution.
    Stale {
        /// Time of the newer event.
        newer: DateTime<Utc>,
    },
    /// Another worker holds the job, or another event of the same patron in
    /// that institution, right now.
    Busy,
}

/// The record of what happened to every job, per patron and institution: it makes
/// jobs exactly-once in effect, refuses stale ones, and feeds the staff console.
#[async_trait]
pub trait DistributionLedger: Send + Sync {
    /// Claims a job before it touches Alma. A granted claim also holds the lane
    /// of the job's patron in its institution, with the same lease: while another
    /// job of that patron and institution (another event) holds an unexpired
    /// lane, the answer is `Busy`, so one patron's events never reach one
    /// institution at the same time, whichever worker or process takes them.
    /// `record` and `release` free the lane if this job holds it; a lane whose
    /// lease has ended may be taken over. A stale job is `Stale` even while the
    /// lane is held.
    async fn claim(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Claim, StoreError>;
    /// Records how a claimed job ended and frees the claim; an applied job moves
    /// the patron's "last applied event" forward in that institution. A
    /// dead-lettered job forgets its tries: a replay starts afresh.
    async fn record(&self, outcome: &JobOutcome) -> Result<(), StoreError>;
    /// Frees a claim after a try that failed transiently, counting that try,
    /// so that the retry may claim it and learn how many tries it has had.
    async fn release(&self, job: &Job) -> Result<(), StoreError>;
    /// Extends the lease of a job this worker holds, and of its patron's lane,
    /// to `lease` from `now`: the heartbeat of a job in progress. False when
    /// the job is no longer held in progress (finished, released, or its claim
    /// lapsed and was taken over), in which case nothing changes.
    async fn renew(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool, StoreError>;
    /// Every recorded outcome for one patron, newest first.
    async fn outcomes(&self, primary_id: &PrimaryId) -> Result<Vec<JobOutcome>, StoreError>;
    /// The time of the last event applied to (or accepted from) `patron` in
    /// `institution`: what makes an older job stale there.
    async fn position(
        &self,
        patron: &PrimaryId,
        institution: &InstitutionCode,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Remembers, for each pair, that the user under the patron's primary id
    /// in the institution is the patron's: noted before patron-hub writes it
    /// there, and by a reconcile for the newest version and the copies whose
    /// names agree with it. From then on it is a known holding of the
    /// patron, whatever its names become.
    async fn note_holdings(
        &self,
        holdings: &[(PrimaryId, InstitutionCode)],
    ) -> Result<(), StoreError>;
    /// Whether the user under `patron`'s primary id in `institution` is known
    /// to be this patron: patron-hub wrote it there (or was about to), or
    /// the institution holds a position of the patron (a job applied there,
    /// or a distributed change of the patron came from there).
    async fn known_holding(
        &self,
        patron: &PrimaryId,
        institution: &InstitutionCode,
    ) -> Result<bool, StoreError>;
}
