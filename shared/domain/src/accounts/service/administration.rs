//! Accounts created, read, searched and changed by administrators.

use super::permissions::require_super_admin;
use super::AccountService;
use crate::accounts::{
    fields, Account, AccountError, AccountId, AccountMail, AccountPatch, AccountState, Email,
    InvalidField, MailOption, NetworkRole, NewAccount, PersonName, UserName,
};
use chrono::NaiveDate;

/// The most accounts one search returns.
pub const MAX_SEARCH_RESULTS: usize = 100;

impl AccountService {
    /// Creates an active account (super administrators only), with the
    /// password the administrator typed or none, and sends the chosen mail:
    /// an invitation with a set-password link, a welcome without any password,
    /// or nothing. The account exists once this answers, even if its mail could
    /// not be sent (logged; a password reset sends a new link).
    pub async fn create_account(
        &self,
        actor: &Account,
        new: NewAccount,
    ) -> Result<Account, AccountError> {
        require_super_admin(actor)?;
        let user_name = UserName::parse(&new.user_name)?;
        let email = Email::parse(&new.email)?;
        let first_name = PersonName::parse("first_name", &new.first_name)?;
        let last_name = PersonName::parse("last_name", &new.last_name)?;
        let language = fields::language(new.language.as_deref())?;
        let network_roles = fields::network_roles(&new.network_roles)?;
        let department = match non_empty(new.department.as_deref()) {
            Some(text) => Some(self.existing_department(fields::department(text)?).await?),
            None => None,
        };
        let expires_on = non_empty(new.expires_on.as_deref())
            .map(|day| self.expiry(day))
            .transpose()?;
        let password = non_empty(new.password.as_deref());
        if let Some(password) = password {
            self.policy
                .check(password, user_name.as_str(), email.as_str())?;
        }
        let password_hash = match password {
            Some(password) => Some(self.hasher.hash(password).await?),
            None => None,
        };
        let now = self.now();
        let account = Account {
            id: AccountId::new(),
            user_name,
            email,
            first_name,
            last_name,
            department,
            department_roles: Vec::new(),
            paid: false,
            state: AccountState::Active,
            expires_on,
            network_roles,
            password_changed_at: password_hash.as_ref().map(|_| now),
            password_hash,
            language,
            created_at: now,
            last_seen_at: None,
            version: 1,
        };
        self.accounts.create(&account).await?;
        match new.mail {
            MailOption::Invite => {
                if let Err(error) = self.invite(&account).await {
                    tracing::error!(account = %account.id, %error, "invitation not sent");
                }
            }
            MailOption::Welcome => {
                self.notify(AccountMail::Welcome, &account, &account.email)
                    .await
            }
            MailOption::None => {}
        }
        Ok(account)
    }

    /// One account, for its administrators and itself (`Forbidden` for anyone
    /// else, whether or not the account exists).
    pub async fn get_account(
        &self,
        actor: &Account,
        id: AccountId,
    ) -> Result<Account, AccountError> {
        if actor.id == id {
            return self.accounts.get(id).await?.ok_or(AccountError::NotFound);
        }
        let administers = self.administered_organizations(actor).await?;
        match self.accounts.get(id).await? {
            Some(target) if self.may_administer(actor, &target, &administers).await? => Ok(target),
            Some(_) => Err(AccountError::Forbidden),
            None if actor.has_role(NetworkRole::SuperAdmin) => Err(AccountError::NotFound),
            None => Err(AccountError::Forbidden),
        }
    }

    /// Accounts whose user name, e-mail or names contain `text`, at most
    /// `limit` (1 to [`MAX_SEARCH_RESULTS`]): every account for a super
    /// administrator; the accounts of the departments they administer for
    /// department administrators; `Forbidden` for anyone else.
    pub async fn search(
        &self,
        actor: &Account,
        text: &str,
        limit: usize,
    ) -> Result<Vec<Account>, AccountError> {
        let limit = limit.clamp(1, MAX_SEARCH_RESULTS);
        if actor.has_role(NetworkRole::SuperAdmin) {
            return Ok(self.accounts.search(text.trim(), limit).await?);
        }
        let administers = self.administered_organizations(actor).await?;
        if administers.is_empty() {
            return Err(AccountError::Forbidden);
        }
        let found = self
            .accounts
            .search(text.trim(), crate::organizations::MAX_PEOPLE)
            .await?;
        let mut kept = Vec::with_capacity(limit);
        for target in found {
            if kept.len() == limit {
                break;
            }
            if self.may_administer(actor, &target, &administers).await? {
                kept.push(target);
            }
        }
        Ok(kept)
    }

