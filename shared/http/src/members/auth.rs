//! Who is calling the members API: the logged-in account behind the session
//! token (`Authorization: Bearer …` or the session cookie), read exactly as the
//! accounts router reads it (a change by cookie only from patron-hub's own
//! origin, 403 `CROSS_ORIGIN` otherwise). Without one, every route answers 401.

use super::error::{unauthenticated, unavailable};
use super::MembersApi;
use crate::accounts::SessionToken;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use patron_hub_domain::accounts::{Account, AccountError};

/// The logged-in account making the request.
pub struct SignedIn(pub Account);

impl FromRequestParts<MembersApi> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        api: &MembersApi,
    ) -> Result<Self, Self::Rejection> {
        let SessionToken(token) = SessionToken::from_request_parts(parts, &api.accounts).await?;
        let token = token.ok_or_else(unauthenticated)?;
        match api.accounts.authenticate(&token).await {
            Ok(account) => Ok(Self(account)),
            Err(AccountError::Unavailable(detail)) => {
                tracing::error!(%detail, "session store unavailable");
                Err(unavailable())
            }
            Err(_) => Err(unauthenticated()),
        }
    }
}
