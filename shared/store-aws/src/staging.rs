//! Staging records on DynamoDB:
//! - the record (`STAGING#{externalSystemId}` / `STAGING`): the record as JSON
//!   and its `version`, which every update's condition checks;
//! - the e-mail marker (`STAGING_EMAIL#{email}` / `MARKER`): the holder's
//!   `external_system_id` and a full copy of the record, so that the lookup by
//!   e-mail is one GetItem. Created with `attribute_not_exists(pk)` in the same
//!   transaction as the record: the only way DynamoDB makes the e-mail unique;
//! - the entry in the index by last update (`DUE#STAGING_UPDATED` /
//!   `{updated_date}#{externalSystemId}`): the keys of the record and its
//!   marker, the holder's `external_system_id` and the record's `version`, so
//!   that `purge_stale` is one Query of the records not updated since a time.
//!
//! Every write is one transaction of the three items; an update reads the
//! stored record first to know the index entry to move (its version condition
//! makes sure the entry read is still the one stored). A record's e-mail never
//! changes (a domain rule), so its marker never moves. A purge removes each
//! stale record in its own transaction, conditioned on the version its index
//! entry names: a record updated meanwhile is no longer stale and stays.

use crate::item::{json, key, n, number, s, text, to_json, Item};
use crate::keys::{
    staging_email_pk, staging_pk, staging_updated_sk, time_key, MARKER_SK, SK, STAGING_SK,
    STAGING_UPDATED_PK,
};
use crate::transact::{self, Condition, Outcome, ABSENT};
use crate::AwsStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::{stream, StreamExt, TryStreamExt};
use patron_hub_domain::accounts::Email;
use patron_hub_domain::registration::{
    ExternalSystemId, RecordWriteError, StagingRecord, StagingRecords,
};
use patron_hub_domain::StoreError;

/// The attribute holding the record as JSON (on the record and its marker).
const RECORD: &str = "record";
/// The attribute holding the record's version.
const VERSION: &str = "version";
/// The attribute of the marker naming the record holding the e-mail.
const HOLDER: &str = "external_system_id";
/// Position of the marker's write in a creation.
const MARKER_POSITION: usize = 1;
/// The attribute of an index entry holding the record's partition key.
const RECORD_PK: &str = "record_pk";
/// The attribute of an index entry holding the marker's partition key.
const MARKER_PK: &str = "marker_pk";
/// Stale records removed at once by a purge.
const PURGE_CONCURRENCY: usize = 8;

