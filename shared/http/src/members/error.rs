//! Organization errors as HTTP answers: the one place an [`OrganizationError`],
//! a missing session or a refused request gets its status and code.

use crate::error::{codes, ApiError};
use axum::http::StatusCode;
use patron_hub_domain::organizations::OrganizationError;

impl From<OrganizationError> for ApiError {
    fn from(error: OrganizationError) -> Self {
        let message = error.to_string();
        let (status, code) = match &error {
            OrganizationError::Forbidden => (StatusCode::FORBIDDEN, codes::FORBIDDEN),
            OrganizationError::OrganizationNotFound => {
                (StatusCode::NOT_FOUND, codes::ORGANIZATION_NOT_FOUND)
            }
            OrganizationError::MemberNotFound => (StatusCode::NOT_FOUND, codes::MEMBER_NOT_FOUND),
            OrganizationError::PersonNotFound => (StatusCode::NOT_FOUND, codes::PERSON_NOT_FOUND),
            OrganizationError::Invalid(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, codes::VALIDATION_ERROR)
            }
            OrganizationError::Rule(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, codes::MEMBERSHIP_RULE)
            }
            OrganizationError::AlreadyMember => (StatusCode::CONFLICT, codes::ALREADY_MEMBER),
            OrganizationError::AlreadyRenewed => (StatusCode::CONFLICT, codes::ALREADY_RENEWED),
            OrganizationError::AgentInAnotherOrganization => {
                (StatusCode::CONFLICT, codes::AGENT_IN_ANOTHER_ORGANIZATION)
            }
            OrganizationError::LastAdmin => (StatusCode::CONFLICT, codes::LAST_ADMIN),
            OrganizationError::Conflict => (StatusCode::CONFLICT, codes::VERSION_CONFLICT),
            OrganizationError::BadPage(_) => (StatusCode::BAD_REQUEST, codes::INVALID_PAGINATION),
            OrganizationError::Unavailable(detail) => {
                tracing::error!(%detail, "organization storage unavailable");
                return unavailable();
            }
        };
        ApiError::new(status, code, message)
    }
}

/// 401: no session, or one that is over.
pub fn unauthenticated() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        codes::UNAUTHENTICATED,
        "log in first",
    )
}

/// 503: a backend failed; the detail stays in the logs.
pub fn unavailable() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        codes::SERVICE_UNAVAILABLE,
        "the service is unavailable; please retry",
    )
}

/// 400: a query parameter is malformed.
pub fn invalid_parameter(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, codes::INVALID_PARAMETER, message)
}

/// 400: the body is missing or is not JSON.
pub fn invalid_json(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, codes::INVALID_JSON, message)
}

/// 422: the JSON does not fit the request type; `path` names the field.
pub fn invalid_body(path: &str, reason: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        codes::VALIDATION_ERROR,
        format!("{path}: {reason}"),
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

/// 500: the export could not be written (never caused by the request).
pub fn export_failed(detail: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(%detail, "member export failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        codes::EXPORT_FAILED,
        "the export could not be written; please retry",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use patron_hub_domain::accounts::InvalidField;
    use patron_hub_domain::organizations::MembershipRuleError;

    #[test]
    fn each_domain_error_has_its_status_and_code() {
        let day = chrono::NaiveDate::from_ymd_opt(2025, 8, 31).unwrap();
        let cases = [
            (OrganizationError::Forbidden, 403, codes::FORBIDDEN),
            (
                OrganizationError::OrganizationNotFound,
                404,
                codes::ORGANIZATION_NOT_FOUND,
            ),
            (
                OrganizationError::MemberNotFound,
                404,
                codes::MEMBER_NOT_FOUND,
            ),
            (
                OrganizationError::PersonNotFound,
                404,
                codes::PERSON_NOT_FOUND,
            ),
            (
                InvalidField::new("name", "is required").into(),
                422,
                codes::VALIDATION_ERROR,
            ),
            (
                MembershipRuleError::StartsTooEarly(day).into(),
                422,
                codes::MEMBERSHIP_RULE,
            ),
            (OrganizationError::AlreadyMember, 409, codes::ALREADY_MEMBER),
            (
                OrganizationError::AlreadyRenewed,
                409,
                codes::ALREADY_RENEWED,
            ),
            (
                OrganizationError::AgentInAnotherOrganization,
                409,
                codes::AGENT_IN_ANOTHER_ORGANIZATION,
            ),
            (OrganizationError::LastAdmin, 409, codes::LAST_ADMIN),
            (OrganizationError::Conflict, 409, codes::VERSION_CONFLICT),
            (
                OrganizationError::BadPage("limit".into()),
                400,
                codes::INVALID_PAGINATION,
            ),
        ];
        for (error, status, code) in cases {
            let answer = ApiError::from(error.clone());
            assert_eq!(
                (answer.status.as_u16(), answer.code),
                (status, code),
                "{error:?}"
            );
            assert_eq!(answer.message, error.to_string());
        }
    }

    #[test]
    fn storage_details_stay_in_the_logs() {
        let down = ApiError::from(OrganizationError::Unavailable("disk /var/x full".into()));
        assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!down.message.contains("/var/x"), "{}", down.message);
    }
}
