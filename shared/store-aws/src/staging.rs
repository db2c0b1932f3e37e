//! Staging records on DynamoDB:
//! - the record (`STAGING#{externalSystemId}` / `STAGING`): the record as JSON
//!   and its `version`, which every update's condition checks;
//! - the e-mail marker (`STAGING_EMAIL#{email}` / `MARKER`): the holder's
//!   `external_system_id` and a full copy of the record, so that the lookup by
//!   e-mail is one GetItem. Created with `attribute_not_exists(pk)` in the same
//!   transaction as the record: the only way DynamoDB makes the e-mail unique.
//!
//! Every write is one transaction of both items. A record's e-mail never
//! changes (a domain rule), so its marker never moves.

use crate::item::{json, key, n, s, to_json, Item};
use crate::keys::{staging_email_pk, staging_pk, MARKER_SK, STAGING_SK};
use crate::transact::{self, Condition, Outcome, ABSENT};
use crate::AwsStore;
use async_trait::async_trait;
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
        let copy = to_json(record)?;
        let items = vec![
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
        ];
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
        ];
        self.write_staging("TransactWriteItems staging remove", items)
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
