//! The accounts routes: each handler parses, calls one use case, maps the result.
//! The paths of the mailed links also answer with HTML pages (`pages`): a GET
//! shows the form, and a form POST (rather than JSON) gets the page flow.

use super::auth::{expired_session_cookie, session_cookie, CurrentAccount, SessionToken};
use super::body::JsonBody;
use super::error::AccountApiError;
use super::{pages, spreadsheet, view};
use crate::client_address::client_address;
use crate::console::i18n::Lang;
use crate::error::{codes, ApiError};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Form, Json, Router};
use patron_hub_domain::accounts::{
    Account, AccountError, AccountId, AccountPatch, AccountService, AddressFlow, NetworkRole,
    NewAccount, ProfileChange, Registration, MAX_SEARCH_RESULTS,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

type Service = State<Arc<AccountService>>;

/// The largest import file accepted (a 5,000-row sheet is about 200 KiB).
const MAX_IMPORT_BYTES: usize = 16 * 1024 * 1024;
type Answer = Result<Response, AccountApiError>;

/// Every accounts route, on a service built once at start-up.
pub fn router(service: Arc<AccountService>) -> Router {
    let limited = |flow| from_fn_with_state((service.clone(), flow), admit_address);
    Router::new()
        .route("/accounts", get(search).post(create))
        .route(
            "/accounts/registrations",
            post(register).route_layer(limited(AddressFlow::Registration)),
        )
        .route(
            "/accounts/activation",
            post(activate).route_layer(limited(AddressFlow::MailedLink)),
        )
        .route(
            "/accounts/activate",
            get(pages::activation_page).merge(
                post(pages::activation_submitted).route_layer(limited(AddressFlow::MailedLink)),
            ),
        )
        .route(
            "/accounts/email-confirmation",
            get(pages::email_page)
                .merge(post(confirm_email).route_layer(limited(AddressFlow::MailedLink))),
        )
        .route(pages::STYLESHEET_PATH, get(pages::stylesheet))
        .route("/accounts/me", get(me).patch(update_me))
        .route(
            "/accounts/import",
            post(import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
        .route("/accounts/{id}", get(account).patch(update_account))
        .route(
            "/password-reset",
            post(request_reset).route_layer(limited(AddressFlow::PasswordReset)),
        )
        .route(
            "/password-reset/confirm",
            get(pages::reset_page)
                .merge(post(confirm_reset).route_layer(limited(AddressFlow::MailedLink))),
        )
        .route(
            "/sessions",
            post(login).route_layer(limited(AddressFlow::Login)),
        )
        .route("/sessions/current", delete(logout))
        .with_state(service)
}

/// Counts the request against its address's limit for `flow`; past it, 429
/// before anything else is read (no address known: not counted).
async fn admit_address(
    State((service, flow)): State<(Arc<AccountService>, AddressFlow)>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(address) = client_address(request.extensions()) {
        if let Err(error) = service.admit(flow, address).await {
            return AccountApiError::from(error).into_response();
        }
    }
    next.run(request).await
}

/// 400 `INVALID_PARAMETER`: a query parameter is malformed (the message names it).
fn invalid_parameter(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, codes::INVALID_PARAMETER, message)
}

/// The one answer to a registration or reset request, whatever happened behind
/// it, so that nobody learns which addresses have accounts.
fn accepted(message: &str) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({"status": "accepted", "message": message})),
    )
        .into_response()
}

