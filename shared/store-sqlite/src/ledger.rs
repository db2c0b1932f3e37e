//! The distribution ledger: one claim per job (held with a lease, released
//! after a failed try with the count of its tries, or done), one lane per
//! patron and institution (the job applying a change there, held with
//! the same lease), the time of the last event applied to each patron in each
//! institution, the patrons patron-hub wrote in each institution, and every
//! outcome, listed per patron for the staff console.

use crate::codec::{
    attempts, db_error, from_json, micros, micros_after, parse_time, time_text, to_json,
};
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use patron_hub_domain::distribution::{JobOutcome, OutcomeStatus};
use patron_hub_domain::ports::{Claim, DistributionLedger};
use patron_hub_domain::{InstitutionCode, Job, PrimaryId, StoreError};
use rusqlite::{params, OptionalExtension, Transaction};
use std::time::Duration;

/// Every outcome of one patron, newest first (`job_outcomes_by_patron`, read backwards).
const SELECT_OUTCOMES: &str = "SELECT outcome FROM job_outcomes WHERE primary_id = ?1
     ORDER BY finished_at_us DESC, id DESC";

/// The time of the last event applied to `patron` in `institution`, if any.
fn last_applied(
    tx: &Transaction<'_>,
    patron: &PrimaryId,
    institution: &InstitutionCode,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let stored: Option<String> = tx
        .query_row(
            "SELECT event_time FROM patron_last_applied WHERE primary_id = ?1 AND institution = ?2",
            params![patron.as_str(), institution.as_str()],
            |row| row.get(0),
        )
        .optional()
        .map_err(db_error)?;
    stored.as_deref().map(parse_time).transpose()
}

