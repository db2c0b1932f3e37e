//! The sandbox's own routes (`/sandbox/…`): a librarian working in Alma's staff
//! UI, whose every change sends a signed webhook, and the knobs of the sandbox
//! (counters, faults, webhook listener, user groups, seeding many users at
//! once). No threshold, no faults, no counting here.

use crate::api::user_body;
use crate::errors::{sandbox_error, ApiError};
use crate::faults::Faults;
use crate::seed::Seed;
use crate::state::IdType;
use crate::webhook::Change;
use crate::{lock, Sandbox};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::Utc;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

/// Every `/sandbox/…` route.
pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/sandbox/stats", get(stats).delete(reset_stats))
        .route("/sandbox/faults", put(set_faults).delete(clear_faults))
        .route("/sandbox/webhook-listener", put(set_webhook_listener))
        .route("/sandbox/webhooks", get(deliveries))
        .route("/sandbox/webhooks/summary", get(webhook_summary))
        .route(
            "/sandbox/{institution}/users",
            get(list_users).post(create_user),
        )
        .route(
            "/sandbox/{institution}/users/{primary_id}",
            get(show_user).put(edit_user).delete(delete_user),
        )
        .route("/sandbox/{institution}/user-groups", put(set_user_groups))
        .route("/sandbox/{institution}/seed", post(seed_users))
}

/// `POST /sandbox/{institution}/users`: 201, then `USER_CREATED`.
async fn create_user(
    State(sandbox): State<Sandbox>,
    Path(institution): Path<String>,
    body: Bytes,
) -> Response {
    let created = user_body(&body)
        .and_then(|user| lock(&sandbox.inner.directory).create(&institution, user, Utc::now()));
    notify(
        &sandbox,
        &institution,
        Change::Created,
        StatusCode::CREATED,
        created,
    )
    .await
}

