//! The pages the mailed account links open: activation
//! (`/accounts/activate`), a new password (`/password-reset/confirm`) and a
//! new e-mail address (`/accounts/email-confirmation`). A GET shows a form
//! that carries the link's token in a hidden field; the form POSTs
//! (`application/x-www-form-urlencoded`) to the same path, which calls the
//! account use case and says in plain words what happened. The JSON API on
//! the same paths is untouched: [`is_form`] tells the two apart.
//!
//! The pages work without JavaScript and reuse the console's HTML helpers:
//! escaping, the frame (`lang` attribute, skip link, language switch), the
//! stylesheet and the security headers (a CSP without scripts), plus
//! `Referrer-Policy: no-referrer` and `Cache-Control: no-store` since the
//! token is in the URL. Form posts a browser marks as cross-site or
//! same-site, or with a foreign `Origin`, are refused and change nothing.
//! The token is never logged. French by default, English with `?lang=en` or
//! `Accept-Language`.

mod text;
mod view;

use crate::console::csrf::same_origin;
use crate::console::html::STYLESHEET;
use crate::console::i18n::Lang;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use patron_hub_domain::accounts::{AccountError, AccountService, MailedLink, PasswordPolicy};
use serde::Deserialize;
use std::sync::Arc;
use text::words;
use view::respond;

pub(super) use view::STYLESHEET_PATH;

type Service = State<Arc<AccountService>>;

/// Whether a POST carries an HTML form (its pages' flow) rather than JSON.
pub(super) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// `GET /accounts/style.css`: the console's stylesheet, for these pages.
pub(super) async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// The `?token=` of a mailed link.
#[derive(Deserialize)]
pub(super) struct LinkQuery {
    #[serde(default)]
    token: String,
}

/// The link's token, unless it is missing or empty.
fn link_token(query: Result<Query<LinkQuery>, QueryRejection>) -> Option<String> {
    query
        .ok()
        .map(|Query(query)| query.token)
        .filter(|token| !token.is_empty())
}

/// The link's token if the link still works (without using it); otherwise
/// the page that says it does not, or that the service is unavailable.
async fn working_link(
    service: &AccountService,
    lang: &Lang,
    query: Result<Query<LinkQuery>, QueryRejection>,
    kind: MailedLink,
) -> Result<String, Response> {
    let token = link_token(query).ok_or_else(|| invalid_link(lang))?;
    match service.link_works(&token, kind).await {
        Ok(true) => Ok(token),
        Ok(false) => Err(invalid_link(lang)),
        Err(error) => Err(failure(lang, error)),
    }
}

/// `GET /accounts/activate?token=…`: the activation form.
pub(super) async fn activation_page(
    State(service): Service,
    lang: Lang,
    query: Result<Query<LinkQuery>, QueryRejection>,
) -> Response {
    let w = words(&lang);
    match working_link(&service, &lang, query, MailedLink::Activation).await {
        Ok(token) => {
            let main = view::activation_form(&lang, w, &token, None);
            respond(&lang, w, StatusCode::OK, w.activate_title, &main)
        }
        Err(page) => page,
    }
}

/// `GET /password-reset/confirm?token=…`: the new-password form.
pub(super) async fn reset_page(
    State(service): Service,
    lang: Lang,
    query: Result<Query<LinkQuery>, QueryRejection>,
) -> Response {
    let w = words(&lang);
    match working_link(&service, &lang, query, MailedLink::NewPassword).await {
        Ok(token) => {
            let main = view::reset_form(&lang, w, policy(&service), &token, None);
            respond(&lang, w, StatusCode::OK, w.reset_title, &main)
        }
        Err(page) => page,
    }
}

/// `GET /accounts/email-confirmation?token=…`: the confirmation button.
pub(super) async fn email_page(
    State(service): Service,
    lang: Lang,
    query: Result<Query<LinkQuery>, QueryRejection>,
) -> Response {
    let w = words(&lang);
    match working_link(&service, &lang, query, MailedLink::EmailConfirmation).await {
        Ok(token) => {
            let main = view::email_form(&lang, w, &token);
            respond(&lang, w, StatusCode::OK, w.email_title, &main)
        }
        Err(page) => page,
    }
}

/// The activation form as posted.
#[derive(Deserialize, Default)]
pub(super) struct ActivationForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

/// `POST /accounts/activate` (a form): activates the account, or says why not.
/// A wrong password shows the form again: the link stays usable.
pub(super) async fn activation_submitted(
    State(service): Service,
    lang: Lang,
    headers: HeaderMap,
    form: Result<Form<ActivationForm>, FormRejection>,
) -> Response {
    let w = words(&lang);
    let Some(form) = accepted(&service, &headers, form) else {
        return refused(&lang);
    };
    match service.activate(&form.token, &form.password).await {
        Ok(()) => {
            let main = view::done(w, w.activated, &home(&service));
            respond(&lang, w, StatusCode::OK, w.activated_title, &main)
        }
        Err(AccountError::InvalidCredentials) => {
            let main = view::activation_form(&lang, w, &form.token, Some(w.wrong_password));
            respond(&lang, w, StatusCode::UNAUTHORIZED, w.activate_title, &main)
        }
        Err(error) => failure(&lang, error),
    }
}

