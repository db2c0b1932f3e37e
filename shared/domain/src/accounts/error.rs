//! The one error of the account use cases; the HTTP layer maps it to a status
//! and code in one place.

use super::{AccountWriteError, HashingError, InvalidField, MailError, WeakPassword};
use crate::StoreError;

/// Why an account use case did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// A field is malformed (422 `VALIDATION_ERROR`, naming the field).
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// The new password breaks the policy (422 `WEAK_PASSWORD`, saying why).
    #[error("{0}")]
    WeakPassword(String),
    /// Another account has this user name (409 `USER_NAME_TAKEN`; administrator creation only).
    #[error("this user name is already taken")]
    UserNameTaken,
    /// Another account has, or had, this e-mail (409 `EMAIL_TAKEN`).
    #[error("this e-mail address is already taken")]
    EmailTaken,
    /// Unknown, used, expired or misdirected token (400 `TOKEN_INVALID`, no detail).
    #[error("this link is invalid or has expired")]
    TokenInvalid,
    /// Unknown identifier, wrong password, pending, inactive or expired account:
    /// one answer for all (401 `INVALID_CREDENTIALS`).
    #[error("invalid user name, e-mail or password")]
    InvalidCredentials,
    /// Too many failed logins for this identifier lately (429 `TOO_MANY_ATTEMPTS`).
    #[error("too many failed attempts; try again later")]
    TooManyAttempts,
    /// No session, or an expired one (401 `UNAUTHENTICATED`).
    #[error("not logged in, or the session has expired")]
    Unauthenticated,
    /// Logged in, but not allowed to do this (403 `FORBIDDEN`).
    #[error("you are not allowed to do this")]
    Forbidden,
    /// No such account (404 `ACCOUNT_NOT_FOUND`).
    #[error("no such account")]
    NotFound,
    /// The account changed since it was read (409 `VERSION_CONFLICT`).
    #[error("the account was changed by someone else; reload it and try again")]
    Conflict,
    /// The import file has errors; nothing was created (422 `IMPORT_REJECTED`),
    /// every error as `Line N: ...`.
    #[error("import rejected: {}", .0.join("; "))]
    ImportRejected(Vec<String>),
    /// Storage, hashing or the mailer failed (503 `SERVICE_UNAVAILABLE`).
    #[error("service unavailable: {0}")]
    Unavailable(String),
}

impl From<WeakPassword> for AccountError {
    fn from(weak: WeakPassword) -> Self {
        Self::WeakPassword(weak.to_string())
    }
}

impl From<StoreError> for AccountError {
    fn from(error: StoreError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

impl From<MailError> for AccountError {
    fn from(error: MailError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

impl From<HashingError> for AccountError {
    fn from(error: HashingError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

impl From<AccountWriteError> for AccountError {
    fn from(error: AccountWriteError) -> Self {
        match error {
            AccountWriteError::UserNameTaken(_) => Self::UserNameTaken,
            AccountWriteError::EmailTaken(_) => Self::EmailTaken,
            AccountWriteError::VersionConflict => Self::Conflict,
            AccountWriteError::NotFound => Self::NotFound,
            AccountWriteError::Store(error) => error.into(),
        }
    }
}
