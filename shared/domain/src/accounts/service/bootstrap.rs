//! The first administrators: `patron-hub create-admin` and the demo's `admin`.

use super::AccountService;
use crate::accounts::hasher::Verification;
use crate::accounts::{
    mails, Account, AccountError, AccountId, AccountState, Email, Language, NetworkRole,
    PersonName, SecretToken, TokenPurpose, UserName,
};

/// The demo super administrator's user name.
pub const DEMO_ADMIN_USER_NAME: &str = "admin";

/// The demo super administrator's address (the `.invalid` top-level domain
/// never delivers).
pub const DEMO_ADMIN_EMAIL: &str = "admin@patron-hub.invalid";

impl AccountService {
    /// Creates an active super administrator without password and returns it
    /// with a one-time set-password link (valid as long as an activation link)
    /// for the operator to open; nothing is mailed.
    pub async fn create_super_admin(
        &self,
        email: Email,
        user_name: UserName,
    ) -> Result<(Account, String), AccountError> {
        let account = self.super_admin(email, user_name, None)?;
        self.accounts.create(&account).await?;
        let token = self
            .issue(
                account.id,
                TokenPurpose::PasswordReset,
                self.settings.activation_ttl,
            )
            .await?;
        Ok((
            account,
            mails::password_link(&self.settings.public_base_url, &token),
        ))
    }

    /// Makes sure the demo super administrator `admin` exists. Created with
    /// `password` (checked against the policy) or, without one, a random
    /// password that is returned once for the operator to print. When `admin`
    /// already exists, a given `password` replaces its password if different;
    /// without one nothing changes.
    pub async fn ensure_demo_admin(
        &self,
        password: Option<String>,
    ) -> Result<Option<String>, AccountError> {
        let user_name = UserName::parse(DEMO_ADMIN_USER_NAME)?;
        let email = Email::parse(DEMO_ADMIN_EMAIL)?;
        if let Some(existing) = self.accounts.find_by_user_name(&user_name).await? {
            if let Some(password) = password {
                let known = self
                    .hasher
                    .verify(existing.password_hash.as_deref(), &password)
                    .await?;
                if known == Verification::Mismatch {
                    self.policy.check(
                        &password,
                        existing.user_name.as_str(),
                        existing.email.as_str(),
                    )?;
                    let hash = self.hasher.hash(&password).await?;
                    let now = self.now();
                    self.modify(existing.id, |account| {
                        account.password_hash = Some(hash.clone());
                        account.password_changed_at = Some(now);
                        Ok(())
                    })
                    .await?;
                }
            }
            return Ok(None);
        }
        let (password, generated) = match password {
            Some(password) => (password, None),
            None => {
                let random = SecretToken::generate().expose().to_owned();
                (random.clone(), Some(random))
            }
        };
        self.policy
            .check(&password, user_name.as_str(), email.as_str())?;
        let hash = self.hasher.hash(&password).await?;
        let account = self.super_admin(email, user_name, Some(hash))?;
        self.accounts.create(&account).await?;
        Ok(generated)
    }

    /// An active super administrator named "Super Admin" (editable in its profile).
    fn super_admin(
        &self,
        email: Email,
        user_name: UserName,
        password_hash: Option<String>,
    ) -> Result<Account, AccountError> {
        let now = self.now();
        Ok(Account {
            id: AccountId::new(),
            user_name,
            email,
            first_name: PersonName::parse("first_name", "Super")?,
            last_name: PersonName::parse("last_name", "Admin")?,
            department: None,
            department_roles: Vec::new(),
            paid: false,
            state: AccountState::Active,
            expires_on: None,
            network_roles: [NetworkRole::SuperAdmin].into(),
            password_changed_at: password_hash.as_ref().map(|_| now),
            password_hash,
            language: Language::default(),
            created_at: now,
            last_seen_at: None,
            version: 1,
        })
    }
}
