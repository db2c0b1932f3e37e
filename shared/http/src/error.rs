//! Errors as HTTP responses: every JSON error body is `{"code","message"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// Error codes of the JSON API, as constants so handlers never spell them twice.
pub mod codes {
    /// The webhook signature is missing or wrong.
    pub const INVALID_SIGNATURE: &str = "INVALID_SIGNATURE";
    /// The body is not JSON (or not the JSON expected).
    pub const INVALID_JSON: &str = "INVALID_JSON";
    /// The webhook has no message id.
    pub const MISSING_EVENT_ID: &str = "MISSING_EVENT_ID";
    /// A query parameter is invalid.
    pub const INVALID_PARAMETER: &str = "INVALID_PARAMETER";
    /// The body is over the size limit.
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    /// The body did not arrive within the server's body timeout.
    pub const REQUEST_TIMEOUT: &str = "REQUEST_TIMEOUT";
    /// A backend is down; try again later.
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    /// No such route.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// The route exists but not with that method.
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    /// A change authenticated by the session cookie did not come from
    /// patron-hub's own origin with a JSON body.
    pub const CROSS_ORIGIN: &str = "CROSS_ORIGIN";
    /// The caller may not see this (e.g. `/metrics` from afar without the token).
    pub const FORBIDDEN: &str = "FORBIDDEN";
}

/// An error answer: a status, a stable code, and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable, upper-snake-case code.
    pub code: &'static str,
    /// A human-readable explanation; never a stack trace or a secret.
    pub message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with the given status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            message: &self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

/// The JSON 404 for unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, "no such route")
}
