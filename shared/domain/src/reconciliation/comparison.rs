//! How a reconcile compares one patron's records in several institutions:
//! which record is the newest, and whether another institution's record
//! carries every field the newest one distributes.

use crate::{AlmaUser, InstitutionCode};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Fields Alma (or the sandbox) keeps on each record for itself: never
/// distributed, so never compared.
const SYSTEM_FIELDS: [&str; 6] = [
    "created_date",
    "last_modified_date",
    "linking_id",
    "source_institution_code",
    "source_link_id",
    "link",
];

/// The fields of `user` that distribution carries to other institutions,
/// as compared by a reconcile: no roles, no local fields, no system fields.
pub fn distributed_fields(user: &AlmaUser, local_fields: &[String]) -> Map<String, Value> {
    let mut fields = user.distributable(local_fields).0;
    for field in SYSTEM_FIELDS {
        fields.remove(field);
    }
    fields
}

/// A short fingerprint of one field's value, so that a record can be kept as
/// one fingerprint per field instead of whole (a reconcile of 100,000
/// patrons holds them all at once).
pub fn fingerprint(value: &Value) -> String {
    let digest = Sha256::digest(value.to_string().as_bytes());
    digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The fingerprints of a record's distributed fields, by field name.
pub fn fingerprints(user: &AlmaUser, local_fields: &[String]) -> Map<String, Value> {
    distributed_fields(user, local_fields)
        .iter()
        .map(|(field, value)| (field.clone(), Value::String(fingerprint(value))))
        .collect()
}

/// Whether a record (by its fingerprints) carries every distributed field of
/// the newest record with the same value: what the worker's upsert, which
/// lays the newest record's fields over the target's, would make true.
pub fn carries(record: &Map<String, Value>, newest: &Map<String, Value>) -> bool {
    newest
        .iter()
        .all(|(field, value)| record.get(field) == Some(value))
}

/// Whether two records (by their fingerprints) give the same first and
/// last names: by the upsert's collision guard, the same person.
pub fn same_names(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    ["first_name", "last_name"]
        .iter()
        .all(|field| a.get(*field) == b.get(*field))
}

/// Alma's `last_modified_date` of a record (`2024-01-15T10:20:30.123Z`, or a
/// plain date with Alma's trailing `Z`).
pub fn last_modified(user: &AlmaUser) -> Option<DateTime<Utc>> {
    let text = user.0.get("last_modified_date")?.as_str()?;
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            let day =
                chrono::NaiveDate::parse_from_str(text.trim_end_matches('Z'), "%Y-%m-%d").ok()?;
            Some(day.and_hms_opt(0, 0, 0)?.and_utc())
        })
}

/// When the content of an institution's record was made. Alma's
/// `last_modified_date` says when the record was last written, which for a
/// copy patron-hub wrote is when its worker wrote it, not when the change it
/// carried was made at the origin. So while the record still carries every
/// distributed field patron-hub's last write there stored (`last_write`: its
/// fingerprints, and the time of the event it carried), its content is that
/// event's; once changed there since (or never written by patron-hub), it
/// is Alma's `last_modified_date`.
pub fn content_time(
    modified: Option<DateTime<Utc>>,
    current: &Map<String, Value>,
    last_write: Option<(&Map<String, Value>, DateTime<Utc>)>,
) -> Option<DateTime<Utc>> {
    match last_write {
        Some((written, event)) if carries(current, written) => Some(event),
        _ => modified,
    }
}

/// One institution's record of a patron, as a reconcile keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// Where the record is.
    pub institution: InstitutionCode,
    /// When its content was made (see [`content_time`]).
    pub modified: Option<DateTime<Utc>>,
    /// When patron-hub last applied or accepted a change of the patron there
    /// (the ledger's position), if ever.
    pub position: Option<DateTime<Utc>>,
}

