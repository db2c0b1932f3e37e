//! Reading a JSON request body for a typed request, naming the JSON path of
//! whatever does not fit. Each API maps the faults to its own answers. Every
//! body is a JSON object: serde would also read a struct from an array of its
//! fields in order (`["Renamed"]` as `{"name": "Renamed"}`), which no client
//! means.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
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
    /// JSON the type refuses, or JSON that is not an object: the field's path
    /// (`.` for the whole body) and why.
    Field {
        /// `generalInfo.firstName`, `roles[0]`, …
        path: String,
        /// serde's message, without its position.
        reason: String,
    },
}

/// The media type of the body (`Content-Type` without its parameters, in
/// lower case), if the request names one.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    Some(essence.to_ascii_lowercase())
}

/// Whether the body is typed as JSON: `application/json` or `application/…+json`.
pub(crate) fn typed_json(headers: &HeaderMap) -> bool {
    media_type(headers).is_some_and(|essence| {
        essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"))
    })
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
    if !text.starts_with(b"{") {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
                Ok(_) => BodyFault::Field {
                    path: ".".to_owned(),
                    reason: "the body must be a JSON object".to_owned(),
                },
                Err(error) => BodyFault::NotJson(reason(&error)),
            },
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)] // read only through Debug
    struct Named {
        name: Option<String>,
    }

    #[test]
    fn arrays_and_scalars_are_not_bodies() {
        for body in [r#"["Renamed"]"#, "[]", " 42 ", r#""text""#, "true"] {
            match parse_json::<Named>(body.as_bytes()) {
                Err(BodyFault::Field { path, reason }) => {
                    assert_eq!(path, ".", "{body}");
                    assert!(reason.contains("JSON object"), "{reason}");
                }
                other => panic!("{body} gave {other:?}"),
            }
        }
        assert!(matches!(
            parse_json::<Named>(b"[not json"),
            Err(BodyFault::NotJson(_))
        ));
        assert!(parse_json::<Named>(br#" {"name": "A"} "#).is_ok());
    }
}
