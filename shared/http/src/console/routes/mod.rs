//! The console routes: each handler checks who is asking (and, for a form, its
//! CSRF token and origin), calls one use case, and answers with a page or a
//! 303 to the page that shows the result. What every handler shares is here;
//! the handlers are grouped by page.

mod dead_letters;
mod drift;
mod operations;
mod patrons;
mod sign_in;

use super::html::{self, message_page};
use super::i18n::Lang;
use super::session::Staff;
use super::{csrf, ConsoleApi};
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Form, Router};
use dead_letters::{dead_letters, replay_all, replay_one};
use drift::{drift, repair, repair_confirmation};
use operations::operations;
use patrons::{act, confirmation, home, patron, search};
use serde::Deserialize;
use sign_in::{login, login_page, logout};

/// Console forms are a few fields.
const MAX_FORM: usize = 16 * 1024;

pub(super) type Api = State<ConsoleApi>;
pub(super) type FormOf<T> = Result<Form<T>, FormRejection>;

/// Every console route under `/console`, on services built once at start-up;
/// no fallback, so that `serve` can merge it with the other routers.
pub fn router(api: ConsoleApi) -> Router {
    Router::new()
        .route("/console", get(home))
        .route("/console/style.css", get(stylesheet))
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/search", get(search))
        .route("/console/patrons/{id}", get(patron))
        .route(
            "/console/patrons/{id}/actions/{action}",
            get(confirmation).post(act),
        )
        .route("/console/dead-letters", get(dead_letters))
        .route("/console/dead-letters/replay", post(replay_one))
        .route("/console/dead-letters/replay-all", post(replay_all))
        .route("/console/drift", get(drift))
        .route(
            "/console/drift/repair",
            get(repair_confirmation).post(repair),
        )
        .route("/console/operations", get(operations))
        .layer(DefaultBodyLimit::max(MAX_FORM))
        .layer(middleware::map_response(html::security_headers))
        .with_state(api)
}

/// The one form field every signed-in form has.
#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

/// A console form: it carries the CSRF token of the session it was made for.
pub(super) trait Signed {
    fn csrf(&self) -> &str;
}

impl Signed for CsrfForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The form, unless it is cross-site or its token is not the session's (the
/// caller then answers [`form_expired`]).
pub(super) fn checked<T: Signed>(
    api: &ConsoleApi,
    staff: &Staff,
    headers: &HeaderMap,
    form: FormOf<T>,
) -> Option<T> {
    let same_origin = csrf::same_origin(headers, &api.accounts.settings().public_base_url);
    match form {
        Ok(Form(form)) if same_origin && csrf::matches(&staff.csrf, form.csrf()) => Some(form),
        _ => {
            tracing::warn!(account = %staff.account.id.0, "console form refused: CSRF token or origin");
            None
        }
    }
}

/// 403: a form that is cross-site or whose token is missing, wrong or old.
pub(super) fn form_expired(lang: &Lang, staff: Option<&Staff>, back: &str) -> Response {
    let t = lang.text();
    let back_label = if staff.is_some() {
        t.back_to_search
    } else {
        t.login_title
    };
    message_page(
        lang,
        staff,
        StatusCode::FORBIDDEN,
        t.form_expired_title,
        t.form_expired,
        (back, back_label),
    )
}

/// 404: no such patron path or action name, or an unknown institution.
pub(super) fn not_found(lang: &Lang, staff: &Staff) -> Response {
    let t = lang.text();
    message_page(
        lang,
        Some(staff),
        StatusCode::NOT_FOUND,
        t.not_found_title,
        t.no_such_page,
        ("/console", t.back_to_search),
    )
}

/// Adds one `Set-Cookie` header (a response may set several).
pub(super) fn add_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

/// `GET /console/style.css` (no session needed: the login page uses it).
async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "max-age=3600"),
        ],
        html::STYLESHEET,
    )
        .into_response()
}
