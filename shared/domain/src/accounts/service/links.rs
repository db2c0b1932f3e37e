//! Whether a mailed link still works, asked by the page it opens.

use super::AccountService;
use crate::accounts::{AccountError, SecretToken, TokenPurpose};

/// The kind of page a mailed link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailedLink {
    /// The activation of a self-registration.
    Activation,
    /// A new password (forgotten password, or an invitation).
    NewPassword,
    /// The confirmation of a new e-mail address.
    EmailConfirmation,
}

impl AccountService {
    /// Whether a link of `kind` still works: its token exists, is unused and
    /// unexpired, and is for this kind of page. Asking never uses it, so the
    /// page shows its form only when submitting it can succeed.
    pub async fn link_works(&self, token: &str, kind: MailedLink) -> Result<bool, AccountError> {
        let found = self
            .tokens
            .find(&SecretToken::presented(token).hash(), self.now())
            .await?;
        Ok(found.is_some_and(|record| {
            matches!(
                (kind, record.purpose),
                (MailedLink::Activation, TokenPurpose::Activation)
                    | (MailedLink::NewPassword, TokenPurpose::PasswordReset)
                    | (
                        MailedLink::EmailConfirmation,
                        TokenPurpose::EmailChange { .. }
                    )
            )
        }))
    }
}
