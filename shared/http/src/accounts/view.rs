//! What the API shows of an account: never its password hash.

use patron_hub_domain::accounts::Account;
use serde_json::{json, Value};

/// The JSON view of an account.
pub fn account(account: &Account) -> Value {
    json!({
        "id": account.id,
        "user_name": account.user_name,
        "email": account.email,
        "first_name": account.first_name,
        "last_name": account.last_name,
        "department": account.department,
        "department_roles": account.department_roles,
        "paid": account.paid,
        "state": account.state,
        "expires_on": account.expires_on,
        "network_roles": account.network_roles,
        "language": account.language,
        "created_at": account.created_at,
        "last_seen_at": account.last_seen_at,
        "password_changed_at": account.password_changed_at,
        "version": account.version,
    })
}
