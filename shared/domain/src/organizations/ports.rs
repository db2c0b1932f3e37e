//! The ports of organizations and memberships. Each has one adapter per
//! backend held to the shared contract suite; every listing is an indexed
//! read (a key range), never a scan.

use super::{FeeEntry, Membership, MembershipId, Organization};
use crate::accounts::{AccountId, OrganizationId};
use crate::StoreError;
use async_trait::async_trait;
use chrono::NaiveDate;

/// Why an organization or membership write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum MembershipWriteError {
    /// The record changed since it was read, or is gone: re-read and retry.
    #[error("the record was changed by someone else")]
    VersionConflict,
    /// The person has another membership of this organization for part of the period.
    #[error("the person is already a member for part of this period")]
    Overlap,
    /// The person is an agent of another organization, by a membership valid today.
    #[error("the person is an agent of another organization")]
    AgentElsewhere,
    /// The backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Organizations.
#[async_trait]
pub trait OrganizationStore: Send + Sync {
    /// Creates an organization (version 1) together with its founder's
    /// membership, atomically.
    async fn create(
        &self,
        organization: &Organization,
        founder: &Membership,
    ) -> Result<(), MembershipWriteError>;
    /// One organization.
    async fn get(&self, id: OrganizationId) -> Result<Option<Organization>, StoreError>;
    /// Replaces an organization whose stored version is `organization.version - 1`.
    async fn update(&self, organization: &Organization) -> Result<(), MembershipWriteError>;
    /// Up to `limit` organizations whose yearly rollover is due on `today`
    /// (window start + 1 year <= today, not yet rolled on `today`), read from
    /// an index keyed by the due date.
    async fn due_for_rollover(
        &self,
        today: NaiveDate,
        limit: usize,
    ) -> Result<Vec<Organization>, StoreError>;
}

/// Memberships and the fees they charge.
#[async_trait]
pub trait MembershipStore: Send + Sync {
    /// Adds a membership (version 1) and its fee entry in one atomic write,
    /// refusing `Overlap` (another membership of the same person and
    /// organization shares a day with it) and `AgentElsewhere` (it holds
    /// AGENT while a membership of another organization valid on `today` does).
    async fn add(
        &self,
        membership: &Membership,
        fee: Option<&FeeEntry>,
        today: NaiveDate,
    ) -> Result<(), MembershipWriteError>;
    /// Replaces a membership whose stored version is `membership.version - 1`
    /// (roles and titles change), with the same AGENT rule as `add`.
    async fn update(
        &self,
        membership: &Membership,
        today: NaiveDate,
    ) -> Result<(), MembershipWriteError>;
    /// Removes a membership whose stored version is `membership.version` (its fee entry stays).
    async fn remove(&self, membership: &Membership) -> Result<(), MembershipWriteError>;
    /// One membership.
    async fn get(&self, id: MembershipId) -> Result<Option<Membership>, StoreError>;
    /// Every membership of an organization, oldest first (one indexed read).
    async fn of_organization(
        &self,
        organization: OrganizationId,
    ) -> Result<Vec<Membership>, StoreError>;
    /// Every membership of a person, oldest first (one indexed read).
    async fn of_person(&self, person: AccountId) -> Result<Vec<Membership>, StoreError>;
    /// Every fee entry of an organization.
    async fn fees(&self, organization: OrganizationId) -> Result<Vec<FeeEntry>, StoreError>;
}
