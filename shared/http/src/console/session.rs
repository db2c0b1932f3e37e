//! Who is using the console: the staff account behind the session cookie (the
//! accounts API's cookie, never a bearer token), and the login form's
//! pre-session cookie.

use super::i18n::Lang;
use super::{csrf, html, ConsoleApi};
use crate::accounts::{cookie_name, read_cookie, secure_attribute};
use axum::extract::FromRequestParts;
use axum::http::header::LOCATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use patron_hub_domain::accounts::{Account, AccountError, NetworkRole};

/// The pre-session cookie's name on plain-HTTP development servers (with the
/// `__Host-` prefix over HTTPS, as the session cookie).
const LOGIN_COOKIE: &str = "patron_hub_console_login";

/// How long a login form stays usable.
const LOGIN_FORM_SECONDS: u32 = 3600;

/// A signed-in staff member, with the CSRF token of their forms.
pub(super) struct Staff {
    /// Their account.
    pub(super) account: Account,
    /// The token every form they get carries.
    pub(super) csrf: String,
    /// Their session token (to log out; never shown, never logged).
    pub(super) session: String,
}

/// Whether an account may use the console.
pub(super) fn is_staff(account: &Account) -> bool {
    account.has_role(NetworkRole::NetworkStaff) || account.has_role(NetworkRole::SuperAdmin)
}

impl FromRequestParts<ConsoleApi> for Staff {
    type Rejection = Response;

    /// 303 to the login page without a valid session; 403 for a non-staff
    /// account; 503 when sessions cannot be read.
    async fn from_request_parts(
        parts: &mut Parts,
        api: &ConsoleApi,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::of(parts);
        let settings = api.accounts.settings();
        let Some(session) = read_cookie(&parts.headers, &cookie_name(&settings.public_base_url))
        else {
            return Err(see_other(&lang.href("/console/login")));
        };
        match api.accounts.authenticate(&session).await {
            Ok(account) if is_staff(&account) => Ok(Self {
                account,
                csrf: csrf::session_token(&api.csrf_key, &session),
                session,
            }),
            Ok(_) => Err(forbidden(&lang)),
            Err(AccountError::Unavailable(detail)) => {
                tracing::error!(%detail, "session store unavailable");
                Err(unavailable(&lang, None))
            }
            Err(_) => Err(see_other(&lang.href("/console/login"))),
        }
    }
}

/// 303 to `location` (a GET after a form, or to the login page).
pub(super) fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, location.to_owned())]).into_response()
}

/// 403: the account is not staff.
pub(super) fn forbidden(lang: &Lang) -> Response {
    let t = lang.text();
    html::message_page(
        lang,
        None,
        StatusCode::FORBIDDEN,
        t.forbidden_title,
        t.staff_only,
        ("/console/login", t.login_title),
    )
}

/// 503: a backend failed (the detail is logged by the caller).
pub(super) fn unavailable(lang: &Lang, staff: Option<&Staff>) -> Response {
    let t = lang.text();
    html::message_page(
        lang,
        staff,
        StatusCode::SERVICE_UNAVAILABLE,
        t.unavailable_title,
        t.unavailable,
        ("/console", t.back_to_search),
    )
}

/// The name of the login form's cookie for a server at `base_url`.
pub(super) fn login_cookie_name(base_url: &str) -> String {
    if base_url.starts_with("https://") {
        format!("__Host-{LOGIN_COOKIE}")
    } else {
        LOGIN_COOKIE.to_owned()
    }
}

/// The login form's cookie, if the browser sent it back.
pub(super) fn pre_session(headers: &HeaderMap, base_url: &str) -> Option<String> {
    read_cookie(headers, &login_cookie_name(base_url)).filter(|value| !value.is_empty())
}

/// The `Set-Cookie` value of the login form's cookie (`value` empty: removed).
pub(super) fn login_cookie(base_url: &str, value: &str) -> String {
    let max_age = if value.is_empty() {
        0
    } else {
        LOGIN_FORM_SECONDS
    };
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        login_cookie_name(base_url),
        secure_attribute(base_url)
    )
}
