//! Staging records: one row per record (its JSON and version) with its e-mail
//! under a UNIQUE index, so one e-mail holds at most one record, and the
//! instant it was last updated under another, so the stale ones are one range
//! of it. Each write checks the e-mail and the version in one IMMEDIATE
//! transaction.

use crate::codec::{db_error, json_row, micros, stored_version, to_json};
use crate::purge::Purge;
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
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

/// The records last updated before `?1` (`staging_records_by_update`).
static STALE: Purge = Purge {
    count: "SELECT count(*) FROM staging_records WHERE updated_at_us < ?1",
    delete: "DELETE FROM staging_records WHERE updated_at_us < ?1",
};

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
            "INSERT INTO staging_records (external_system_id, email, version, updated_at_us,
                 record)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (external_system_id) DO NOTHING",
        )
        .and_then(|mut insert| {
            insert.execute(params![
                record.external_system_id.as_str(),
                record.contact_info.email.as_str(),
                version,
                micros(record.updated_date),
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
            "UPDATE staging_records SET email = ?2, version = ?3, updated_at_us = ?4,
                 record = ?5
             WHERE external_system_id = ?1 AND version = ?6",
        )
        .and_then(|mut update| {
            update.execute(params![
                record.external_system_id.as_str(),
                record.contact_info.email.as_str(),
                version,
                micros(record.updated_date),
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

    async fn purge_stale(
        &self,
        updated_before: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<u64, StoreError> {
        self.purge(&STALE, micros(updated_before), dry_run).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::to_json;
    use crate::schema::migrate;
    use crate::schema::tests::{migrated_in_memory, migrated_in_memory_up_to, query_plan};
    use patron_hub_domain::registration::{AddressInfo, ContactInfo, GeneralInfo, Tier};

    /// A record last updated at `updated`.
    fn updated_at(updated: DateTime<Utc>) -> StagingRecord {
        StagingRecord {
            external_system_id: ExternalSystemId::generate(),
            status: Tier::Tier1,
            is_email_verified: false,
            minor: false,
            general_info: GeneralInfo::default(),
            address_info: AddressInfo::default(),
            contact_info: ContactInfo {
                phone: None,
                mobile_phone: None,
                email: Email::parse("ada@example.org").unwrap(),
            },
            preferred_email_communication: Vec::new(),
            created_date: updated,
            updated_date: updated,
            version: 1,
        }
    }

    #[test]
    fn migration_5_fills_the_update_instant_of_stored_records_as_writes_do() {
        let mut conn = migrated_in_memory_up_to(4);
        let instants = [
            (1_700_000_000, 0),
            (1_700_000_000, 123_000_000),
            (1_700_000_000, 123_456_000),
            (1_700_000_000, 123_456_789),
            (1_700_000_000, 999_999_999),
            (-1, 500_000_000),
            (0, 1_000),
        ];
        let stored: Vec<StagingRecord> = instants
            .iter()
            .map(|&(seconds, nanos)| updated_at(DateTime::from_timestamp(seconds, nanos).unwrap()))
            .collect();
        for record in &stored {
            conn.execute(
                "INSERT INTO staging_records (external_system_id, email, version, record)
                 VALUES (?1, ?1, 1, ?2)",
                params![record.external_system_id.as_str(), to_json(record).unwrap()],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        for record in &stored {
            let filled: Option<i64> = conn
                .query_row(
                    "SELECT updated_at_us FROM staging_records WHERE external_system_id = ?1",
                    params![record.external_system_id.as_str()],
                    |row| row.get(0),
                )
                .unwrap();
            assert_eq!(
                filled,
                Some(micros(record.updated_date)),
                "{}",
                record.updated_date
            );
        }
    }

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
    fn stale_records_are_one_range_of_the_update_index() {
        let conn = migrated_in_memory();
        for sql in [STALE.count, STALE.delete] {
            let plan = query_plan(&conn, sql);
            assert!(
                plan.contains("INDEX staging_records_by_update (updated_at_us<?)"),
                "{plan}"
            );
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
