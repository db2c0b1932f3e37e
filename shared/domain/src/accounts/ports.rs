//! The ports of the accounts use cases. Each has one adapter per backend
//! (SQLite; DynamoDB, SES) held to the shared contract suite.

use super::{Account, AccountId, AddressFlow, Email, Language, TokenHash, UserName};
use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Why an account could not be written.
#[derive(Debug, thiserror::Error)]
pub enum AccountWriteError {
    /// Another account has this user name (case-insensitive).
    #[error("the user name {0} is taken")]
    UserNameTaken(String),
    /// Another account has, or had, this e-mail.
    #[error("the e-mail {0} is taken")]
    EmailTaken(String),
    /// The account changed since it was read (optimistic locking).
    #[error("the account was changed by someone else")]
    VersionConflict,
    /// No such account.
    #[error("no such account")]
    NotFound,
    /// The backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Accounts, with user names and e-mails unique under concurrency.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates an account (version 1) unless its user name or e-mail is taken.
    async fn create(&self, account: &Account) -> Result<(), AccountWriteError>;
    /// Creates every account or none (bulk import), even beyond one
    /// transaction's size: a failure part-way leaves nothing behind.
    async fn create_all(&self, accounts: &[Account]) -> Result<(), AccountWriteError>;
    /// Replaces an account whose stored version is `account.version - 1`; an
    /// e-mail or user-name change moves the reservation atomically (the old
    /// e-mail stays reserved for ever).
    async fn update(&self, account: &Account) -> Result<(), AccountWriteError>;
    /// One account by id.
    async fn get(&self, id: AccountId) -> Result<Option<Account>, StoreError>;
    /// The account holding an e-mail (one indexed lookup).
    async fn find_by_email(&self, email: &Email) -> Result<Option<Account>, StoreError>;
    /// The account holding a user name, case-insensitive (one indexed lookup).
    async fn find_by_user_name(&self, user_name: &UserName) -> Result<Option<Account>, StoreError>;
    /// Which of these user names and e-mails are already taken (bulk import's check).
    async fn taken(
        &self,
        user_names: &[UserName],
        emails: &[Email],
    ) -> Result<(Vec<UserName>, Vec<Email>), StoreError>;
    /// Accounts whose user name, e-mail or names contain `text` (case-insensitive), at most `limit`.
    async fn search(&self, text: &str, limit: usize) -> Result<Vec<Account>, StoreError>;
    /// Up to `limit` accounts that are not inactive and whose expiry date is
    /// before `today`, read from an index keyed by expiry date (never a scan):
    /// what the daily rollover deactivates.
    async fn expired_on(&self, today: NaiveDate, limit: usize) -> Result<Vec<Account>, StoreError>;
}

/// What a single-use token is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TokenPurpose {
    /// Confirms a self-registration's e-mail.
    Activation,
    /// Sets a new password (forgotten password, or an administrator's invitation).
    PasswordReset,
    /// Confirms a new e-mail address before it replaces the old one.
    EmailChange {
        /// The address being confirmed.
        new_email: Email,
    },
}

/// A stored token: its hash, never the token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// Whose token it is.
    pub account_id: AccountId,
    /// What it allows.
    pub purpose: TokenPurpose,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// After this instant it is worthless, whether or not storage has purged it.
    pub expires_at: DateTime<Utc>,
}

/// Single-use tokens.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Keeps a new token.
    async fn issue(&self, token: &TokenRecord) -> Result<(), StoreError>;
    /// Uses a token once: atomically removes it and returns it if it exists and
    /// has not expired at `now`; otherwise `None` (the caller checks its purpose).
    /// Two concurrent uses give one success.
    async fn consume(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenRecord>, StoreError>;
    /// The token, if it exists and has not expired at `now`, without using it
    /// (a mailed link's page shows its form only while the link works).
    async fn find(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenRecord>, StoreError>;
    /// Removes every outstanding token of an account (after a password reset).
    async fn revoke_all(&self, account_id: AccountId) -> Result<(), StoreError>;
    /// Counts, and unless `dry_run` removes, the tokens that expired before
    /// `now` (an index keyed by expiry, never a scan).
    async fn purge_expired(&self, now: DateTime<Utc>, dry_run: bool) -> Result<u64, StoreError>;
}

/// A stored session: its hash, never the session token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// SHA-256 of the session token.
    pub hash: TokenHash,
    /// Whose session it is.
    pub account_id: AccountId,
    /// When it started (the absolute timeout counts from here).
    pub created_at: DateTime<Utc>,
    /// When it was last used (the idle timeout counts from here).
    pub last_used_at: DateTime<Utc>,
}

