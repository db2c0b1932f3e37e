//! JSON bodies of the registration API: no body (or `null`) is 400
//! `MISSING_BODY`; anything the type refuses (not JSON, an unknown field, a
//! wrong type) is 422 `VALIDATION_ERROR` naming the field's JSON path.

use super::error::{invalid_body, missing_body, too_large};
use crate::error::ApiError;
use crate::json_body::{read_json, BodyFault};
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

/// A request body parsed into `T`.
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(request, state).await.map(Self).map_err(answer)
    }
}

/// This API's answer to a body fault.
fn answer(fault: BodyFault) -> ApiError {
    match fault {
        BodyFault::Missing => missing_body(),
        BodyFault::TooLarge => too_large(),
        BodyFault::NotJson(reason) => invalid_body(".", &reason),
        BodyFault::Field { path, reason } => invalid_body(&path, &reason),
    }
}

/// Parses a body as this API does.
#[cfg(test)]
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    crate::json_body::parse_json(bytes).map_err(answer)
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
