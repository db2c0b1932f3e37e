//! The patron registry: one record per patron known to the network, built from
//! the Alma records every institution sends or receives, so that "does this
//! e-mail already belong to a patron?" is one indexed read instead of a call to
//! every institution.

use crate::{AlmaUser, InstitutionCode, PrimaryId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Alma's `record_type`, reduced to what registration cares about: only
/// patron records answer the registration-status query (a librarian's staff
/// record sharing the e-mail is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordType {
    /// `PUBLIC` (or no record type): a patron.
    Patron,
    /// `STAFF`.
    Staff,
    /// `CONTACT` and anything else that is not a person borrowing.
    Contact,
}

impl RecordType {
    fn from_alma(value: Option<&str>) -> Self {
        match value.map(str::to_ascii_uppercase).as_deref() {
            None | Some("PUBLIC") | Some("") => Self::Patron,
            Some("STAFF") => Self::Staff,
            Some(_) => Self::Contact,
        }
    }
}

/// Alma's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PatronStatus {
    /// `ACTIVE` (also when Alma leaves it out).
    Active,
    /// `INACTIVE`.
    Inactive,
}

/// What one institution's account of the patron looked like when last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    /// The account's status there.
    pub status: PatronStatus,
    /// Its expiry date there.
    pub expiry_date: Option<NaiveDate>,
    /// Its user group there.
    pub user_group: Option<String>,
    /// When the change seen was made (webhook time, or the time of our own write).
    pub seen_at: DateTime<Utc>,
}

/// The part of an Alma user record the registry keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatronSnapshot {
    /// The patron's primary id.
    pub primary_id: PrimaryId,
    /// Every e-mail address, trimmed and lower-cased, sorted, without repeats.
    pub emails: Vec<String>,
    /// Patron, staff or contact.
    pub record_type: RecordType,
    /// Active or not.
    pub status: PatronStatus,
    /// When the account expires.
    pub expiry_date: Option<NaiveDate>,
    /// The user group code.
    pub user_group: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// The identifier of the configured external-system type, if the record has one.
    pub external_system_id: Option<String>,
}

impl PatronSnapshot {
    /// Reads a snapshot from an Alma user record; `None` without a valid primary
    /// id. `external_id_type` is the `user_identifier` type holding the
    /// registration's externalSystemId.
    pub fn from_alma(user: &AlmaUser, external_id_type: &str) -> Option<Self> {
        let primary_id = user.primary_id()?;
        let text = |field: &str| {
            user.0
                .get(field)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let status = match user.code_value("status").map(str::to_ascii_uppercase) {
            Some(s) if s == "INACTIVE" => PatronStatus::Inactive,
            _ => PatronStatus::Active,
        };
        Some(Self {
            primary_id,
            emails: alma_emails(user),
            record_type: RecordType::from_alma(user.code_value("record_type")),
            status,
            expiry_date: user
                .0
                .get("expiry_date")
                .and_then(Value::as_str)
                .and_then(alma_date),
            user_group: user.code_value("user_group").map(str::to_owned),
            first_name: text("first_name"),
            last_name: text("last_name"),
            external_system_id: alma_identifier(user, external_id_type),
        })
    }

    fn holding(&self, seen_at: DateTime<Utc>) -> Holding {
        Holding {
            status: self.status,
            expiry_date: self.expiry_date,
            user_group: self.user_group.clone(),
            seen_at,
        }
    }
}

/// One patron as the network knows it: the patron-level fields come from the
/// newest record seen in any institution, and each institution holding an
/// account has its own [`Holding`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryEntry {
    /// The primary id shared by every institution.
    pub primary_id: PrimaryId,
    /// E-mail addresses, normalised (the lookup keys).
    pub emails: Vec<String>,
    /// Patron, staff or contact.
    pub record_type: RecordType,
    /// Status in the newest record.
    pub status: PatronStatus,
    /// Expiry date in the newest record.
    pub expiry_date: Option<NaiveDate>,
    /// User group in the newest record.
    pub user_group: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// The externalSystemId (a lookup key), when the patron has one.
    pub external_system_id: Option<String>,
    /// The institutions holding an account, with what each holds.
    pub holdings: BTreeMap<InstitutionCode, Holding>,
    /// When the newest record seen was changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-locking version: 1 when first stored, +1 on each write.
    pub version: u64,
}

/// What an observation does to the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryChange {
    /// Store this entry (new or changed).
    Save(RegistryEntry),
    /// The last holding is gone: remove the entry.
    Remove(RegistryEntry),
    /// Nothing new (an older or repeated observation).
    Unchanged,
}

