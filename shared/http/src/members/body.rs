//! JSON bodies of the members API: no body or one that is not JSON is 400
//! `INVALID_JSON`; JSON the type refuses (an unknown field, a wrong type) is
//! 422 `VALIDATION_ERROR` naming the field's JSON path.

use super::error::{invalid_body, invalid_json, too_large};
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
        BodyFault::Missing => invalid_json("a JSON body is required"),
        BodyFault::TooLarge => too_large(),
        BodyFault::NotJson(reason) => invalid_json(format!("the body is not JSON: {reason}")),
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
    use patron_hub_domain::organizations::{NewMember, OrganizationInput};

    fn refusal<T: DeserializeOwned + std::fmt::Debug>(body: &str) -> ApiError {
        match parse::<T>(body.as_bytes()) {
            Ok(value) => panic!("{body} was accepted as {value:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn no_body_and_broken_json_are_400() {
        for body in ["", "  ", "{", "not json", r#"{"name": "A"} trailing"#] {
            let error = refusal::<OrganizationInput>(body);
            assert_eq!(
                (error.status.as_u16(), error.code),
                (400, "INVALID_JSON"),
                "{body:?}"
            );
        }
    }

    #[test]
    fn refusals_name_the_json_path() {
        let unknown = refusal::<OrganizationInput>(r#"{"name": "A", "colour": "red"}"#);
        assert_eq!(
            (unknown.status.as_u16(), unknown.code),
            (422, "VALIDATION_ERROR")
        );
        assert!(
            unknown.message.starts_with("colour: unknown field"),
            "{}",
            unknown.message
        );
        let role = refusal::<NewMember>(
            r#"{"person": "5020c6ea-ca07-42d1-994f-d90b86703b1a", "roles": ["ORGANIZATION:KING"]}"#,
        );
        assert!(
            role.message.starts_with("roles[0]: unknown variant"),
            "{}",
            role.message
        );
        let missing = refusal::<NewMember>(r#"{"roles": []}"#);
        assert!(
            missing.message.starts_with("person: missing field"),
            "{}",
            missing.message
        );
        let date = refusal::<NewMember>(
            r#"{"person": "5020c6ea-ca07-42d1-994f-d90b86703b1a", "date_start": "31/08/2025"}"#,
        );
        assert!(date.message.starts_with("date_start: "), "{}", date.message);
        assert!(!date.message.contains("line 1"), "{}", date.message);
    }

    #[test]
    fn a_valid_body_parses() {
        let input: OrganizationInput = parse(br#" {"name": "BDE", "parent": null} "#).unwrap();
        assert_eq!(input.name.as_deref(), Some("BDE"));
        assert_eq!(input.parent, Some(None));
    }
}
