//! JSON request bodies whose rejections are JSON errors too: a missing or
//! malformed body (or one not typed `application/json`) is 400
//! `INVALID_JSON`, one that is not an object or has an unknown or mistyped
//! field 422 `VALIDATION_ERROR` naming it, never axum's plain-text answer.

use crate::error::{codes, ApiError};
use crate::json_body::{read_json, typed_json, BodyFault};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// A JSON body parsed into `T`, with `{"code","message"}` rejections.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !typed_json(request.headers()) {
            return Err(invalid_json(
                "Expected request with `Content-Type: application/json`",
            ));
        }
        read_json(request, state).await.map(Self).map_err(answer)
    }
}

/// This API's answer to a body fault.
fn answer(fault: BodyFault) -> ApiError {
    match fault {
        BodyFault::Missing => invalid_json("a JSON body is required"),
        BodyFault::TooLarge => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::PAYLOAD_TOO_LARGE,
            "the request body is too large",
        ),
        BodyFault::NotJson(reason) => invalid_json(format!("the body is not JSON: {reason}")),
        BodyFault::Field { path, reason } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::VALIDATION_ERROR,
            format!("{path}: {reason}"),
        ),
    }
}

/// 400 `INVALID_JSON`.
fn invalid_json(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, codes::INVALID_JSON, message)
}