impl RegistryEntry {
    /// The entry after `institution` was seen holding `snapshot` as of `at`.
    /// An observation older than what is known changes nothing, so redelivered
    /// or reordered webhooks never move the registry back.
    pub fn observe(
        previous: Option<&RegistryEntry>,
        institution: &InstitutionCode,
        snapshot: &PatronSnapshot,
        at: DateTime<Utc>,
    ) -> RegistryChange {
        let holding = snapshot.holding(at);
        let Some(previous) = previous else {
            return RegistryChange::Save(Self::first(institution, snapshot, holding, at));
        };
        let mut entry = previous.clone();
        let newer_holding = previous
            .holdings
            .get(institution)
            .is_none_or(|known| known.seen_at <= at);
        if newer_holding {
            entry.holdings.insert(institution.clone(), holding);
        }
        if at >= previous.updated_at {
            entry.take_fields(snapshot, at);
        }
        entry.version = previous.version + 1;
        if entry.same_content(previous) {
            RegistryChange::Unchanged
        } else {
            RegistryChange::Save(entry)
        }
    }

    /// The entry after `institution` deleted its account as of `at`.
    pub fn forget(
        previous: Option<&RegistryEntry>,
        institution: &InstitutionCode,
        at: DateTime<Utc>,
    ) -> RegistryChange {
        let Some(previous) = previous else {
            return RegistryChange::Unchanged;
        };
        match previous.holdings.get(institution) {
            Some(known) if known.seen_at <= at => {}
            _ => return RegistryChange::Unchanged,
        }
        let mut entry = previous.clone();
        entry.holdings.remove(institution);
        if entry.holdings.is_empty() {
            return RegistryChange::Remove(previous.clone());
        }
        entry.version = previous.version + 1;
        RegistryChange::Save(entry)
    }

    /// Whether the account has passed its expiry date on `today` (the expiry
    /// day itself still counts as valid).
    pub fn is_expired(&self, today: NaiveDate) -> bool {
        self.expiry_date.is_some_and(|expiry| expiry < today)
    }

    /// Whether this is a patron record that is active and not expired on `today`.
    pub fn is_current_patron(&self, today: NaiveDate) -> bool {
        self.record_type == RecordType::Patron
            && self.status == PatronStatus::Active
            && !self.is_expired(today)
    }

    fn first(
        institution: &InstitutionCode,
        snapshot: &PatronSnapshot,
        holding: Holding,
        at: DateTime<Utc>,
    ) -> Self {
        let mut entry = Self {
            primary_id: snapshot.primary_id.clone(),
            emails: Vec::new(),
            record_type: snapshot.record_type,
            status: snapshot.status,
            expiry_date: None,
            user_group: None,
            first_name: None,
            last_name: None,
            external_system_id: None,
            holdings: BTreeMap::from([(institution.clone(), holding)]),
            updated_at: at,
            version: 1,
        };
        entry.take_fields(snapshot, at);
        entry
    }

    fn take_fields(&mut self, snapshot: &PatronSnapshot, at: DateTime<Utc>) {
        self.emails = snapshot.emails.clone();
        self.record_type = snapshot.record_type;
        self.status = snapshot.status;
        self.expiry_date = snapshot.expiry_date;
        self.user_group = snapshot.user_group.clone();
        self.first_name = snapshot.first_name.clone();
        self.last_name = snapshot.last_name.clone();
        // An institution whose record lacks the identifier does not erase it.
        if snapshot.external_system_id.is_some() {
            self.external_system_id = snapshot.external_system_id.clone();
        }
        self.updated_at = at;
    }

    fn same_content(&self, other: &RegistryEntry) -> bool {
        let mut a = self.clone();
        a.version = other.version;
        a == *other
    }
}

/// Normalises an e-mail address the way the registry keys it.
pub fn email_key(address: &str) -> String {
    address.trim().to_lowercase()
}

