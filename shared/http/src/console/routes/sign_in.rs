//! Logging in (a staff account only) and out.

use super::{add_cookie, checked, form_expired, Api, CsrfForm, FormOf};
use crate::accounts::{expired_session_cookie, retry_after, session_cookie};
use crate::client_address::ClientAddress;
use crate::console::html::page;
use crate::console::i18n::Lang;
use crate::console::pages;
use crate::console::session::{
    forbidden, is_staff, login_cookie, pre_session, see_other, unavailable, Staff,
};
use crate::console::{csrf, ConsoleApi};
use axum::extract::State;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Form};
use patron_hub_domain::accounts::{AccountError, AddressFlow, SecretToken};
use serde::Deserialize;

/// `GET /console/login`: the form, bound to a pre-session cookie (the one the
/// browser already has, so that two tabs both work).
pub(super) async fn login_page(State(api): Api, lang: Lang, headers: HeaderMap) -> Response {
    let base = &api.accounts.settings().public_base_url;
    let pre =
        pre_session(&headers, base).unwrap_or_else(|| SecretToken::generate().expose().to_owned());
    login_form(&api, &lang, &pre, StatusCode::OK, "", None)
}

fn login_form(
    api: &ConsoleApi,
    lang: &Lang,
    pre_session: &str,
    status: StatusCode,
    user_name: &str,
    problem: Option<&str>,
) -> Response {
    let token = csrf::login_token(&api.csrf_key, pre_session);
    let main = pages::login(lang, &token, user_name, problem);
    let mut response = page(lang, None, status, lang.text().login_title, &main);
    let base = &api.accounts.settings().public_base_url;
    add_cookie(&mut response, &login_cookie(base, pre_session));
    response
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    user_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/login`: a staff account gets the session cookie and 303 to
/// the console; any other account 403 (and its new session is ended).
pub(super) async fn login(
    State(api): Api,
    lang: Lang,
    headers: HeaderMap,
    address: Option<Extension<ClientAddress>>,
    form: FormOf<LoginForm>,
) -> Response {
    let t = lang.text();
    let settings = api.accounts.settings();
    let base = &settings.public_base_url;
    let pre = pre_session(&headers, base);
    let (pre, form) = match (pre, form) {
        (Some(pre), Ok(Form(form)))
            if csrf::same_origin(&headers, base)
                && csrf::matches(&csrf::login_token(&api.csrf_key, &pre), &form.csrf) =>
        {
            (pre, form)
        }
        _ => return form_expired(&lang, None, "/console/login"),
    };
    let answer = async {
        if let Some(Extension(ClientAddress(address))) = address {
            api.accounts.admit(AddressFlow::Login, address).await?;
        }
        api.accounts.login(&form.user_name, &form.password).await
    };
    match answer.await {
        Ok((session, account)) if is_staff(&account) => {
            tracing::info!(account = %account.id.0, "console login");
            let mut response = see_other(&lang.href("/console"));
            add_cookie(&mut response, &session_cookie(settings, session.expose()));
            add_cookie(&mut response, &login_cookie(base, ""));
            response
        }
        Ok((session, account)) => {
            tracing::info!(account = %account.id.0, "console login refused: not staff");
            if let Err(error) = api.accounts.logout(session.expose()).await {
                tracing::error!(%error, "could not end a refused console session");
            }
            forbidden(&lang)
        }
        Err(error @ (AccountError::TooManyAttempts { .. } | AccountError::RateLimited { .. })) => {
            let problem = match error {
                AccountError::TooManyAttempts { .. } => t.too_many_attempts,
                _ => t.too_many_logins,
            };
            let mut response = login_form(
                &api,
                &lang,
                &pre,
                StatusCode::TOO_MANY_REQUESTS,
                &form.user_name,
                Some(problem),
            );
            if let Some(wait) = retry_after(&error) {
                response.headers_mut().insert(RETRY_AFTER, wait);
            }
            response
        }
        Err(AccountError::Unavailable(detail)) => {
            tracing::error!(%detail, "account service unavailable");
            unavailable(&lang, None)
        }
        Err(_) => login_form(
            &api,
            &lang,
            &pre,
            StatusCode::UNAUTHORIZED,
            &form.user_name,
            Some(t.wrong_credentials),
        ),
    }
}

/// `POST /console/logout`: ends the session, removes the cookie, 303 to login.
pub(super) async fn logout(
    State(api): Api,
    lang: Lang,
    staff: Staff,
    headers: HeaderMap,
    form: FormOf<CsrfForm>,
) -> Response {
    if checked(&api, &staff, &headers, form).is_none() {
        return form_expired(&lang, Some(&staff), "/console");
    }
    match api.accounts.logout(&staff.session).await {
        Ok(()) | Err(AccountError::Unauthenticated) => {}
        Err(error) => {
            tracing::error!(%error, "console logout failed");
            return unavailable(&lang, Some(&staff));
        }
    }
    let mut response = see_other(&lang.href("/console/login"));
    add_cookie(
        &mut response,
        &expired_session_cookie(api.accounts.settings()),
    );
    response
}