/// Decides a claim and, when it is granted, holds the job until the lease ends.
fn claim(
    tx: &Transaction<'_>,
    job: &Job,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<Claim, StoreError> {
    let (event_id, institution) = (job.event_id.as_str(), job.institution.as_str());
    let held: Option<(String, Option<i64>, i64)> = tx
        .query_row(
            "SELECT state, lease_until_us, tries FROM job_claims
             WHERE event_id = ?1 AND institution = ?2",
            params![event_id, institution],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
        .map_err(db_error)?;
    let tries = match held {
        Some((state, _, _)) if state == "done" => return Ok(Claim::AlreadyDone),
        Some((state, Some(lease_until_us), _))
            if state == "held" && lease_until_us > micros(now) =>
        {
            return Ok(Claim::Busy)
        }
        Some((_, _, tries)) => attempts(tries)?,
        None => 0,
    };
    if let Some(newer) = last_applied(tx, &job.primary_id, &job.institution)? {
        if job.event_time < newer {
            return Ok(Claim::Stale { newer });
        }
    }
    if !take_lane(tx, job, now, lease)? {
        return Ok(Claim::Busy);
    }
    tx.execute(
        "INSERT INTO job_claims (event_id, institution, state, lease_until_us)
         VALUES (?1, ?2, 'held', ?3)
         ON CONFLICT (event_id, institution) DO UPDATE SET
             state = 'held', lease_until_us = excluded.lease_until_us",
        params![event_id, institution, micros_after(now, lease)],
    )
    .map_err(db_error)?;
    Ok(Claim::Proceed { tries })
}

/// Extends the job's claim and its patron's lane to `lease_until_us` if the
/// job holds both in progress; true if it did.
fn renew(tx: &Transaction<'_>, job: &Job, lease_until_us: i64) -> Result<bool, StoreError> {
    let claim = tx
        .execute(
            "UPDATE job_claims SET lease_until_us = ?3
             WHERE event_id = ?1 AND institution = ?2 AND state = 'held'",
            params![job.event_id, job.institution.as_str(), lease_until_us],
        )
        .map_err(db_error)?;
    let lane = tx
        .execute(
            "UPDATE patron_lanes SET lease_until_us = ?4
             WHERE primary_id = ?1 AND institution = ?2 AND holder = ?3",
            params![
                job.primary_id.as_str(),
                job.institution.as_str(),
                job.event_id,
                lease_until_us
            ],
        )
        .map_err(db_error)?;
    Ok(claim == 1 && lane == 1)
}

/// Takes the lane of the job's patron in its institution until the lease ends,
/// unless another job holds it under a lease that has not ended. True if taken.
fn take_lane(
    tx: &Transaction<'_>,
    job: &Job,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<bool, StoreError> {
    let taken = tx
        .execute(
            "INSERT INTO patron_lanes (primary_id, institution, holder, lease_until_us)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (primary_id, institution) DO UPDATE SET
                 holder = excluded.holder, lease_until_us = excluded.lease_until_us
             WHERE patron_lanes.holder = excluded.holder OR patron_lanes.lease_until_us <= ?5",
            params![
                job.primary_id.as_str(),
                job.institution.as_str(),
                job.event_id,
                micros_after(now, lease),
                micros(now)
            ],
        )
        .map_err(db_error)?;
    Ok(taken == 1)
}

/// Frees the lane of `patron` in `institution` if the job of `event_id` holds it.
fn free_lane(
    tx: &Transaction<'_>,
    patron: &PrimaryId,
    institution: &InstitutionCode,
    event_id: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM patron_lanes WHERE primary_id = ?1 AND institution = ?2 AND holder = ?3",
        params![patron.as_str(), institution.as_str(), event_id],
    )
    .map(drop)
    .map_err(db_error)
}

/// Keeps the outcome, settles the job's claim, frees its lane, and moves the patron's last
/// applied event forward (never back) when the job was applied.
fn record(tx: &Transaction<'_>, outcome: &JobOutcome) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO job_outcomes (primary_id, finished_at_us, outcome) VALUES (?1, ?2, ?3)",
        params![
            outcome.primary_id.as_str(),
            micros(outcome.finished_at),
            to_json(outcome)?
        ],
    )
    .map_err(db_error)?;
    let key = params![outcome.event_id, outcome.institution.as_str()];
    match outcome.status {
        OutcomeStatus::Applied | OutcomeStatus::Skipped => tx.execute(
            "INSERT INTO job_claims (event_id, institution, state, lease_until_us)
             VALUES (?1, ?2, 'done', NULL)
             ON CONFLICT (event_id, institution) DO UPDATE SET state = 'done', lease_until_us = NULL",
            key,
        ),
        // A dead letter may be replayed: its job must be claimable again,
        // with all its attempts ahead of it.
        OutcomeStatus::DeadLettered => tx.execute(
            "DELETE FROM job_claims WHERE event_id = ?1 AND institution = ?2",
            key,
        ),
    }
    .map_err(db_error)?;
    free_lane(
        tx,
        &outcome.primary_id,
        &outcome.institution,
        &outcome.event_id,
    )?;
    if outcome.status == OutcomeStatus::Applied {
        advance(
            tx,
            &outcome.primary_id,
            &outcome.institution,
            outcome.event_time,
        )?;
    }
    Ok(())
}

/// Moves the last applied event of `patron` in `institution` forward to
/// `event_time` (never back).
pub(crate) fn advance(
    tx: &Transaction<'_>,
    patron: &PrimaryId,
    institution: &InstitutionCode,
    event_time: DateTime<Utc>,
) -> Result<(), StoreError> {
    let known = last_applied(tx, patron, institution)?;
    if known.is_some_and(|known| event_time <= known) {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO patron_last_applied (primary_id, institution, event_time)
         VALUES (?1, ?2, ?3)
         ON CONFLICT (primary_id, institution) DO UPDATE SET event_time = excluded.event_time",
        params![patron.as_str(), institution.as_str(), time_text(event_time)],
    )
    .map(drop)
    .map_err(db_error)
}

#[async_trait]
impl DistributionLedger for SqliteStore {
    async fn claim(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let job = job.clone();
        self.write(move |tx| claim(tx, &job, now, lease)).await
    }

    async fn record(&self, outcome: &JobOutcome) -> Result<(), StoreError> {
        let outcome = outcome.clone();
        self.write(move |tx| record(tx, &outcome)).await
    }

    async fn release(&self, job: &Job) -> Result<(), StoreError> {
        let job = job.clone();
        self.write(move |tx| {
            tx.execute(
                "UPDATE job_claims SET state = 'released', lease_until_us = NULL, tries = tries + 1
                 WHERE event_id = ?1 AND institution = ?2 AND state = 'held'",
                params![job.event_id, job.institution.as_str()],
            )
            .map_err(db_error)?;
            free_lane(tx, &job.primary_id, &job.institution, &job.event_id)
        })
        .await
    }

    async fn renew(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let (job, lease_until_us) = (job.clone(), micros_after(now, lease));
        self.write(move |tx| renew(tx, &job, lease_until_us)).await
    }

    async fn position(
        &self,
        patron: &PrimaryId,
        institution: &InstitutionCode,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let (patron, institution) = (patron.clone(), institution.clone());
        self.read(move |tx| last_applied(tx, &patron, &institution))
            .await
    }

    async fn note_holdings(
        &self,
        holdings: &[(PrimaryId, InstitutionCode)],
    ) -> Result<(), StoreError> {
        if holdings.is_empty() {
            return Ok(());
        }
        let holdings = holdings.to_vec();
        self.write(move |tx| {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO patron_writes (primary_id, institution) VALUES (?1, ?2)",
                )
                .map_err(db_error)?;
            for (patron, institution) in &holdings {
                insert
                    .execute(params![patron.as_str(), institution.as_str()])
                    .map_err(db_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn known_holding(
        &self,
        patron: &PrimaryId,
        institution: &InstitutionCode,
    ) -> Result<bool, StoreError> {
        let key = (patron.as_str().to_owned(), institution.as_str().to_owned());
        self.read(move |tx| {
            tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM patron_writes WHERE primary_id = ?1 AND institution = ?2)
                     OR EXISTS (SELECT 1 FROM patron_last_applied
                                WHERE primary_id = ?1 AND institution = ?2)",
                params![key.0, key.1],
                |row| row.get(0),
            )
            .map_err(db_error)
        })
        .await
    }

    async fn outcomes(&self, primary_id: &PrimaryId) -> Result<Vec<JobOutcome>, StoreError> {
        let patron = primary_id.as_str().to_owned();
        self.read(move |tx| {
            let mut select = tx.prepare_cached(SELECT_OUTCOMES).map_err(db_error)?;
            let stored = select
                .query_map(params![patron], |row| row.get::<_, String>(0))
                .map_err(db_error)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_error)?;
            stored.iter().map(|outcome| from_json(outcome)).collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::{migrated_in_memory, query_plan};

    #[test]
    fn a_patrons_outcomes_are_an_index_range_scan() {
        let plan = query_plan(&migrated_in_memory(), SELECT_OUTCOMES);
        assert!(
            plan.contains("USING INDEX job_outcomes_by_patron"),
            "{plan}"
        );
        assert!(!plan.contains("SCAN"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
