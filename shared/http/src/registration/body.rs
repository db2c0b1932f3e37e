//! JSON bodies of the registration API: no body (or `null`) is 400
//! `MISSING_BODY`; anything the type refuses (not JSON, an unknown field, a
//! wrong type) is 422 `VALIDATION_ERROR` naming the field's JSON path.

use super::error::{invalid_body, missing_body, too_large};
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// A request body parsed into `T`, with the registration API's rejections.
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                    _ => invalid_body(".", &rejection.body_text()),
                })?;
        parse(&bytes).map(Self)
    }
}

/// Parses a body, naming the JSON path of whatever is wrong.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = bytes.trim_ascii();
    if text.is_empty() || text == b"null" {
        return Err(missing_body());
    }
    let mut json = serde_json::Deserializer::from_slice(text);
    let value = serde_path_to_error::deserialize(&mut json).map_err(|error| {
        let reason = reason(error.inner());
        invalid_body(&field_path(&error.path().to_string(), &reason), &reason)
    })?;
    json.end()
        .map_err(|error| invalid_body(".", &reason(&error)))?;
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
    use patron_hub_domain::registration::{Completion, StagingInput, StagingRecord};

    fn refusal(body: &str) -> ApiError {
        match parse::<StagingInput>(body.as_bytes()) {
            Ok(value) => panic!("{body} was accepted as {value:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn no_body_and_null_are_missing_bodies() {
        for body in ["", "  \n", "null"] {
            assert_eq!(refusal(body).code, "MISSING_BODY", "{body:?}");
        }
    }

    #[test]
    fn refusals_name_the_json_path() {
        let unknown = refusal(r#"{"generalInfo": {"firstName": "A", "nick": "x"}}"#);
        assert_eq!(unknown.code, "VALIDATION_ERROR");
        assert!(
            unknown
                .message
                .starts_with("generalInfo.nick: unknown field `nick`"),
            "{}",
            unknown.message
        );
        let wrong_type = refusal(r#"{"minor": "yes"}"#);
        assert!(
            wrong_type.message.starts_with("minor: invalid type"),
            "{}",
            wrong_type.message
        );
        assert!(!wrong_type.message.contains("line 1"));
        let listed = refusal(r#"{"preferredEmailCommunication": ["Support", "Spam"]}"#);
        assert!(
            listed
                .message
                .starts_with("preferredEmailCommunication[1]: unknown variant"),
            "{}",
            listed.message
        );
        assert!(refusal("not json").message.starts_with(".: "));
        assert!(refusal(r#"{"minor": true} trailing"#)
            .message
            .starts_with(".: trailing characters"));
    }

    #[test]
    fn a_missing_field_is_named_by_its_own_path() {
        let root = parse::<Completion>(br#"{"barcode": "B"}"#).unwrap_err();
        assert!(
            root.message
                .starts_with("homeInstitution: missing field `homeInstitution`"),
            "{}",
            root.message
        );
        let nested = parse::<StagingRecord>(br#"{"generalInfo": {"lastName": "L"}}"#).unwrap_err();
        assert!(
            nested
                .message
                .starts_with("generalInfo.firstName: missing field `firstName`"),
            "{}",
            nested.message
        );
    }

    #[test]
    fn a_valid_body_parses() {
        let input: StagingInput = parse(br#" {"minor": true} "#).unwrap();
        assert_eq!(input.minor, Some(true));
    }
}
