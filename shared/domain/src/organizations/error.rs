//! The one error of the organization use cases; the HTTP layer maps each
//! variant to its status and `{"code","message"}` body in one place.

use super::{MembershipRuleError, MembershipWriteError};
use crate::accounts::InvalidField;
use crate::StoreError;

/// Why an organization use case did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrganizationError {
    /// Logged in, but not allowed (403 `FORBIDDEN`).
    #[error("you are not allowed to do this")]
    Forbidden,
    /// No such organization (404 `ORGANIZATION_NOT_FOUND`).
    #[error("no such organization")]
    OrganizationNotFound,
    /// No such member in this organization (404 `MEMBER_NOT_FOUND`).
    #[error("no such member in this organization")]
    MemberNotFound,
    /// No such person (404 `PERSON_NOT_FOUND`).
    #[error("no such person")]
    PersonNotFound,
    /// A field is malformed (422 `VALIDATION_ERROR`, naming it).
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// A membership rule refuses it (422 `MEMBERSHIP_RULE`, with the seed's message).
    #[error("{0}")]
    Rule(MembershipRuleError),
    /// The person is already a member for part of that period (409 `ALREADY_MEMBER`).
    #[error("User is already a member of the club")]
    AlreadyMember,
    /// A renewal exists already (409 `ALREADY_RENEWED`).
    #[error("User has already renewed this membership")]
    AlreadyRenewed,
    /// The person is an agent elsewhere (409 `AGENT_IN_ANOTHER_ORGANIZATION`).
    #[error("ORGANIZATION:AGENT can be held in one organization only")]
    AgentInAnotherOrganization,
    /// The organization would be left without an administrator (409 `LAST_ADMIN`).
    #[error("an organization keeps at least one administrator")]
    LastAdmin,
    /// The record changed meanwhile (409 `VERSION_CONFLICT`).
    #[error("the record was changed by someone else; try again")]
    Conflict,
    /// A bad `page` or `limit` (400 `INVALID_PAGINATION`).
    #[error("{0}")]
    BadPage(String),
    /// Storage failed (503 `SERVICE_UNAVAILABLE`).
    #[error("service unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for OrganizationError {
    fn from(error: StoreError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

impl From<MembershipRuleError> for OrganizationError {
    fn from(error: MembershipRuleError) -> Self {
        match error {
            MembershipRuleError::AlreadyMember => Self::AlreadyMember,
            MembershipRuleError::AlreadyRenewed => Self::AlreadyRenewed,
            other => Self::Rule(other),
        }
    }
}

impl From<MembershipWriteError> for OrganizationError {
    fn from(error: MembershipWriteError) -> Self {
        match error {
            MembershipWriteError::VersionConflict => Self::Conflict,
            MembershipWriteError::Overlap => Self::AlreadyMember,
            MembershipWriteError::AgentElsewhere => Self::AgentInAnotherOrganization,
            MembershipWriteError::Store(error) => error.into(),
        }
    }
}