async fn register(
    State(service): Service,
    JsonBody(registration): JsonBody<Registration>,
) -> Answer {
    service.register(registration).await?;
    Ok(accepted(
        "If this address can be used, a message with an activation link has been sent to it.",
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Activation {
    token: String,
    password: String,
}

async fn activate(State(service): Service, JsonBody(body): JsonBody<Activation>) -> Answer {
    service.activate(&body.token, &body.password).await?;
    Ok(Json(json!({"status": "active"})).into_response())
}

/// `POST /accounts/email-confirmation`: JSON, or the confirmation page's form.
async fn confirm_email(State(service): Service, lang: Lang, request: Request) -> Response {
    let headers = request.headers().clone();
    if pages::is_form(&headers) {
        let form = Form::from_request(request, &()).await;
        return pages::email_submitted(&service, &lang, &headers, form).await;
    }
    match JsonBody::<TokenBody>::from_request(request, &()).await {
        Ok(JsonBody(body)) => confirm_email_json(&service, body).await.into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

async fn confirm_email_json(service: &AccountService, body: TokenBody) -> Answer {
    service.confirm_email_change(&body.token).await?;
    Ok(Json(json!({"status": "email_changed"})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    #[serde(alias = "email", alias = "user_name")]
    identifier: String,
}

async fn request_reset(State(service): Service, JsonBody(body): JsonBody<ResetRequest>) -> Answer {
    service.request_password_reset(&body.identifier).await?;
    Ok(accepted(
        "If an active account matches, a message with a reset link has been sent to its address.",
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetConfirmation {
    token: String,
    password: String,
}

/// `POST /password-reset/confirm`: JSON, or the new-password page's form.
async fn confirm_reset(State(service): Service, lang: Lang, request: Request) -> Response {
    let headers = request.headers().clone();
    if pages::is_form(&headers) {
        let form = Form::from_request(request, &()).await;
        return pages::reset_submitted(&service, &lang, &headers, form).await;
    }
    match JsonBody::<ResetConfirmation>::from_request(request, &()).await {
        Ok(JsonBody(body)) => confirm_reset_json(&service, body).await.into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

async fn confirm_reset_json(service: &AccountService, body: ResetConfirmation) -> Answer {
    service
        .confirm_password_reset(&body.token, &body.password)
        .await?;
    Ok(Json(json!({"status": "password_changed"})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    #[serde(alias = "email", alias = "user_name")]
    identifier: String,
    password: String,
}

async fn login(State(service): Service, JsonBody(body): JsonBody<Credentials>) -> Answer {
    let (token, account) = service.login(&body.identifier, &body.password).await?;
    let settings = service.settings();
    let cookie = session_cookie(settings, token.expose());
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.insert(header::SET_COOKIE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let body = json!({
        "token": token.expose(),
        "token_type": "Bearer",
        "idle_timeout_seconds": settings.session_idle.num_seconds(),
        "absolute_timeout_seconds": settings.session_absolute.num_seconds(),
        "account": view::account(&account),
    });
    Ok((StatusCode::CREATED, headers, Json(body)).into_response())
}

async fn logout(State(service): Service, SessionToken(token): SessionToken) -> Answer {
    let token = token.ok_or(AccountError::Unauthenticated)?;
    service.logout(&token).await?;
    let expired = expired_session_cookie(service.settings());
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&expired) {
        headers.insert(header::SET_COOKIE, value);
    }
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

async fn me(CurrentAccount(account): CurrentAccount) -> Json<Value> {
    Json(view::account(&account))
}

async fn update_me(
    State(service): Service,
    CurrentAccount(actor): CurrentAccount,
    JsonBody(change): JsonBody<ProfileChange>,
) -> Answer {
    let account = service.update_profile(&actor, change).await?;
    Ok(Json(view::account(&account)).into_response())
}

async fn create(
    State(service): Service,
    CurrentAccount(actor): CurrentAccount,
    JsonBody(new): JsonBody<NewAccount>,
) -> Answer {
    let account = service.create_account(&actor, new).await?;
    Ok((StatusCode::CREATED, Json(view::account(&account))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    #[serde(default)]
    search: String,
    /// Kept as text, so that an empty or bad value is named rather than taken
    /// as absent.
    limit: Option<String>,
}

/// Accounts answered by `GET /accounts` when no `limit` is given.
const DEFAULT_SEARCH_LIMIT: usize = 20;

/// `GET /accounts?search=&limit=`: `limit` from 1 to [`MAX_SEARCH_RESULTS`]
/// (20 when absent); an empty, zero or larger value is 400 naming it.
async fn search(
    State(service): Service,
    CurrentAccount(actor): CurrentAccount,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(query)) => query,
        Err(rejection) => return invalid_parameter(rejection.body_text()).into_response(),
    };
    let limit = match query.limit.as_deref().map(str::trim) {
        None => DEFAULT_SEARCH_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=MAX_SEARCH_RESULTS).contains(&limit) => limit,
            _ => {
                return invalid_parameter(format!(
                    "limit must be a whole number from 1 to {MAX_SEARCH_RESULTS}"
                ))
                .into_response()
            }
        },
    };
    search_accounts(&service, &actor, &query.search, limit)
        .await
        .into_response()
}

async fn search_accounts(
    service: &AccountService,
    actor: &Account,
    text: &str,
    limit: usize,
) -> Answer {
    let accounts = service.search(actor, text, limit).await?;
    let items: Vec<Value> = accounts.iter().map(view::account).collect();
    Ok(Json(json!({"total": items.len(), "items": items})).into_response())
}

fn account_id(id: &str) -> Result<AccountId, AccountError> {
    id.parse()
        .map(AccountId)
        .map_err(|_| AccountError::NotFound)
}

async fn account(
    State(service): Service,
    CurrentAccount(actor): CurrentAccount,
    Path(id): Path<String>,
) -> Answer {
    let account = service.get_account(&actor, account_id(&id)?).await?;
    Ok(Json(view::account(&account)).into_response())
}

async fn update_account(
    State(service): Service,
    CurrentAccount(actor): CurrentAccount,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<AccountPatch>,
) -> Answer {
    let account = service
        .update_account(&actor, account_id(&id)?, patch)
        .await?;
    Ok(Json(view::account(&account)).into_response())
}

/// `POST /accounts/import`: the `.xlsx` file as the body. All or nothing: any
/// problem answers 422 `IMPORT_REJECTED` with every `Line N: ...` and creates
/// nothing. The caller's role is checked before the body (up to 16 MiB) is
/// read, and the file is parsed on a blocking thread, away from the tasks
/// serving other requests.
async fn import(
    State(service): Service,
    CurrentAccount(actor): CurrentAccount,
    request: Request,
) -> Response {
    // Only the super administrator may import: refuse before reading the file.
    if !actor.has_role(NetworkRole::SuperAdmin) {
        return AccountApiError(AccountError::Forbidden).into_response();
    }
    let file = match Bytes::from_request(request, &()).await {
        Ok(file) => file,
        Err(rejection) => return rejection.into_response(),
    };
    import_file(&service, &actor, file).await.into_response()
}

/// The import of a file already read.
async fn import_file(service: &AccountService, actor: &Account, file: Bytes) -> Answer {
    let limits = service.settings().import_limits;
    let rows = tokio::task::spawn_blocking(move || spreadsheet::import_rows_within(&file, limits))
        .await
        .map_err(|error| {
            AccountError::Unavailable(format!("the import's reader stopped: {error}"))
        })?
        .map_err(AccountError::ImportRejected)?;
    let accounts = service.import(actor, rows).await?;
    let created: Vec<Value> = accounts
        .iter()
        .map(|a| json!({"id": a.id, "user_name": a.user_name, "email": a.email}))
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({"created": created.len(), "accounts": created})),
    )
        .into_response())
}
