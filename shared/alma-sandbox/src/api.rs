//! The Alma Users API routes (`/almaws/v1/users…`), behind the gate every API
//! call goes through: API key, per-second threshold, injected faults, counters
//! and `X-Exl-Api-Remaining`. These routes never send webhooks.

use crate::errors::{api_key_error, ApiError};
use crate::faults::{dropped_connection, Outcome};
use crate::search::{ListParams, ListQuery};
use crate::state::{IdType, UserRecord};
use crate::{lock, Sandbox};
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// The institution whose API key came with the call.
#[derive(Debug, Clone)]
struct Caller(String);

/// The API routes, each call gated.
pub(crate) fn routes(sandbox: Sandbox) -> Router<Sandbox> {
    Router::new()
        .route("/almaws/v1/users", get(list_users).post(create_user))
        .route(
            "/almaws/v1/users/{user_id}",
            get(get_user).put(update_user).delete(delete_user),
        )
        .route_layer(middleware::from_fn_with_state(sandbox, gate))
}

/// `?apikey=` (the other query parameters are the routes' business).
#[derive(Deserialize)]
struct KeyParam {
    apikey: Option<String>,
}

/// Picks the institution by API key, then applies the threshold and the
/// faults, counts the call and adds `X-Exl-Api-Remaining`.
async fn gate(State(sandbox): State<Sandbox>, mut request: Request, next: Next) -> Response {
    let inner = &sandbox.inner;
    let method = request.method().clone();
    let Some(code) = api_key(&request)
        .and_then(|key| inner.keys.get(&key))
        .cloned()
    else {
        inner
            .stats
            .record("", &method, StatusCode::BAD_REQUEST.as_u16());
        return api_key_error();
    };
    let mut response = if inner.threshold.admit(&code) {
        let faults = lock(&inner.faults).for_institution(&code);
        if faults.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
        }
        match faults.draw(method != axum::http::Method::GET) {
            Outcome::Answer => {
                request.extensions_mut().insert(Caller(code.clone()));
                next.run(request).await
            }
            Outcome::Fail => ApiError::General.into_alma_response(),
            Outcome::Throttle => ApiError::PerSecondThreshold.into_alma_response(),
            Outcome::Drop => {
                inner.stats.record(&code, &method, 0);
                return dropped_connection();
            }
            Outcome::LoseReply => {
                request.extensions_mut().insert(Caller(code.clone()));
                // Applied: only the answer is lost.
                drop(next.run(request).await);
                inner.stats.record(&code, &method, 0);
                return dropped_connection();
            }
        }
    } else {
        ApiError::PerSecondThreshold.into_alma_response()
    };
    inner
        .stats
        .record(&code, &method, response.status().as_u16());
    response.headers_mut().insert(
        "x-exl-api-remaining",
        HeaderValue::from(inner.allowance.spend(&code)),
    );
    response
}

/// The key of `Authorization: apikey KEY`, else of `?apikey=KEY`.
fn api_key(request: &Request) -> Option<String> {
    let from_header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("apikey"))
        .map(|(_, key)| key.trim().to_owned());
    from_header.or_else(|| {
        Query::<KeyParam>::try_from_uri(request.uri())
            .ok()
            .and_then(|Query(param)| param.apikey)
    })
}

/// `user_id_type` (`view`, `expand` and the other flags are accepted and ignored).
#[derive(Deserialize)]
struct UserIdParams {
    user_id_type: Option<String>,
}

/// `source_institution_code` and `source_user_id` of a linked POST.
#[derive(Deserialize)]
struct SourceParams {
    source_institution_code: Option<String>,
    source_user_id: Option<String>,
}

/// `GET /users`: a page of brief records, or the caller's linked copies of
/// a user of another institution.
async fn list_users(
    State(sandbox): State<Sandbox>,
    Extension(Caller(code)): Extension<Caller>,
    headers: HeaderMap,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Response {
    let query = match params {
        Ok(Query(params)) => ListQuery::parse(params),
        Err(_) => Err(ApiError::InvalidParameter {
            parameter: "query string",
            valid: "each parameter once, URL-encoded",
        }),
    };
    let page = query.and_then(|query| lock(&sandbox.inner.directory).list(&code, &query));
    match page {
        Ok(page) => Json(page.into_json(&users_url(&headers))).into_response(),
        Err(error) => error.into_alma_response(),
    }
}

/// `http://{host}/almaws/v1/users` for the `Host` the caller used, the base
/// of each list entry's `link`.
fn users_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .filter(|host| {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("http://{host}/almaws/v1/users")
}

/// `GET /users/{user_id}`.
async fn get_user(
    State(sandbox): State<Sandbox>,
    Extension(Caller(code)): Extension<Caller>,
    Path(user_id): Path<String>,
    Query(params): Query<UserIdParams>,
) -> Response {
    let id_type = IdType::parse(params.user_id_type.as_deref());
    let found = lock(&sandbox.inner.directory).lookup(&code, &user_id, id_type, Utc::now());
    answer(found)
}

/// `POST /users`, or with a source a linked copy.
async fn create_user(
    State(sandbox): State<Sandbox>,
    Extension(Caller(code)): Extension<Caller>,
    Query(params): Query<SourceParams>,
    body: Bytes,
) -> Response {
    let now = Utc::now();
    let created = match (params.source_institution_code, params.source_user_id) {
        (Some(source), Some(source_id)) => {
            lock(&sandbox.inner.directory).create_linked(&code, &source, &source_id, now)
        }
        _ => user_body(&body)
            .and_then(|user| lock(&sandbox.inner.directory).create(&code, user, now)),
    };
    answer(created)
}

/// `PUT /users/{user_id}`: swap all.
async fn update_user(
    State(sandbox): State<Sandbox>,
    Extension(Caller(code)): Extension<Caller>,
    Path(user_id): Path<String>,
    Query(params): Query<UserIdParams>,
    body: Bytes,
) -> Response {
    let id_type = IdType::parse(params.user_id_type.as_deref());
    let updated = user_body(&body).and_then(|user| {
        lock(&sandbox.inner.directory).replace(&code, &user_id, id_type, user, Utc::now())
    });
    answer(updated)
}

/// `DELETE /users/{user_id}`: 204.
async fn delete_user(
    State(sandbox): State<Sandbox>,
    Extension(Caller(code)): Extension<Caller>,
    Path(user_id): Path<String>,
    Query(params): Query<UserIdParams>,
) -> Response {
    let id_type = IdType::parse(params.user_id_type.as_deref());
    match lock(&sandbox.inner.directory).remove(&code, &user_id, id_type) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.into_alma_response(),
    }
}

/// A request body as a user object; an empty body is an empty object.
pub(crate) fn user_body(body: &[u8]) -> Result<UserRecord, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(UserRecord::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(user)) => Ok(user),
        _ => Err(ApiError::NotAUserObject),
    }
}

/// 200 with the user, or Alma's error.
fn answer(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(user) => Json(user).into_response(),
        Err(error) => error.into_alma_response(),
    }
}
