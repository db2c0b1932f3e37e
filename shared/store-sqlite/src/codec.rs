//! How domain values become column values and back: instants as integer
//! microseconds (for comparing and ordering in SQL) or exact RFC 3339 text (when
//! they are given back), days as day numbers, records as JSON (and rows of JSON back to records),
//! versions as INTEGER, and SQLite errors as `StoreError`.

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use patron_hub_domain::StoreError;
use rusqlite::{OptionalExtension, Params, Transaction};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// An instant as microseconds since the epoch, for indexed comparisons.
pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// `at` plus `span`, in microseconds, saturating instead of overflowing.
pub(crate) fn micros_after(at: DateTime<Utc>, span: Duration) -> i64 {
    let span = i64::try_from(span.as_micros()).unwrap_or(i64::MAX);
    micros(at).saturating_add(span)
}

/// An instant as exact text (nanoseconds kept), for times handed back to the domain.
pub(crate) fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Reads back an instant written by [`time_text`].
pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|error| StoreError::Corrupt(format!("stored time {text:?}: {error}")))
}

/// A day as its number counted from 1 January of year 1, for indexed comparisons:
/// unlike ISO text, it orders every day chrono can hold (years beyond 9999 and
/// before 0 included).
pub(crate) fn day_number(day: NaiveDate) -> i64 {
    i64::from(day.num_days_from_ce())
}

/// A record as JSON text.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|error| StoreError::Corrupt(format!("cannot encode a record: {error}")))
}

/// Reads back a record written by [`to_json`].
pub(crate) fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|error| StoreError::Corrupt(format!("stored record unreadable: {error}")))
}

/// The one record `sql` selects (its first column holds the JSON), if any.
pub(crate) fn json_row<T: DeserializeOwned>(
    tx: &Transaction<'_>,
    sql: &str,
    values: impl Params,
) -> Result<Option<T>, StoreError> {
    let stored: Option<String> = tx
        .prepare_cached(sql)
        .and_then(|mut select| select.query_row(values, |row| row.get(0)).optional())
        .map_err(db_error)?;
    stored.as_deref().map(from_json).transpose()
}

/// Every record `sql` selects (its first column holds the JSON), in its order.
pub(crate) fn json_rows<T: DeserializeOwned>(
    tx: &Transaction<'_>,
    sql: &str,
    values: impl Params,
) -> Result<Vec<T>, StoreError> {
    let mut select = tx.prepare_cached(sql).map_err(db_error)?;
    let stored = select
        .query_map(values, |row| row.get::<_, String>(0))
        .map_err(db_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_error)?;
    stored.iter().map(|text| from_json(text)).collect()
}

/// An optimistic-locking version as stored in an INTEGER column.
pub(crate) fn stored_version(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version)
        .map_err(|_| StoreError::Corrupt(format!("version {version} out of range")))
}

/// An attempt count read from an INTEGER column.
pub(crate) fn attempts(stored: i64) -> Result<u32, StoreError> {
    u32::try_from(stored)
        .map_err(|_| StoreError::Corrupt(format!("stored attempt count {stored} out of range")))
}

/// A SQLite failure as the domain sees it: try again later.
pub(crate) fn db_error(error: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("sqlite: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_times_round_trip_to_the_nanosecond() {
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(parse_time(&time_text(at)).unwrap(), at);
        assert!(matches!(
            parse_time("yesterday"),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn day_numbers_order_as_the_days_do() {
        let days = [
            NaiveDate::MIN,
            NaiveDate::from_ymd_opt(-1, 12, 31).unwrap(),
            NaiveDate::from_ymd_opt(2031, 6, 14).unwrap(),
            NaiveDate::from_ymd_opt(2031, 6, 15).unwrap(),
            NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap(),
            NaiveDate::MAX,
        ];
        for pair in days.windows(2) {
            assert!(day_number(pair[0]) < day_number(pair[1]), "{pair:?}");
        }
        let (june_14, june_15) = (days[2], days[3]);
        assert_eq!(day_number(june_15) - day_number(june_14), 1);
    }

    #[test]
    fn spans_saturate_instead_of_overflowing() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(
            micros_after(at, Duration::from_secs(2)),
            micros(at) + 2_000_000
        );
        assert_eq!(micros_after(at, Duration::MAX), i64::MAX);
    }

    #[test]
    fn versions_beyond_an_integer_column_are_corrupt() {
        assert_eq!(stored_version(7).unwrap(), 7);
        assert!(matches!(
            stored_version(u64::MAX),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn negative_or_huge_attempt_counts_are_corrupt() {
        assert_eq!(attempts(3).unwrap(), 3);
        assert!(attempts(-1).is_err());
        assert!(attempts(i64::MAX).is_err());
    }
}