/// Login sessions.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Keeps a new session.
    async fn create(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// The session, if it exists.
    async fn get(&self, hash: &TokenHash) -> Result<Option<SessionRecord>, StoreError>;
    /// Records a use of the session at `at`.
    async fn touch(&self, hash: &TokenHash, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Ends one session.
    async fn delete(&self, hash: &TokenHash) -> Result<(), StoreError>;
    /// Ends every session of an account.
    async fn delete_all(&self, account_id: AccountId) -> Result<(), StoreError>;
    /// Counts, and unless `dry_run` removes, the sessions started before
    /// `cutoff` (an index keyed by start time, never a scan): the daily
    /// rollover's purge of sessions past their absolute timeout.
    async fn purge_started_before(
        &self,
        cutoff: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<u64, StoreError>;
}

/// Failed logins (and wrong current passwords) per submitted identifier,
/// whether or not an account has it, or per account: what the lockout counts.
/// Nothing else is counted here; limited requests have [`RequestCounters`].
#[async_trait]
pub trait LoginAttempts: Send + Sync {
    /// Records a failure for `identifier` at `at`; returns the failures since
    /// `since`, this one included. The failure counts in windows as long as
    /// `at - since`: no window reaching past `at + (at - since)` counts it.
    async fn record_failure(
        &self,
        identifier: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError>;
    /// The failures for `identifier` since `since`.
    async fn failures_since(
        &self,
        identifier: &str,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError>;
    /// Forgets the failures of `identifier` (after a successful login).
    async fn clear(&self, identifier: &str) -> Result<(), StoreError>;
    /// Counts, and unless `dry_run` removes, the failures no window reaching
    /// `now` counts any more (recorded at `at` counting since `since`: those
    /// with `at + (at - since)` before `now`), of every identifier, including
    /// those never tried again (an index keyed by that time, never a scan).
    async fn purge_expired(&self, now: DateTime<Utc>, dry_run: bool) -> Result<u64, StoreError>;
}

/// The longest submitted identifier (or e-mail) kept in a counter's key.
const MAX_IDENTIFIER_KEY: usize = 320;

/// A submitted identifier as counters key it: trimmed, lower-cased and at most
/// [`MAX_IDENTIFIER_KEY`] characters, so that case and surrounding spaces do
/// not make a new counter and no input makes a huge key.
pub(crate) fn identifier_key(identifier: &str) -> String {
    identifier
        .trim()
        .to_lowercase()
        .chars()
        .take(MAX_IDENTIFIER_KEY)
        .collect()
}

/// What a [`RequestCounters`] counter counts. Each kind keeps its counters
/// apart from every other kind's (its key starts with the kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CountedRequest {
    /// Requests of a flow anyone may call without a session from one network
    /// address; an IPv6 address counts for its whole /64, which one client
    /// usually holds.
    Address {
        /// The flow.
        flow: AddressFlow,
        /// The client's address.
        address: IpAddr,
    },
    /// Self-registrations of one e-mail address (each may mail it).
    Registration(Email),
    /// Forgotten-password requests naming one identifier, as submitted.
    PasswordReset(String),
    /// E-mail changes asked for one account.
    EmailChangeOf(AccountId),
    /// E-mail change mails to one address.
    EmailChangeTo(Email),
}

impl CountedRequest {
    /// The key its counter is kept under: the kind, then what is counted
    /// (identifiers and e-mails as [`identifier_key`] makes them).
    pub fn key(&self) -> String {
        match self {
            Self::Address { flow, address } => {
                let counted = match address {
                    IpAddr::V4(v4) => v4.to_string(),
                    IpAddr::V6(v6) => {
                        let [a, b, c, d, ..] = v6.segments();
                        format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
                    }
                };
                format!("address:{}:{counted}", flow.as_str())
            }
            Self::Registration(email) => {
                format!("registration:{}", identifier_key(email.as_str()))
            }
            Self::PasswordReset(identifier) => {
                format!("password-reset:{}", identifier_key(identifier))
            }
            Self::EmailChangeOf(account) => format!("email-change:account:{account}"),
            Self::EmailChangeTo(email) => {
                format!("email-change:to:{}", identifier_key(email.as_str()))
            }
        }
    }
}

/// Counters of limited requests (per address, registration, password reset
/// and e-mail change), kept apart from the [`LoginAttempts`]: counting a
/// request never counts towards a lockout, nor a failed login towards a limit.
#[async_trait]
pub trait RequestCounters: Send + Sync {
    /// Counts one more `request` at `at`; returns how many of its kind and key
    /// were counted from `at - window` on, this one included. The request
    /// counts in windows as long as `window`: none reaching past `at + window`
    /// counts it. Concurrent counts are all kept.
    async fn count(
        &self,
        request: &CountedRequest,
        at: DateTime<Utc>,
        window: Duration,
    ) -> Result<u32, StoreError>;
    /// Counts, and unless `dry_run` removes, the counted requests no window
    /// reaching `now` counts any more (counted at `at` for `window`: those
    /// with `at + window` before `now`), of every key (an index keyed by that
    /// time, never a scan).
    async fn purge_expired(&self, now: DateTime<Utc>, dry_run: bool) -> Result<u64, StoreError>;
}

/// One outgoing message, already rendered in the recipient's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    /// Recipient.
    pub to: Email,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// The language it is written in.
    pub language: Language,
}

/// A message could not be handed over.
#[derive(Debug, thiserror::Error)]
#[error("mail not sent: {0}")]
pub struct MailError(pub String);

/// Sends mail: an outbox folder of `.eml` files, SMTP, or SES.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Hands one message over for delivery.
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}

/// Told when an activation link (with the password chosen at registration)
/// proves that a person holds an e-mail address.
#[async_trait]
pub trait EmailConfirmed: Send + Sync {
    /// `email` is proven; a failure leaves the activation undone and retryable.
    async fn email_confirmed(&self, email: &Email) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_request_keys_name_their_kind_and_normalise_what_they_count() {
        let email = Email::parse("Camille@Example.org").unwrap();
        let keys = [
            CountedRequest::Address {
                flow: AddressFlow::Login,
                address: "2001:db8:1:2:3:4:5:6".parse().unwrap(),
            },
            CountedRequest::Registration(email.clone()),
            CountedRequest::PasswordReset("  Camille@Example.ORG ".to_owned()),
            CountedRequest::EmailChangeTo(email),
        ]
        .map(|request| request.key());
        assert_eq!(
            keys,
            [
                "address:login:2001:db8:1:2::/64",
                "registration:camille@example.org",
                "password-reset:camille@example.org",
                "email-change:to:camille@example.org",
            ]
        );
        let long = CountedRequest::PasswordReset("x".repeat(1000));
        assert_eq!(
            long.key().len(),
            "password-reset:".len() + MAX_IDENTIFIER_KEY
        );
    }
}
