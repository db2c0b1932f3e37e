//! Cases of the distribution ledger: claims make jobs exactly-once in effect, a
//! patron's events reach one institution one at a time (the lane), an applied
//! event makes older ones stale, and outcomes feed the staff console.
//! The ledger is given `now`, so these cases pass explicit times and never wait.

use crate::support::{event_id, institution, now_ms, patron, upsert};
use crate::Backend;
use chrono::{DateTime, TimeDelta, Utc};
use patron_hub_domain::distribution::{FailureReason, JobOutcome, OutcomeStatus};
use patron_hub_domain::ports::Claim;
use patron_hub_domain::{Job, PrimaryId};
use std::time::Duration;

/// The lease the cases claim with.
const LEASE: Duration = Duration::from_secs(60);

/// `t` plus some seconds.
fn plus(t: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    t + TimeDelta::seconds(seconds)
}

/// A new job of a new patron for the first institution.
fn any_job() -> Job {
    upsert(&event_id(), &institution(0), &patron(), now_ms())
}

/// Claims, failing the case on a storage error.
async fn claim(b: &Backend, job: &Job, now: DateTime<Utc>) -> Claim {
    match b.ledger.claim(job, now, LEASE).await {
        Ok(claim) => claim,
        Err(error) => panic!("claim of {} failed: {error}", job.key()),
    }
}

/// Records, failing the case on a storage error.
async fn record(b: &Backend, outcome: &JobOutcome) {
    if let Err(error) = b.ledger.record(outcome).await {
        panic!(
            "record of {}#{} failed: {error}",
            outcome.event_id, outcome.institution
        );
    }
}

/// Releases, failing the case on a storage error.
async fn release(b: &Backend, job: &Job) {
    if let Err(error) = b.ledger.release(job).await {
        panic!("release of {} failed: {error}", job.key());
    }
}

/// How `job` ended, at `finished_at`.
fn outcome(job: &Job, status: OutcomeStatus, finished_at: DateTime<Utc>) -> JobOutcome {
    let reason = match status {
        OutcomeStatus::Applied => None,
        OutcomeStatus::Skipped => Some(FailureReason {
            code: "STALE".to_owned(),
            message: "a newer event was already applied".to_owned(),
        }),
        OutcomeStatus::DeadLettered => Some(FailureReason {
            code: "401664".to_owned(),
            message: "Mandatory field is missing: «last_name»".to_owned(),
        }),
    };
    JobOutcome {
        event_id: job.event_id.clone(),
        institution: job.institution.clone(),
        primary_id: job.primary_id.clone(),
        action: job.action,
        status,
        event_time: job.event_time,
        finished_at,
        attempts: 3,
        written: (status == OutcomeStatus::Applied).then(|| {
            serde_json::Map::from_iter([("last_name".to_owned(), "0123456789abcdef".into())])
        }),
        reason,
    }
}

/// A job of `patron` in institution `i`, for an event at `event_time`.
fn job_at(patron: &PrimaryId, i: usize, event_time: DateTime<Utc>) -> Job {
    upsert(&event_id(), &institution(i), patron, event_time)
}

/// The first claim proceeds; a claim while the lease runs is Busy.
pub async fn first_claim_proceeds_and_a_held_claim_is_busy(b: Backend) {
    let job = any_job();
    let t = now_ms();
    assert_eq!(claim(&b, &job, t).await, Claim::Proceed { tries: 0 });
    assert_eq!(claim(&b, &job, plus(t, 1)).await, Claim::Busy);
    assert_eq!(claim(&b, &job, plus(t, 59)).await, Claim::Busy);
}

/// After the lease ends another worker may claim the job, and then holds it.
pub async fn expired_claim_can_be_taken_again(b: Backend) {
    let job = any_job();
    let t = now_ms();
    assert_eq!(claim(&b, &job, t).await, Claim::Proceed { tries: 0 });
    assert_eq!(
        claim(&b, &job, plus(t, 61)).await,
        Claim::Proceed { tries: 0 }
    );
    assert_eq!(
        claim(&b, &job, plus(t, 62)).await,
        Claim::Busy,
        "the new claim holds the job for its own lease"
    );
}

