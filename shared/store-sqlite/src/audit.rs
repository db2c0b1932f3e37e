//! The staff console's audit log: one `audit_entries` row per action (its
//! JSON), and one `audit_by_patron` row per primary id the action is listed
//! under (the patron's, and the new id of a primary-id change). An entry
//! recorded again is ignored; a patron's entries are one primary-key range of
//! the index, read backwards, each joined to its entry.

use crate::codec::{db_error, json_rows, micros, to_json};
use crate::SqliteStore;
use async_trait::async_trait;
use patron_hub_domain::console::{AuditEntry, AuditLog, ConsoleAction};
use patron_hub_domain::{PrimaryId, StoreError};
use rusqlite::{params, Transaction};

/// Every entry listed under one patron, newest first (the index's primary key,
/// read backwards).
const SELECT_FOR_PATRON: &str = "SELECT e.entry FROM audit_by_patron i
     JOIN audit_entries e ON e.id = i.id
     WHERE i.primary_id = ?1
     ORDER BY i.at_us DESC, i.id DESC";

/// The primary ids `entry` is listed under, without repeats.
fn listed_under(entry: &AuditEntry) -> Vec<&str> {
    let mut ids = vec![entry.primary_id.as_str()];
    if let ConsoleAction::ChangePrimaryId { new_primary_id } = &entry.action {
        if new_primary_id != &entry.primary_id {
            ids.push(new_primary_id.as_str());
        }
    }
    ids
}

/// Keeps `entry` and its index rows, unless an entry with its id is kept already.
fn record(tx: &Transaction<'_>, entry: &AuditEntry, json: &str) -> Result<(), StoreError> {
    let inserted = tx
        .prepare_cached(
            "INSERT INTO audit_entries (id, entry) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
        )
        .and_then(|mut insert| insert.execute(params![entry.id, json]))
        .map_err(db_error)?;
    if inserted == 0 {
        return Ok(());
    }
    let mut index = tx
        .prepare_cached(
            "INSERT INTO audit_by_patron (primary_id, at_us, id) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )
        .map_err(db_error)?;
    for primary_id in listed_under(entry) {
        index
            .execute(params![primary_id, micros(entry.at), entry.id])
            .map_err(db_error)?;
    }
    Ok(())
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let (entry, json) = (entry.clone(), to_json(entry)?);
        self.write(move |tx| record(tx, &entry, &json)).await
    }

    async fn for_patron(&self, primary_id: &PrimaryId) -> Result<Vec<AuditEntry>, StoreError> {
        let id = primary_id.as_str().to_owned();
        self.read(move |tx| json_rows(tx, SELECT_FOR_PATRON, params![id]))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::{migrated_in_memory, query_plan};

    #[test]
    fn a_patrons_entries_come_in_index_order_without_sorting() {
        let conn = migrated_in_memory();
        let plan = query_plan(&conn, SELECT_FOR_PATRON);
        assert!(
            plan.contains("SEARCH i USING PRIMARY KEY (primary_id=?)"),
            "{plan}"
        );
        assert!(plan.contains("SEARCH e USING PRIMARY KEY (id=?)"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        assert!(!plan.contains("SCAN"), "{plan}");
    }
}
