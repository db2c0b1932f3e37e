//! The one error of the registration use cases; the HTTP layer maps each to
//! its status and `{"code","message"}` body in one place.

use super::RecordWriteError;
use crate::accounts::InvalidField;
use crate::StoreError;

/// Why a registration use case did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    /// A field is missing or malformed (422, naming the field).
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// No staging record has this externalSystemId (404 `STAGING_USER_NOT_FOUND`).
    #[error("Staging user does not exist")]
    StagingNotFound,
    /// The e-mail belongs to an active patron already (409 `PATRON_ALREADY_EXISTS`).
    #[error("An active patron already has this e-mail address")]
    PatronAlreadyExists,
    /// Not exactly one identifier in a status query (400 `INVALID_IDENTIFIERS`).
    #[error("{0}")]
    InvalidIdentifiers(&'static str),
    /// Several patron records match (400 `MULTIPLE_USER_WITH_EMAIL`).
    #[error("Multiple users found with the same email")]
    MultipleUsers,
    /// The one patron found has expired (404 `ACCOUNT_EXPIRED`).
    #[error("Patron account has expired")]
    AccountExpired,
    /// The one patron found is inactive (404 `USER_ACCOUNT_INACTIVE`).
    #[error("User account is not active")]
    AccountInactive,
    /// No patron matches (404 `USER_NOT_FOUND`).
    #[error("User does not exist")]
    UserNotFound,
    /// Alma refused the patron record (422 `ALMA_REJECTED`, with Alma's errorCode).
    #[error("Alma refused the patron record (errorCode {code}): {message}")]
    AlmaRejected {
        /// Alma's errorCode.
        code: String,
        /// Alma's errorMessage.
        message: String,
    },
    /// Alma did not answer usefully; nothing was lost, try again (503 `ALMA_UNAVAILABLE`).
    #[error("Alma is unavailable, try again later: {0}")]
    AlmaUnavailable(String),
    /// Someone else changed the record at the same moment (409 `VERSION_CONFLICT`).
    #[error("the record was changed by someone else; try again")]
    Conflict,
    /// Storage failed (503 `SERVICE_UNAVAILABLE`).
    #[error("service unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for RegistrationError {
    fn from(error: StoreError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

impl From<RecordWriteError> for RegistrationError {
    fn from(error: RecordWriteError) -> Self {
        match error {
            RecordWriteError::VersionConflict | RecordWriteError::EmailTaken => Self::Conflict,
            RecordWriteError::Store(error) => error.into(),
        }
    }
}
