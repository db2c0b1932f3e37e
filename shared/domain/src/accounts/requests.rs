//! What callers ask of the account service, as raw strings and options: the
//! service parses them, so that a 422 names the faulty field. Every field
//! defaults to empty when deserialized, for the same reason. None of these
//! types is `Debug`, because several carry a password.

use serde::Deserialize;

/// A self-registration (`POST /accounts/registrations`). The user name is the
/// e-mail address (or a form of it that fits the user-name rules).
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Registration {
    /// E-mail address, where the activation link goes.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// The chosen password.
    pub password: String,
    /// `fr` (default) or `en`.
    pub language: Option<String>,
}

/// Which mail an account created by an administrator receives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailOption {
    /// Welcome and a set-password link.
    #[default]
    Invite,
    /// Welcome only (the administrator passes the password on by other means).
    Welcome,
    /// No mail.
    None,
}

/// An account created by an administrator (`POST /accounts`).
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewAccount {
    /// Login name.
    pub user_name: String,
    /// E-mail address.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// A password typed by the administrator, or none (set through an invitation).
    pub password: Option<String>,
    /// Which mail to send.
    pub mail: MailOption,
    /// `SUPER_ADMIN` and/or `NETWORK_STAFF`.
    pub network_roles: Vec<String>,
    /// The department's organization id (a UUID).
    pub department: Option<String>,
    /// Last day the account may log in (`YYYY-MM-DD`).
    pub expires_on: Option<String>,
    /// `fr` (default) or `en`.
    pub language: Option<String>,
}

/// A change to one's own account (`PATCH /accounts/me`). A new e-mail or a new
/// password needs the current password.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfileChange {
    /// New first name.
    pub first_name: Option<String>,
    /// New last name.
    pub last_name: Option<String>,
    /// New mail language, `fr` or `en`.
    pub language: Option<String>,
    /// New e-mail address: takes effect once confirmed by the link sent to it.
    pub email: Option<String>,
    /// New password.
    pub new_password: Option<String>,
    /// The current password, required with `email` or `new_password`.
    pub current_password: Option<String>,
}

/// A change to an account by an administrator, or by the account itself for
/// its names (`PATCH /accounts/{id}`). `None` leaves a field as it is; for
/// `department` and `expires_on`, `Some(None)` (JSON `null`) clears it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountPatch {
    /// New first name.
    pub first_name: Option<String>,
    /// New last name.
    pub last_name: Option<String>,
    /// New e-mail, set at once (administrators only).
    pub email: Option<String>,
    /// New department organization id, or `null` to clear (administrators only).
    #[serde(deserialize_with = "crate::json::present")]
    pub department: Option<Option<String>>,
    /// New last day (`YYYY-MM-DD`), or `null` for no limit (administrators only).
    #[serde(deserialize_with = "crate::json::present")]
    pub expires_on: Option<Option<String>>,
    /// Reactivate (`true`) or deactivate (`false`) the account (administrators only).
    pub active: Option<bool>,
    /// Whether the person is paid, which chooses club fees (administrators only).
    pub paid: Option<bool>,
    /// The complete new set of network roles (super administrators only).
    pub network_roles: Option<Vec<String>>,
    /// The version the change was based on: a newer stored version is a conflict.
    pub version: Option<u64>,
}

/// One data row of a bulk import file, as read (line numbers count the header as line 1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ImportRow {
    /// The row's line in the file (data starts at line 2).
    pub line: usize,
    /// Login name.
    pub user_name: String,
    /// Last name.
    pub nom: String,
    /// First name.
    pub prenom: String,
    /// E-mail address.
    pub email: String,
    /// Department role names, comma-separated (spaces ignored).
    pub roles: String,
    /// The department's acronym.
    pub dept: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_tells_absent_from_null() {
        let patch: AccountPatch =
            serde_json::from_str(r#"{"department": null, "active": false}"#).unwrap();
        assert_eq!(patch.department, Some(None));
        assert_eq!(patch.expires_on, None);
        assert_eq!(patch.active, Some(false));
        let patch: AccountPatch = serde_json::from_str(r#"{"expires_on": "2026-06-30"}"#).unwrap();
        assert_eq!(patch.expires_on, Some(Some("2026-06-30".to_owned())));
    }

    #[test]
    fn missing_fields_are_empty_so_the_service_names_them() {
        let registration: Registration =
            serde_json::from_str(r#"{"email": "a@example.org"}"#).unwrap();
        assert_eq!(registration.first_name, "");
        let new: NewAccount = serde_json::from_str(r#"{"mail": "welcome"}"#).unwrap();
        assert_eq!(new.mail, MailOption::Welcome);
        assert_eq!(NewAccount::default().mail, MailOption::Invite);
    }
}
