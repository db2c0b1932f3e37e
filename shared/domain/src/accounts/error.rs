//! The one error of the account use cases; the HTTP layer maps it to a status
//! and code in one place.

use super::{AccountWriteError, AddressFlow, HashingError, InvalidField, MailError, WeakPassword};
use crate::StoreError;
use chrono::Duration;
use std::fmt;

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
    /// Too many failed logins or current-password checks for this account (or,
    /// when no account has it, this identifier) lately (429 `TOO_MANY_ATTEMPTS`,
    /// with `Retry-After`).
    #[error("too many failed attempts; try again later")]
    TooManyAttempts {
        /// When a new try may succeed at the latest (the lockout window).
        retry_after: Duration,
    },
    /// A limit on how often something may be asked was reached, whether or not
    /// it succeeded (429 `TOO_MANY_ATTEMPTS`, with `Retry-After`).
    #[error("{limit}; try again later")]
    RateLimited {
        /// Which limit.
        limit: RateLimit,
        /// When a new request may pass at the latest (the limit's window).
        retry_after: Duration,
    },
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

/// A rate limit of the account flows: what the 429 tells the caller it ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// Requests of one flow from one network address.
    Address(AddressFlow),
    /// E-mail changes asked for one account.
    EmailChanges,
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Self::Address(AddressFlow::Login) => "too many logins from this network address",
            Self::Address(AddressFlow::PasswordReset) => {
                "too many password-reset requests from this network address"
            }
            Self::Address(AddressFlow::Registration) => {
                "too many registrations from this network address"
            }
            Self::Address(AddressFlow::MailedLink) => {
                "too many uses of mailed links from this network address"
            }
            Self::EmailChanges => "too many e-mail changes asked for this account",
        };
        f.write_str(what)
    }
}
