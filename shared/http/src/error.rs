//! Errors as HTTP responses: every JSON error body is `{"code","message"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// Error codes of every JSON API (webhook, accounts, members, registration),
/// in one place, so that no handler spells one twice and no two APIs define one
/// code twice.
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
    /// A field is invalid, or the body is not the JSON expected (the message
    /// names the field).
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
    /// No valid session (accounts and members APIs).
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// The caller is known (logged in, or a client key) but may not do this.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// No such account.
    pub const ACCOUNT_NOT_FOUND: &str = "ACCOUNT_NOT_FOUND";
    /// Someone else changed the record meanwhile.
    pub const VERSION_CONFLICT: &str = "VERSION_CONFLICT";
    /// The import file has errors.
    pub const IMPORT_REJECTED: &str = "IMPORT_REJECTED";
    /// No such organization.
    pub const ORGANIZATION_NOT_FOUND: &str = "ORGANIZATION_NOT_FOUND";
    /// No such member in this organization.
    pub const MEMBER_NOT_FOUND: &str = "MEMBER_NOT_FOUND";
    /// No such person.
    pub const PERSON_NOT_FOUND: &str = "PERSON_NOT_FOUND";
    /// A membership rule refuses the request (seed 004's message).
    pub const MEMBERSHIP_RULE: &str = "MEMBERSHIP_RULE";
    /// The person is already a member for part of the period.
    pub const ALREADY_MEMBER: &str = "ALREADY_MEMBER";
    /// The membership has been renewed already.
    pub const ALREADY_RENEWED: &str = "ALREADY_RENEWED";
    /// `ORGANIZATION:AGENT` is held in another organization.
    pub const AGENT_IN_ANOTHER_ORGANIZATION: &str = "AGENT_IN_ANOTHER_ORGANIZATION";
    /// The organization would lose its last administrator.
    pub const LAST_ADMIN: &str = "LAST_ADMIN";
    /// A bad `page` or `limit`.
    pub const INVALID_PAGINATION: &str = "INVALID_PAGINATION";
    /// A spreadsheet could not be written.
    pub const EXPORT_FAILED: &str = "EXPORT_FAILED";
    /// No valid client key nor staff session (registration API).
    pub const UNAUTHORIZED: &str = "UNAUTHORIZED";
    /// The request has no body.
    pub const MISSING_BODY: &str = "MISSING_BODY";
    /// No staging record has this externalSystemId.
    pub const STAGING_USER_NOT_FOUND: &str = "STAGING_USER_NOT_FOUND";
    /// An active patron already has the e-mail.
    pub const PATRON_ALREADY_EXISTS: &str = "PATRON_ALREADY_EXISTS";
    /// Not exactly one identifier in a status query.
    pub const INVALID_IDENTIFIERS: &str = "INVALID_IDENTIFIERS";
    /// Several patron records match.
    pub const MULTIPLE_USER_WITH_EMAIL: &str = "MULTIPLE_USER_WITH_EMAIL";
    /// The patron's account has expired.
    pub const ACCOUNT_EXPIRED: &str = "ACCOUNT_EXPIRED";
    /// The patron's account is inactive.
    pub const USER_ACCOUNT_INACTIVE: &str = "USER_ACCOUNT_INACTIVE";
    /// No patron matches.
    pub const USER_NOT_FOUND: &str = "USER_NOT_FOUND";
    /// Alma refused the patron record.
    pub const ALMA_REJECTED: &str = "ALMA_REJECTED";
    /// Alma did not answer usefully.
    pub const ALMA_UNAVAILABLE: &str = "ALMA_UNAVAILABLE";
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
