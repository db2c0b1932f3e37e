//! The registration-status query the discovery layer asks before each step:
//! exactly one identifier, only patron records count, and one precise answer
//! per case (FOLIO mod-patron's `registration-status`).

use super::PatronStatus;
use super::{ExternalSystemId, RecordType, RegistrationError, RegistryEntry};
use chrono::NaiveDate;

/// What the status query looks a patron up by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatronIdentifier {
    /// `emailId`: a normalised e-mail address.
    Email(String),
    /// `externalSystemId`.
    ExternalSystemId(ExternalSystemId),
}

impl PatronIdentifier {
    /// Reads the two query parameters: exactly one must be present and
    /// non-empty (an empty value counts as absent).
    pub fn from_query(
        email_id: Option<&str>,
        external_system_id: Option<&str>,
    ) -> Result<Self, RegistrationError> {
        fn present(value: Option<&str>) -> Option<&str> {
            value.map(str::trim).filter(|v| !v.is_empty())
        }
        match (present(email_id), present(external_system_id)) {
            (Some(email), None) => Ok(Self::Email(super::email_key(email))),
            (None, Some(id)) => ExternalSystemId::parse(id)
                .map(Self::ExternalSystemId)
                .ok_or(RegistrationError::InvalidIdentifiers(
                    "externalSystemId is not a valid identifier.",
                )),
            (None, None) => Err(RegistrationError::InvalidIdentifiers(
                "Either emailId or externalSystemId must be provided in the request.",
            )),
            (Some(_), Some(_)) => Err(RegistrationError::InvalidIdentifiers(
                "Provide either emailId or externalSystemId, not both.",
            )),
        }
    }
}

/// The answer for the registry entries an identifier matched, on `today`:
/// staff and contact records are ignored; several patrons are an error; one
/// patron is returned only when active and not expired.
pub fn registration_status(
    matches: Vec<RegistryEntry>,
    today: NaiveDate,
) -> Result<RegistryEntry, RegistrationError> {
    let mut patrons: Vec<RegistryEntry> = matches
        .into_iter()
        .filter(|entry| entry.record_type == RecordType::Patron)
        .collect();
    if patrons.len() > 1 {
        return Err(RegistrationError::MultipleUsers);
    }
    let patron = patrons.pop().ok_or(RegistrationError::UserNotFound)?;
    if patron.is_expired(today) {
        return Err(RegistrationError::AccountExpired);
    }
    if patron.status == PatronStatus::Inactive {
        return Err(RegistrationError::AccountInactive);
    }
    Ok(patron)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registration::{PatronSnapshot, RegistryChange};
    use crate::{AlmaUser, InstitutionCode};
    use chrono::DateTime;
    use serde_json::json;

    fn entry(id: &str, record_type: &str, status: &str, expiry: &str) -> RegistryEntry {
        let user: AlmaUser = serde_json::from_value(json!({
            "primary_id": id, "record_type": {"value": record_type},
            "status": {"value": status}, "expiry_date": expiry
        }))
        .unwrap();
        let snapshot = PatronSnapshot::from_alma(&user, "OTHER_ID_1").unwrap();
        let institution = InstitutionCode::parse("A").unwrap();
        match RegistryEntry::observe(None, &institution, &snapshot, DateTime::UNIX_EPOCH) {
            RegistryChange::Save(entry) => entry,
            other => panic!("{other:?}"),
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    #[test]
    fn exactly_one_identifier_is_required() {
        assert!(matches!(
            PatronIdentifier::from_query(None, Some(" ")),
            Err(RegistrationError::InvalidIdentifiers(m)) if m.starts_with("Either")
        ));
        assert!(matches!(
            PatronIdentifier::from_query(Some("a@b.org"), Some("x")),
            Err(RegistrationError::InvalidIdentifiers(m)) if m.starts_with("Provide")
        ));
        assert_eq!(
            PatronIdentifier::from_query(Some(" A@B.org "), Some("")).unwrap(),
            PatronIdentifier::Email("a@b.org".into())
        );
    }

    #[test]
    fn each_case_has_its_answer() {
        let active = entry("p", "PUBLIC", "ACTIVE", "2027-01-01Z");
        let staff = entry("s", "STAFF", "ACTIVE", "2027-01-01Z");
        assert_eq!(
            registration_status(vec![active.clone(), staff.clone()], today()).unwrap(),
            active
        );
        assert_eq!(
            registration_status(vec![staff], today()),
            Err(RegistrationError::UserNotFound)
        );
        assert_eq!(
            registration_status(
                vec![active.clone(), entry("q", "PUBLIC", "ACTIVE", "")],
                today()
            ),
            Err(RegistrationError::MultipleUsers)
        );
        assert_eq!(
            registration_status(vec![entry("p", "PUBLIC", "ACTIVE", "2026-11-26Z")], today()),
            Err(RegistrationError::AccountExpired)
        );
        assert_eq!(
            registration_status(vec![entry("p", "PUBLIC", "ACTIVE", "2026-11-27Z")], today())
                .map(|e| e.primary_id),
            Ok(active.primary_id)
        );
        assert_eq!(
            registration_status(vec![entry("p", "PUBLIC", "INACTIVE", "")], today()),
            Err(RegistrationError::AccountInactive)
        );
    }
}