/// The new-password form as posted.
#[derive(Deserialize, Default)]
pub(super) struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirmation: String,
}

/// `POST /password-reset/confirm` (a form): sets the new password, or says
/// why not. Two different passwords, or one the policy refuses, show the form
/// again and leave the link usable.
pub(super) async fn reset_submitted(
    service: &AccountService,
    lang: &Lang,
    headers: &HeaderMap,
    form: Result<Form<ResetForm>, FormRejection>,
) -> Response {
    let w = words(lang);
    let Some(form) = accepted(service, headers, form) else {
        return refused(lang);
    };
    let again = |status: StatusCode, trouble: &str| {
        let main = view::reset_form(lang, w, policy(service), &form.token, Some(trouble));
        respond(lang, w, status, w.reset_title, &main)
    };
    if form.password != form.confirmation {
        return again(StatusCode::UNPROCESSABLE_ENTITY, w.mismatch);
    }
    match service
        .confirm_password_reset(&form.token, &form.password)
        .await
    {
        Ok(()) => {
            let main = view::done(w, w.reset_done, &home(service));
            respond(lang, w, StatusCode::OK, w.reset_done_title, &main)
        }
        Err(AccountError::WeakPassword(reason)) => {
            let why = format!(
                "{} {}",
                w.weak_password,
                w.weak_reason(policy(service), &reason)
            );
            again(StatusCode::UNPROCESSABLE_ENTITY, &why)
        }
        Err(error) => failure(lang, error),
    }
}

/// The e-mail confirmation form as posted.
#[derive(Deserialize, Default)]
pub(super) struct EmailForm {
    #[serde(default)]
    token: String,
}

/// `POST /accounts/email-confirmation` (a form): moves the account to the
/// new address, or says why not.
pub(super) async fn email_submitted(
    service: &AccountService,
    lang: &Lang,
    headers: &HeaderMap,
    form: Result<Form<EmailForm>, FormRejection>,
) -> Response {
    let w = words(lang);
    let Some(form) = accepted(service, headers, form) else {
        return refused(lang);
    };
    match service.confirm_email_change(&form.token).await {
        Ok(()) => {
            let main = view::done(w, w.email_done, &home(service));
            respond(lang, w, StatusCode::OK, w.email_done_title, &main)
        }
        Err(error) => failure(lang, error),
    }
}

/// The form, unless a browser marks it cross-site or it comes from another
/// origin (then nothing is done). A form that does not parse is an empty one:
/// its empty token is an invalid link.
fn accepted<T: Default>(
    service: &AccountService,
    headers: &HeaderMap,
    form: Result<Form<T>, FormRejection>,
) -> Option<T> {
    if !same_origin(headers, &service.settings().public_base_url) {
        tracing::warn!("account link form refused: cross-site or foreign origin");
        return None;
    }
    Some(form.map(|Form(form)| form).unwrap_or_default())
}

/// The password policy the service applies (for the hint and the reasons).
fn policy(service: &AccountService) -> PasswordPolicy {
    PasswordPolicy::new(service.settings().min_password_length)
}

/// Where a patron logs in: the site's home, as the mails say.
fn home(service: &AccountService) -> String {
    format!(
        "{}/",
        service.settings().public_base_url.trim_end_matches('/')
    )
}

/// 400: the link is unknown, used, expired, or not for this page.
fn invalid_link(lang: &Lang) -> Response {
    let w = words(lang);
    let main = view::trouble(w.invalid_link, Some(w.invalid_hint));
    respond(lang, w, StatusCode::BAD_REQUEST, w.invalid_title, &main)
}

/// 403: a cross-site form.
fn refused(lang: &Lang) -> Response {
    let w = words(lang);
    let main = view::trouble(w.refused, None);
    respond(lang, w, StatusCode::FORBIDDEN, w.refused_title, &main)
}

/// Any other refusal of a use case: an unavailable service is 503 (and
/// logged, without the token); anything else means the link cannot be used.
fn failure(lang: &Lang, error: AccountError) -> Response {
    match error {
        AccountError::Unavailable(detail) => {
            tracing::error!(%detail, "account service unavailable");
            let w = words(lang);
            let t = lang.text();
            let main = view::trouble(t.unavailable, None);
            respond(
                lang,
                w,
                StatusCode::SERVICE_UNAVAILABLE,
                t.unavailable_title,
                &main,
            )
        }
        AccountError::TokenInvalid => invalid_link(lang),
        other => {
            tracing::warn!(error = %other, "account link refused");
            invalid_link(lang)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_urlencoded_bodies_are_forms() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            headers
        };
        assert!(is_form(&with("application/x-www-form-urlencoded")));
        assert!(is_form(&with(
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8"
        )));
        assert!(!is_form(&with("application/json")));
        assert!(!is_form(&with("multipart/form-data; boundary=x")));
        assert!(!is_form(&HeaderMap::new()));
    }
}
