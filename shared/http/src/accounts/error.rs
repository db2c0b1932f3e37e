//! Account errors as HTTP answers: the one place they get a status and a code.

use crate::error::ApiError;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use patron_hub_domain::accounts::AccountError;
use serde_json::json;

/// Codes of the accounts API.
pub mod codes {
    /// A field is invalid.
    pub const VALIDATION_ERROR: &str = "VALIDATION_ERROR";
    /// The password breaks the policy.
    pub const WEAK_PASSWORD: &str = "WEAK_PASSWORD";
    /// The user name is taken.
    pub const USER_NAME_TAKEN: &str = "USER_NAME_TAKEN";
    /// The e-mail is taken.
    pub const EMAIL_TAKEN: &str = "EMAIL_TAKEN";
    /// The link is invalid or expired.
    pub const TOKEN_INVALID: &str = "TOKEN_INVALID";
    /// Login refused.
    pub const INVALID_CREDENTIALS: &str = "INVALID_CREDENTIALS";
    /// Too many failed logins, or too many requests of a limited kind (the
    /// message says which).
    pub const TOO_MANY_ATTEMPTS: &str = "TOO_MANY_ATTEMPTS";
    /// No valid session.
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// Not allowed.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// No such account.
    pub const ACCOUNT_NOT_FOUND: &str = "ACCOUNT_NOT_FOUND";
    /// Changed by someone else.
    pub const VERSION_CONFLICT: &str = "VERSION_CONFLICT";
    /// The import file has errors.
    pub const IMPORT_REJECTED: &str = "IMPORT_REJECTED";
}

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
                    crate::error::codes::SERVICE_UNAVAILABLE,
                    "the service is unavailable; please retry",
                )
                .into_response();
            }
        };
        ApiError::new(status, code, message).into_response()
    }
}
