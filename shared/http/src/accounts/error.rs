//! Account errors as HTTP answers: the one place they get a status and a code.

use crate::error::{codes, ApiError};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use patron_hub_domain::accounts::AccountError;
use serde_json::json;

/// The `Retry-After` of a 429 (whole seconds, at least 1), for the errors that
/// have one: every throttled answer says when to come back.
pub(crate) fn retry_after(error: &AccountError) -> Option<HeaderValue> {
    let (AccountError::TooManyAttempts { retry_after }
    | AccountError::RateLimited { retry_after, .. }) = error
    else {
        return None;
    };
    let millis = u64::try_from(retry_after.num_milliseconds()).unwrap_or(0);
    Some(HeaderValue::from(millis.div_ceil(1000).max(1)))
}

/// An account use case's error, answered as `{"code","message"}` (plus the
/// list of `errors` for a rejected import).
#[derive(Debug)]
pub struct AccountApiError(pub AccountError);

impl From<AccountError> for AccountApiError {
    fn from(error: AccountError) -> Self {
        Self(error)
    }
}

impl IntoResponse for AccountApiError {
    fn into_response(self) -> Response {
        let message = self.0.to_string();
        let (status, code) = match &self.0 {
            AccountError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, codes::VALIDATION_ERROR),
            AccountError::WeakPassword(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, codes::WEAK_PASSWORD)
            }
            AccountError::UserNameTaken => (StatusCode::CONFLICT, codes::USER_NAME_TAKEN),
            AccountError::EmailTaken => (StatusCode::CONFLICT, codes::EMAIL_TAKEN),
            AccountError::TokenInvalid => (StatusCode::BAD_REQUEST, codes::TOKEN_INVALID),
            AccountError::InvalidCredentials => {
                (StatusCode::UNAUTHORIZED, codes::INVALID_CREDENTIALS)
            }
            AccountError::TooManyAttempts { .. } | AccountError::RateLimited { .. } => {
                let mut answer = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    codes::TOO_MANY_ATTEMPTS,
                    message,
                )
                .into_response();
                if let Some(wait) = retry_after(&self.0) {
                    answer.headers_mut().insert(RETRY_AFTER, wait);
                }
                return answer;
            }
            AccountError::Unauthenticated => (StatusCode::UNAUTHORIZED, codes::UNAUTHENTICATED),
            AccountError::Forbidden => (StatusCode::FORBIDDEN, codes::FORBIDDEN),
            AccountError::NotFound => (StatusCode::NOT_FOUND, codes::ACCOUNT_NOT_FOUND),
            AccountError::Conflict => (StatusCode::CONFLICT, codes::VERSION_CONFLICT),
            AccountError::ImportRejected(lines) => {
                let body = json!({"code": codes::IMPORT_REJECTED, "message": "the file has errors; nothing was created", "errors": lines});
                return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response();
            }
            AccountError::Unavailable(detail) => {
                tracing::error!(%detail, "account service unavailable");
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    codes::SERVICE_UNAVAILABLE,
                    "the service is unavailable; please retry",
                )
                .into_response();
            }
        };
        ApiError::new(status, code, message).into_response()
    }
}
