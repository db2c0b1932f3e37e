//! Registration errors as HTTP answers: the one place a [`RegistrationError`],
//! a refused caller or a refused body gets its status and code.

use crate::error::{codes, ApiError};
use axum::http::StatusCode;
use patron_hub_domain::registration::RegistrationError;

impl From<RegistrationError> for ApiError {
    fn from(error: RegistrationError) -> Self {
        let message = error.to_string();
        let (status, code) = match &error {
            RegistrationError::Invalid(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, codes::VALIDATION_ERROR)
            }
            RegistrationError::StagingNotFound => {
                (StatusCode::NOT_FOUND, codes::STAGING_USER_NOT_FOUND)
            }
            RegistrationError::PatronAlreadyExists => {
                (StatusCode::CONFLICT, codes::PATRON_ALREADY_EXISTS)
            }
            RegistrationError::InvalidIdentifiers(_) => {
                (StatusCode::BAD_REQUEST, codes::INVALID_IDENTIFIERS)
            }
            RegistrationError::MultipleUsers => {
                (StatusCode::BAD_REQUEST, codes::MULTIPLE_USER_WITH_EMAIL)
            }
            RegistrationError::AccountExpired => (StatusCode::NOT_FOUND, codes::ACCOUNT_EXPIRED),
            RegistrationError::AccountInactive => {
                (StatusCode::NOT_FOUND, codes::USER_ACCOUNT_INACTIVE)
            }
            RegistrationError::UserNotFound => (StatusCode::NOT_FOUND, codes::USER_NOT_FOUND),
            RegistrationError::AlmaRejected { code, .. } => {
                tracing::warn!(alma_code = %code, "Alma refused a registration");
                (StatusCode::UNPROCESSABLE_ENTITY, codes::ALMA_REJECTED)
            }
            RegistrationError::Conflict => (StatusCode::CONFLICT, codes::VERSION_CONFLICT),
            RegistrationError::AlmaUnavailable(detail) => {
                tracing::error!(%detail, "Alma unavailable during a registration");
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    codes::ALMA_UNAVAILABLE,
                    "Alma is unavailable; nothing was lost, please retry",
                );
            }
            RegistrationError::Unavailable(detail) => {
                tracing::error!(%detail, "registration storage unavailable");
                return unavailable();
            }
        };
        ApiError::new(status, code, message)
    }
}

/// 401: no valid client key and no session.
pub fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        codes::UNAUTHORIZED,
        "Access Denied",
    )
}

/// 403: a known caller without the staff right.
pub fn forbidden() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        codes::FORBIDDEN,
        "Only staff may do this",
    )
}

/// 503: a backend (the session store) failed.
pub fn unavailable() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        codes::SERVICE_UNAVAILABLE,
        "the service is unavailable; please retry",
    )
}

/// 400: the request has no body.
pub fn missing_body() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        codes::MISSING_BODY,
        "Request body must not be null",
    )
}

/// 413: the body is over the router's limit.
pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        codes::PAYLOAD_TOO_LARGE,
        "the request body is too large",
    )
}

/// 422: the body is not the JSON expected; `path` names the field (`.` for the
/// whole body).
pub fn invalid_body(path: &str, reason: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        codes::VALIDATION_ERROR,
        format!("{path}: {reason}"),
    )
}

/// 400: a query parameter is malformed.
pub fn invalid_parameter(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, codes::INVALID_PARAMETER, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_domain_error_has_its_status_and_code() {
        let cases = [
            (
                RegistrationError::StagingNotFound,
                404,
                codes::STAGING_USER_NOT_FOUND,
            ),
            (
                RegistrationError::PatronAlreadyExists,
                409,
                codes::PATRON_ALREADY_EXISTS,
            ),
            (
                RegistrationError::InvalidIdentifiers("x"),
                400,
                codes::INVALID_IDENTIFIERS,
            ),
            (
                RegistrationError::MultipleUsers,
                400,
                codes::MULTIPLE_USER_WITH_EMAIL,
            ),
            (
                RegistrationError::AccountExpired,
                404,
                codes::ACCOUNT_EXPIRED,
            ),
            (
                RegistrationError::AccountInactive,
                404,
                codes::USER_ACCOUNT_INACTIVE,
            ),
            (RegistrationError::UserNotFound, 404, codes::USER_NOT_FOUND),
            (RegistrationError::Conflict, 409, codes::VERSION_CONFLICT),
            (
                RegistrationError::AlmaUnavailable("down".into()),
                503,
                codes::ALMA_UNAVAILABLE,
            ),
        ];
        for (error, status, code) in cases {
            let answer = ApiError::from(error);
            assert_eq!((answer.status.as_u16(), answer.code), (status, code));
        }
    }

    #[test]
    fn alma_refusals_carry_alma_code_and_storage_details_stay_in_the_logs() {
        let refused = ApiError::from(RegistrationError::AlmaRejected {
            code: "401851".into(),
            message: "User group is not valid".into(),
        });
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.message.contains("401851"), "{}", refused.message);
        let down = ApiError::from(RegistrationError::Unavailable("disk /var/x full".into()));
        assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!down.message.contains("/var/x"));
        let expired = ApiError::from(RegistrationError::AccountExpired);
        assert_eq!(expired.message, "Patron account has expired");
    }
}
