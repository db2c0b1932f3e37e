//! Reading and stamping one `rest_user` record: its identifiers, its link to a
//! source user, its dates, and the linked copy made of it.

use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use serde_json::{json, Map, Value};

/// A user record as Alma's `rest_user` JSON object.
pub(crate) type UserRecord = Map<String, Value>;

/// Fields the sandbox manages itself: an update (the API's "swap all" or a
/// librarian's edit) never changes them.
pub(super) const SYSTEM_FIELDS: [&str; 4] = [
    "created_date",
    "linking_id",
    "source_institution_code",
    "source_link_id",
];

/// What the network zone never passes down to linked copies: each member
/// keeps its own.
pub(super) const KEPT_BY_COPIES: [&str; 3] = ["user_role", "proxy_for_user", "user_statistic"];

/// A top-level string field.
pub(crate) fn text<'u>(user: &'u UserRecord, field: &str) -> Option<&'u str> {
    user.get(field).and_then(Value::as_str)
}

/// The user's `primary_id` (empty when missing).
pub(super) fn primary_id(user: &UserRecord) -> &str {
    text(user, "primary_id").unwrap_or_default()
}

/// `(id_type.value, value)` of each `user_identifier`.
pub(crate) fn identifiers(user: &UserRecord) -> impl Iterator<Item = (&str, &str)> {
    user.get("user_identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|identifier| {
            let value = identifier.get("value")?.as_str()?;
            let kind = identifier
                .get("id_type")
                .and_then(|kind| kind.get("value"))
                .and_then(Value::as_str)
                .unwrap_or("user_identifier");
            Some((kind, value))
        })
}

/// `linking_id`, the id of a linked copy.
pub(super) fn linking_id(user: &UserRecord) -> Option<&str> {
    text(user, "linking_id")
}

/// `(source_institution_code.value, source_link_id)` of a linked copy.
pub(super) fn source(user: &UserRecord) -> Option<(&str, &str)> {
    let code = user
        .get("source_institution_code")
        .and_then(|code| code.get("value"))
        .and_then(Value::as_str)?;
    Some((code, text(user, "source_link_id")?))
}

/// A linked copy of `source` from institution `source_code`: roles are not copied.
pub(super) fn linked_copy(
    source_code: &str,
    source: &UserRecord,
    now: DateTime<Utc>,
) -> UserRecord {
    let mut copy = source.clone();
    copy.remove("user_role");
    let source_primary_id = primary_id(source).to_owned();
    let linking_id = rand::thread_rng().gen_range(1_000_000_000_000_000_000u64..u64::MAX);
    copy.insert(
        "source_institution_code".into(),
        json!({"value": source_code, "desc": source_code}),
    );
    copy.insert("source_link_id".into(), Value::String(source_primary_id));
    copy.insert("linking_id".into(), Value::String(linking_id.to_string()));
    copy.insert(
        "account_type".into(),
        json!({"value": "EXTERNAL", "desc": "External"}),
    );
    stamp(&mut copy, now, true);
    copy
}

/// Sets `last_modified_date`, and `created_date` for a new record, as Alma
/// writes a `dateTime`: UTC with milliseconds, e.g. `2024-05-30T09:30:10.123Z`.
pub(crate) fn stamp(user: &mut UserRecord, now: DateTime<Utc>, created: bool) {
    let time = Value::String(now.to_rfc3339_opts(SecondsFormat::Millis, true));
    if created {
        user.insert("created_date".into(), time.clone());
    }
    user.insert("last_modified_date".into(), time);
}

/// `loans.value` or `fees.value`, a number or a numeric string; 0 when absent.
pub(super) fn counter(user: &UserRecord, field: &str) -> f64 {
    match user.get(field).and_then(|c| c.get("value")) {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}