/// Twenty workers claiming one job at once: exactly one proceeds, the rest are Busy.
pub async fn concurrent_claims_let_one_worker_proceed(b: Backend) {
    let job = any_job();
    let t = now_ms();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (ledger, job) = (b.ledger.clone(), job.clone());
            tokio::spawn(async move { ledger.claim(&job, t, LEASE).await })
        })
        .collect();
    let mut proceeding = 0;
    for result in futures::future::join_all(tasks).await {
        match result.expect("a claiming task panicked") {
            Ok(Claim::Proceed { tries: 0 }) => proceeding += 1,
            Ok(Claim::Busy) => {}
            Ok(other) => panic!("a concurrent claim answered {other:?}"),
            Err(error) => panic!("a concurrent claim failed: {error}"),
        }
    }
    assert_eq!(proceeding, 1, "exactly one concurrent claim may proceed");
}

/// Once applied, a job is AlreadyDone for any later delivery, however late.
pub async fn applied_job_is_already_done(b: Backend) {
    let job = any_job();
    let t = now_ms();
    assert_eq!(claim(&b, &job, t).await, Claim::Proceed { tries: 0 });
    record(&b, &outcome(&job, OutcomeStatus::Applied, plus(t, 1))).await;
    assert_eq!(claim(&b, &job, plus(t, 2)).await, Claim::AlreadyDone);
    assert_eq!(
        claim(&b, &job, plus(t, 2 * 86_400)).await,
        Claim::AlreadyDone
    );
}

/// A job recorded as Skipped (stale, recorded without a claim held) is AlreadyDone.
pub async fn skipped_job_is_already_done(b: Backend) {
    let job = any_job();
    let t = now_ms();
    record(&b, &outcome(&job, OutcomeStatus::Skipped, t)).await;
    assert_eq!(claim(&b, &job, plus(t, 1)).await, Claim::AlreadyDone);
}

/// A released claim (transient failure) may be claimed again at once; releasing a
/// job nobody claimed is harmless.
pub async fn released_claim_proceeds(b: Backend) {
    let job = any_job();
    let t = now_ms();
    assert_eq!(claim(&b, &job, t).await, Claim::Proceed { tries: 0 });
    if let Err(error) = b.ledger.release(&job).await {
        panic!("release failed: {error}");
    }
    assert_eq!(
        claim(&b, &job, plus(t, 1)).await,
        Claim::Proceed { tries: 1 },
        "the retry learns of the failed try"
    );
    let unclaimed = any_job();
    if let Err(error) = b.ledger.release(&unclaimed).await {
        panic!("release of an unclaimed job failed: {error}");
    }
    assert_eq!(claim(&b, &unclaimed, t).await, Claim::Proceed { tries: 0 });
}

/// A dead-lettered job may run again (its dead letter can be replayed).
pub async fn dead_lettered_job_may_run_again(b: Backend) {
    let job = any_job();
    let t = now_ms();
    assert_eq!(claim(&b, &job, t).await, Claim::Proceed { tries: 0 });
    record(&b, &outcome(&job, OutcomeStatus::DeadLettered, plus(t, 1))).await;
    assert_eq!(
        claim(&b, &job, plus(t, 2)).await,
        Claim::Proceed { tries: 0 }
    );
}

