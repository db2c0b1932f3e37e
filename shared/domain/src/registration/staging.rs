//! Staging records: what a patron typed in the discovery layer's Tier 1
//! self-registration and Tier 2 pre-registration forms, kept until staff
//! complete the registration on site. The JSON shape is FOLIO edge-patron's
//! `staging_user` (camelCase, unknown fields refused).

use crate::accounts::{Email, InvalidField};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The id the discovery layer knows a staging record (and later its patron) by:
/// a server-generated UUID for records made here; any text for patrons that
/// came from elsewhere with an identifier of the external-system type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExternalSystemId(String);

impl ExternalSystemId {
    /// A fresh random (v4) UUID.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// Parses an id from a path or query: 1 to 255 characters, no control
    /// characters, no '/'.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let valid = !text.is_empty()
            && text.chars().count() <= 255
            && !text.chars().any(|c| c.is_control() || c == '/');
        valid.then(|| Self(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExternalSystemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The registration tier the patron reached online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tier {
    /// Self-registered: an e-mail and a name.
    #[serde(rename = "TIER-1")]
    Tier1,
    /// Pre-registered with address and contact details; completed on site.
    #[serde(rename = "TIER-2")]
    Tier2,
}

/// The kinds of e-mail a patron may opt into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Communication {
    /// Support messages.
    Support,
    /// Programs and events.
    Programs,
    /// Library services.
    Services,
}

/// Names as typed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GeneralInfo {
    /// Required.
    pub first_name: String,
    /// Optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_first_name: Option<String>,
    /// Optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Required.
    pub last_name: String,
}

/// The home address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddressInfo {
    /// First street line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line0: Option<String>,
    /// Second street line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Province, state or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    /// Country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// How to reach the patron.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactInfo {
    /// Phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Mobile phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    /// The e-mail: the record's natural key, never changed after creation.
    pub email: Email,
}

/// A stored staging record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StagingRecord {
    /// Server-generated on creation; never changes.
    pub external_system_id: ExternalSystemId,
    /// The tier reached online.
    pub status: Tier,
    /// Set when the patron's account activation link was followed.
    pub is_email_verified: bool,
    /// Whether the patron is a minor.
    pub minor: bool,
    /// Names.
    pub general_info: GeneralInfo,
    /// Home address.
    pub address_info: AddressInfo,
    /// Phones and e-mail.
    pub contact_info: ContactInfo,
    /// E-mail opt-ins.
    pub preferred_email_communication: Vec<Communication>,
    /// When the record was made.
    pub created_date: DateTime<Utc>,
    /// When it last changed.
    pub updated_date: DateTime<Utc>,
    /// Optimistic-locking version: 1 when created, +1 on each update.
    pub version: u64,
}

/// The body of `POST /patron` and `PUT /patron/{id}`: every field optional here;
/// [`StagingInput::create`] and [`StagingInput::merge_into`] apply the rules.
/// Unknown fields are refused by the parser.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StagingInput {
    /// Ignored: the server chooses (POST) or the path names (PUT) the id.
    #[serde(default)]
    pub external_system_id: Option<serde_json::Value>,
    /// TIER-1 or TIER-2.
    #[serde(default)]
    pub status: Option<Tier>,
    /// Whether the e-mail was verified.
    #[serde(default)]
    pub is_email_verified: Option<bool>,
    /// Minor flag.
    #[serde(default)]
    pub minor: Option<bool>,
    /// Names.
    #[serde(default)]
    pub general_info: Option<GeneralInfoInput>,
    /// Address.
    #[serde(default)]
    pub address_info: Option<AddressInfo>,
    /// Contact details.
    #[serde(default)]
    pub contact_info: Option<ContactInfoInput>,
    /// E-mail opt-ins (an empty list keeps the stored list on update).
    #[serde(default)]
    pub preferred_email_communication: Option<Vec<Communication>>,
}

/// `generalInfo` as sent: every field optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GeneralInfoInput {
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Preferred first name.
    #[serde(default)]
    pub preferred_first_name: Option<String>,
    /// Middle name.
    #[serde(default)]
    pub middle_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
}

/// `contactInfo` as sent: every field optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactInfoInput {
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Mobile phone.
    #[serde(default)]
    pub mobile_phone: Option<String>,
    /// E-mail (required on creation, ignored on update).
    #[serde(default)]
    pub email: Option<String>,
}

/// Longest accepted text field.
const MAX_TEXT: usize = 200;

impl StagingInput {
    /// The e-mail a creation names (required, validated).
    pub fn email(&self) -> Result<Email, InvalidField> {
        let raw = self
            .contact_info
            .as_ref()
            .and_then(|c| c.email.as_deref())
            .ok_or_else(|| InvalidField::new("contactInfo.email", "is required"))?;
        Email::parse(raw)
            .map_err(|_| InvalidField::new("contactInfo.email", "is not a valid e-mail address"))
    }

