//! The durable local job queues: one table holds every institution's jobs, each
//! with its visibility time and receive count (the `attempts` column: every
//! hand-out, waits included; the ledger counts the tries that reached Alma).
//! The receive count doubles as the lease's fencing token: a delivery's handle names the job and the attempt it
//! was handed out at, so a worker whose lease ran out and whose job was handed
//! out again can no longer complete, retry or dead-letter it.

use crate::codec::{
    attempts, db_error, from_json, micros, micros_after, parse_time, time_text, to_json,
};
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use patron_hub_domain::distribution::FailureReason;
use patron_hub_domain::ports::{DeadLetter, Delivery, JobQueue, QueueAge};
use patron_hub_domain::{InstitutionCode, Job, StoreError};
use rusqlite::{params, OptionalExtension, Transaction};
use std::time::Duration;

/// The visible jobs of one institution, oldest first: a range scan of
/// `queue_jobs_by_visibility`, however many jobs other institutions or later
/// visibility times hold.
const SELECT_VISIBLE: &str = "SELECT id, job, attempts, queued_at_us FROM queue_jobs
     WHERE institution = ?1 AND visible_at_us <= ?2
     ORDER BY visible_at_us, id LIMIT ?3";

/// How many jobs one institution's queue holds: a count over the
/// institution's range of one of its indexes.
const COUNT_QUEUED: &str = "SELECT count(*) FROM queue_jobs WHERE institution = ?1";

/// When the oldest job of one institution's queue was queued: the first entry
/// of its range of `queue_jobs_by_age`.
const OLDEST_QUEUED: &str = "SELECT min(queued_at_us) FROM queue_jobs WHERE institution = ?1";

/// The dead letters of one institution, oldest first (`dead_letters_by_institution`).
const SELECT_DEAD_LETTERS: &str = "SELECT id, job, reason_code, reason_message, attempts, dead_at
     FROM dead_letters WHERE institution = ?1 ORDER BY dead_at_us, id";

/// Puts `jobs` on their institutions' queues, queued and visible at `now_us`.
pub(crate) fn insert_jobs(
    tx: &Transaction<'_>,
    jobs: &[Job],
    now_us: i64,
) -> Result<(), StoreError> {
    for job in jobs {
        insert_job(tx, job.institution.as_str(), &to_json(job)?, now_us)?;
    }
    Ok(())
}

/// Puts one stored job (JSON) on `institution`'s queue as a fresh job (no
/// attempt yet), queued and visible at `now_us`.
fn insert_job(
    tx: &Transaction<'_>,
    institution: &str,
    job: &str,
    now_us: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO queue_jobs (institution, job, attempts, visible_at_us, queued_at_us)
         VALUES (?1, ?2, 0, ?3, ?3)",
    )
    .and_then(|mut insert| insert.execute(params![institution, job, now_us]))
    .map(drop)
    .map_err(db_error)
}

/// Which queued job, handed out at which attempt, a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lease {
    job_id: i64,
    attempt: i64,
}

impl Lease {
    /// The delivery handle naming this lease.
    fn handle(self) -> String {
        format!("{}.{}", self.job_id, self.attempt)
    }

    /// The lease a delivery's handle names.
    fn of(delivery: &Delivery) -> Result<Self, StoreError> {
        delivery
            .handle
            .split_once('.')
            .and_then(|(id, attempt)| {
                Some(Self {
                    job_id: id.parse().ok()?,
                    attempt: attempt.parse().ok()?,
                })
            })
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "{:?} is not a handle of the SQLite job queue",
                    delivery.handle
                ))
            })
    }
}

/// Hands out up to `max` visible jobs of one institution, oldest visible first,
/// hiding each until `hidden_until_us` and counting the attempt.
fn take_visible(
    tx: &Transaction<'_>,
    institution: &str,
    max: i64,
    now_us: i64,
    hidden_until_us: i64,
) -> Result<Vec<Delivery>, StoreError> {
    let mut select = tx.prepare_cached(SELECT_VISIBLE).map_err(db_error)?;
    let rows = select
        .query_map(params![institution, now_us, max], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, Option<i64>>(3)?,
            ))
        })
        .map_err(db_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_error)?;
    let mut hide = tx
        .prepare_cached("UPDATE queue_jobs SET attempts = ?2, visible_at_us = ?3 WHERE id = ?1")
        .map_err(db_error)?;
    let mut deliveries = Vec::with_capacity(rows.len());
    for (job_id, job, previous, queued_at_us) in rows {
        let attempt = previous.saturating_add(1);
        hide.execute(params![job_id, attempt, hidden_until_us])
            .map_err(db_error)?;
        // As SQS does with a body that is not a job: it is not handed out,
        // stays hidden for the lease and comes back later (logged each
        // time), and never holds up the jobs behind it.
        let job = match from_json(&job) {
            Ok(job) => job,
            Err(error) => {
                tracing::error!(job_id, attempt, %error, "queued job unreadable; left on the queue");
                continue;
            }
        };
        deliveries.push(Delivery {
            handle: Lease { job_id, attempt }.handle(),
            job,
            receive_count: attempts(attempt)?,
            queued_at: queued_at_us.and_then(DateTime::from_timestamp_micros),
        });
    }
    Ok(deliveries)
}