/// After an applied event at T2 for a patron in an institution, an older event of
/// that patron there is Stale; events at or after T2, other institutions, other
/// patrons are not; only Applied outcomes move the patron's last applied time.
pub async fn older_event_is_stale(b: Backend) {
    let (someone, t) = (patron(), now_ms());
    let t2 = plus(t, -3_600);
    let applied = job_at(&someone, 0, t2);
    assert_eq!(claim(&b, &applied, t).await, Claim::Proceed { tries: 0 });
    record(&b, &outcome(&applied, OutcomeStatus::Applied, plus(t, 1))).await;

    let older = job_at(&someone, 0, plus(t2, -60));
    assert_eq!(
        claim(&b, &older, plus(t, 2)).await,
        Claim::Stale { newer: t2 }
    );
    let same_time = job_at(&someone, 0, t2);
    assert_eq!(
        claim(&b, &same_time, plus(t, 2)).await,
        Claim::Proceed { tries: 0 }
    );
    release(&b, &same_time).await;
    let newer = job_at(&someone, 0, plus(t2, 60));
    assert_eq!(
        claim(&b, &newer, plus(t, 2)).await,
        Claim::Proceed { tries: 0 }
    );
    release(&b, &newer).await;
    let elsewhere = job_at(&someone, 1, plus(t2, -60));
    assert_eq!(
        claim(&b, &elsewhere, plus(t, 2)).await,
        Claim::Proceed { tries: 0 }
    );
    let other_patron = job_at(&patron(), 0, plus(t2, -60));
    assert_eq!(
        claim(&b, &other_patron, plus(t, 2)).await,
        Claim::Proceed { tries: 0 }
    );

    let failed = job_at(&someone, 0, plus(t2, 600));
    record(
        &b,
        &outcome(&failed, OutcomeStatus::DeadLettered, plus(t, 3)),
    )
    .await;
    let skipped = job_at(&someone, 0, plus(t2, 900));
    record(&b, &outcome(&skipped, OutcomeStatus::Skipped, plus(t, 3))).await;
    let between = job_at(&someone, 0, plus(t2, 300));
    assert_eq!(
        claim(&b, &between, plus(t, 4)).await,
        Claim::Proceed { tries: 0 },
        "dead-lettered and skipped outcomes do not move the last applied event"
    );
}

/// While one event of a patron is held in an institution, another event of that
/// patron there is Busy, older or newer; once the first is applied, the newer
/// proceeds and the older is Stale.
pub async fn a_patrons_next_event_waits_for_the_held_one(b: Backend) {
    let (someone, t) = (patron(), now_ms());
    let first = job_at(&someone, 0, plus(t, -60));
    let newer = job_at(&someone, 0, plus(t, -30));
    let older = job_at(&someone, 0, plus(t, -90));
    assert_eq!(claim(&b, &first, t).await, Claim::Proceed { tries: 0 });
    assert_eq!(claim(&b, &newer, plus(t, 1)).await, Claim::Busy);
    assert_eq!(claim(&b, &older, plus(t, 1)).await, Claim::Busy);
    assert_eq!(
        claim(&b, &newer, plus(t, 59)).await,
        Claim::Busy,
        "the lane is held for the whole lease"
    );
    record(&b, &outcome(&first, OutcomeStatus::Applied, plus(t, 2))).await;
    assert_eq!(
        claim(&b, &older, plus(t, 3)).await,
        Claim::Stale {
            newer: first.event_time
        }
    );
    assert_eq!(
        claim(&b, &newer, plus(t, 3)).await,
        Claim::Proceed { tries: 0 }
    );
    assert_eq!(
        claim(&b, &first, plus(t, 4)).await,
        Claim::AlreadyDone,
        "a finished job is done, whoever holds the lane"
    );
}

/// A released job frees its lane for the patron's next event, which then holds
/// it against the released one; a dead-lettered job frees it too.
pub async fn a_released_or_dead_lettered_job_frees_the_lane(b: Backend) {
    let (someone, t) = (patron(), now_ms());
    let first = job_at(&someone, 0, plus(t, -60));
    let second = job_at(&someone, 0, plus(t, -30));
    assert_eq!(claim(&b, &first, t).await, Claim::Proceed { tries: 0 });
    assert_eq!(claim(&b, &second, plus(t, 1)).await, Claim::Busy);
    release(&b, &first).await;
    assert_eq!(
        claim(&b, &second, plus(t, 2)).await,
        Claim::Proceed { tries: 0 }
    );
    assert_eq!(
        claim(&b, &first, plus(t, 3)).await,
        Claim::Busy,
        "the released job's retry waits for the event now holding the lane"
    );
    record(
        &b,
        &outcome(&second, OutcomeStatus::DeadLettered, plus(t, 4)),
    )
    .await;
    assert_eq!(
        claim(&b, &first, plus(t, 5)).await,
        Claim::Proceed { tries: 1 }
    );
}