    /// A new record from a creation body: first name, last name and e-mail are
    /// required; status defaults to TIER-1 and `isEmailVerified` to false.
    pub fn create(
        &self,
        id: ExternalSystemId,
        now: DateTime<Utc>,
    ) -> Result<StagingRecord, InvalidField> {
        let email = self.email()?;
        let general = self.general_info.clone().unwrap_or_default();
        let record = StagingRecord {
            external_system_id: id,
            status: self.status.unwrap_or(Tier::Tier1),
            is_email_verified: self.is_email_verified.unwrap_or(false),
            minor: self.minor.unwrap_or(false),
            general_info: GeneralInfo {
                first_name: general.first_name.unwrap_or_default(),
                preferred_first_name: general.preferred_first_name,
                middle_name: general.middle_name,
                last_name: general.last_name.unwrap_or_default(),
            },
            address_info: self.address_info.clone().unwrap_or_default(),
            contact_info: ContactInfo {
                phone: self.contact_info.as_ref().and_then(|c| c.phone.clone()),
                mobile_phone: self
                    .contact_info
                    .as_ref()
                    .and_then(|c| c.mobile_phone.clone()),
                email,
            },
            preferred_email_communication: self
                .preferred_email_communication
                .clone()
                .unwrap_or_default(),
            created_date: now,
            updated_date: now,
            version: 1,
        };
        record.validate()?;
        Ok(record)
    }

    /// The stored record with this body laid over it: absent (or null) fields
    /// keep their stored values, nested objects too; an empty list keeps the
    /// stored list; the e-mail and the externalSystemId never change.
    pub fn merge_into(
        &self,
        stored: &StagingRecord,
        now: DateTime<Utc>,
    ) -> Result<StagingRecord, InvalidField> {
        let mut record = stored.clone();
        keep_or(&mut record.status, self.status);
        keep_or(&mut record.is_email_verified, self.is_email_verified);
        keep_or(&mut record.minor, self.minor);
        if let Some(general) = &self.general_info {
            let g = &mut record.general_info;
            keep_or(&mut g.first_name, general.first_name.clone());
            keep_or(&mut g.last_name, general.last_name.clone());
            overlay(&mut g.preferred_first_name, &general.preferred_first_name);
            overlay(&mut g.middle_name, &general.middle_name);
        }
        if let Some(address) = &self.address_info {
            let a = &mut record.address_info;
            overlay(&mut a.address_line0, &address.address_line0);
            overlay(&mut a.address_line1, &address.address_line1);
            overlay(&mut a.city, &address.city);
            overlay(&mut a.province, &address.province);
            overlay(&mut a.zip, &address.zip);
            overlay(&mut a.country, &address.country);
        }
        if let Some(contact) = &self.contact_info {
            overlay(&mut record.contact_info.phone, &contact.phone);
            overlay(&mut record.contact_info.mobile_phone, &contact.mobile_phone);
        }
        if let Some(list) = &self.preferred_email_communication {
            if !list.is_empty() {
                record.preferred_email_communication = list.clone();
            }
        }
        record.updated_date = now;
        record.version = stored.version + 1;
        record.validate()?;
        Ok(record)
    }
}

impl StagingRecord {
    /// The rules every stored record keeps.
    pub fn validate(&self) -> Result<(), InvalidField> {
        let g = &self.general_info;
        required("generalInfo.firstName", &g.first_name)?;
        required("generalInfo.lastName", &g.last_name)?;
        let a = &self.address_info;
        let c = &self.contact_info;
        let optional = [
            ("generalInfo.preferredFirstName", &g.preferred_first_name),
            ("generalInfo.middleName", &g.middle_name),
            ("addressInfo.addressLine0", &a.address_line0),
            ("addressInfo.addressLine1", &a.address_line1),
            ("addressInfo.city", &a.city),
            ("addressInfo.province", &a.province),
            ("addressInfo.zip", &a.zip),
            ("addressInfo.country", &a.country),
            ("contactInfo.phone", &c.phone),
            ("contactInfo.mobilePhone", &c.mobile_phone),
        ];
        for (field, value) in optional {
            if let Some(value) = value {
                text(field, value)?;
            }
        }
        let list = &self.preferred_email_communication;
        if list.len() > 3 {
            return Err(InvalidField::new(
                "preferredEmailCommunication",
                "holds at most 3 values",
            ));
        }
        let mut unique = list.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != list.len() {
            return Err(InvalidField::new(
                "preferredEmailCommunication",
                "must not repeat a value",
            ));
        }
        Ok(())
    }
}

