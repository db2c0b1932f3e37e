//! The errors the sandbox answers, and the bodies Alma uses for them: the JSON
//! `web_service_result` of the Users API, the XML one of API-key errors, and the
//! `{"code","message"}` body of the librarian routes.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;
use serde_json::json;

/// Why a call on the users of an institution failed, with Alma's code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ApiError {
    /// 401861: no user has that identifier.
    #[error("User with identifier {0} was not found.")]
    UserNotFound(String),
    /// 401890: no user has that identifier (the wording of DELETE).
    #[error("User with identifier {id} of type {id_type} was not found.")]
    UserNotFoundOfType { id: String, id_type: String },
    /// 401664: `primary_id` or `last_name` is missing.
    #[error("Mandatory field missing: {0}")]
    MandatoryFieldMissing(&'static str),
    /// 401852: the user group is not one the institution accepts.
    #[error("Illegal user group")]
    IllegalUserGroup,
    /// 401851: another user of the institution already has this identifier.
    #[error("User with identifier of type {0} already exists")]
    IdentifierExists(String),
    /// 60227: the institution already holds a linked copy of that source user.
    #[error("Linked account for user already exists")]
    LinkedAccountExists,
    /// 4019990: the source institution has no such user.
    #[error("User with source identifier {id} of institution {institution} was not found")]
    SourceUserNotFound { id: String, institution: String },
    /// 401651: the source institution is not in the network (or is the caller itself).
    #[error("Source institution {0} is not valid or not in the fulfillment network")]
    BadSourceInstitution(String),
    /// 401861 (the list's linked lookup): the source institution has no such user.
    #[error("Source institution user with identifier {0} not found.")]
    SourceInstitutionUserNotFound(String),
    /// 4019990 (the list's linked lookup): the caller holds no linked copy of that user.
    #[error("Local copied user information not found.")]
    LocalCopyNotFound,
    /// 40166410: a query parameter Alma cannot use.
    #[error("The parameter {parameter} is invalid. Valid options are: [{valid}].")]
    InvalidParameter {
        parameter: &'static str,
        valid: &'static str,
    },
    /// 401850: a user with loans or fees cannot be deleted.
    #[error("Failed to delete user: the user has active loans or fees")]
    ActiveLoansOrFees,
    /// 401658: the body is not a JSON object.
    #[error("General failure: the request body is not a JSON user object")]
    NotAUserObject,
    /// 429: over the institution's per-second threshold.
    #[error("HTTP requests are more than allowed per second")]
    PerSecondThreshold,
    /// 60101: an injected server fault.
    #[error("General error")]
    General,
    /// A librarian route named an institution the network does not have.
    #[error("No institution {0} in this network")]
    UnknownInstitution(String),
    /// A seed the sandbox refuses (its count or prefix).
    #[error("Invalid seed: {0}")]
    InvalidSeed(String),
}