#[async_trait]
impl StagingRecords for AwsStore {
    async fn get(&self, id: &ExternalSystemId) -> Result<Option<StagingRecord>, StoreError> {
        self.get_item("GetItem staging record", key(staging_pk(id), STAGING_SK))
            .await?
            .map(|item| json(&item, RECORD))
            .transpose()
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<StagingRecord>, StoreError> {
        self.get_item(
            "GetItem staging marker",
            key(staging_email_pk(email), MARKER_SK),
        )
        .await?
        .map(|item| json(&item, RECORD))
        .transpose()
    }

    async fn create(&self, record: &StagingRecord) -> Result<(), RecordWriteError> {
        let copy = to_json(record)?;
        let items = vec![
            transact::put(
                &self.table,
                record_item(record, &copy),
                Some(Condition::new(ABSENT)),
            )?,
            transact::put(
                &self.table,
                marker_item(record, &copy),
                Some(Condition::new(ABSENT)),
            )?,
            transact::put(&self.table, index_entry(record), None)?,
        ];
        match self
            .transact("TransactWriteItems staging create", items)
            .await?
        {
            Outcome::Written => Ok(()),
            Outcome::Refused(failed) if failed.contains(&MARKER_POSITION) => {
                Err(RecordWriteError::EmailTaken)
            }
            // A record with this id exists already.
            Outcome::Refused(_) => Err(RecordWriteError::VersionConflict),
        }
    }

    async fn update(&self, record: &StagingRecord) -> Result<(), RecordWriteError> {
        let Some(expected) = record.version.checked_sub(1) else {
            return Err(RecordWriteError::VersionConflict);
        };
        let stored = StagingRecords::get(self, &record.external_system_id).await?;
        let Some(stored) = stored.filter(|stored| stored.version == expected) else {
            return Err(RecordWriteError::VersionConflict);
        };
        let copy = to_json(record)?;
        let mut items = vec![
            transact::put(
                &self.table,
                record_item(record, &copy),
                Some(Condition::new("version = :expected").with(":expected", n(expected))),
            )?,
            transact::put(
                &self.table,
                marker_item(record, &copy),
                Some(held_by(record)),
            )?,
            transact::put(&self.table, index_entry(record), None)?,
        ];
        if index_key(&stored) != index_key(record) {
            items.push(transact::delete(&self.table, index_key(&stored), None)?);
        }
        self.write_staging("TransactWriteItems staging update", items)
            .await
    }

    async fn remove(&self, record: &StagingRecord) -> Result<(), RecordWriteError> {
        let id = &record.external_system_id;
        let items = vec![
            transact::delete(
                &self.table,
                key(staging_pk(id), STAGING_SK),
                Some(Condition::new("version = :expected").with(":expected", n(record.version))),
            )?,
            transact::delete(
                &self.table,
                key(staging_email_pk(&record.contact_info.email), MARKER_SK),
                Some(held_by(record)),
            )?,
            // The stored record is `record` (same version): so is its entry.
            transact::delete(&self.table, index_key(record), None)?,
        ];
        self.write_staging("TransactWriteItems staging remove", items)
            .await
    }

    async fn purge_stale(
        &self,
        updated_before: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<u64, StoreError> {
        // Entries sort by last update: those before this time's key are stale.
        let stale = self
            .due_items(
                "Query staging index",
                STAGING_UPDATED_PK,
                time_key(updated_before),
                usize::MAX,
                |entry| Ok(Some(entry)),
            )
            .await?;
        if dry_run {
            return Ok(stale.len() as u64);
        }
        stream::iter(stale)
            .map(|entry| async move { self.purge_one(&entry).await })
            .buffer_unordered(PURGE_CONCURRENCY)
            .try_fold(0, |purged, removed| async move {
                Ok(purged + u64::from(removed))
            })
            .await
    }
}

impl AwsStore {
    /// Runs a transaction on an existing record: any failed condition means the
    /// record is not (or no longer) the one the caller read.
    async fn write_staging(
        &self,
        operation: &'static str,
        items: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    ) -> Result<(), RecordWriteError> {
        match self.transact(operation, items).await? {
            Outcome::Written => Ok(()),
            Outcome::Refused(_) => Err(RecordWriteError::VersionConflict),
        }
    }
}

impl AwsStore {
    /// Removes the record an index entry names, with its marker and the entry,
    /// if it is still at the version the entry names. Whether it did.
    async fn purge_one(&self, entry: &Item) -> Result<bool, StoreError> {
        let version: u64 = number(entry, VERSION)?;
        let holder = text(entry, HOLDER)?;
        let items = vec![
            transact::delete(
                &self.table,
                key(text(entry, RECORD_PK)?.to_owned(), STAGING_SK),
                Some(Condition::new("version = :expected").with(":expected", n(version))),
            )?,
            transact::delete(
                &self.table,
                key(text(entry, MARKER_PK)?.to_owned(), MARKER_SK),
                Some(Condition::new("external_system_id = :holder").with(":holder", s(holder))),
            )?,
            transact::delete(
                &self.table,
                key(STAGING_UPDATED_PK.to_owned(), text(entry, SK)?),
                None,
            )?,
        ];
        // Refused: updated or removed since the entry was read, and the
        // entry moved or went with it.
        Ok(self
            .transact("TransactWriteItems staging purge", items)
            .await?
            == Outcome::Written)
    }
}

/// The marker's condition: it still names this record.
fn held_by(record: &StagingRecord) -> Condition {
    Condition::new("external_system_id = :holder")
        .with(":holder", s(record.external_system_id.as_str()))
}

/// The record item.
fn record_item(record: &StagingRecord, copy: &str) -> Item {
    let mut item = key(staging_pk(&record.external_system_id), STAGING_SK);
    item.insert(RECORD.to_owned(), s(copy));
    item.insert(VERSION.to_owned(), n(record.version));
    item
}

/// The e-mail marker, with its copy of the record.
fn marker_item(record: &StagingRecord, copy: &str) -> Item {
    let mut item = key(staging_email_pk(&record.contact_info.email), MARKER_SK);
    item.insert(HOLDER.to_owned(), s(record.external_system_id.as_str()));
    item.insert(RECORD.to_owned(), s(copy));
    item.insert(VERSION.to_owned(), n(record.version));
    item
}

/// The key of the record's entry in the index by last update.
fn index_key(record: &StagingRecord) -> Item {
    key(
        STAGING_UPDATED_PK.to_owned(),
        staging_updated_sk(record.updated_date, &record.external_system_id),
    )
}

/// The record's entry in the index by last update.
fn index_entry(record: &StagingRecord) -> Item {
    let mut item = index_key(record);
    item.insert(
        RECORD_PK.to_owned(),
        s(staging_pk(&record.external_system_id)),
    );
    item.insert(
        MARKER_PK.to_owned(),
        s(staging_email_pk(&record.contact_info.email)),
    );
    item.insert(HOLDER.to_owned(), s(record.external_system_id.as_str()));
    item.insert(VERSION.to_owned(), n(record.version));
    item
}
