//! The patron registry: one row per patron (its JSON and version) and one
//! `registry_keys` row per e-mail and per external id. Keys are not unique: two
//! patrons may share an e-mail. A save checks the stored version, replaces the
//! entry and moves its keys in one IMMEDIATE transaction; a lookup is one SELECT
//! joining the key's index rows to their entries.

use crate::codec::{db_error, json_row, json_rows, stored_version, to_json};
use crate::SqliteStore;
use async_trait::async_trait;
use patron_hub_domain::registration::{
    ExternalSystemId, PatronRegistry, RecordWriteError, RegistryEntry,
};
use patron_hub_domain::{PrimaryId, StoreError};
use rusqlite::{params, OptionalExtension, Transaction};

/// The `kind` of an e-mail key.
const EMAIL: &str = "email";

/// The `kind` of an external-id key.
const EXTERNAL_ID: &str = "external_id";

/// One entry by primary id (primary key).
const SELECT_BY_ID: &str = "SELECT entry FROM registry_entries WHERE primary_id = ?1";

/// Every entry holding one key: a primary-key range of `registry_keys`, each row
/// joined to its entry by primary key.
const SELECT_BY_KEY: &str = "SELECT e.entry FROM registry_keys k
     JOIN registry_entries e ON e.primary_id = k.primary_id
     WHERE k.kind = ?1 AND k.key = ?2";

/// The version stored for a patron.
const SELECT_VERSION: &str = "SELECT version FROM registry_entries WHERE primary_id = ?1";

/// Every key of one patron (`registry_keys_by_patron`).
const DELETE_KEYS: &str = "DELETE FROM registry_keys WHERE primary_id = ?1";

/// Stores `entry` if the stored version is `previous`'s (none when `previous` is
/// None), with exactly its own keys.
fn save(
    tx: &Transaction<'_>,
    previous: Option<u64>,
    entry: &RegistryEntry,
) -> Result<(), RecordWriteError> {
    let id = entry.primary_id.as_str();
    let (version, json) = (stored_version(entry.version)?, to_json(entry)?);
    let stored: Option<i64> = tx
        .prepare_cached(SELECT_VERSION)
        .and_then(|mut select| select.query_row(params![id], |row| row.get(0)).optional())
        .map_err(db_error)?;
    if stored != previous.map(stored_version).transpose()? {
        return Err(RecordWriteError::VersionConflict);
    }
    tx.prepare_cached(
        "INSERT INTO registry_entries (primary_id, version, entry) VALUES (?1, ?2, ?3)
         ON CONFLICT (primary_id) DO UPDATE SET version = excluded.version, entry = excluded.entry",
    )
    .and_then(|mut upsert| upsert.execute(params![id, version, json]))
    .map_err(db_error)?;
    if stored.is_some() {
        delete_keys(tx, id)?;
    }
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO registry_keys (kind, key, primary_id) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )
        .map_err(db_error)?;
    let emails = entry.emails.iter().map(|email| (EMAIL, email));
    let external = entry.external_system_id.iter().map(|id| (EXTERNAL_ID, id));
    for (kind, key) in emails.chain(external) {
        insert.execute(params![kind, key, id]).map_err(db_error)?;
    }
    Ok(())
}

/// Removes `entry` and its keys if its version is the stored one.
fn remove(tx: &Transaction<'_>, entry: &RegistryEntry) -> Result<(), RecordWriteError> {
    let id = entry.primary_id.as_str();
    let version = stored_version(entry.version)?;
    let removed = tx
        .prepare_cached("DELETE FROM registry_entries WHERE primary_id = ?1 AND version = ?2")
        .and_then(|mut delete| delete.execute(params![id, version]))
        .map_err(db_error)?;
    if removed == 0 {
        return Err(RecordWriteError::VersionConflict);
    }
    delete_keys(tx, id)?;
    Ok(())
}

/// Deletes every lookup key of one patron.
fn delete_keys(tx: &Transaction<'_>, primary_id: &str) -> Result<(), StoreError> {
    tx.prepare_cached(DELETE_KEYS)
        .and_then(|mut delete| delete.execute(params![primary_id]))
        .map(drop)
        .map_err(db_error)
}

impl SqliteStore {
    /// Every entry holding the key `kind`/`key`.
    async fn find_by_key(
        &self,
        kind: &'static str,
        key: String,
    ) -> Result<Vec<RegistryEntry>, StoreError> {
        self.read(move |tx| json_rows(tx, SELECT_BY_KEY, params![kind, key]))
            .await
    }
}

#[async_trait]
impl PatronRegistry for SqliteStore {
    async fn get(&self, primary_id: &PrimaryId) -> Result<Option<RegistryEntry>, StoreError> {
        let id = primary_id.as_str().to_owned();
        self.read(move |tx| json_row(tx, SELECT_BY_ID, params![id]))
            .await
    }

    async fn save(
        &self,
        previous: Option<&RegistryEntry>,
        entry: &RegistryEntry,
    ) -> Result<(), RecordWriteError> {
        let (previous, entry) = (previous.map(|p| p.version), entry.clone());
        self.write(move |tx| save(tx, previous, &entry)).await
    }

    async fn remove(&self, entry: &RegistryEntry) -> Result<(), RecordWriteError> {
        let entry = entry.clone();
        self.write(move |tx| remove(tx, &entry)).await
    }

    async fn find_by_email(&self, email: &str) -> Result<Vec<RegistryEntry>, StoreError> {
        self.find_by_key(EMAIL, email.to_owned()).await
    }

    async fn find_by_external_id(
        &self,
        id: &ExternalSystemId,
    ) -> Result<Vec<RegistryEntry>, StoreError> {
        self.find_by_key(EXTERNAL_ID, id.as_str().to_owned()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::{migrated_in_memory, query_plan};

    #[test]
    fn a_lookup_by_key_is_one_primary_key_search_per_table() {
        let conn = migrated_in_memory();
        let plan = query_plan(&conn, SELECT_BY_KEY);
        assert!(
            plan.contains("SEARCH k USING PRIMARY KEY (kind=? AND key=?)"),
            "{plan}"
        );
        assert!(
            plan.contains("SEARCH e USING PRIMARY KEY (primary_id=?)"),
            "{plan}"
        );
        assert!(!plan.contains("SCAN"), "{plan}");
    }

    #[test]
    fn moving_keys_finds_them_by_patron_index() {
        let conn = migrated_in_memory();
        let plan = query_plan(&conn, DELETE_KEYS);
        assert!(plan.contains("registry_keys_by_patron"), "{plan}");
        assert!(!plan.contains("SCAN"), "{plan}");
    }
}