    /// Changes an account. Its administrators may change names, e-mail,
    /// department, expiry date, paid and active flags; an account may change
    /// only its own names here (a super administrator everything of their
    /// own); network roles only a super administrator. A new e-mail is
    /// confirmed by a link mailed to it, as one's own change is (at most 5 an
    /// hour per account), and the account keeps its address until then. With
    /// `version`, a newer stored version is a `Conflict`. Deactivation ends the
    /// account's sessions and tokens (nothing is deleted, the e-mail stays
    /// reserved); a change of network roles ends its sessions, so that the new
    /// rights start with a new session.
    pub async fn update_account(
        &self,
        actor: &Account,
        id: AccountId,
        patch: AccountPatch,
    ) -> Result<Account, AccountError> {
        let administers = self.administered_organizations(actor).await?;
        let target = match self.accounts.get(id).await? {
            Some(target) => target,
            None if actor.has_role(NetworkRole::SuperAdmin) => return Err(AccountError::NotFound),
            None => return Err(AccountError::Forbidden),
        };
        let administrator = self.may_administer(actor, &target, &administers).await?;
        if !administrator && actor.id != id {
            return Err(AccountError::Forbidden);
        }
        let administrative = patch.email.is_some()
            || patch.department.is_some()
            || patch.expires_on.is_some()
            || patch.active.is_some()
            || patch.paid.is_some()
            || patch.network_roles.is_some();
        if administrative && !administrator {
            return Err(AccountError::Forbidden);
        }
        if patch.network_roles.is_some() {
            require_super_admin(actor)?;
        }
        let first_name = patch
            .first_name
            .as_deref()
            .map(|name| PersonName::parse("first_name", name))
            .transpose()?;
        let last_name = patch
            .last_name
            .as_deref()
            .map(|name| PersonName::parse("last_name", name))
            .transpose()?;
        let email = patch
            .email
            .as_deref()
            .map(Email::parse)
            .transpose()?
            .filter(|email| *email != target.email);
        let department = patch
            .department
            .as_ref()
            .map(|department| {
                non_empty(department.as_deref())
                    .map(fields::department)
                    .transpose()
            })
            .transpose()?;
        if let Some(Some(department)) = &department {
            if !actor.has_role(NetworkRole::SuperAdmin) && !administers.contains(department) {
                return Err(AccountError::Forbidden);
            }
            self.existing_department(*department).await?;
        }
        let expires_on = patch
            .expires_on
            .as_ref()
            .map(|day| {
                non_empty(day.as_deref())
                    .map(|day| self.expiry(day))
                    .transpose()
            })
            .transpose()?;
        let network_roles = patch
            .network_roles
            .as_deref()
            .map(fields::network_roles)
            .transpose()?;
        if email.is_some() {
            // Before anything is written: a refused change changes nothing.
            self.admit_email_change(&target).await?;
        }
        let mut roles_changed = false;
        let account = self
            .modify(id, |account| {
                if patch
                    .version
                    .is_some_and(|version| version != account.version)
                {
                    return Err(AccountError::Conflict);
                }
                if let Some(name) = &first_name {
                    account.first_name = name.clone();
                }
                if let Some(name) = &last_name {
                    account.last_name = name.clone();
                }
                if let Some(department) = department {
                    account.department = department;
                }
                if let Some(expires_on) = expires_on {
                    account.expires_on = expires_on;
                }
                if let Some(paid) = patch.paid {
                    account.paid = paid;
                }
                match patch.active {
                    Some(true) => account.state = AccountState::Active,
                    Some(false) => account.state = AccountState::Inactive,
                    None => {}
                }
                if let Some(roles) = &network_roles {
                    roles_changed = account.network_roles != *roles;
                    account.network_roles = roles.clone();
                }
                Ok(())
            })
            .await?;
        if patch.active == Some(false) {
            self.tokens.revoke_all(account.id).await?;
        }
        if patch.active == Some(false) || roles_changed {
            self.sessions.delete_all(account.id).await?;
        }
        if let Some(email) = email {
            self.request_email_change(&account, email).await?;
        }
        Ok(account)
    }

    /// An expiry date typed by an administrator: a day written `YYYY-MM-DD`,
    /// today or later (an account cannot be made to have expired already).
    fn expiry(&self, day: &str) -> Result<NaiveDate, InvalidField> {
        let day = fields::day("expires_on", day)?;
        if day < self.now().date_naive() {
            return Err(InvalidField::new("expires_on", "must not be in the past"));
        }
        Ok(day)
    }
}

/// A value that was given and is not blank.
fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|value| !value.trim().is_empty())
}
