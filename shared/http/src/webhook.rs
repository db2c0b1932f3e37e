//! The `alma-webhook` function: Alma's challenge handshake and signed deliveries.
//! Answers are chosen for Alma's retry rules: 4xx is final (bad input, bad
//! signature), 5xx makes Alma retry (only when patron-hub itself failed).

use crate::error::{codes, ApiError};
use axum::body::{to_bytes, Body};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{get, MethodRouter};
use axum::{Json, Router};
use patron_hub_domain::telemetry;
use patron_hub_domain::webhook::{EnvelopeError, Reception, ReceptionError, WebhookReceiver};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// Bodies above this are refused with 413 before any hashing (also the SQS message limit).
pub const DEFAULT_MAX_BODY: usize = 256 * 1024;
/// The longest challenge echoed back.
const MAX_CHALLENGE: usize = 1024;
/// The header Alma signs deliveries in.
pub const SIGNATURE_HEADER: &str = "x-exl-signature";

#[derive(Clone)]
struct WebhookState {
    receiver: Arc<WebhookReceiver>,
    max_body: usize,
}

/// The webhook listener's methods, to be mounted at the URL registered in Alma
/// (`/webhooks/alma` locally, the function URL's root in AWS).
pub fn routes(receiver: Arc<WebhookReceiver>, max_body: usize) -> MethodRouter {
    let state = WebhookState { receiver, max_body };
    get(challenge)
        .post(deliver)
        .fallback(method_not_allowed)
        .with_state(state)
}

/// The `alma-webhook` Lambda function's router: the listener at the function
/// URL's root, and at `/webhooks/alma` as on the local server.
pub fn function_router(receiver: Arc<WebhookReceiver>, max_body: usize) -> Router {
    let listener = routes(receiver, max_body);
    Router::new()
        .route("/", listener.clone())
        .route("/webhooks/alma", listener)
        .fallback(crate::error::not_found)
}

#[derive(Deserialize)]
struct ChallengeQuery {
    challenge: Option<String>,
}

/// `GET ?challenge=X` → `{"challenge":"X"}` (unsigned, no side effects); a
/// plain GET answers 200 so that a probe sees the listener alive.
async fn challenge(
    query: Result<Query<ChallengeQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID_PARAMETER,
            e.body_text(),
        )
    })?;
    match query.challenge {
        Some(challenge) if challenge.len() > MAX_CHALLENGE => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID_PARAMETER,
            format!("the challenge is longer than {MAX_CHALLENGE} bytes"),
        )),
        Some(challenge) => Ok(Json(json!({ "challenge": challenge }))),
        None => Ok(Json(
            json!({"status": "ok", "message": "Alma webhook listener"}),
        )),
    }
}

/// A signed delivery, counted by the status it is answered with.
async fn deliver(
    state: State<WebhookState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let answer = receive(state, headers, body).await;
    let status = match &answer {
        Ok(_) => StatusCode::OK,
        Err(error) => error.status,
    };
    telemetry::webhook_answered(status.as_u16());
    answer
}

/// Reads, checks and records a delivery.
async fn receive(
    State(state): State<WebhookState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {} bytes", state.max_body),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > state.max_body) {
        return Err(too_large());
    }
    let body = to_bytes(body, state.max_body)
        .await
        .map_err(|_| too_large())?;
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    match state.receiver.receive(&body, signature).await {
        Ok(reception) => Ok(Json(reception_body(&reception))),
        Err(error) => Err(reception_error(error)),
    }
}

fn reception_body(reception: &Reception) -> Value {
    match reception {
        Reception::Accepted { event_id, jobs } => {
            tracing::info!(event_id = %event_id, jobs = jobs.len(), "webhook accepted");
            let jobs: Vec<Value> = jobs
                .iter()
                .map(|job| {
                    json!({
                        "institution": job.institution,
                        "action": job.action,
                        "primary_id": job.primary_id,
                    })
                })
                .collect();
            json!({"status": "accepted", "event_id": event_id, "jobs": jobs})
        }
        Reception::Duplicate { event_id } => {
            tracing::info!(event_id = %event_id, "duplicate webhook");
            json!({"status": "duplicate", "event_id": event_id})
        }
        Reception::Ignored { event_id, reason } => {
            tracing::info!(event_id = %event_id, reason = %reason, "webhook ignored");
            json!({"status": "ignored", "event_id": event_id, "reason": reason})
        }
    }
}

fn reception_error(error: ReceptionError) -> ApiError {
    match error {
        ReceptionError::InvalidSignature(_) => {
            tracing::warn!("webhook refused: invalid signature");
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                codes::INVALID_SIGNATURE,
                "the X-Exl-Signature header is missing or does not match the body",
            )
        }
        ReceptionError::BadEnvelope(EnvelopeError::NotJson) => ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID_JSON,
            "the body is not a JSON object",
        ),
        ReceptionError::BadEnvelope(EnvelopeError::MissingId) => ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::MISSING_EVENT_ID,
            "the body has no \"id\"",
        ),
        ReceptionError::Unavailable(error) => {
            tracing::error!(%error, "webhook not recorded; Alma will retry");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                codes::SERVICE_UNAVAILABLE,
                "the event could not be recorded; please retry",
            )
        }
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        codes::METHOD_NOT_ALLOWED,
        "use GET (challenge) or POST (delivery)",
    )
}
