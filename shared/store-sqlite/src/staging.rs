//! Staging records: one row per record (its JSON and version) with its e-mail
//! under a UNIQUE index, so one e-mail holds at most one record. Each write
//! checks the e-mail and the version in one IMMEDIATE transaction.

use crate::codec::{db_error, json_row, stored_version, to_json};
use crate::SqliteStore;
use async_trait::async_trait;
use patron_hub_domain::accounts::Email;
use patron_hub_domain::registration::{
    ExternalSystemId, RecordWriteError, StagingRecord, StagingRecords,
};
use patron_hub_domain::StoreError;
use rusqlite::{params, OptionalExtension, Transaction};

/// One record by id (primary key).
const SELECT_BY_ID: &str = "SELECT record FROM staging_records WHERE external_system_id = ?1";

/// The record holding an e-mail (`staging_records_by_email`).
const SELECT_BY_EMAIL: &str = "SELECT record FROM staging_records WHERE email = ?1";

/// Who holds an e-mail (`staging_records_by_email`).
const EMAIL_HOLDER: &str = "SELECT external_system_id FROM staging_records WHERE email = ?1";

/// Refuses `record` if another record than itself holds its e-mail.
fn check_email_free(tx: &Transaction<'_>, record: &StagingRecord) -> Result<(), RecordWriteError> {
    let holder: Option<String> = tx
        .prepare_cached(EMAIL_HOLDER)
        .and_then(|mut select| {
            select
                .query_row(params![record.contact_info.email.as_str()], |row| {
                    row.get(0)
                })
                .optional()
        })
        .map_err(db_error)?;
    match holder {
        Some(id) if id != record.external_system_id.as_str() => Err(RecordWriteError::EmailTaken),
        _ => Ok(()),
    }
}

/// Creates `record` unless its e-mail is held (or its id is taken).
fn create(tx: &Transaction<'_>, record: &StagingRecord) -> Result<(), RecordWriteError> {
    let (version, json) = (stored_version(record.version)?, to_json(record)?);
    check_email_free(tx, record)?;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO staging_records (external_system_id, email, version, record)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (external_system_id) DO NOTHING",
        )
        .and_then(|mut insert| {
            insert.execute(params![
                record.external_system_id.as_str(),
                record.contact_info.email.as_str(),
                version,
                json,
            ])
        })
        .map_err(db_error)?;
    if inserted == 0 {
        return Err(RecordWriteError::VersionConflict);
    }
    Ok(())
}

/// Replaces the record whose stored version is `record.version - 1`.
fn update(tx: &Transaction<'_>, record: &StagingRecord) -> Result<(), RecordWriteError> {
    let Some(previous) = record.version.checked_sub(1) else {
        return Err(RecordWriteError::VersionConflict);
    };
    let (version, previous) = (stored_version(record.version)?, stored_version(previous)?);
    let json = to_json(record)?;
    check_email_free(tx, record)?;
    let updated = tx
        .prepare_cached(
            "UPDATE staging_records SET email = ?2, version = ?3, record = ?4
             WHERE external_system_id = ?1 AND version = ?5",
        )
        .and_then(|mut update| {
            update.execute(params![
                record.external_system_id.as_str(),
                record.contact_info.email.as_str(),
                version,
                json,
                previous,
            ])
        })
        .map_err(db_error)?;
    if updated == 0 {
        return Err(RecordWriteError::VersionConflict);
    }
    Ok(())
}

/// Removes the record if its stored version is `record.version`.
fn remove(tx: &Transaction<'_>, record: &StagingRecord) -> Result<(), RecordWriteError> {
    let version = stored_version(record.version)?;
    let removed = tx
        .prepare_cached(
            "DELETE FROM staging_records WHERE external_system_id = ?1 AND version = ?2",
        )
        .and_then(|mut delete| delete.execute(params![record.external_system_id.as_str(), version]))
        .map_err(db_error)?;
    if removed == 0 {
        return Err(RecordWriteError::VersionConflict);
    }
    Ok(())
}

#[async_trait]
impl StagingRecords for SqliteStore {
    async fn get(&self, id: &ExternalSystemId) -> Result<Option<StagingRecord>, StoreError> {
        let id = id.as_str().to_owned();
        self.read(move |tx| json_row(tx, SELECT_BY_ID, params![id]))
            .await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<StagingRecord>, StoreError> {
        let email = email.as_str().to_owned();
        self.read(move |tx| json_row(tx, SELECT_BY_EMAIL, params![email]))
            .await
    }

    async fn create(&self, record: &StagingRecord) -> Result<(), RecordWriteError> {
        let record = record.clone();
        self.write(move |tx| create(tx, &record)).await
    }

    async fn update(&self, record: &StagingRecord) -> Result<(), RecordWriteError> {
        let record = record.clone();
        self.write(move |tx| update(tx, &record)).await
    }

    async fn remove(&self, record: &StagingRecord) -> Result<(), RecordWriteError> {
        let record = record.clone();
        self.write(move |tx| remove(tx, &record)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::{migrated_in_memory, query_plan};

    #[test]
    fn lookups_by_email_are_one_unique_index_search() {
        let conn = migrated_in_memory();
        for sql in [SELECT_BY_EMAIL, EMAIL_HOLDER] {
            let plan = query_plan(&conn, sql);
            assert!(plan.contains("INDEX staging_records_by_email "), "{plan}");
            assert!(!plan.contains("SCAN"), "{plan}");
        }
    }

    #[test]
    fn the_schema_itself_refuses_a_second_record_with_one_email() {
        let conn = migrated_in_memory();
        let insert = "INSERT INTO staging_records (external_system_id, email, version, record)
                      VALUES (?1, 'ada@example.org', 1, '{}')";
        conn.execute(insert, params!["first"]).unwrap();
        assert!(conn.execute(insert, params!["second"]).is_err());
    }
}