impl ApiError {
    /// Alma's `errorCode`.
    fn alma_code(&self) -> &'static str {
        match self {
            ApiError::UserNotFound(_) => "401861",
            ApiError::UserNotFoundOfType { .. } => "401890",
            ApiError::MandatoryFieldMissing(_) => "401664",
            ApiError::IllegalUserGroup => "401852",
            ApiError::IdentifierExists(_) => "401851",
            ApiError::LinkedAccountExists => "60227",
            ApiError::SourceUserNotFound { .. } => "4019990",
            ApiError::BadSourceInstitution(_) => "401651",
            ApiError::SourceInstitutionUserNotFound(_) => "401861",
            ApiError::LocalCopyNotFound => "4019990",
            ApiError::InvalidParameter { .. } => "40166410",
            ApiError::ActiveLoansOrFees => "401850",
            ApiError::NotAUserObject => "401658",
            ApiError::PerSecondThreshold => "PER_SECOND_THRESHOLD",
            ApiError::General => "60101",
            ApiError::UnknownInstitution(_) => "401651",
            ApiError::InvalidSeed(_) => "401658",
        }
    }

    /// The HTTP status Alma answers with.
    fn alma_status(&self) -> StatusCode {
        match self {
            ApiError::PerSecondThreshold => StatusCode::TOO_MANY_REQUESTS,
            ApiError::General => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The answer of the Users API: Alma's JSON error body.
    pub(crate) fn into_alma_response(self) -> Response {
        let body = json!({
            "errorsExist": true,
            "errorList": {"error": [{
                "errorCode": self.alma_code(),
                "errorMessage": self.to_string(),
                "trackingId": tracking_id(),
            }]},
            "result": null,
        });
        (self.alma_status(), Json(body)).into_response()
    }

    /// The answer of a librarian route: patron-hub's `{"code","message"}` body.
    pub(crate) fn into_sandbox_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::UserNotFound(_) | ApiError::UserNotFoundOfType { .. } => {
                (StatusCode::NOT_FOUND, "USER_NOT_FOUND")
            }
            ApiError::LocalCopyNotFound => (StatusCode::NOT_FOUND, "LINKED_COPY_NOT_FOUND"),
            ApiError::InvalidParameter { .. } => (StatusCode::BAD_REQUEST, "INVALID_PARAMETER"),
            ApiError::InvalidSeed(_) => (StatusCode::UNPROCESSABLE_ENTITY, "INVALID_SEED"),
            ApiError::UnknownInstitution(_) => (StatusCode::NOT_FOUND, "UNKNOWN_INSTITUTION"),
            ApiError::MandatoryFieldMissing(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "MANDATORY_FIELD_MISSING")
            }
            ApiError::IllegalUserGroup => (StatusCode::UNPROCESSABLE_ENTITY, "ILLEGAL_USER_GROUP"),
            ApiError::IdentifierExists(_) => (StatusCode::CONFLICT, "IDENTIFIER_EXISTS"),
            ApiError::LinkedAccountExists => (StatusCode::CONFLICT, "LINKED_ACCOUNT_EXISTS"),
            ApiError::ActiveLoansOrFees => (StatusCode::CONFLICT, "ACTIVE_LOANS_OR_FEES"),
            ApiError::NotAUserObject => (StatusCode::BAD_REQUEST, "NOT_A_USER_OBJECT"),
            ApiError::SourceUserNotFound { .. } | ApiError::SourceInstitutionUserNotFound(_) => {
                (StatusCode::NOT_FOUND, "SOURCE_USER_NOT_FOUND")
            }
            ApiError::BadSourceInstitution(_) => {
                (StatusCode::BAD_REQUEST, "BAD_SOURCE_INSTITUTION")
            }
            ApiError::PerSecondThreshold => (StatusCode::TOO_MANY_REQUESTS, "THROTTLED"),
            ApiError::General => (StatusCode::INTERNAL_SERVER_ERROR, "GENERAL_ERROR"),
        };
        sandbox_error(status, code, &self.to_string())
    }
}

/// A librarian-route error body `{"code","message"}`.
pub(crate) fn sandbox_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

/// What Alma answers, in XML whatever was asked for, when the API key is missing or unknown.
pub(crate) fn api_key_error() -> Response {
    const BODY: &str = concat!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
        r#"<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans">"#,
        "<errorsExist>true</errorsExist><errorList><error><errorCode>UNAUTHORIZED</errorCode>",
        "<errorMessage>API-key not defined or not configured to allow this API.</errorMessage>",
        "</error></errorList></web_service_result>"
    );
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/xml")],
        BODY,
    )
        .into_response()
}

/// An Alma-like tracking id, e.g. `E01-1508143215-K3QZP`.
fn tracking_id() -> String {
    let mut rng = rand::thread_rng();
    let suffix: String = (0..5)
        .map(|_| char::from(b'A' + rng.gen_range(0..26u8)))
        .collect();
    format!("E01-{}-{suffix}", chrono::Utc::now().format("%d%H%M%S%3f"))
}
