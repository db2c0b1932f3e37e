//! The daily `membership-rollover` job: yearly club windows move forward,
//! expired accounts are deactivated, stale staging records, used-up tokens,
//! sessions past their absolute timeout and the counters of failed logins and
//! limited requests that no window counts any more are purged. It reads only
//! what is due (indexes keyed by due date or time), and running it twice for
//! one date changes nothing the second time.

use super::{MembershipWriteError, OrganizationStore};
use crate::accounts::{
    AccountState, AccountStore, AccountWriteError, LoginAttempts, RequestCounters, SessionStore,
    TokenStore,
};
use crate::registration::StagingRecords;
use crate::StoreError;
use chrono::{Days, Duration, NaiveDate, NaiveTime};
use serde::Serialize;
use std::sync::Arc;

/// How many due records are read at a time.
const BATCH: usize = 500;

/// What one run did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RolloverSummary {
    /// The date the run was for.
    pub date: Option<NaiveDate>,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Organizations whose window moved forward a year.
    pub organizations_rolled: u64,
    /// Accounts past their expiry date made inactive.
    pub accounts_deactivated: u64,
    /// Staging records not touched for the retention period, removed.
    pub staging_records_purged: u64,
    /// Expired tokens removed.
    pub tokens_purged: u64,
    /// Sessions past their absolute timeout removed.
    pub sessions_purged: u64,
    /// Counted failed logins and limited requests no window counts any more, removed.
    pub counters_purged: u64,
}

/// The stores the rollover works on.
#[derive(Clone)]
pub struct RolloverStores {
    /// Organizations, with their rollover index.
    pub organizations: Arc<dyn OrganizationStore>,
    /// Accounts, with their expiry index.
    pub accounts: Arc<dyn AccountStore>,
    /// Single-use tokens, with their expiry index.
    pub tokens: Arc<dyn TokenStore>,
    /// Login sessions, with their start index.
    pub sessions: Arc<dyn SessionStore>,
    /// Failed-login counters.
    pub attempts: Arc<dyn LoginAttempts>,
    /// Counters of limited requests.
    pub requests: Arc<dyn RequestCounters>,
    /// Staging records, with their update index.
    pub staging: Arc<dyn StagingRecords>,
}

/// The daily rollover over its stores.
pub struct Rollover {
    stores: RolloverStores,
    staging_retention: Days,
    session_lifetime: Duration,
}

impl Rollover {
    /// How long a staging record nobody updates is kept by default.
    pub const DEFAULT_STAGING_RETENTION_DAYS: u64 = 365;

    /// A rollover over these stores, keeping stale staging records
    /// `staging_retention_days` and sessions `session_lifetime` (the accounts'
    /// absolute session timeout: no session older is of use to anyone).
    pub fn new(
        stores: RolloverStores,
        staging_retention_days: u64,
        session_lifetime: Duration,
    ) -> Self {
        Self {
            stores,
            staging_retention: Days::new(staging_retention_days),
            session_lifetime,
        }
    }

    /// Runs the rollover for `today`.
    pub async fn run(
        &self,
        today: NaiveDate,
        dry_run: bool,
    ) -> Result<RolloverSummary, StoreError> {
        let start_of_day = today.and_time(NaiveTime::MIN).and_utc();
        let staging_cutoff = today
            .checked_sub_days(self.staging_retention)
            .unwrap_or(NaiveDate::MIN)
            .and_time(NaiveTime::MIN)
            .and_utc();
        let sessions_cutoff = start_of_day - self.session_lifetime;
        let stores = &self.stores;
        Ok(RolloverSummary {
            date: Some(today),
            dry_run,
            organizations_rolled: self.roll_organizations(today, dry_run).await?,
            accounts_deactivated: self.deactivate_accounts(today, dry_run).await?,
            staging_records_purged: stores.staging.purge_stale(staging_cutoff, dry_run).await?,
            tokens_purged: stores.tokens.purge_expired(start_of_day, dry_run).await?,
            sessions_purged: stores
                .sessions
                .purge_started_before(sessions_cutoff, dry_run)
                .await?,
            counters_purged: stores.attempts.purge_expired(start_of_day, dry_run).await?
                + stores.requests.purge_expired(start_of_day, dry_run).await?,
        })
    }

    async fn roll_organizations(&self, today: NaiveDate, dry_run: bool) -> Result<u64, StoreError> {
        if dry_run {
            let due = self
                .stores
                .organizations
                .due_for_rollover(today, usize::MAX)
                .await?;
            return Ok(due.len() as u64);
        }
        let mut rolled = 0;
        loop {
            let due = self
                .stores
                .organizations
                .due_for_rollover(today, BATCH)
                .await?;
            if due.is_empty() {
                return Ok(rolled);
            }
            let mut progressed = false;
            for organization in due {
                let Some(next) = organization.rolled_over(today) else {
                    continue;
                };
                match self.stores.organizations.update(&next).await {
                    Ok(()) => {
                        rolled += 1;
                        progressed = true;
                    }
                    // Edited meanwhile: the next batch reads it again.
                    Err(MembershipWriteError::VersionConflict) => progressed = true,
                    Err(MembershipWriteError::Store(error)) => return Err(error),
                    Err(other) => return Err(StoreError::Unavailable(other.to_string())),
                }
            }
            if !progressed {
                return Ok(rolled);
            }
        }
    }

    async fn deactivate_accounts(
        &self,
        today: NaiveDate,
        dry_run: bool,
    ) -> Result<u64, StoreError> {
        if dry_run {
            return Ok(self
                .stores
                .accounts
                .expired_on(today, usize::MAX)
                .await?
                .len() as u64);
        }
        let mut deactivated = 0;
        loop {
            let due = self.stores.accounts.expired_on(today, BATCH).await?;
            if due.is_empty() {
                return Ok(deactivated);
            }
            let mut progressed = false;
            for account in due {
                let mut next = account.clone();
                next.state = AccountState::Inactive;
                next.version = account.version + 1;
                match self.stores.accounts.update(&next).await {
                    Ok(()) => {
                        deactivated += 1;
                        progressed = true;
                    }
                    Err(AccountWriteError::VersionConflict) => progressed = true,
                    Err(AccountWriteError::Store(error)) => return Err(error),
                    Err(other) => return Err(StoreError::Unavailable(other.to_string())),
                }
            }
            if !progressed {
                return Ok(deactivated);
            }
        }
    }
}
