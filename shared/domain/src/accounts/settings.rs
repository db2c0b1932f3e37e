//! What the account service is configured with, and the adapters it is built on.

use super::{AccountStore, LoginAttempts, Mailer, RequestCounters, SessionStore, TokenStore};
use crate::Clock;
use chrono::Duration;
use std::sync::Arc;

/// The tunable part of the account flows; `Default` gives the values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSettings {
    /// Where links in mails point (never taken from a request's Host header).
    pub public_base_url: String,
    /// The shortest password accepted, in characters.
    pub min_password_length: usize,
    /// Lifetime of activation links, and of invitation and first-administrator
    /// set-password links and e-mail confirmation links.
    pub activation_ttl: Duration,
    /// Lifetime of forgotten-password links.
    pub reset_ttl: Duration,
    /// A session unused this long is over.
    pub session_idle: Duration,
    /// A session this old is over, however active.
    pub session_absolute: Duration,
    /// Failed logins for one identifier that lock it out…
    pub lockout_failures: u32,
    /// …within this window, until the window has passed.
    pub lockout_window: Duration,
    /// A forgotten-password request is answered no sooner than this: the
    /// answer for an existing account (a token stored, a mail sent) then
    /// takes as long as for an unknown one, unless the mail takes longer.
    pub reset_answer_floor: std::time::Duration,
    /// How often one network address may try each unauthenticated flow.
    pub address_limits: AddressLimits,
    /// The largest bulk-import sheet read.
    pub import_limits: ImportLimits,
}

/// The largest bulk-import sheet: its cells must lie within the first `rows`
/// rows and `columns` columns, checked before the sheet is laid out in memory
/// (a spreadsheet names any cell up to XFD1048576, and a reader that lays out
/// the rectangle between the first and the last cell would take gigabytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// Rows, the header included.
    pub rows: u32,
    /// Columns.
    pub columns: u32,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self {
            rows: 10_000,
            columns: 20,
        }
    }
}

/// At most `requests` in any `window`, from one network address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressLimit {
    /// Requests allowed…
    pub requests: u32,
    /// …within this window.
    pub window: Duration,
}

/// The per-address limits of the flows anyone may call without a session:
/// beyond them the address gets 429 until the window has passed, whatever
/// account the requests name, so guessing passwords or mailing many
/// addresses from one place is slowed down (the per-identifier limits stay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressLimits {
    /// Logins (the API's and the staff console's).
    pub login: AddressLimit,
    /// Forgotten-password requests.
    pub password_reset: AddressLimit,
    /// Self-registrations.
    pub registration: AddressLimit,
    /// Uses of mailed links: activation, new password, e-mail confirmation.
    pub mailed_link: AddressLimit,
}

impl Default for AddressLimits {
    fn default() -> Self {
        let per = |requests, window| AddressLimit { requests, window };
        Self {
            login: per(100, Duration::minutes(15)),
            password_reset: per(20, Duration::hours(1)),
            registration: per(20, Duration::hours(1)),
            mailed_link: per(60, Duration::hours(1)),
        }
    }
}

/// A flow limited per network address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressFlow {
    /// Logging in.
    Login,
    /// Asking for a new-password link.
    PasswordReset,
    /// Registering oneself.
    Registration,
    /// Following a mailed link.
    MailedLink,
}

impl AddressFlow {
    /// The name its counters are kept under.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::PasswordReset => "password-reset",
            Self::Registration => "registration",
            Self::MailedLink => "mailed-link",
        }
    }
}

impl AddressLimits {
    /// The limit of `flow`.
    pub fn of(&self, flow: AddressFlow) -> AddressLimit {
        match flow {
            AddressFlow::Login => self.login,
            AddressFlow::PasswordReset => self.password_reset,
            AddressFlow::Registration => self.registration,
            AddressFlow::MailedLink => self.mailed_link,
        }
    }
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            public_base_url: "http://127.0.0.1:8080".to_owned(),
            min_password_length: 12,
            activation_ttl: Duration::hours(72),
            reset_ttl: Duration::minutes(30),
            session_idle: Duration::minutes(15),
            session_absolute: Duration::hours(8),
            lockout_failures: 10,
            lockout_window: Duration::minutes(15),
            reset_answer_floor: std::time::Duration::from_millis(400),
            address_limits: AddressLimits::default(),
            import_limits: ImportLimits::default(),
        }
    }
}

/// The ports the account service talks to, built once at start-up.
#[derive(Clone)]
pub struct AccountPorts {
    /// Accounts.
    pub accounts: Arc<dyn AccountStore>,
    /// Single-use tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Login sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// Failed-login counters (the lockout).
    pub attempts: Arc<dyn LoginAttempts>,
    /// Counters of limited requests (per address, registration, reset, e-mail change).
    pub requests: Arc<dyn RequestCounters>,
    /// Outgoing mail.
    pub mailer: Arc<dyn Mailer>,
    /// Where "now" comes from (fixed in tests of expiry rules).
    pub clock: Arc<dyn Clock>,
}
