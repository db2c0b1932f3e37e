//! Turns a staging record and the desk's completion into the Alma user record
//! that is created in the patron's home institution, and renews an existing one.

use super::{alma_date_text, Completion, RegistrationSettings, StagingRecord};
use crate::AlmaUser;
use chrono::NaiveDate;
use serde_json::{json, Map, Value};

/// The Alma user for a completed registration: names, e-mail, address and
/// phones from the staging record; the barcode and the externalSystemId as
/// identifiers; the user group, expiry date and the distributed job category.
pub fn new_patron(
    staging: &StagingRecord,
    completion: &Completion,
    expiry: NaiveDate,
    settings: &RegistrationSettings,
) -> AlmaUser {
    let id = staging.external_system_id.as_str();
    let names = &staging.general_info;
    let mut user = Map::new();
    let mut put = |field: &str, value: Value| {
        user.insert(field.to_owned(), value);
    };
    put("primary_id", json!(id));
    put("record_type", json!({"value": "PUBLIC"}));
    put("account_type", json!({"value": "INTERNAL"}));
    put("status", json!({"value": "ACTIVE"}));
    put("first_name", json!(names.first_name.trim()));
    put("last_name", json!(names.last_name.trim()));
    if let Some(middle) = non_empty(&names.middle_name) {
        put("middle_name", json!(middle));
    }
    if let Some(preferred) = non_empty(&names.preferred_first_name) {
        put("preferred_first_name", json!(preferred));
    }
    put("user_group", json!({"value": completion.user_group}));
    put("job_category", json!({"value": settings.job_category}));
    put("expiry_date", json!(alma_date_text(expiry)));
    put("contact_info", contact_info(staging));
    put(
        "user_identifier",
        json!([
            {"id_type": {"value": settings.barcode_type}, "value": completion.barcode.trim(),
             "status": "ACTIVE", "segment_type": "External"},
            {"id_type": {"value": settings.external_id_type}, "value": id,
             "status": "ACTIVE", "segment_type": "External"}
        ]),
    );
    AlmaUser(user)
}

/// The patron's record made active again until `expiry` (its purge date moved
/// along when it would come first); nothing else changes.
pub fn renewed(current: &AlmaUser, expiry: NaiveDate) -> AlmaUser {
    let mut user = current.clone();
    user.0
        .insert("status".to_owned(), json!({"value": "ACTIVE"}));
    user.0
        .insert("expiry_date".to_owned(), json!(alma_date_text(expiry)));
    let purge_first = user
        .0
        .get("purge_date")
        .and_then(Value::as_str)
        .and_then(super::alma_date)
        .is_some_and(|purge| purge < expiry);
    if purge_first {
        user.0
            .insert("purge_date".to_owned(), json!(alma_date_text(expiry)));
    }
    user
}

/// Whether an Alma record carries `id` as its externalSystemId.
pub fn has_external_id(user: &AlmaUser, settings: &RegistrationSettings, id: &str) -> bool {
    super::PatronSnapshot::from_alma(user, &settings.external_id_type)
        .and_then(|snapshot| snapshot.external_system_id)
        .is_some_and(|found| found == id)
}

fn contact_info(staging: &StagingRecord) -> Value {
    let a = &staging.address_info;
    let c = &staging.contact_info;
    let mut info = Map::new();
    let lines = [&a.address_line0, &a.address_line1, &a.city, &a.zip];
    if lines.iter().any(|line| non_empty(line).is_some()) {
        let mut address = Map::new();
        let mut field = |name: &str, value: &Option<String>| {
            if let Some(value) = non_empty(value) {
                address.insert(name.to_owned(), json!(value));
            }
        };
        field("line1", &a.address_line0);
        field("line2", &a.address_line1);
        field("city", &a.city);
        field("state_province", &a.province);
        field("postal_code", &a.zip);
        if let Some(country) = non_empty(&a.country) {
            address.insert("country".to_owned(), json!({"value": country}));
        }
        address.insert("preferred".to_owned(), json!(true));
        address.insert("address_type".to_owned(), json!([{"value": "home"}]));
        info.insert("address".to_owned(), json!([address]));
    }
    info.insert(
        "email".to_owned(),
        json!([{"email_address": c.email.as_str(), "preferred": true,
                "email_type": [{"value": "personal"}]}]),
    );
    let mut phones = Vec::new();
    if let Some(phone) = non_empty(&c.phone) {
        phones.push(json!({"phone_number": phone, "preferred": true,
                           "phone_type": [{"value": "home"}]}));
    }
    if let Some(mobile) = non_empty(&c.mobile_phone) {
        phones.push(
            json!({"phone_number": mobile, "preferred": phones.is_empty(),
                           "phone_type": [{"value": "mobile"}]}),
        );
    }
    if !phones.is_empty() {
        info.insert("phone".to_owned(), Value::Array(phones));
    }
    Value::Object(info)
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}
