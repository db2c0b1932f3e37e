//! Read-change-write of one staging record under optimistic locking, shared
//! by the Tier 2 update and the e-mail verification.

use super::{ExternalSystemId, RecordWriteError, RegistrationError, StagingRecord, StagingRecords};
use crate::accounts::InvalidField;
use crate::Clock;
use chrono::{DateTime, Utc};

/// How many times a write that lost a race is re-read and retried.
pub(super) const MAX_RACES: usize = 8;

/// Applies `change` to the stored record and writes it, re-reading after a
/// lost race; `None` when there is no such record.
pub(super) async fn change_staging(
    staging: &dyn StagingRecords,
    clock: &dyn Clock,
    id: &ExternalSystemId,
    change: impl Fn(&StagingRecord, DateTime<Utc>) -> Result<StagingRecord, InvalidField>,
) -> Result<Option<StagingRecord>, RegistrationError> {
    for _ in 0..MAX_RACES {
        let Some(stored) = staging.get(id).await? else {
            return Ok(None);
        };
        let record = change(&stored, clock.now())?;
        match staging.update(&record).await {
            Ok(()) => return Ok(Some(record)),
            Err(RecordWriteError::VersionConflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(RegistrationError::Conflict)
}