fn alma_emails(user: &AlmaUser) -> Vec<String> {
    let mut emails: Vec<String> = user
        .0
        .get("contact_info")
        .and_then(|info| info.get("email"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|email| email.get("email_address").and_then(Value::as_str))
        .map(email_key)
        .filter(|address| !address.is_empty())
        .collect();
    emails.sort();
    emails.dedup();
    emails
}

fn alma_identifier(user: &AlmaUser, id_type: &str) -> Option<String> {
    user.0
        .get("user_identifier")
        .and_then(Value::as_array)?
        .iter()
        .find(|identifier| {
            let kind = identifier.get("id_type").and_then(|t| match t {
                Value::String(s) => Some(s.as_str()),
                other => other.get("value").and_then(Value::as_str),
            });
            kind == Some(id_type)
        })
        .and_then(|identifier| identifier.get("value").and_then(Value::as_str))
        .map(str::to_owned)
}

/// Alma writes dates as `2030-01-01Z` (or plain `2030-01-01`).
pub fn alma_date(text: &str) -> Option<NaiveDate> {
    let date = text.trim().trim_end_matches('Z');
    NaiveDate::parse_from_str(date.get(..10).unwrap_or(date), "%Y-%m-%d").ok()
}

/// A date as Alma writes it.
pub fn alma_date_text(date: NaiveDate) -> String {
    format!("{}Z", date.format("%Y-%m-%d"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(c: &str) -> InstitutionCode {
        InstitutionCode::parse(c).unwrap()
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn snapshot(value: Value) -> PatronSnapshot {
        let user: AlmaUser = serde_json::from_value(value).unwrap();
        PatronSnapshot::from_alma(&user, "OTHER_ID_1").unwrap()
    }

    fn reader(expiry: &str, email: &str) -> PatronSnapshot {
        snapshot(json!({
            "primary_id": "p1", "first_name": "Ada", "last_name": "Lovelace",
            "record_type": {"value": "PUBLIC"}, "status": {"value": "ACTIVE"},
            "user_group": {"value": "EXT"}, "expiry_date": expiry,
            "contact_info": {"email": [{"email_address": email}, {"email_address": " ADA@example.org "}]},
            "user_identifier": [{"id_type": {"value": "OTHER_ID_1"}, "value": "ext-1"}]
        }))
    }

    fn saved(change: RegistryChange) -> RegistryEntry {
        match change {
            RegistryChange::Save(entry) => entry,
            other => panic!("expected a save, got {other:?}"),
        }
    }

    #[test]
    fn reads_what_registration_needs_from_an_alma_record() {
        let s = reader("2030-01-31Z", "ada@example.org");
        assert_eq!(s.emails, vec!["ada@example.org"]);
        assert_eq!(s.record_type, RecordType::Patron);
        assert_eq!(s.expiry_date, NaiveDate::from_ymd_opt(2030, 1, 31));
        assert_eq!(s.user_group.as_deref(), Some("EXT"));
        assert_eq!(s.external_system_id.as_deref(), Some("ext-1"));
        let staff = snapshot(json!({"primary_id": "s", "record_type": {"value": "STAFF"}}));
        assert_eq!(staff.record_type, RecordType::Staff);
        assert_eq!(staff.status, PatronStatus::Active);
    }

    #[test]
    fn an_older_observation_never_moves_the_entry_back() {
        let (a, b) = (code("A"), code("B"));
        let first = saved(RegistryEntry::observe(
            None,
            &a,
            &reader("2030-01-01Z", "new@example.org"),
            at(20),
        ));
        let second = saved(RegistryEntry::observe(
            Some(&first),
            &b,
            &reader("2020-01-01Z", "old@example.org"),
            at(10),
        ));
        assert_eq!(second.version, 2);
        assert_eq!(second.emails, vec!["ada@example.org", "new@example.org"]);
        assert_eq!(second.expiry_date, NaiveDate::from_ymd_opt(2030, 1, 1));
        assert_eq!(second.holdings.len(), 2);
        let repeat = RegistryEntry::observe(
            Some(&second),
            &b,
            &reader("2020-01-01Z", "old@example.org"),
            at(10),
        );
        assert_eq!(repeat, RegistryChange::Unchanged);
    }

    #[test]
    fn forgetting_the_last_holding_removes_the_entry() {
        let a = code("A");
        let entry = saved(RegistryEntry::observe(
            None,
            &a,
            &reader("2030-01-01Z", "x@example.org"),
            at(5),
        ));
        assert_eq!(
            RegistryEntry::forget(Some(&entry), &a, at(4)),
            RegistryChange::Unchanged
        );
        assert!(matches!(
            RegistryEntry::forget(Some(&entry), &a, at(6)),
            RegistryChange::Remove(_)
        ));
    }

    #[test]
    fn expiry_day_itself_is_still_valid() {
        let entry = saved(RegistryEntry::observe(
            None,
            &code("A"),
            &reader("2030-01-01Z", "x@example.org"),
            at(5),
        ));
        let day = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
        assert!(entry.is_current_patron(day));
        assert!(entry.is_expired(day.succ_opt().unwrap()));
    }
}
