//! JSON request bodies whose rejections are JSON errors too: a missing or
//! malformed body is 400, an unknown field 422, never axum's plain-text answer.

use crate::error::{codes, ApiError};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// `Json<T>` with `{"code","message"}` rejections.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(JsonRejection::JsonDataError(error)) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                super::error::codes::VALIDATION_ERROR,
                error.body_text(),
            )),
            Err(error) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                codes::INVALID_JSON,
                error.body_text(),
            )),
        }
    }
}
