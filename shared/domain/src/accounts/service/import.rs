//! Bulk import: every row checked before anything is written, then every
//! account created at once and invited.

use super::permissions::require_super_admin;
use super::AccountService;
use crate::accounts::import::ImportCheck;
use crate::accounts::{Account, AccountError, ImportRow};

impl AccountService {
    /// Creates one account per row, or none (super administrators only). Rows
    /// are checked for format, for user names and e-mails repeated in the file,
    /// and against existing accounts before anything is written; any error
    /// answers `ImportRejected` with every error as `Line N: ...`. The accounts
    /// are active, without password, and each is sent an invitation (never a
    /// password); an invitation that could not be sent is logged (a password
    /// reset sends a new link). `roles` become department role names and `dept`
    /// the role name `dept:ACRONYM`, until organizations turn them into memberships.
    pub async fn import(
        &self,
        actor: &Account,
        rows: Vec<ImportRow>,
    ) -> Result<Vec<Account>, AccountError> {
        self.import_reporting(actor, rows, &|_| {}).await
    }

    /// [`Self::import`], telling `progress` how far it got: for the progress bar
    /// of `patron-hub import-users`.
    pub async fn import_reporting(
        &self,
        actor: &Account,
        rows: Vec<ImportRow>,
        progress: &(dyn Fn(ImportProgress) + Send + Sync),
    ) -> Result<Vec<Account>, AccountError> {
        require_super_admin(actor)?;
        let mut check = ImportCheck::rows(&rows, self.now());
        let (user_names, emails) = self
            .accounts
            .taken(&check.user_names(), &check.emails())
            .await?;
        check.add_taken(&user_names, &emails);
        let accounts = check.outcome().map_err(AccountError::ImportRejected)?;
        progress(ImportProgress::Validated {
            rows: accounts.len(),
        });
        self.accounts.create_all(&accounts).await?;
        progress(ImportProgress::Created {
            accounts: accounts.len(),
        });
        for (done, account) in accounts.iter().enumerate() {
            if let Err(error) = self.invite(account).await {
                tracing::error!(account = %account.id, %error, "invitation not sent");
            }
            progress(ImportProgress::Invited {
                done: done + 1,
                total: accounts.len(),
            });
        }
        Ok(accounts)
    }
}

/// How far an import got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportProgress {
    /// Every row is valid.
    Validated {
        /// How many accounts will be created.
        rows: usize,
    },
    /// Every account is written.
    Created {
        /// How many.
        accounts: usize,
    },
    /// Invitations sent so far.
    Invited {
        /// Sent.
        done: usize,
        /// To send.
        total: usize,
    },
}
