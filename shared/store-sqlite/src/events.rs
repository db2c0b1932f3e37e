//! Domain events, locally: the `events` table is both the bus and its log. One
//! row per event id (a republished id is ignored), read back per type, newest
//! first, through the `events_by_kind` index.

use crate::codec::{db_error, json_rows, micros, to_json};
use crate::SqliteStore;
use async_trait::async_trait;
use patron_hub_domain::registration::{DomainEvent, EventLog, EventPublisher};
use patron_hub_domain::StoreError;
use rusqlite::params;

/// Up to `?2` events of type `?1`, newest first (`events_by_kind`).
const SELECT_RECENT: &str =
    "SELECT event FROM events WHERE kind = ?1 ORDER BY time_us DESC, id LIMIT ?2";

#[async_trait]
impl EventPublisher for SqliteStore {
    async fn publish(&self, event: &DomainEvent) -> Result<(), StoreError> {
        let (id, kind, time_us) = (event.id.clone(), event.kind.clone(), micros(event.time));
        let json = to_json(event)?;
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO events (id, kind, time_us, event) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO NOTHING",
            )
            .and_then(|mut insert| insert.execute(params![id, kind, time_us, json]))
            .map(drop)
            .map_err(db_error)
        })
        .await
    }
}

#[async_trait]
impl EventLog for SqliteStore {
    async fn recent(&self, kind: &str, limit: usize) -> Result<Vec<DomainEvent>, StoreError> {
        let (kind, limit) = (kind.to_owned(), i64::try_from(limit).unwrap_or(i64::MAX));
        self.read(move |tx| json_rows(tx, SELECT_RECENT, params![kind, limit]))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::{migrated_in_memory, query_plan};

    #[test]
    fn recent_events_come_in_index_order_without_sorting() {
        let conn = migrated_in_memory();
        let plan = query_plan(&conn, SELECT_RECENT);
        assert!(plan.contains("INDEX events_by_kind (kind=?)"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        assert!(!plan.contains("SCAN"), "{plan}");
    }
}
