//! Reading a JSON request body for a typed request, naming the JSON path of
//! whatever does not fit. Each API maps the faults to its own answers.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// Why a body could not become the request type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyFault {
    /// No body, only white space, or `null`.
    Missing,
    /// Over the router's body limit.
    TooLarge,
    /// Not JSON at all (or trailing text after it), with serde's reason.
    NotJson(String),
    /// JSON the type refuses: the field's path (`.` for the whole body) and why.
    Field {
        /// `generalInfo.firstName`, `roles[0]`, …
        path: String,
        /// serde's message, without its position.
        reason: String,
    },
}

/// Reads the body of `request` and parses it into `T`.
pub(crate) async fn read_json<T: DeserializeOwned, S: Send + Sync>(
    request: Request,
    state: &S,
) -> Result<T, BodyFault> {
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => BodyFault::TooLarge,
            _ => BodyFault::NotJson(rejection.body_text()),
        })?;
    parse_json(&bytes)
}

/// Parses a body into `T`.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyFault> {
    let text = bytes.trim_ascii();
    if text.is_empty() || text == b"null" {
        return Err(BodyFault::Missing);
    }
    let mut json = serde_json::Deserializer::from_slice(text);
    let value = serde_path_to_error::deserialize(&mut json).map_err(|error| {
        let inner = error.inner();
        let reason = reason(inner);
        if inner.is_data() {
            BodyFault::Field {
                path: field_path(&error.path().to_string(), &reason),
                reason,
            }
        } else {
            BodyFault::NotJson(reason)
        }
    })?;
    json.end()
        .map_err(|error| BodyFault::NotJson(reason(&error)))?;
    Ok(value)
}

/// The path of the field at fault: serde names a missing field only in its
/// message, at its parent's path.
fn field_path(path: &str, reason: &str) -> String {
    let missing = reason
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(field)) => field.to_owned(),
        (parent, Some(field)) => format!("{parent}.{field}"),
        (path, None) => path.to_owned(),
    }
}

/// serde_json's message without its " at line L column C" suffix.
fn reason(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    message
        .strip_suffix(&position)
        .unwrap_or(&message)
        .to_owned()
}
