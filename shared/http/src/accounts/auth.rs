//! Who is calling: the session token from `Authorization: Bearer …` (APIs) or
//! from the session cookie (browsers), checked by the account service on
//! every request. A change authenticated by the cookie must also come from
//! patron-hub's own origin with a JSON body ([`crate::origin`]).

use super::error::AccountApiError;
use crate::error::ApiError;
use crate::origin::check_cookie_request;
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use patron_hub_domain::accounts::{Account, AccountError, AccountService, AccountSettings};
use std::sync::Arc;

/// The session cookie's name on plain-HTTP development servers; over HTTPS it
/// carries the `__Host-` prefix (host-only, path `/`, `Secure`).
pub const SESSION_COOKIE: &str = "patron_hub_session";

/// The cookie name in force for a server whose public URL is `base_url`.
pub fn cookie_name(base_url: &str) -> String {
    if base_url.starts_with("https://") {
        format!("__Host-{SESSION_COOKIE}")
    } else {
        SESSION_COOKIE.to_owned()
    }
}

/// The `Set-Cookie` value that hands a new session token to a browser: host-only,
/// `HttpOnly`, `SameSite=Strict`, `Secure` over HTTPS, for the absolute timeout.
pub(crate) fn session_cookie(settings: &AccountSettings, token: &str) -> String {
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        cookie_name(&settings.public_base_url),
        settings.session_absolute.num_seconds(),
        secure_attribute(&settings.public_base_url)
    )
}

/// The `Set-Cookie` value that removes the session cookie (with `Secure` over
/// HTTPS: browsers ignore a `__Host-` cookie set without it, even to delete it).
pub(crate) fn expired_session_cookie(settings: &AccountSettings) -> String {
    format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        cookie_name(&settings.public_base_url),
        secure_attribute(&settings.public_base_url)
    )
}

/// `; Secure` for a server reached over HTTPS.
pub(crate) fn secure_attribute(base_url: &str) -> &'static str {
    if base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// The value of the cookie `name` among the request's `Cookie` headers.
pub(crate) fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// The session token the request carries, if any: the bearer token, else the
/// session cookie — which, on a change (POST, PUT, PATCH, DELETE), counts only
/// from patron-hub's own origin and with a JSON body: 403 `CROSS_ORIGIN`
/// otherwise, before anything is read or done.
pub struct SessionToken(pub Option<String>);

impl FromRequestParts<Arc<AccountService>> for SessionToken {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        service: &Arc<AccountService>,
    ) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned());
        if bearer.is_some() {
            return Ok(Self(bearer));
        }
        let base = &service.settings().public_base_url;
        let cookie = read_cookie(&parts.headers, &cookie_name(base));
        if cookie.is_some() {
            check_cookie_request(&parts.method, &parts.headers, base)?;
        }
        Ok(Self(cookie))
    }
}

/// The logged-in account; requests without a valid session get 401 `UNAUTHENTICATED`.
pub struct CurrentAccount(pub Account);

impl FromRequestParts<Arc<AccountService>> for CurrentAccount {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        service: &Arc<AccountService>,
    ) -> Result<Self, Self::Rejection> {
        let SessionToken(token) = SessionToken::from_request_parts(parts, service)
            .await
            .map_err(IntoResponse::into_response)?;
        let answer = async {
            let token = token.ok_or(AccountError::Unauthenticated)?;
            service.authenticate(&token).await
        };
        answer
            .await
            .map(Self)
            .map_err(|error| AccountApiError(error).into_response())
    }
}