/// Removes the leased job; false (with a warning) if its lease was superseded by
/// a later delivery or the job is already settled.
fn remove_leased(tx: &Transaction<'_>, lease: Lease) -> Result<bool, StoreError> {
    let removed = tx
        .execute(
            "DELETE FROM queue_jobs WHERE id = ?1 AND attempts = ?2",
            params![lease.job_id, lease.attempt],
        )
        .map_err(db_error)?;
    if removed == 0 {
        warn_superseded(lease);
    }
    Ok(removed > 0)
}

/// Says that a worker settled a delivery it no longer held, which is left as is.
fn warn_superseded(lease: Lease) {
    tracing::warn!(
        handle = %lease.handle(),
        "delivery no longer held (its lease ran out and the job was handed out again, or it is settled)"
    );
}

/// One dead letter as stored, before its JSON and times are read.
struct StoredDeadLetter {
    id: i64,
    job: String,
    reason: FailureReason,
    attempts: i64,
    dead_at: String,
}

impl StoredDeadLetter {
    /// Reads the columns of the dead-letter query in [`JobQueue::dead_letters`].
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            job: row.get(1)?,
            reason: FailureReason {
                code: row.get(2)?,
                message: row.get(3)?,
            },
            attempts: row.get(4)?,
            dead_at: row.get(5)?,
        })
    }

    /// The dead letter as the domain sees it.
    fn into_dead_letter(self) -> Result<DeadLetter, StoreError> {
        Ok(DeadLetter {
            id: self.id.to_string(),
            job: from_json(&self.job)?,
            reason: self.reason,
            attempts: attempts(self.attempts)?,
            dead_at: parse_time(&self.dead_at)?,
        })
    }
}

