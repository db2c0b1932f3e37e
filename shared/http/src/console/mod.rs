//! The `admin-console` function: the staff console under `/console`, as
//! server-rendered HTML that works without JavaScript (issue 6). Staff find a
//! patron in every institution at once, see one row per institution, act on
//! every account behind a confirmation page, replay dead letters, see
//! and repair the drift the last reconcile found, and watch each
//! institution's operations over the last day. Every
//! use case is the domain's [`Console`]; this module only reads forms, checks
//! who is asking, and writes HTML. It never talks to Alma or storage itself.
//!
//! Security, page by page:
//! - **Sessions** are the accounts API's: the same cookie, set with the same
//!   attributes (`__Host-` name over HTTPS, `Secure`, `HttpOnly`,
//!   `SameSite=Strict`, `Path=/`), checked by `AccountService::authenticate`
//!   on every page but the login page, so the idle and absolute timeouts hold.
//!   Only the cookie counts here (never a bearer token): the console is for
//!   browsers. Without a valid session every page (GET or POST) answers 303 to
//!   the login page; a session of an account without `NETWORK_STAFF` or
//!   `SUPER_ADMIN` gets 403.
//! - **CSRF**: every form of a signed-in page carries
//!   `hex(HMAC-SHA256(csrf_key, "console-csrf:" + session token))`, compared
//!   in constant time on every POST. The login form cannot be bound to a
//!   session yet, so it is bound to a *pre-session* cookie instead: the login
//!   page sets a random `patron_hub_console_login` cookie (same attributes as
//!   the session cookie, one hour) and the form carries
//!   `hex(HMAC-SHA256(csrf_key, "console-login:" + that cookie))`. We chose
//!   this over relying on `SameSite=Strict` and `Origin` alone because it does
//!   not depend on the browser sending those headers (login CSRF — logging a
//!   victim into the attacker's account — needs no victim cookie at all, so
//!   `SameSite` does not help there). In addition every POST with
//!   `Sec-Fetch-Site: cross-site` (or `same-site`), or an `Origin` that is not
//!   the request's own host nor the public base URL, is refused. A refused
//!   form answers 403 with a "form expired" page and changes nothing.
//! - **Headers** on every answer: a `Content-Security-Policy` without any
//!   inline script or style (`default-src 'self'`, `frame-ancestors 'none'`),
//!   `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`,
//!   `Cache-Control: no-store` on pages. Every value written into HTML is
//!   escaped.
//! - **Languages**: French by default, English with `?lang=en` (kept in every
//!   link and form) or an `Accept-Language` preference.

pub(crate) mod csrf;
pub(crate) mod html;
pub(crate) mod i18n;
mod pages;
mod routes;
mod session;
mod svg;

pub use routes::router;

use patron_hub_domain::accounts::AccountService;
use patron_hub_domain::console::Console;
use patron_hub_domain::operations::OperationsLog;
use patron_hub_domain::ports::JobQueue;
use patron_hub_domain::reconciliation::{Reconciliation, ReconciliationStore};
use patron_hub_domain::{Clock, InstitutionCode};
use std::sync::Arc;

/// What the console router is built from, once at start-up.
#[derive(Clone)]
pub struct ConsoleApi {
    /// The console use cases (search, overview, plan, perform).
    pub console: Arc<Console>,
    /// Logins and sessions, shared with the accounts router.
    pub accounts: Arc<AccountService>,
    /// The per-institution queues, for the dead letters page.
    pub queue: Arc<dyn JobQueue>,
    /// Every institution whose dead letters the console lists (zone first).
    pub institutions: Vec<InstitutionCode>,
    /// The secret that CSRF tokens are derived from (32 random bytes).
    pub csrf_key: Arc<[u8; 32]>,
    /// The reconciles' runs and differences, for the drift page.
    pub runs: Arc<dyn ReconciliationStore>,
    /// What repairs the differences a reconcile found, from the drift page.
    pub reconciliation: Arc<Reconciliation>,
    /// The operations time series, for the operations page.
    pub operations: Arc<dyn OperationsLog>,
    /// The time the operations page's day ends at.
    pub clock: Arc<dyn Clock>,
}
