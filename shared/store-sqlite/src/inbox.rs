//! The webhook inbox: an event's receipt, its jobs and its origin's position in
//! the ledger are written in ONE transaction, so an accepted event always has
//! all its jobs on the queues and a failed accept leaves nothing behind (Alma's
//! retry then starts afresh).

use crate::codec::{db_error, micros};
use crate::ledger::advance;
use crate::queue::insert_jobs;
use crate::SqliteStore;
use async_trait::async_trait;
use patron_hub_domain::ports::{Acceptance, EventReceipt, WebhookInbox};
use patron_hub_domain::{origin_changes, Job, StoreError};
use rusqlite::{params, OptionalExtension, Transaction};

/// How many expired receipts one accept deletes: enough to keep up with the
/// arrivals, small enough never to slow a webhook answer down.
const PURGE_BATCH: i64 = 64;

/// Deletes up to `?2` receipts that expired before `?1`, found by `inbox_events_by_expiry`.
const PURGE_EXPIRED: &str = "DELETE FROM inbox_events WHERE event_id IN
     (SELECT event_id FROM inbox_events WHERE keep_until_us < ?1 LIMIT ?2)";

/// Forgets up to [`PURGE_BATCH`] receipts that expired before `now_us`.
fn purge_expired(tx: &Transaction<'_>, now_us: i64) -> Result<(), StoreError> {
    tx.prepare_cached(PURGE_EXPIRED)
        .and_then(|mut purge| purge.execute(params![now_us, PURGE_BATCH]))
        .map(drop)
        .map_err(db_error)
}

/// Records the receipt and queues the jobs, unless the event is still remembered.
fn accept(
    tx: &Transaction<'_>,
    receipt: &EventReceipt,
    jobs: &[Job],
    now_us: i64,
) -> Result<Acceptance, StoreError> {
    purge_expired(tx, now_us)?;
    let received_at_us = micros(receipt.received_at);
    let remembered_until: Option<i64> = tx
        .query_row(
            "SELECT keep_until_us FROM inbox_events WHERE event_id = ?1",
            params![receipt.event_id],
            |row| row.get(0),
        )
        .optional()
        .map_err(db_error)?;
    if remembered_until.is_some_and(|keep_until_us| keep_until_us > received_at_us) {
        return Ok(Acceptance::Duplicate);
    }
    tx.execute(
        "INSERT INTO inbox_events (event_id, institution, received_at_us, keep_until_us)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (event_id) DO UPDATE SET institution = excluded.institution,
             received_at_us = excluded.received_at_us, keep_until_us = excluded.keep_until_us",
        params![
            receipt.event_id,
            receipt.institution.as_str(),
            received_at_us,
            micros(receipt.keep_until)
        ],
    )
    .map_err(db_error)?;
    insert_jobs(tx, jobs, now_us)?;
    for change in origin_changes(jobs) {
        advance(tx, &change.primary_id, &change.origin, change.event_time)?;
    }
    Ok(Acceptance::Accepted)
}

#[async_trait]
impl WebhookInbox for SqliteStore {
    async fn accept(&self, receipt: &EventReceipt, jobs: &[Job]) -> Result<Acceptance, StoreError> {
        let (receipt, jobs) = (receipt.clone(), jobs.to_vec());
        let now_us = micros(self.now());
        self.write(move |tx| accept(tx, &receipt, &jobs, now_us))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::{migrated_in_memory, query_plan};
    use chrono::{DateTime, TimeDelta, Utc};
    use patron_hub_domain::InstitutionCode;

    fn receipt(event_id: &str, received_at: DateTime<Utc>) -> EventReceipt {
        EventReceipt {
            event_id: event_id.to_owned(),
            institution: InstitutionCode::parse("DEMO_A").unwrap(),
            received_at,
            keep_until: received_at + TimeDelta::hours(1),
        }
    }

    fn remembered(conn: &rusqlite::Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM inbox_events", [], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn each_accept_forgets_a_bounded_batch_of_expired_receipts() {
        let mut conn = migrated_in_memory();
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let tx = conn.transaction().unwrap();
        for n in 0..100 {
            let old = receipt(&format!("old-{n}"), start);
            assert_eq!(
                accept(&tx, &old, &[], micros(start)).unwrap(),
                Acceptance::Accepted
            );
        }
        let recent = receipt("recent", start + TimeDelta::minutes(90));
        accept(&tx, &recent, &[], micros(recent.received_at)).unwrap();
        tx.commit().unwrap();
        assert_eq!(remembered(&conn), 100 - PURGE_BATCH + 1);

        let tx = conn.transaction().unwrap();
        let later = receipt("later", start + TimeDelta::minutes(100));
        accept(&tx, &later, &[], micros(later.received_at)).unwrap();
        accept(&tx, &later, &[], micros(later.received_at)).unwrap();
        tx.commit().unwrap();
        assert_eq!(
            remembered(&conn),
            2,
            "only the receipts not yet expired are kept"
        );
    }

    #[test]
    fn the_purge_finds_expired_receipts_by_index() {
        let plan = query_plan(&migrated_in_memory(), PURGE_EXPIRED);
        assert!(
            plan.contains("USING COVERING INDEX inbox_events_by_expiry"),
            "{plan}"
        );
    }
}
