//! Cases of the job queues: durable per-institution queues with leases, delayed
//! retries, dead letters and replay. Time here is real (SQS cannot be given a fake
//! clock), so the cases use short leases and allow one second of slack.

use crate::support::{
    assert_distinct, assert_empty, event_id, institution, keys, link, now_ms, patron, receive,
    receive_count, receive_one, upsert, LONG_LEASE, PATIENCE,
};
use crate::Backend;
use chrono::TimeDelta;
use patron_hub_domain::distribution::FailureReason;
use patron_hub_domain::ports::{Delivery, QueueAge};
use patron_hub_domain::{InstitutionCode, Job};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The slack allowed on every timing: SQS measures visibility in whole seconds.
const SLACK: Duration = Duration::from_secs(1);

/// Enqueues, failing the case on a storage error.
async fn enqueue(b: &Backend, jobs: &[Job]) {
    if let Err(error) = b.queue.enqueue(jobs).await {
        panic!("enqueue of {} jobs failed: {error}", jobs.len());
    }
}

/// `count` upsert jobs of new patrons for `target`.
fn upserts(target: &InstitutionCode, count: usize) -> Vec<Job> {
    (0..count)
        .map(|_| upsert(&event_id(), target, &patron(), now_ms()))
        .collect()
}

/// The event ids of some jobs, to compare what was queued with what came out.
fn event_ids<'a>(jobs: impl IntoIterator<Item = &'a Job>) -> HashSet<String> {
    jobs.into_iter().map(|job| job.event_id.clone()).collect()
}

/// The delivery of `job` among `deliveries`.
fn delivery_of<'a>(deliveries: &'a [Delivery], job: &Job) -> &'a Delivery {
    deliveries
        .iter()
        .find(|d| d.job.event_id == job.event_id)
        .unwrap_or_else(|| {
            panic!(
                "job {} was not handed out: {:?}",
                job.key(),
                keys(deliveries)
            )
        })
}

/// Settles a delivery as "try again after `delay`", failing the case on error.
async fn retry_later(b: &Backend, delivery: &Delivery, delay: Duration) {
    if let Err(error) = b.queue.retry_later(delivery, delay).await {
        panic!("retry_later of {} failed: {error}", delivery.job.key());
    }
}

/// Replays a dead letter, failing the case on a storage error.
async fn replay(b: &Backend, institution: &InstitutionCode, id: &str) -> bool {
    match b.queue.replay(institution, id).await {
        Ok(replayed) => replayed,
        Err(error) => panic!("replay of {id:?} on {institution} failed: {error}"),
    }
}

/// Lists dead letters, failing the case on a storage error.
async fn dead_letters(
    b: &Backend,
    institution: &InstitutionCode,
) -> Vec<patron_hub_domain::ports::DeadLetter> {
    match b.queue.dead_letters(institution).await {
        Ok(letters) => letters,
        Err(error) => panic!("dead_letters of {institution} failed: {error}"),
    }
}

/// Receives a job, puts it back at once and receives it again: its second delivery.
async fn second_attempt(b: &Backend, job: &Job, lease: Duration) -> Delivery {
    let queue = b.queue.as_ref();
    let first = receive_one(queue, &job.institution, LONG_LEASE, PATIENCE).await;
    retry_later(b, &first, Duration::ZERO).await;
    let second = receive_one(queue, &job.institution, lease, PATIENCE).await;
    assert_eq!(second.receive_count, 2);
    second
}

/// A queued job comes out intact (user record included, or absent), received once.
pub async fn receive_returns_the_job_intact(b: Backend) {
    let a = institution(0);
    let jobs = vec![
        upsert(&event_id(), &a, &patron(), now_ms()),
        link(&event_id(), &a),
    ];
    enqueue(&b, &jobs).await;
    let deliveries = receive_count(b.queue.as_ref(), &a, 2, 10, LONG_LEASE, PATIENCE).await;
    for job in &jobs {
        let delivery = delivery_of(&deliveries, job);
        assert_eq!(&delivery.job, job, "the job changed on the queue");
        assert_eq!(
            delivery.receive_count, 1,
            "the first delivery is received once"
        );
        assert!(!delivery.handle.is_empty(), "a delivery needs a handle");
    }
}