/// Which of a patron's versions is the newest: the latest content time
/// (Alma's `last_modified_date`, or the event patron-hub's write carried),
/// then the latest ledger position, then the first institution in the
/// network's order (so that the choice is stable).
pub fn newest(versions: &[Version]) -> Option<usize> {
    versions
        .iter()
        .enumerate()
        .max_by(|(i, a), (j, b)| {
            a.modified
                .cmp(&b.modified)
                .then(a.position.cmp(&b.position))
                .then(j.cmp(i))
        })
        .map(|(index, _)| index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn user(value: Value) -> AlmaUser {
        serde_json::from_value(value).unwrap()
    }

    fn at(hour: u32) -> Option<DateTime<Utc>> {
        Some(Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap())
    }

    fn version(
        code: &str,
        modified: Option<DateTime<Utc>>,
        position: Option<DateTime<Utc>>,
    ) -> Version {
        Version {
            institution: InstitutionCode::parse(code).unwrap(),
            modified,
            position,
        }
    }

    #[test]
    fn roles_local_and_system_fields_are_not_compared() {
        let local = ["user_note".to_owned()];
        let origin = user(json!({
            "primary_id": "p", "last_name": "Lecteur", "user_role": [{"x": 1}],
            "user_note": [{"note_text": "A's"}], "created_date": "2026-01-01Z",
            "last_modified_date": "2026-12-01T10:00:00.000Z"
        }));
        let copy = user(json!({
            "primary_id": "p", "last_name": "Lecteur", "user_note": [{"note_text": "B's"}],
            "created_date": "2026-11-30Z", "last_modified_date": "2026-12-02T08:00:00.000Z",
            "user_title": {"value": "Dr"}
        }));
        let (origin, copy) = (fingerprints(&origin, &local), fingerprints(&copy, &local));
        assert!(
            carries(&copy, &origin),
            "the copy carries the origin's fields"
        );
        assert!(
            !carries(&origin, &copy),
            "the origin lacks the copy's title"
        );
    }

    #[test]
    fn a_changed_or_missing_field_is_not_carried() {
        let newest = fingerprints(&user(json!({"primary_id": "p", "last_name": "New"})), &[]);
        let older = fingerprints(&user(json!({"primary_id": "p", "last_name": "Old"})), &[]);
        let bare = fingerprints(&user(json!({"primary_id": "p"})), &[]);
        assert!(!carries(&older, &newest));
        assert!(!carries(&bare, &newest));
        assert!(carries(&newest, &newest));
    }

    #[test]
    fn the_newest_is_alma_s_then_the_ledger_s_then_the_first() {
        let by_alma = [version("A", at(9), at(23)), version("B", at(10), None)];
        assert_eq!(newest(&by_alma), Some(1));
        let by_ledger = [version("A", at(9), at(11)), version("B", at(9), at(12))];
        assert_eq!(newest(&by_ledger), Some(1));
        let tied = [version("A", at(9), None), version("B", at(9), None)];
        assert_eq!(newest(&tied), Some(0));
        assert_eq!(newest(&[]), None);
    }

    #[test]
    fn a_copy_patron_hub_wrote_holds_the_time_of_the_event_it_carried() {
        let written = fingerprints(
            &user(json!({"primary_id": "p", "last_name": "Round 3"})),
            &[],
        );
        let noted = fingerprints(
            &user(json!({"primary_id": "p", "last_name": "Round 3", "user_note": [{"n": 1}]})),
            &["user_note".to_owned()],
        );
        let renamed = fingerprints(
            &user(json!({"primary_id": "p", "last_name": "Renamed"})),
            &[],
        );
        // Written at 10:00 for an event of 09:00; unchanged, or only a local field changed.
        assert_eq!(
            content_time(at(10), &written, Some((&written, at(9).unwrap()))),
            at(9)
        );
        assert_eq!(
            content_time(at(11), &noted, Some((&written, at(9).unwrap()))),
            at(9)
        );
        // Renamed there at 11:00, after patron-hub's write.
        assert_eq!(
            content_time(at(11), &renamed, Some((&written, at(9).unwrap()))),
            at(11)
        );
        // Never written by patron-hub: Alma's date.
        assert_eq!(content_time(at(8), &renamed, None), at(8));
    }

    #[test]
    fn alma_dates_are_read_with_or_without_time() {
        let precise = user(json!({"last_modified_date": "2026-12-01T09:00:00.000Z"}));
        let day = user(json!({"last_modified_date": "2026-12-01Z"}));
        assert_eq!(last_modified(&precise), at(9));
        assert_eq!(last_modified(&day), at(0));
        assert_eq!(last_modified(&user(json!({}))), None);
    }
}
