//! The `membership-rollover` function's handler. EventBridge Scheduler invokes
//! it once a day with its target's `Input` as the payload; an operator may
//! invoke it by hand with another date or as a dry run. The payload is
//! `{"date": "YYYY-MM-DD", "dry_run": bool}`, both optional (today in UTC, and
//! a real run); `{}` or no payload at all means "today, for real".

use chrono::NaiveDate;
use lambda_runtime::Diagnostic;
use patron_hub_domain::organizations::{Rollover, RolloverSummary};
use patron_hub_domain::{Clock, StoreError};
use serde::Deserialize;
use serde_json::Value;

/// What one invocation asks for, as the scheduler or an operator sends it.
/// Unknown fields are refused: a misspelt `dry_run` must never become a real run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloverRequest {
    /// The day to run for; today (UTC) when absent.
    #[serde(default)]
    pub date: Option<NaiveDate>,
    /// Count what would change without writing anything.
    #[serde(default)]
    pub dry_run: bool,
}

impl RolloverRequest {
    /// Reads an invocation's payload: an object of the two optional fields,
    /// or `null` for none.
    pub fn parse(payload: Value) -> Result<Self, RolloverFailure> {
        if payload.is_null() {
            return Ok(Self::default());
        }
        // serde would also read a struct from an array of its fields.
        if !payload.is_object() {
            return Err(RolloverFailure::InvalidRequest(
                "the payload is not a JSON object".to_owned(),
            ));
        }
        serde_json::from_value(payload).map_err(|e| RolloverFailure::InvalidRequest(e.to_string()))
    }

    /// The day the run is for, `today` unless the request names one.
    pub fn day(&self, today: NaiveDate) -> NaiveDate {
        self.date.unwrap_or(today)
    }
}

/// Why an invocation did not complete; the scheduler's retries and the
/// dead-letter queue take over (a rerun for the same day is harmless).
#[derive(Debug, thiserror::Error)]
pub enum RolloverFailure {
    /// The payload is not a rollover request.
    #[error("invalid rollover request: {0} (expected {{\"date\": \"YYYY-MM-DD\", \"dry_run\": true|false}}, both optional)")]
    InvalidRequest(String),
    /// The table could not be read or written.
    #[error("rollover interrupted: {0}")]
    Store(#[from] StoreError),
}

impl From<RolloverFailure> for Diagnostic {
    fn from(failure: RolloverFailure) -> Self {
        let error_type = match failure {
            RolloverFailure::InvalidRequest(_) => "InvalidRolloverRequest",
            RolloverFailure::Store(_) => "RolloverInterrupted",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: failure.to_string(),
        }
    }
}

/// Runs the rollover an invocation asks for, logs its summary as one JSON
/// line and returns it (the invocation's result).
pub async fn handle_rollover(
    rollover: &Rollover,
    clock: &dyn Clock,
    payload: Value,
) -> Result<RolloverSummary, RolloverFailure> {
    let request = RolloverRequest::parse(payload).inspect_err(|failure| {
        tracing::error!(%failure, "membership rollover refused its payload");
    })?;
    let date = request.day(clock.now().date_naive());
    let summary = rollover
        .run(date, request.dry_run)
        .await
        .inspect_err(|error| tracing::error!(%date, %error, "membership rollover interrupted"))?;
    tracing::info!(
        %date,
        dry_run = summary.dry_run,
        organizations_rolled = summary.organizations_rolled,
        accounts_deactivated = summary.accounts_deactivated,
        staging_records_purged = summary.staging_records_purged,
        tokens_purged = summary.tokens_purged,
        sessions_purged = summary.sessions_purged,
        counters_purged = summary.counters_purged,
        "membership rollover done"
    );
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn no_payload_means_today_for_real() {
        for payload in [Value::Null, json!({})] {
            let request = RolloverRequest::parse(payload).unwrap();
            assert!(!request.dry_run);
            assert_eq!(request.day(day("2026-11-27")), day("2026-11-27"));
        }
    }

    #[test]
    fn reads_the_date_and_dry_run() {
        let request =
            RolloverRequest::parse(json!({"date": "2026-09-01", "dry_run": true})).unwrap();
        assert!(request.dry_run);
        assert_eq!(request.day(day("2026-11-27")), day("2026-09-01"));
        let only_dry = RolloverRequest::parse(json!({"dry_run": true})).unwrap();
        assert_eq!(only_dry.day(day("2026-11-27")), day("2026-11-27"));
    }

    #[test]
    fn refuses_what_is_not_a_request() {
        for payload in [
            json!({"date": "01/09/2026"}),
            json!({"date": "2026-02-30"}),
            json!({"dry_run": "yes"}),
            json!({"dryRun": true}),
            json!("2026-09-01"),
            json!([]),
            json!(["2026-09-01", true]),
        ] {
            let refused = RolloverRequest::parse(payload.clone());
            assert!(
                matches!(refused, Err(RolloverFailure::InvalidRequest(_))),
                "{payload} must be refused"
            );
        }
    }

    #[test]
    fn failures_become_typed_diagnostics() {
        let diagnostic = Diagnostic::from(RolloverFailure::InvalidRequest("bad date".into()));
        assert_eq!(diagnostic.error_type, "InvalidRolloverRequest");
        assert!(diagnostic.error_message.contains("bad date"));
        let diagnostic = Diagnostic::from(RolloverFailure::Store(StoreError::Unavailable(
            "throttled".into(),
        )));
        assert_eq!(diagnostic.error_type, "RolloverInterrupted");
    }
}