/// A lane whose lease has ended may be taken by the patron's next event; the
/// late holder finishing or releasing then leaves the new holder's lane alone.
pub async fn a_lane_whose_lease_ended_can_be_taken(b: Backend) {
    let (someone, t) = (patron(), now_ms());
    let late = job_at(&someone, 0, plus(t, -90));
    let next = job_at(&someone, 0, plus(t, -60));
    let third = job_at(&someone, 0, plus(t, -30));
    assert_eq!(claim(&b, &late, t).await, Claim::Proceed { tries: 0 });
    assert_eq!(claim(&b, &next, plus(t, 59)).await, Claim::Busy);
    assert_eq!(
        claim(&b, &next, plus(t, 61)).await,
        Claim::Proceed { tries: 0 }
    );
    assert_eq!(
        claim(&b, &late, plus(t, 62)).await,
        Claim::Busy,
        "its own claim ended, but the lane is the next event's now"
    );
    release(&b, &late).await;
    assert_eq!(claim(&b, &third, plus(t, 63)).await, Claim::Busy);
    record(&b, &outcome(&late, OutcomeStatus::Applied, plus(t, 64))).await;
    assert_eq!(
        claim(&b, &third, plus(t, 65)).await,
        Claim::Busy,
        "only the holder's own record frees the lane"
    );
    record(&b, &outcome(&next, OutcomeStatus::Applied, plus(t, 66))).await;
    assert_eq!(
        claim(&b, &third, plus(t, 67)).await,
        Claim::Proceed { tries: 0 }
    );
}

/// A held lane blocks only its own patron in its own institution: the same
/// patron elsewhere, and other patrons there, proceed at the same time.
pub async fn other_patrons_and_institutions_are_never_blocked(b: Backend) {
    let (someone, t) = (patron(), now_ms());
    let held = job_at(&someone, 0, plus(t, -60));
    assert_eq!(claim(&b, &held, t).await, Claim::Proceed { tries: 0 });
    for i in 1..3 {
        let elsewhere = job_at(&someone, i, plus(t, -30));
        assert_eq!(
            claim(&b, &elsewhere, plus(t, 1)).await,
            Claim::Proceed { tries: 0 }
        );
    }
    let stranger = job_at(&patron(), 0, plus(t, -30));
    assert_eq!(
        claim(&b, &stranger, plus(t, 1)).await,
        Claim::Proceed { tries: 0 }
    );
    assert_eq!(
        claim(&b, &job_at(&someone, 0, plus(t, -30)), plus(t, 1)).await,
        Claim::Busy
    );
}

/// Twenty workers claiming twenty different events of one patron in one
/// institution at once: exactly one proceeds, the rest are Busy.
pub async fn concurrent_claims_of_one_patrons_events_let_one_proceed(b: Backend) {
    let (someone, t) = (patron(), now_ms());
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let ledger = b.ledger.clone();
            let job = job_at(&someone, 0, plus(t, -60 + i));
            tokio::spawn(async move { ledger.claim(&job, t, LEASE).await })
        })
        .collect();
    let mut proceeding = 0;
    for result in futures::future::join_all(tasks).await {
        match result.expect("a claiming task panicked") {
            Ok(Claim::Proceed { tries: 0 }) => proceeding += 1,
            Ok(Claim::Busy) => {}
            Ok(other) => panic!("a concurrent claim answered {other:?}"),
            Err(error) => panic!("a concurrent claim failed: {error}"),
        }
    }
    assert_eq!(
        proceeding, 1,
        "exactly one event of a patron may proceed in an institution"
    );
}

