//! Keeps the patron registry current from every Alma record patron-hub sees:
//! each USER webhook of each institution (distributed or not), and the
//! worker's and the registration's own Alma writes, which fire no webhook.

use super::{PatronRegistry, PatronSnapshot, RecordWriteError, RegistryChange, RegistryEntry};
use crate::webhook::{UserEvent, UserEventKind};
use crate::{AlmaUser, InstitutionCode, PrimaryId, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// How many times a write that lost a race is re-read and retried.
const MAX_RACES: usize = 8;

/// Applies observations of Alma records to the registry.
pub struct RegistrySync {
    registry: Arc<dyn PatronRegistry>,
    external_id_type: String,
}

impl RegistrySync {
    /// `external_id_type` is the Alma `user_identifier` type that holds a
    /// patron's externalSystemId.
    pub fn new(registry: Arc<dyn PatronRegistry>, external_id_type: impl Into<String>) -> Self {
        Self {
            registry,
            external_id_type: external_id_type.into(),
        }
    }

    /// The registry this keeps current.
    pub fn registry(&self) -> &Arc<dyn PatronRegistry> {
        &self.registry
    }

    /// The identifier type holding externalSystemIds.
    pub fn external_id_type(&self) -> &str {
        &self.external_id_type
    }

    /// Records what one webhook says about one institution's account.
    pub async fn on_event(&self, event: &UserEvent) -> Result<(), StoreError> {
        match event.kind {
            UserEventKind::Created | UserEventKind::Updated => {
                self.observe(&event.institution, &event.user, event.time)
                    .await
            }
            UserEventKind::Deleted => match event.user.primary_id() {
                Some(primary_id) => {
                    self.forget(&event.institution, &primary_id, event.time)
                        .await
                }
                None => Ok(()),
            },
        }
    }

    /// Records that `institution` holds `user` as of `at`.
    pub async fn observe(
        &self,
        institution: &InstitutionCode,
        user: &AlmaUser,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(snapshot) = PatronSnapshot::from_alma(user, &self.external_id_type) else {
            return Ok(());
        };
        self.change(&snapshot.primary_id.clone(), |previous| {
            RegistryEntry::observe(previous, institution, &snapshot, at)
        })
        .await
    }

    /// Records that `institution` no longer holds `primary_id` as of `at`.
    pub async fn forget(
        &self,
        institution: &InstitutionCode,
        primary_id: &PrimaryId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.change(primary_id, |previous| {
            RegistryEntry::forget(previous, institution, at)
        })
        .await
    }

    async fn change(
        &self,
        primary_id: &PrimaryId,
        decide: impl Fn(Option<&RegistryEntry>) -> RegistryChange,
    ) -> Result<(), StoreError> {
        for _ in 0..MAX_RACES {
            let previous = self.registry.get(primary_id).await?;
            let written = match decide(previous.as_ref()) {
                RegistryChange::Unchanged => return Ok(()),
                RegistryChange::Save(entry) => self.registry.save(previous.as_ref(), &entry).await,
                RegistryChange::Remove(entry) => self.registry.remove(&entry).await,
            };
            match written {
                Ok(()) => return Ok(()),
                Err(RecordWriteError::VersionConflict) => continue,
                Err(RecordWriteError::EmailTaken) => {
                    return Err(StoreError::Unavailable(
                        "the registry refused a write as an e-mail conflict".to_owned(),
                    ))
                }
                Err(RecordWriteError::Store(error)) => return Err(error),
            }
        }
        Err(StoreError::Unavailable(format!(
            "the registry entry of {primary_id} kept changing under {MAX_RACES} attempts"
        )))
    }
}