fn keep_or<T>(stored: &mut T, incoming: Option<T>) {
    if let Some(value) = incoming {
        *stored = value;
    }
}

fn overlay(stored: &mut Option<String>, incoming: &Option<String>) {
    if incoming.is_some() {
        stored.clone_from(incoming);
    }
}

fn required(field: &'static str, value: &str) -> Result<(), InvalidField> {
    if value.trim().is_empty() {
        return Err(InvalidField::new(field, "is required"));
    }
    text(field, value)
}

fn text(field: &'static str, value: &str) -> Result<(), InvalidField> {
    if value.chars().count() > MAX_TEXT {
        return Err(InvalidField::new(
            field,
            format!("must be at most {MAX_TEXT} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(InvalidField::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(value: serde_json::Value) -> StagingInput {
        serde_json::from_value(value).unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn created() -> StagingRecord {
        input(json!({
            "externalSystemId": "client-chosen",
            "generalInfo": {"firstName": "Ada", "lastName": "Lovelace", "middleName": "B"},
            "addressInfo": {"city": "London", "zip": "N1"},
            "contactInfo": {"email": "Ada@Example.org", "phone": "1"},
            "preferredEmailCommunication": ["Support", "Programs"]
        }))
        .create(ExternalSystemId::generate(), now())
        .unwrap()
    }

    #[test]
    fn creation_applies_defaults_and_ignores_a_sent_id() {
        let record = created();
        assert_eq!(record.status, Tier::Tier1);
        assert!(!record.is_email_verified);
        assert_ne!(record.external_system_id.as_str(), "client-chosen");
        assert_eq!(record.contact_info.email.as_str(), "ada@example.org");
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["status"], "TIER-1");
        assert_eq!(json["generalInfo"]["firstName"], "Ada");
    }

    #[test]
    fn creation_requires_names_and_email() {
        let missing = |body: serde_json::Value| {
            input(body)
                .create(ExternalSystemId::generate(), now())
                .unwrap_err()
                .field
        };
        assert_eq!(
            missing(json!({"generalInfo": {"firstName": "A", "lastName": "B"}})),
            "contactInfo.email"
        );
        assert_eq!(
            missing(json!({"generalInfo": {"lastName": "B"}, "contactInfo": {"email": "a@b.org"}})),
            "generalInfo.firstName"
        );
        assert_eq!(
            missing(json!({"generalInfo": {"firstName": "A", "lastName": "B"},
                "contactInfo": {"email": "a@b.org"},
                "preferredEmailCommunication": ["Support", "Support"]})),
            "preferredEmailCommunication"
        );
    }

    #[test]
    fn unknown_fields_and_values_are_refused_by_the_parser() {
        let unknown = serde_json::from_value::<StagingInput>(json!({"foo": 1}));
        assert!(unknown.unwrap_err().to_string().contains("foo"));
        let nested = serde_json::from_value::<StagingInput>(json!({"generalInfo": {"nick": "x"}}));
        assert!(nested.is_err());
        let value = serde_json::from_value::<StagingInput>(
            json!({"preferredEmailCommunication": ["Spam"]}),
        );
        assert!(value.is_err());
    }

    #[test]
    fn merge_keeps_absent_fields_empty_lists_email_and_id() {
        let stored = created();
        let merged = input(json!({
            "status": "TIER-2",
            "generalInfo": {"lastName": "King"},
            "addressInfo": {"addressLine0": "12 St James's Square"},
            "contactInfo": {"email": "other@example.org", "mobilePhone": "07"},
            "preferredEmailCommunication": [],
            "externalSystemId": "hijack"
        }))
        .merge_into(&stored, now())
        .unwrap();
        assert_eq!(merged.status, Tier::Tier2);
        assert_eq!(merged.general_info.first_name, "Ada");
        assert_eq!(merged.general_info.middle_name.as_deref(), Some("B"));
        assert_eq!(merged.general_info.last_name, "King");
        assert_eq!(merged.address_info.city.as_deref(), Some("London"));
        assert_eq!(
            merged.address_info.address_line0.as_deref(),
            Some("12 St James's Square")
        );
        assert_eq!(merged.contact_info.email, stored.contact_info.email);
        assert_eq!(merged.contact_info.phone.as_deref(), Some("1"));
        assert_eq!(merged.external_system_id, stored.external_system_id);
        assert_eq!(
            merged.preferred_email_communication,
            stored.preferred_email_communication
        );
        assert_eq!(merged.version, stored.version + 1);
        let replaced = input(json!({"preferredEmailCommunication": ["Services"]}))
            .merge_into(&stored, now())
            .unwrap();
        assert_eq!(
            replaced.preferred_email_communication,
            vec![Communication::Services]
        );
    }
}
