//! Point 6 of registration: a Tier 1 patron who activates their login account
//! has proven their e-mail, so the staging record with that e-mail is marked
//! verified. The record is found by the proven address, never by an id the
//! client sent, so nobody can verify someone else's record.

use super::staging_change::change_staging;
use super::StagingRecords;
use crate::accounts::{Email, EmailConfirmed};
use crate::{Clock, StoreError};
use async_trait::async_trait;
use std::sync::Arc;

/// Marks staging records verified when an account activation proves their e-mail.
pub struct StagingEmailVerification {
    staging: Arc<dyn StagingRecords>,
    clock: Arc<dyn Clock>,
}

impl StagingEmailVerification {
    /// Listens for activations on behalf of `staging`.
    pub fn new(staging: Arc<dyn StagingRecords>, clock: Arc<dyn Clock>) -> Self {
        Self { staging, clock }
    }
}

#[async_trait]
impl EmailConfirmed for StagingEmailVerification {
    async fn email_confirmed(&self, email: &Email) -> Result<(), StoreError> {
        let Some(record) = self.staging.find_by_email(email).await? else {
            return Ok(());
        };
        change_staging(
            self.staging.as_ref(),
            self.clock.as_ref(),
            &record.external_system_id,
            |stored, now| {
                let mut record = stored.clone();
                record.is_email_verified = true;
                record.updated_date = now;
                record.version = stored.version + 1;
                Ok(record)
            },
        )
        .await
        .map(drop)
        .map_err(|error| StoreError::Unavailable(error.to_string()))
    }
}
