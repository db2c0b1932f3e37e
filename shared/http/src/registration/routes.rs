//! The registration routes: each handler checks the caller, parses, calls one
//! use case and answers; every error goes through [`super::error`].

use super::auth::{Client, Staff};
use super::body::Body;
use super::error::invalid_parameter;
use super::{view, RegistrationApi};
use crate::error::ApiError;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use patron_hub_domain::registration::{
    Completion, EventLog, ExternalSystemId, PatronIdentifier, RegistrationError, StagingInput,
    Submitted,
};
use serde::Deserialize;
use serde_json::json;

/// Staging and completion bodies are a few hundred bytes; refuse big ones early.
const MAX_BODY: usize = 64 * 1024;
/// Events answered by default by `GET /events`.
const DEFAULT_EVENTS: usize = 50;
/// The most events one `GET /events` answers.
const MAX_EVENTS: usize = 500;

type Api = State<RegistrationApi>;
type Answer = Result<Response, ApiError>;

/// Every registration route; `GET /events` only when `api.events` is given.
pub fn router(api: RegistrationApi) -> Router {
    let mut router = Router::new()
        .route("/patron", post(submit))
        .route("/patron-registration-status", get(status))
        .route("/patron/registration-status", get(status))
        .route(
            "/patron/{external_system_id}",
            get(staging_record).put(update),
        )
        .route("/patron/{external_system_id}/complete", post(complete));
    if let Some(log) = api.events.clone() {
        // Staff only: the events name patrons.
        let read = move |_: Staff, query| async move { events(log.as_ref(), query).await };
        router = router.route("/events", get(read));
    }
    router
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(api)
}

/// The externalSystemId of the path; one that cannot exist has no staging record.
fn staging_id(path: Result<Path<String>, PathRejection>) -> Result<ExternalSystemId, ApiError> {
    path.ok()
        .and_then(|Path(id)| ExternalSystemId::parse(&id))
        .ok_or_else(|| RegistrationError::StagingNotFound.into())
}

/// `POST /patron`: 201 with a new staging record, or 200 with the e-mail's
/// existing one updated.
async fn submit(
    State(api): Api,
    Client(client): Client,
    Body(input): Body<StagingInput>,
) -> Answer {
    let (record, submitted) = api.service.submit(&input).await?;
    let status = match submitted {
        Submitted::Created => StatusCode::CREATED,
        Submitted::Updated => StatusCode::OK,
    };
    tracing::info!(client = %client.name, external_system_id = %record.external_system_id, ?submitted, "staging record submitted");
    Ok((status, Json(record)).into_response())
}

/// `PUT /patron/{externalSystemId}`: merges the body into the record.
async fn update(
    State(api): Api,
    Client(_): Client,
    path: Result<Path<String>, PathRejection>,
    Body(input): Body<StagingInput>,
) -> Answer {
    let id = staging_id(path)?;
    let record = api.service.update(&id, &input).await?;
    Ok(Json(record).into_response())
}

/// `GET /patron/{externalSystemId}`: the staging record.
async fn staging_record(
    State(api): Api,
    Client(_): Client,
    path: Result<Path<String>, PathRejection>,
) -> Answer {
    let id = staging_id(path)?;
    let record = api.service.staging_record(&id).await?;
    Ok(Json(record).into_response())
}

#[derive(Deserialize)]
struct StatusQuery {
    #[serde(rename = "emailId")]
    email_id: Option<String>,
    #[serde(rename = "externalSystemId")]
    external_system_id: Option<String>,
}

/// `GET /patron-registration-status` (and `/patron/registration-status`):
/// the one active patron an e-mail or externalSystemId designates.
async fn status(
    State(api): Api,
    Client(_): Client,
    query: Result<Query<StatusQuery>, QueryRejection>,
) -> Answer {
    let Query(query) = query.map_err(|rejection| invalid_parameter(rejection.body_text()))?;
    let identifier = PatronIdentifier::from_query(
        query.email_id.as_deref(),
        query.external_system_id.as_deref(),
    )?;
    let patron = api.service.status(&identifier).await?;
    Ok(Json(view::patron(&patron)).into_response())
}

/// `POST /patron/{externalSystemId}/complete`: staff create (201) or renew
/// (200) the patron in Alma.
async fn complete(
    State(api): Api,
    staff: Staff,
    path: Result<Path<String>, PathRejection>,
    Body(completion): Body<Completion>,
) -> Answer {
    let id = staging_id(path)?;
    let completed = api.service.complete(&id, &completion).await?;
    tracing::info!(by = %staff, external_system_id = %id, primary_id = %completed.primary_id,
        institution = %completed.home_institution, renewal = completed.renewal, "registration completed");
    let status = if completed.renewal {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(completed)).into_response())
}

#[derive(Deserialize)]
struct EventsQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    limit: Option<String>,
}

/// `GET /events?type=…[&limit=N]`: the newest published events of one type.
async fn events(log: &dyn EventLog, query: Result<Query<EventsQuery>, QueryRejection>) -> Answer {
    let Query(query) = query.map_err(|rejection| invalid_parameter(rejection.body_text()))?;
    let kind = query
        .kind
        .filter(|kind| !kind.trim().is_empty())
        .ok_or_else(|| invalid_parameter("the type parameter is required"))?;
    let limit = match query.limit {
        None => DEFAULT_EVENTS,
        Some(limit) => limit
            .parse()
            .ok()
            .filter(|n| (1..=MAX_EVENTS).contains(n))
            .ok_or_else(|| {
                invalid_parameter(format!("limit must be a number from 1 to {MAX_EVENTS}"))
            })?,
    };
    let items = log
        .recent(kind.trim(), limit)
        .await
        .map_err(RegistrationError::from)?;
    Ok(Json(json!({ "items": items })).into_response())
}
