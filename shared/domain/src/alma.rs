//! The Alma Users API as the domain sees it: a port, and the ways a call can fail.

mod listing;

pub use listing::{PageSize, SearchField, UserOrder, UserPage, UserQuery, UserSearch};

use crate::{AlmaUser, InstitutionCode, PrimaryId};
use async_trait::async_trait;

/// Alma error codes the rules depend on.
pub mod codes {
    /// "User with identifier X was not found".
    pub const USER_NOT_FOUND: &str = "401861";
    /// "User with identifier X of type Y was not found".
    pub const USER_NOT_FOUND_BY_TYPE: &str = "401890";
    /// "User with identifier of type Y already exists".
    pub const IDENTIFIER_EXISTS: &str = "401851";
    /// "Linked account for user already exists".
    pub const LINKED_ACCOUNT_EXISTS: &str = "60227";
    /// "User with source identifier X of institution Y was not found" (a linked
    /// `POST`); on the list's linked-copy lookup, "Local copied user
    /// information not found".
    pub const SOURCE_USER_NOT_FOUND: &str = "4019990";
    /// Over the per-second threshold of an institution.
    pub const PER_SECOND_THRESHOLD: &str = "PER_SECOND_THRESHOLD";
}

/// How an Alma call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlmaError {
    /// The user does not exist in that institution (401861 / 401890).
    #[error("user not found ({code})")]
    NotFound {
        /// Alma's errorCode.
        code: String,
    },
    /// A user with that identifier, or a linked copy, already exists (401851 / 60227).
    #[error("already exists ({code}): {message}")]
    AlreadyExists {
        /// Alma's errorCode.
        code: String,
        /// Alma's errorMessage.
        message: String,
    },
    /// Over the institution's threshold (429 `PER_SECOND_THRESHOLD`): retry later.
    #[error("throttled by Alma ({code})")]
    Throttled {
        /// Alma's errorCode.
        code: String,
    },
    /// Alma did not answer usefully: a 5xx, a timeout or a dropped connection. Retry later.
    #[error("Alma unavailable: {0}")]
    Unavailable(String),
    /// Alma refused the request for good (another 4xx): retrying would not help.
    #[error("Alma refused ({status} {code}): {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// Alma's errorCode.
        code: String,
        /// Alma's errorMessage.
        message: String,
    },
}

impl AlmaError {
    /// Whether the same call may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AlmaError::Throttled { .. } | AlmaError::Unavailable(_)
        )
    }
}

/// The Alma Users API of every institution of the network. Each call names the
/// institution; the adapter picks its base URL and API key and paces the calls
/// under that institution's threshold.
#[async_trait]
pub trait AlmaUsers: Send + Sync {
    /// `GET /users/{primary_id}`. In a member institution, looking up a
    /// network-zone user makes Alma copy and link it.
    async fn get_user(
        &self,
        institution: &InstitutionCode,
        primary_id: &PrimaryId,
    ) -> Result<AlmaUser, AlmaError>;
    /// `POST /users`.
    async fn create_user(
        &self,
        institution: &InstitutionCode,
        user: &AlmaUser,
    ) -> Result<AlmaUser, AlmaError>;
    /// `POST /users?source_institution_code=…&source_user_id=…`: a linked copy of
    /// a user of `source`.
    async fn create_linked_user(
        &self,
        institution: &InstitutionCode,
        source: &InstitutionCode,
        primary_id: &PrimaryId,
    ) -> Result<AlmaUser, AlmaError>;
    /// `PUT /users/{primary_id}`: replaces the whole record ("swap all").
    async fn update_user(
        &self,
        institution: &InstitutionCode,
        primary_id: &PrimaryId,
        user: &AlmaUser,
    ) -> Result<AlmaUser, AlmaError>;
    /// `DELETE /users/{primary_id}`.
    async fn delete_user(
        &self,
        institution: &InstitutionCode,
        primary_id: &PrimaryId,
    ) -> Result<(), AlmaError>;
    /// `GET /users?q=…&order_by=…&limit=…&offset=…`: one page of the users of
    /// `institution`, as brief records (no e-mails, no identifiers), with how
    /// many the query selects in all. Looking users up this way never makes
    /// Alma copy a network-zone user. Pages follow Alma's order: a user
    /// created or renamed while paging may shift the later pages.
    async fn list_users(
        &self,
        institution: &InstitutionCode,
        query: &UserQuery,
    ) -> Result<UserPage, AlmaError>;
    /// `GET /users?source_institution_code=…&source_user_id=…`: the linked
    /// copies in `institution` of user `source_user_id` of `source`, as brief
    /// records; empty when it holds none. `NotFound` when `source` has no such
    /// user, `Rejected` (401651) when `source` is not in the network.
    async fn linked_copies(
        &self,
        institution: &InstitutionCode,
        source: &InstitutionCode,
        source_user_id: &PrimaryId,
    ) -> Result<Vec<AlmaUser>, AlmaError>;
}
