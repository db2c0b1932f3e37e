//! The ports of registration: the patron registry, the staging records and the
//! event bus. Each has one adapter per backend held to the shared contract suite.

use super::{ExternalSystemId, RegistryEntry, StagingRecord};
use crate::accounts::Email;
use crate::{PrimaryId, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a registry or staging write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RecordWriteError {
    /// The record changed since it was read (optimistic locking): re-read and retry.
    #[error("the record was changed by someone else")]
    VersionConflict,
    /// Another staging record already has this e-mail.
    #[error("a staging record already has this e-mail")]
    EmailTaken,
    /// The backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The patron registry. Every lookup is one indexed read, never a scan; the
/// e-mail and external-id lookups see a write as soon as it returned.
#[async_trait]
pub trait PatronRegistry: Send + Sync {
    /// One patron by primary id.
    async fn get(&self, primary_id: &PrimaryId) -> Result<Option<RegistryEntry>, StoreError>;
    /// Stores `entry` if the stored version is still `previous`'s (or there is
    /// none, when `previous` is `None`), moving its e-mail and external-id
    /// lookup keys in the same atomic write.
    async fn save(
        &self,
        previous: Option<&RegistryEntry>,
        entry: &RegistryEntry,
    ) -> Result<(), RecordWriteError>;
    /// Removes `entry` with its lookup keys, if its stored version is still `entry.version`.
    async fn remove(&self, entry: &RegistryEntry) -> Result<(), RecordWriteError>;
    /// Every patron with this normalised e-mail (see [`super::email_key`]).
    async fn find_by_email(&self, email: &str) -> Result<Vec<RegistryEntry>, StoreError>;
    /// Every patron with this externalSystemId.
    async fn find_by_external_id(
        &self,
        id: &ExternalSystemId,
    ) -> Result<Vec<RegistryEntry>, StoreError>;
}

/// Staging records, at most one per e-mail.
#[async_trait]
pub trait StagingRecords: Send + Sync {
    /// One record by its externalSystemId.
    async fn get(&self, id: &ExternalSystemId) -> Result<Option<StagingRecord>, StoreError>;
    /// The record holding this e-mail (one indexed read).
    async fn find_by_email(&self, email: &Email) -> Result<Option<StagingRecord>, StoreError>;
    /// Creates a record (version 1) unless another holds its e-mail (`EmailTaken`).
    async fn create(&self, record: &StagingRecord) -> Result<(), RecordWriteError>;
    /// Replaces a record whose stored version is `record.version - 1`.
    async fn update(&self, record: &StagingRecord) -> Result<(), RecordWriteError>;
    /// Removes a record whose stored version is `record.version`, freeing its e-mail.
    async fn remove(&self, record: &StagingRecord) -> Result<(), RecordWriteError>;
    /// Counts, and unless `dry_run` removes, the records last updated before
    /// `updated_before` (an index keyed by that date, never a scan).
    async fn purge_stale(
        &self,
        updated_before: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<u64, StoreError>;
}

/// Something that happened which other systems (the discovery layer) react to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// Stable id: publishing the same happening twice gives the same id, so
    /// consumers can drop repeats.
    pub id: String,
    /// The event type, such as `patron.registered`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// The event's data.
    pub detail: serde_json::Value,
}

/// Publishes domain events (EventBridge in AWS; the events table locally).
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes one event (at least once).
    async fn publish(&self, event: &DomainEvent) -> Result<(), StoreError>;
}

/// Reads published events back, newest first: the local `GET /events` route,
/// and on AWS a queue subscribed to the bus.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Up to `limit` events of one type, newest first, one per id.
    async fn recent(&self, kind: &str, limit: usize) -> Result<Vec<DomainEvent>, StoreError>;
}
