//! How AWS SDK failures become the domain's `StoreError`: the operation, the
//! service's error code and message, or the kind of transport failure. Never the
//! request, its signature or credentials (the SDK keeps those out of its errors,
//! and only these parts are copied).

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use patron_hub_domain::StoreError;
use std::error::Error;
use std::fmt::Debug;

/// DynamoDB's error code when a write's condition did not hold.
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

/// Maps any SDK failure of `operation` to `StoreError::Unavailable`, naming
/// the operation and the failure; not logged here: whoever turns the error
/// into an answer or an outcome logs it, once.
pub(crate) fn unavailable<E, R>(operation: &'static str, error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug,
{
    let detail = match &error {
        SdkError::ServiceError(_) => format!(
            "{}: {}",
            error.code().unwrap_or("service error"),
            error.message().unwrap_or("no message")
        ),
        other => DisplayErrorContext(other).to_string(),
    };
    StoreError::Unavailable(format!("{operation} failed: {detail}"))
}

/// A conditional write's result: `Ok(None)` when its condition did not hold.
pub(crate) fn conditional<T, E, R>(
    operation: &'static str,
    result: Result<T, SdkError<E, R>>,
) -> Result<Option<T>, StoreError>
where
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(error) if error.code() == Some(CONDITION_FAILED) => Ok(None),
        Err(error) => Err(unavailable(operation, error)),
    }
}

/// A stored item or message that cannot be read back (logged once, where
/// the error becomes an answer).
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}

/// A JSON decoding failure described without quoting the document (which
/// may hold patron data): its category and position only.
pub(crate) fn json_error(error: &serde_json::Error) -> String {
    format!(
        "{:?} JSON error at line {} column {}",
        error.classify(),
        error.line(),
        error.column()
    )
}

/// A job of an institution that has no queue in this deployment's configuration.
pub(crate) fn no_queue(institution: &impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("no queue configured for institution {institution}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_never_quote_the_document() {
        let error = serde_json::from_str::<u32>(r#""Zoë Ørsted""#).unwrap_err();
        assert!(
            error.to_string().contains("Zoë"),
            "serde_json quotes values"
        );
        let described = json_error(&error);
        assert!(!described.contains("Zoë"), "{described}");
        assert!(described.contains("line 1"), "{described}");
    }
}