impl SqliteStore {
    /// Hides the leased job for `delay` from now, unless it was handed out
    /// again since (its lease had lapsed): a retry's wait or a heartbeat.
    async fn hide_for(&self, delivery: &Delivery, delay: Duration) -> Result<(), StoreError> {
        let lease = Lease::of(delivery)?;
        let visible_at_us = micros_after(self.now(), delay);
        self.write(move |tx| {
            let moved = tx
                .execute(
                    "UPDATE queue_jobs SET visible_at_us = ?3 WHERE id = ?1 AND attempts = ?2",
                    params![lease.job_id, lease.attempt, visible_at_us],
                )
                .map_err(db_error)?;
            if moved == 0 {
                warn_superseded(lease);
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl JobQueue for SqliteStore {
    async fn enqueue(&self, jobs: &[Job]) -> Result<(), StoreError> {
        if jobs.is_empty() {
            return Ok(());
        }
        let (jobs, now_us) = (jobs.to_vec(), micros(self.now()));
        self.write(move |tx| insert_jobs(tx, &jobs, now_us)).await
    }

    async fn receive(
        &self,
        institution: &InstitutionCode,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Delivery>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let institution = institution.as_str().to_owned();
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let now = self.now();
        let (now_us, hidden_until_us) = (micros(now), micros_after(now, lease));
        self.write(move |tx| take_visible(tx, &institution, max, now_us, hidden_until_us))
            .await
    }

    async fn complete(&self, delivery: &Delivery) -> Result<(), StoreError> {
        let lease = Lease::of(delivery)?;
        self.write(move |tx| remove_leased(tx, lease).map(drop))
            .await
    }

    async fn retry_later(&self, delivery: &Delivery, delay: Duration) -> Result<(), StoreError> {
        self.hide_for(delivery, delay).await
    }

    async fn keep_hidden(&self, delivery: &Delivery, lease: Duration) -> Result<(), StoreError> {
        self.hide_for(delivery, lease).await
    }

    async fn dead_letter(
        &self,
        delivery: &Delivery,
        reason: &FailureReason,
        attempts: u32,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let lease = Lease::of(delivery)?;
        let job = to_json(&delivery.job)?;
        let institution = delivery.job.institution.as_str().to_owned();
        let reason = reason.clone();
        self.write(move |tx| {
            if remove_leased(tx, lease)? {
                tx.execute(
                    "INSERT INTO dead_letters
                     (institution, job, reason_code, reason_message, attempts, dead_at, dead_at_us)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        institution,
                        job,
                        reason.code,
                        reason.message,
                        attempts,
                        time_text(at),
                        micros(at)
                    ],
                )
                .map_err(db_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn depth(&self, institution: &InstitutionCode) -> Result<u64, StoreError> {
        let institution = institution.as_str().to_owned();
        self.read(move |tx| {
            let count: i64 = tx
                .prepare_cached(COUNT_QUEUED)
                .and_then(|mut count| count.query_row(params![institution], |row| row.get(0)))
                .map_err(db_error)?;
            Ok(u64::try_from(count).unwrap_or_default())
        })
        .await
    }

    async fn oldest_job_age(&self, institution: &InstitutionCode) -> Result<QueueAge, StoreError> {
        let institution = institution.as_str().to_owned();
        let oldest_us: Option<i64> = self
            .read(move |tx| {
                tx.prepare_cached(OLDEST_QUEUED)
                    .and_then(|mut oldest| oldest.query_row(params![institution], |row| row.get(0)))
                    .map_err(db_error)
            })
            .await?;
        Ok(match oldest_us {
            None => QueueAge::Empty,
            Some(queued_at_us) => {
                let waited_us = micros(self.now()).saturating_sub(queued_at_us).max(0);
                QueueAge::Oldest(Duration::from_micros(waited_us.unsigned_abs()))
            }
        })
    }

    async fn dead_letters(
        &self,
        institution: &InstitutionCode,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let institution = institution.as_str().to_owned();
        self.read(move |tx| {
            let mut select = tx.prepare_cached(SELECT_DEAD_LETTERS).map_err(db_error)?;
            let stored = select
                .query_map(params![institution], StoredDeadLetter::read)
                .map_err(db_error)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_error)?;
            stored
                .into_iter()
                .map(StoredDeadLetter::into_dead_letter)
                .collect()
        })
        .await
    }

    async fn replay(
        &self,
        institution: &InstitutionCode,
        dead_letter_id: &str,
    ) -> Result<bool, StoreError> {
        let Ok(id) = dead_letter_id.parse::<i64>() else {
            return Ok(false);
        };
        let institution = institution.as_str().to_owned();
        let now_us = micros(self.now());
        self.write(move |tx| {
            let job: Option<String> = tx
                .query_row(
                    "DELETE FROM dead_letters WHERE id = ?1 AND institution = ?2 RETURNING job",
                    params![id, institution],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db_error)?;
            match job {
                Some(job) => insert_job(tx, &institution, &job, now_us).map(|()| true),
                None => Ok(false),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::{migrated_in_memory, query_plan};

    #[test]
    fn receive_depth_and_dead_letters_are_index_range_scans() {
        let conn = migrated_in_memory();
        for (sql, index) in [
            (SELECT_VISIBLE, "queue_jobs_by_visibility"),
            (SELECT_DEAD_LETTERS, "dead_letters_by_institution"),
            // Either index of the institution's jobs covers the count.
            (COUNT_QUEUED, "queue_jobs_by_"),
            (OLDEST_QUEUED, "queue_jobs_by_age"),
        ] {
            let plan = query_plan(&conn, sql);
            assert!(plan.contains(&format!("INDEX {index}")), "{plan}");
            assert!(!plan.contains("SCAN"), "{plan}");
            assert!(
                !plan.contains("TEMP B-TREE"),
                "sorts instead of reading in order: {plan}"
            );
        }
    }

    fn link_job() -> Job {
        serde_json::from_value(serde_json::json!({
            "event_id": "e", "institution": "A", "origin": "B", "action": "link",
            "primary_id": "p", "event_time": "2024-01-01T00:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn an_unreadable_job_stays_hidden_and_never_holds_up_the_jobs_behind_it() {
        let mut conn = migrated_in_memory();
        let tx = conn.transaction().unwrap();
        insert_job(&tx, "A", "{not a job", 0).unwrap();
        insert_jobs(&tx, &[link_job()], 0).unwrap();
        for round in 1..=2 {
            let now_us = round * 1_000;
            let taken = take_visible(&tx, "A", 10, now_us, now_us + 500).unwrap();
            let jobs: Vec<&Job> = taken.iter().map(|d| &d.job).collect();
            assert_eq!(jobs, [&link_job()], "round {round}");
            let unreadable: (i64, i64) = tx
                .query_row(
                    "SELECT attempts, visible_at_us FROM queue_jobs WHERE job = '{not a job'",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .unwrap();
            assert_eq!(unreadable, (round, now_us + 500), "counted, hidden, kept");
        }
    }

    #[test]
    fn foreign_handles_are_refused_not_panicked_on() {
        let job = link_job();
        for handle in ["", "12", "12.x", "receipt-handle-from-sqs", "1.2.3"] {
            let delivery = Delivery {
                handle: handle.to_owned(),
                job: job.clone(),
                receive_count: 1,
                queued_at: None,
            };
            assert!(
                matches!(Lease::of(&delivery), Err(StoreError::Corrupt(_))),
                "{handle}"
            );
        }
        let lease = Lease {
            job_id: 7,
            attempt: 3,
        };
        let delivery = Delivery {
            handle: lease.handle(),
            job,
            receive_count: 3,
            queued_at: None,
        };
        assert_eq!(Lease::of(&delivery).unwrap(), lease);
    }
}