/// A received job stays hidden while its lease runs, then comes back, received twice.
pub async fn received_job_is_hidden_during_its_lease_then_returns(b: Backend) {
    let a = institution(0);
    let job = upsert(&event_id(), &a, &patron(), now_ms());
    enqueue(&b, std::slice::from_ref(&job)).await;
    let lease = Duration::from_secs(3);
    let queue = b.queue.as_ref();
    let first = receive_one(queue, &a, lease, PATIENCE).await;
    assert_eq!(first.receive_count, 1);
    assert_empty(queue, &a, "a leased job is hidden").await;
    tokio::time::sleep(lease - SLACK).await;
    assert_empty(queue, &a, "a leased job is hidden until its lease ends").await;
    let again = receive_one(queue, &a, LONG_LEASE, 3 * SLACK).await;
    assert_eq!(again.job, job);
    assert_eq!(
        again.receive_count, 2,
        "the second delivery is received twice"
    );
}

/// A completed job never comes back, while an unsettled one leased alongside does.
pub async fn complete_removes_the_job_for_good(b: Backend) {
    let a = institution(0);
    let jobs = upserts(&a, 2);
    let (done, unsettled) = (&jobs[0], &jobs[1]);
    enqueue(&b, &jobs).await;
    let queue = b.queue.as_ref();
    let lease = Duration::from_secs(1);
    let deliveries = receive_count(queue, &a, 2, 10, lease, PATIENCE).await;
    if let Err(error) = queue.complete(delivery_of(&deliveries, done)).await {
        panic!("complete failed: {error}");
    }
    tokio::time::sleep(lease + SLACK).await;
    let back = receive_one(queue, &a, LONG_LEASE, PATIENCE).await;
    assert_eq!(
        &back.job, unsettled,
        "only the job that was not completed may come back"
    );
    assert_empty(queue, &a, "a completed job is gone for good").await;
}

/// `retry_later` with no delay makes the job visible again at once, received twice.
pub async fn retry_later_without_delay_makes_it_visible_at_once(b: Backend) {
    let a = institution(0);
    let job = upsert(&event_id(), &a, &patron(), now_ms());
    enqueue(&b, std::slice::from_ref(&job)).await;
    let queue = b.queue.as_ref();
    let first = receive_one(queue, &a, LONG_LEASE, PATIENCE).await;
    retry_later(&b, &first, Duration::ZERO).await;
    let again = receive_one(queue, &a, LONG_LEASE, SLACK).await;
    assert_eq!(again.job, job);
    assert_eq!(again.receive_count, 2);
}

/// `retry_later` with a delay hides the job for about that delay.
pub async fn retry_later_hides_it_for_the_delay(b: Backend) {
    let a = institution(0);
    let job = upsert(&event_id(), &a, &patron(), now_ms());
    enqueue(&b, std::slice::from_ref(&job)).await;
    let queue = b.queue.as_ref();
    let first = receive_one(queue, &a, LONG_LEASE, PATIENCE).await;
    let delay = Duration::from_secs(3);
    let asked_at = Instant::now();
    retry_later(&b, &first, delay).await;
    assert_empty(queue, &a, "a job retried later is hidden for the delay").await;
    let again = receive_one(queue, &a, LONG_LEASE, delay + 2 * SLACK).await;
    assert!(
        asked_at.elapsed() >= delay - SLACK,
        "came back after {:?}, before the delay of {delay:?}",
        asked_at.elapsed()
    );
    assert_eq!(again.job, job);
    assert_eq!(again.receive_count, 2);
}

/// `receive` never hands out more than `max` jobs (none for 0), and repeated
/// receives hand out every job once.
pub async fn receive_respects_max(b: Backend) {
    let a = institution(0);
    let jobs = upserts(&a, 5);
    enqueue(&b, &jobs).await;
    let queue = b.queue.as_ref();
    let none = receive(queue, &a, 0, LONG_LEASE).await;
    assert!(
        none.is_empty(),
        "receive(max = 0) handed out {:?}",
        keys(&none)
    );
    let all = receive_count(queue, &a, 5, 2, LONG_LEASE, PATIENCE).await;
    assert_distinct(&all);
    assert_eq!(event_ids(all.iter().map(|d| &d.job)), event_ids(&jobs));
}

