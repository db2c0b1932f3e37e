//! The configurable part of registration.

use serde::{Deserialize, Serialize};

/// A user group staff may give at on-site completion, and how long its
/// accounts last by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserGroupValidity {
    /// Alma's user group code.
    pub code: String,
    /// Days from completion to the default expiry date.
    pub validity_days: u32,
}

/// How registrations become Alma patrons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationSettings {
    /// The Alma `user_identifier` type that holds a patron's externalSystemId.
    pub external_id_type: String,
    /// The identifier type of the library card number typed at the desk.
    pub barcode_type: String,
    /// The `job_category` given to registered patrons: one the routing
    /// distributes, so that every institution gets the patron.
    pub job_category: String,
    /// The user groups staff may choose, with their default validity.
    pub user_groups: Vec<UserGroupValidity>,
}

impl Default for RegistrationSettings {
    fn default() -> Self {
        Self {
            external_id_type: "OTHER_ID_1".to_owned(),
            barcode_type: "BARCODE".to_owned(),
            job_category: "Exterieur".to_owned(),
            user_groups: vec![UserGroupValidity {
                code: "EXT".to_owned(),
                validity_days: 365,
            }],
        }
    }
}

impl RegistrationSettings {
    /// The default validity of a user group, if staff may choose it.
    pub fn validity_days(&self, user_group: &str) -> Option<u32> {
        self.user_groups
            .iter()
            .find(|group| group.code == user_group)
            .map(|group| group.validity_days)
    }
}