/// An older event applied after a newer one (two workers racing) does not move
/// the patron's last applied time back.
pub async fn last_applied_event_never_moves_back(b: Backend) {
    let (someone, t) = (patron(), now_ms());
    let t2 = plus(t, -600);
    let newer = job_at(&someone, 0, t2);
    record(&b, &outcome(&newer, OutcomeStatus::Applied, t)).await;
    let older = job_at(&someone, 0, plus(t2, -600));
    record(&b, &outcome(&older, OutcomeStatus::Applied, plus(t, 1))).await;
    let between = job_at(&someone, 0, plus(t2, -300));
    assert_eq!(
        claim(&b, &between, plus(t, 2)).await,
        Claim::Stale { newer: t2 }
    );
}

/// `outcomes` lists every recorded outcome of one patron (several of one job
/// included), newest first by `finished_at`, intact, and none of other patrons.
pub async fn outcomes_are_the_patrons_newest_first(b: Backend) {
    let (someone, t) = (patron(), now_ms());
    let replayed = job_at(&someone, 1, plus(t, -50));
    let recorded = [
        outcome(
            &job_at(&someone, 0, plus(t, -90)),
            OutcomeStatus::Applied,
            t,
        ),
        outcome(&replayed, OutcomeStatus::DeadLettered, plus(t, 2)),
        outcome(
            &job_at(&someone, 2, plus(t, -70)),
            OutcomeStatus::Skipped,
            plus(t, 1),
        ),
        JobOutcome {
            attempts: 1,
            ..outcome(&replayed, OutcomeStatus::Applied, plus(t, 3))
        },
    ];
    let stranger = outcome(&any_job(), OutcomeStatus::Applied, plus(t, 4));
    record(&b, &recorded[0]).await;
    record(&b, &stranger).await;
    for later in &recorded[1..] {
        record(&b, later).await;
    }
    let listed = match b.ledger.outcomes(&someone).await {
        Ok(listed) => listed,
        Err(error) => panic!("outcomes failed: {error}"),
    };
    let newest_first = vec![
        recorded[3].clone(),
        recorded[1].clone(),
        recorded[2].clone(),
        recorded[0].clone(),
    ];
    assert_eq!(listed, newest_first);
    match b.ledger.outcomes(&stranger.primary_id).await {
        Ok(listed) => assert_eq!(listed, vec![stranger]),
        Err(error) => panic!("outcomes failed: {error}"),
    }
    match b.ledger.outcomes(&patron()).await {
        Ok(listed) => assert!(listed.is_empty(), "a patron with no jobs has no outcomes"),
        Err(error) => panic!("outcomes failed: {error}"),
    }
}

/// Only a release after a failed try counts it: the next claim proceeds with
/// the tries so far, while claims refused as Busy (waits) count nothing; a
/// dead-lettered job starts afresh when replayed.
pub async fn failed_tries_are_counted_and_waits_are_not(b: Backend) {
    let (someone, t) = (patron(), now_ms());
    let job = job_at(&someone, 0, plus(t, -60));
    let other = job_at(&someone, 0, plus(t, -30));
    assert_eq!(claim(&b, &job, t).await, Claim::Proceed { tries: 0 });
    release(&b, &job).await;
    assert_eq!(
        claim(&b, &other, plus(t, 1)).await,
        Claim::Proceed { tries: 0 }
    );
    for wait in 2..12 {
        assert_eq!(
            claim(&b, &job, plus(t, wait)).await,
            Claim::Busy,
            "the lane is the other event's"
        );
    }
    release(&b, &other).await;
    assert_eq!(
        claim(&b, &job, plus(t, 13)).await,
        Claim::Proceed { tries: 1 },
        "ten waits later, still one failed try"
    );
    release(&b, &job).await;
    assert_eq!(
        claim(&b, &job, plus(t, 14)).await,
        Claim::Proceed { tries: 2 }
    );
    record(&b, &outcome(&job, OutcomeStatus::DeadLettered, plus(t, 15))).await;
    assert_eq!(
        claim(&b, &job, plus(t, 16)).await,
        Claim::Proceed { tries: 0 },
        "a replayed dead letter has all its attempts again"
    );
}

