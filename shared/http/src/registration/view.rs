//! What the registration-status query shows of a patron: FOLIO's patron view,
//! built from the registry entry (only active, unexpired patrons get here).

use patron_hub_domain::registration::RegistryEntry;
use serde_json::{json, Value};

/// The JSON view of the one patron a status query found.
pub fn patron(entry: &RegistryEntry) -> Value {
    let institutions: Vec<&str> = entry.holdings.keys().map(|code| code.as_str()).collect();
    json!({
        "primaryId": entry.primary_id,
        "externalSystemId": entry.external_system_id,
        "type": "patron",
        "active": true,
        "status": entry.status,
        "userGroup": entry.user_group,
        "expirationDate": entry.expiry_date,
        "emails": entry.emails,
        "firstName": entry.first_name,
        "lastName": entry.last_name,
        "institutions": institutions,
    })
}
