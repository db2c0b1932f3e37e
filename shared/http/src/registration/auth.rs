//! Who is calling the registration API: a client system with its `X-Api-Key`
//! (checked in constant time against the configured hashes), or, for staff
//! routes, a logged-in account read exactly as the accounts router reads it
//! (a change by cookie only from patron-hub's own origin).

use super::error::{forbidden, unauthorized, unavailable};
use super::RegistrationApi;
use crate::accounts::SessionToken;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use patron_hub_domain::accounts::{AccountError, NetworkRole};
use patron_hub_domain::registration::{ClientKey, ClientScope};
use std::fmt;

/// The header client systems present their key in.
pub const API_KEY_HEADER: &str = "x-api-key";

/// A client system with a valid key, whatever its scope.
pub struct Client(pub ClientKey);

/// Someone who may complete registrations and read events: a client key with
/// the staff scope, or an account holding `NETWORK_STAFF` or `SUPER_ADMIN`.
pub enum Staff {
    /// A desk or kiosk system with a staff-scope key (its configured name).
    Key(String),
    /// A logged-in staff member (their user name).
    Account(String),
}

impl fmt::Display for Staff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(name) => write!(f, "client {name}"),
            Self::Account(user_name) => write!(f, "account {user_name}"),
        }
    }
}

/// The client whose key the request carries, if the key is valid.
fn client_key(parts: &Parts, api: &RegistrationApi) -> Option<ClientKey> {
    let presented = parts.headers.get(API_KEY_HEADER)?.to_str().ok()?;
    api.client_keys.authenticate(presented).cloned()
}

impl FromRequestParts<RegistrationApi> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        api: &RegistrationApi,
    ) -> Result<Self, Self::Rejection> {
        client_key(parts, api).map(Self).ok_or_else(unauthorized)
    }
}

impl FromRequestParts<RegistrationApi> for Staff {
    type Rejection = ApiError;

    /// A staff key or a staff session grants; a known caller without either
    /// is refused with 403; nobody known is 401.
    async fn from_request_parts(
        parts: &mut Parts,
        api: &RegistrationApi,
    ) -> Result<Self, Self::Rejection> {
        let key = client_key(parts, api);
        if let Some(key) = &key {
            if key.scope == ClientScope::Staff {
                return Ok(Self::Key(key.name.clone()));
            }
        }
        let SessionToken(token) = SessionToken::from_request_parts(parts, &api.accounts).await?;
        let account = match token {
            None => None,
            Some(token) => match api.accounts.authenticate(&token).await {
                Ok(account) => Some(account),
                Err(AccountError::Unavailable(detail)) => {
                    tracing::error!(%detail, "session store unavailable");
                    return Err(unavailable());
                }
                Err(_) => None,
            },
        };
        match account {
            Some(account)
                if account.has_role(NetworkRole::NetworkStaff)
                    || account.has_role(NetworkRole::SuperAdmin) =>
            {
                Ok(Self::Account(account.user_name.to_string()))
            }
            Some(_) => Err(forbidden()),
            None if key.is_some() => Err(forbidden()),
            None => Err(unauthorized()),
        }
    }
}