/// `PUT /sandbox/{institution}/users/{primary_id}`: a merge, then `USER_UPDATED`.
async fn edit_user(
    State(sandbox): State<Sandbox>,
    Path((institution, primary_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let updated = user_body(&body).and_then(|changes| {
        lock(&sandbox.inner.directory).merge(&institution, &primary_id, changes, Utc::now())
    });
    notify(
        &sandbox,
        &institution,
        Change::Updated,
        StatusCode::OK,
        updated,
    )
    .await
}

/// `DELETE /sandbox/{institution}/users/{primary_id}`, then `USER_DELETED`.
async fn delete_user(
    State(sandbox): State<Sandbox>,
    Path((institution, primary_id)): Path<(String, String)>,
) -> Response {
    let removed =
        lock(&sandbox.inner.directory).remove(&institution, &primary_id, IdType::AllUnique);
    notify(
        &sandbox,
        &institution,
        Change::Deleted,
        StatusCode::OK,
        removed,
    )
    .await
}

/// Sends the webhook of a successful change and answers `{"user","webhook"}`.
async fn notify(
    sandbox: &Sandbox,
    institution: &str,
    change: Change,
    status: StatusCode,
    changed: Result<Value, ApiError>,
) -> Response {
    let user = match changed {
        Ok(user) => user,
        Err(error) => return error.into_sandbox_response(),
    };
    let faults = lock(&sandbox.inner.faults)
        .for_institution(institution)
        .webhooks();
    let delivery = sandbox
        .inner
        .webhooks
        .send(institution, change, user.clone(), faults)
        .await;
    let body = json!({
        "user": user,
        "webhook": {"event_id": delivery.event_id, "status": delivery.status},
    });
    (status, Json(body)).into_response()
}

/// `GET /sandbox/{institution}/users/{primary_id}`.
async fn show_user(
    State(sandbox): State<Sandbox>,
    Path((institution, primary_id)): Path<(String, String)>,
) -> Response {
    match lock(&sandbox.inner.directory).user(&institution, &primary_id) {
        Ok(user) => Json(user).into_response(),
        Err(error) => error.into_sandbox_response(),
    }
}

/// `GET /sandbox/{institution}/users`.
async fn list_users(State(sandbox): State<Sandbox>, Path(institution): Path<String>) -> Response {
    match lock(&sandbox.inner.directory).users(&institution) {
        Ok(users) => Json(users).into_response(),
        Err(error) => error.into_sandbox_response(),
    }
}

/// `POST /sandbox/{institution}/seed`: 201 with what was made; no webhook,
/// nothing counted.
async fn seed_users(
    State(sandbox): State<Sandbox>,
    Path(institution): Path<String>,
    body: Bytes,
) -> Response {
    let seed: Seed = match parse(&body) {
        Ok(seed) => seed,
        Err(refusal) => return refusal.into_response(),
    };
    match lock(&sandbox.inner.directory).seed(&institution, &seed, Utc::now()) {
        Ok(seeded) => (StatusCode::CREATED, Json(seeded)).into_response(),
        Err(error) => error.into_sandbox_response(),
    }
}

/// `PUT /sandbox/{institution}/user-groups` body.
#[derive(Deserialize)]
struct UserGroups {
    groups: Option<Vec<String>>,
}

/// `PUT /sandbox/{institution}/user-groups`: 204.
async fn set_user_groups(
    State(sandbox): State<Sandbox>,
    Path(institution): Path<String>,
    body: Bytes,
) -> Response {
    let UserGroups { groups } = match parse(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    match lock(&sandbox.inner.directory).set_user_groups(&institution, groups) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.into_sandbox_response(),
    }
}

/// `GET /sandbox/stats`: the API calls by institution, method and status,
/// and the users created more than once under one primary id.
async fn stats(State(sandbox): State<Sandbox>) -> Response {
    let repeated: Vec<Value> = sandbox
        .repeated_creations()
        .into_iter()
        .map(|(institution, primary_id, creations)| {
            json!({"institution": institution, "primary_id": primary_id, "creations": creations})
        })
        .collect();
    Json(json!({"calls": sandbox.stats(), "repeated_creations": repeated})).into_response()
}

/// `GET /sandbox/webhooks/summary`.
async fn webhook_summary(State(sandbox): State<Sandbox>) -> Response {
    Json(sandbox.webhook_summary()).into_response()
}

/// `DELETE /sandbox/stats`: 204.
async fn reset_stats(State(sandbox): State<Sandbox>) -> StatusCode {
    sandbox.reset_stats();
    StatusCode::NO_CONTENT
}

/// `PUT /sandbox/faults` body: the faults, and whose they are (`null`: everyone's).
#[derive(Deserialize)]
struct FaultsRequest {
    institution: Option<String>,
    #[serde(flatten)]
    faults: Faults,
}

/// `PUT /sandbox/faults`: 204.
async fn set_faults(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let FaultsRequest {
        institution,
        faults,
    } = match parse(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    if !faults.is_valid() {
        return sandbox_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_FAULTS",
            "every *_rate must be between 0 and 1",
        );
    }
    if let Some(code) = &institution {
        if !sandbox.inner.keys.values().any(|known| known == code) {
            return ApiError::UnknownInstitution(code.clone()).into_sandbox_response();
        }
    }
    sandbox.set_faults(institution.as_deref(), faults);
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE /sandbox/faults`: 204.
async fn clear_faults(State(sandbox): State<Sandbox>) -> StatusCode {
    sandbox.clear_faults();
    StatusCode::NO_CONTENT
}

/// `PUT /sandbox/webhook-listener` body.
#[derive(Deserialize)]
struct Listener {
    url: Option<String>,
}

/// `PUT /sandbox/webhook-listener`: 204.
async fn set_webhook_listener(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    match parse::<Listener>(&body) {
        Ok(Listener { url }) => {
            sandbox.set_webhook_listener(url);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(refusal) => refusal.into_response(),
    }
}

/// `GET /sandbox/webhooks`.
async fn deliveries(State(sandbox): State<Sandbox>) -> Response {
    Json(sandbox.deliveries()).into_response()
}

/// A request body that is not the expected JSON: 400 `INVALID_BODY`.
struct InvalidBody(serde_json::Error);

impl IntoResponse for InvalidBody {
    fn into_response(self) -> Response {
        sandbox_error(StatusCode::BAD_REQUEST, "INVALID_BODY", &self.0.to_string())
    }
}

/// A JSON body of the expected shape.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, InvalidBody> {
    serde_json::from_slice(body).map_err(InvalidBody)
}