/// A renewed claim and lane outlive their first lease: the job stays Busy for
/// its twin delivery and its patron's lane for the next event, until the
/// renewed lease lapses. Renewing a job no longer held in progress is false.
pub async fn renewal_keeps_the_claim_and_the_lane(b: Backend) {
    let (someone, t) = (patron(), now_ms());
    let job = job_at(&someone, 0, plus(t, -60));
    let next = job_at(&someone, 0, plus(t, -30));
    assert_eq!(claim(&b, &job, t).await, Claim::Proceed { tries: 0 });
    assert!(renew(&b, &job, plus(t, 50)).await, "held, so renewed");
    assert_eq!(claim(&b, &job, plus(t, 100)).await, Claim::Busy);
    assert_eq!(claim(&b, &next, plus(t, 100)).await, Claim::Busy);
    assert_eq!(
        claim(&b, &next, plus(t, 111)).await,
        Claim::Proceed { tries: 0 },
        "once the renewed lease lapses, the lane may be taken"
    );
    assert!(
        !renew(&b, &job, plus(t, 112)).await,
        "the lane is the next event's now"
    );
    record(&b, &outcome(&next, OutcomeStatus::Applied, plus(t, 113))).await;
    assert!(
        !renew(&b, &next, plus(t, 114)).await,
        "a finished job is not renewed"
    );
    let never_claimed = any_job();
    assert!(!renew(&b, &never_claimed, t).await);
}

/// A patron's known holdings: where patron-hub noted a write, and where it
/// holds a position (an applied job), per institution and patron only.
pub async fn known_holdings_are_noted_writes_and_positions(b: Backend) {
    let (someone, stranger, t) = (patron(), patron(), now_ms());
    let (a, bee, c) = (
        crate::support::institution(0),
        crate::support::institution(1),
        crate::support::institution(2),
    );
    for institution in [&a, &bee, &c] {
        assert!(!known_holding(&b, &someone, institution).await);
    }
    for _ in 0..2 {
        let noted = [(someone.clone(), a.clone()), (someone.clone(), a.clone())];
        if let Err(error) = b.ledger.note_holdings(&noted).await {
            panic!("note_holdings failed: {error}");
        }
    }
    assert!(known_holding(&b, &someone, &a).await, "a noted write");
    let applied = job_at(&someone, 1, plus(t, -60));
    assert_eq!(claim(&b, &applied, t).await, Claim::Proceed { tries: 0 });
    record(&b, &outcome(&applied, OutcomeStatus::Applied, plus(t, 1))).await;
    assert!(known_holding(&b, &someone, &bee).await, "an applied job");
    let position = |institution| {
        let (b, someone) = (b.clone(), someone.clone());
        async move {
            match b.ledger.position(&someone, &institution).await {
                Ok(position) => position,
                Err(error) => panic!("position failed: {error}"),
            }
        }
    };
    assert_eq!(position(bee.clone()).await, Some(applied.event_time));
    assert_eq!(
        position(a.clone()).await,
        None,
        "a noted write is no position"
    );
    assert!(!known_holding(&b, &someone, &c).await, "only where");
    assert!(!known_holding(&b, &stranger, &a).await, "only whom");
}

/// Renews with the cases' lease, failing the case on a storage error.
async fn renew(b: &Backend, job: &Job, now: DateTime<Utc>) -> bool {
    match b.ledger.renew(job, now, LEASE).await {
        Ok(renewed) => renewed,
        Err(error) => panic!("renew of {} failed: {error}", job.key()),
    }
}

/// Whether the ledger knows `patron`'s record in `institution` as the patron's.
async fn known_holding(
    b: &Backend,
    patron: &PrimaryId,
    institution: &patron_hub_domain::InstitutionCode,
) -> bool {
    match b.ledger.known_holding(patron, institution).await {
        Ok(known) => known,
        Err(error) => panic!("known_holding failed: {error}"),
    }
}
