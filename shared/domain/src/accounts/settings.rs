//! What the account service is configured with, and the adapters it is built on.

use super::{AccountStore, LoginAttempts, Mailer, SessionStore, TokenStore};
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
        }
    }
}

/// The adapters the account service talks to, built once at start-up.
#[derive(Clone)]
pub struct AccountServices {
    /// Accounts.
    pub accounts: Arc<dyn AccountStore>,
    /// Single-use tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Login sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// Failed-login counters.
    pub attempts: Arc<dyn LoginAttempts>,
    /// Outgoing mail.
    pub mailer: Arc<dyn Mailer>,
    /// Where "now" comes from (fixed in tests of expiry rules).
    pub clock: Arc<dyn Clock>,
}