/// Each institution's queue holds only its own jobs.
pub async fn institutions_are_isolated(b: Backend) {
    let (a, bee, c) = (institution(0), institution(1), institution(2));
    let for_a = upsert(&event_id(), &a, &patron(), now_ms());
    let for_b = link(&event_id(), &bee);
    enqueue(&b, &[for_a.clone(), for_b.clone()]).await;
    let queue = b.queue.as_ref();
    assert_empty(queue, &c, "nothing was queued for this institution").await;
    assert_eq!(
        receive_one(queue, &a, LONG_LEASE, PATIENCE).await.job,
        for_a
    );
    assert_eq!(
        receive_one(queue, &bee, LONG_LEASE, PATIENCE).await.job,
        for_b
    );
    assert_empty(queue, &a, "the other institution's job stays on its queue").await;
    assert_empty(
        queue,
        &bee,
        "the other institution's job stays on its queue",
    )
    .await;
}

/// Four workers receiving at once from one queue never get the same job within
/// its lease, and together they get every job.
pub async fn concurrent_receivers_never_share_a_job(b: Backend) {
    let a = institution(0);
    let jobs = upserts(&a, 12);
    enqueue(&b, &jobs).await;
    let taken = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (queue, a, taken) = (b.queue.clone(), a.clone(), taken.clone());
            tokio::spawn(async move {
                let deadline = Instant::now() + PATIENCE;
                let mut mine = Vec::new();
                while taken.load(Ordering::SeqCst) < 12 && Instant::now() < deadline {
                    let batch = receive(queue.as_ref(), &a, 5, LONG_LEASE).await;
                    taken.fetch_add(batch.len(), Ordering::SeqCst);
                    if batch.is_empty() {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    mine.extend(batch);
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in futures::future::join_all(workers).await {
        all.extend(worker.expect("a receiving worker panicked"));
    }
    assert_distinct(&all);
    assert_eq!(event_ids(all.iter().map(|d| &d.job)), event_ids(&jobs));
}

/// `dead_letter` takes the job off its queue for good and keeps it, oldest first,
/// with its reason, the attempts it is given (not its receive count) and when
/// it was given up, in its institution only.
pub async fn dead_letter_moves_the_job_to_dead_letters(b: Backend) {
    let a = institution(0);
    let jobs = upserts(&a, 3);
    let (twice, once, control) = (&jobs[0], &jobs[1], &jobs[2]);
    let queue = b.queue.as_ref();
    let lease = Duration::from_secs(1);
    enqueue(&b, std::slice::from_ref(twice)).await;
    let second = second_attempt(&b, twice, lease).await;
    enqueue(&b, &[once.clone(), control.clone()]).await;
    let deliveries = receive_count(queue, &a, 2, 10, lease, PATIENCE).await;
    let first = delivery_of(&deliveries, once);
    let reasons = [
        FailureReason {
            code: "401664".to_owned(),
            message: "Mandatory field is missing: last_name".to_owned(),
        },
        FailureReason {
            code: "RETRIES_EXHAUSTED".to_owned(),
            message: "gave up after 1 attempt: «timeout»".to_owned(),
        },
    ];
    let given_up = now_ms();
    let times = [given_up, given_up + TimeDelta::seconds(1)];
    let attempts = [4, 1];
    for ((delivery, attempts), (reason, at)) in [&second, first]
        .into_iter()
        .zip(attempts)
        .zip(reasons.iter().zip(times))
    {
        if let Err(error) = queue.dead_letter(delivery, reason, attempts, at).await {
            panic!("dead_letter of {} failed: {error}", delivery.job.key());
        }
    }
    tokio::time::sleep(lease + SLACK).await;
    let back = receive_one(queue, &a, LONG_LEASE, PATIENCE).await;
    assert_eq!(&back.job, control, "only the unsettled job may come back");
    assert_empty(queue, &a, "a dead letter is off its queue").await;

    let letters = dead_letters(&b, &a).await;
    assert_eq!(letters.len(), 2, "two dead letters, got {letters:?}");
    for (letter, (job, attempts)) in letters.iter().zip([(twice, 4), (once, 1)]) {
        assert_eq!(
            &letter.job, job,
            "dead letters are listed oldest first, intact"
        );
        assert_eq!(letter.attempts, attempts);
    }
    for (letter, (reason, at)) in letters.iter().zip(reasons.iter().zip(times)) {
        assert_eq!(&letter.reason, reason);
        assert_eq!(letter.dead_at, at);
        assert!(
            !letter.id.is_empty(),
            "a dead letter needs an id to replay it by"
        );
    }
    assert_ne!(
        letters[0].id, letters[1].id,
        "dead letter ids must be distinct"
    );
    for other in [institution(1), institution(2)] {
        assert!(
            dead_letters(&b, &other).await.is_empty(),
            "{other} has no dead letters"
        );
    }
}

/// `replay` puts a dead letter back on its own queue as a fresh job (received once) and
/// forgets it; the wrong institution or a second replay is refused with `false`.
pub async fn replay_puts_it_back_as_a_fresh_job(b: Backend) {
    let a = institution(0);
    let job = upsert(&event_id(), &a, &patron(), now_ms());
    enqueue(&b, std::slice::from_ref(&job)).await;
    let second = second_attempt(&b, &job, LONG_LEASE).await;
    let reason = FailureReason {
        code: "401861".to_owned(),
        message: "User not found".to_owned(),
    };
    if let Err(error) = b.queue.dead_letter(&second, &reason, 2, now_ms()).await {
        panic!("dead_letter failed: {error}");
    }
    let letters = dead_letters(&b, &a).await;
    assert_eq!(letters.len(), 1, "one dead letter, got {letters:?}");
    let id = letters[0].id.clone();

    assert!(
        !replay(&b, &institution(1), &id).await,
        "replay on another institution"
    );
    assert_eq!(
        dead_letters(&b, &a).await.len(),
        1,
        "a refused replay keeps the letter"
    );
    assert_empty(
        b.queue.as_ref(),
        &institution(1),
        "a refused replay queues nothing",
    )
    .await;

    assert!(
        replay(&b, &a, &id).await,
        "replay of an existing dead letter"
    );
    assert!(
        dead_letters(&b, &a).await.is_empty(),
        "a replayed letter is gone"
    );
    let fresh = receive_one(b.queue.as_ref(), &a, LONG_LEASE, PATIENCE).await;
    assert_eq!(fresh.job, job);
    assert_eq!(
        fresh.receive_count, 1,
        "a replayed job starts again as never received"
    );
    assert!(
        !replay(&b, &a, &id).await,
        "a dead letter is replayed only once"
    );
    assert_empty(b.queue.as_ref(), &a, "one replay queues the job once").await;
}

/// Replaying an id that names no dead letter (even an empty one) is `false`, not an error.
pub async fn replay_of_an_unknown_dead_letter_is_false(b: Backend) {
    let a = institution(0);
    assert!(!replay(&b, &a, &uuid::Uuid::new_v4().to_string()).await);
    assert!(!replay(&b, &a, "").await);
    assert_empty(b.queue.as_ref(), &a, "replaying nothing queues nothing").await;
}

/// Enqueueing nothing is fine, and 25 jobs of two institutions in one call all arrive
/// on their own queues (SQS sends at most 10 per batch).
pub async fn twenty_five_jobs_in_one_call_all_arrive(b: Backend) {
    let (a, bee) = (institution(0), institution(1));
    enqueue(&b, &[]).await;
    let mut jobs = upserts(&a, 22);
    jobs.extend(upserts(&bee, 3));
    enqueue(&b, &jobs).await;
    let queue = b.queue.as_ref();
    for (code, count) in [(&a, 22), (&bee, 3)] {
        let got = receive_count(queue, code, count, 10, LONG_LEASE, PATIENCE).await;
        assert_distinct(&got);
        let expected = event_ids(jobs.iter().filter(|job| &job.institution == code));
        assert_eq!(event_ids(got.iter().map(|d| &d.job)), expected);
        assert_empty(queue, code, "every job is queued once").await;
    }
}

/// `keep_hidden` (a worker's heartbeat) keeps a job in progress hidden past
/// its first lease, for the new lease; then it comes back as usual.
pub async fn keep_hidden_extends_a_lease_in_progress(b: Backend) {
    let a = institution(0);
    let job = upsert(&event_id(), &a, &patron(), now_ms());
    enqueue(&b, std::slice::from_ref(&job)).await;
    let queue = b.queue.as_ref();
    let lease = Duration::from_secs(2);
    let first = receive_one(queue, &a, lease, PATIENCE).await;
    tokio::time::sleep(lease / 2).await;
    let renewed_at = Instant::now();
    if let Err(error) = queue.keep_hidden(&first, Duration::from_secs(4)).await {
        panic!("keep_hidden failed: {error}");
    }
    tokio::time::sleep(lease + SLACK).await;
    assert_empty(queue, &a, "a renewed lease outlives the first one").await;
    let again = receive_one(queue, &a, LONG_LEASE, Duration::from_secs(4) + 2 * SLACK).await;
    assert!(
        renewed_at.elapsed() >= Duration::from_secs(4) - SLACK,
        "came back {:?} after the renewal of 4 s",
        renewed_at.elapsed()
    );
    assert_eq!(again.job, job);
    assert_eq!(again.receive_count, 2);
}

/// `depth` counts an institution's jobs, hidden ones included, and only its own.
pub async fn depth_counts_the_jobs_waiting_and_in_progress(b: Backend) {
    let (a, bee, c) = (institution(0), institution(1), institution(2));
    let jobs = upserts(&a, 3);
    enqueue(&b, &jobs).await;
    enqueue(&b, &upserts(&bee, 1)).await;
    let depth = |code: InstitutionCode| {
        let queue = b.queue.clone();
        async move {
            match queue.depth(&code).await {
                Ok(depth) => depth,
                Err(error) => panic!("depth of {code} failed: {error}"),
            }
        }
    };
    assert_eq!(depth(a.clone()).await, 3);
    assert_eq!(depth(bee.clone()).await, 1);
    assert_eq!(depth(c.clone()).await, 0);
    let taken = receive_count(b.queue.as_ref(), &a, 3, 10, LONG_LEASE, PATIENCE).await;
    assert_eq!(depth(a.clone()).await, 3, "jobs in progress still count");
    if let Err(error) = b.queue.complete(&taken[0]).await {
        panic!("complete failed: {error}");
    }
    assert_eq!(depth(a).await, 2, "a completed job no longer counts");
}

/// A delivery tells when its job was queued, and the queue's oldest job age
/// is empty before and after, never younger than the wait it measures.
pub async fn oldest_job_age_and_queued_time_follow_the_queue(b: Backend) {
    let a = institution(0);
    let age = |code: InstitutionCode| {
        let queue = b.queue.clone();
        async move {
            match queue.oldest_job_age(&code).await {
                Ok(age) => age,
                Err(error) => panic!("oldest_job_age of {code} failed: {error}"),
            }
        }
    };
    assert_eq!(age(a.clone()).await, QueueAge::Empty, "nothing queued yet");
    let before = chrono::Utc::now() - TimeDelta::milliseconds(SLACK.as_millis() as i64);
    let job = upsert(&event_id(), &a, &patron(), now_ms());
    enqueue(&b, std::slice::from_ref(&job)).await;
    let after = chrono::Utc::now() + TimeDelta::milliseconds(SLACK.as_millis() as i64);
    let queued = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    match age(a.clone()).await {
        QueueAge::Oldest(waited) => assert!(
            waited + SLACK >= queued.elapsed() && waited <= queued.elapsed() + 2 * SLACK,
            "the oldest job waited {waited:?}, queued {:?} ago",
            queued.elapsed()
        ),
        QueueAge::MeasuredElsewhere => {}
        QueueAge::Empty => panic!("a queued job's queue is not empty"),
    }
    let delivery = receive_one(b.queue.as_ref(), &a, LONG_LEASE, PATIENCE).await;
    let Some(queued_at) = delivery.queued_at else {
        panic!("the delivery does not say when its job was queued");
    };
    assert!(
        before <= queued_at && queued_at <= after,
        "queued at {queued_at}, enqueued between {before} and {after}"
    );
    assert_ne!(
        age(a.clone()).await,
        QueueAge::Empty,
        "a job in progress counts"
    );
    if let Err(error) = b.queue.complete(&delivery).await {
        panic!("complete failed: {error}");
    }
    assert_eq!(age(a).await, QueueAge::Empty, "the queue is empty again");
}
