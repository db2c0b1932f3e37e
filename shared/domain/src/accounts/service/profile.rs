//! One's own account: names, language, e-mail (confirmed by a link) and password.

use super::{failure_key, AccountService};
use crate::accounts::hasher::Verification;
use crate::accounts::{
    fields, mails, Account, AccountError, AccountMail, AccountState, CountedRequest, Email,
    InvalidField, PersonName, ProfileChange, RateLimit, TokenPurpose,
};
use chrono::Duration;

/// E-mail change mails (a confirmation link, or an "address in use" mail) per
/// hour, counted per account asking and per address mailed: nobody can use
/// the change to mail an address over and over.
const EMAIL_CHANGES_PER_HOUR: u32 = 5;

impl AccountService {
    /// Changes the actor's own account. Names and language change at once. A new
    /// password or e-mail needs the current password (wrong guesses count
    /// towards the lockout of the account's logins). At most 5 e-mail changes
    /// an hour (`RateLimited` beyond, changing nothing). A new password ends every
    /// outstanding token and every session (log in again) and is announced by mail. A new
    /// e-mail takes effect only when the link mailed to it is followed; if it
    /// already belongs to an account, that account is told instead and the
    /// answer is the same.
    pub async fn update_profile(
        &self,
        actor: &Account,
        change: ProfileChange,
    ) -> Result<Account, AccountError> {
        let current = self
            .accounts
            .get(actor.id)
            .await?
            .ok_or(AccountError::NotFound)?;
        let first_name = change
            .first_name
            .as_deref()
            .map(|name| PersonName::parse("first_name", name))
            .transpose()?;
        let last_name = change
            .last_name
            .as_deref()
            .map(|name| PersonName::parse("last_name", name))
            .transpose()?;
        let language = change
            .language
            .as_deref()
            .map(|language| fields::language(Some(language)))
            .transpose()?;
        let new_email = change
            .email
            .as_deref()
            .map(Email::parse)
            .transpose()?
            .filter(|email| *email != current.email);
        if let Some(password) = change.new_password.as_deref() {
            self.policy
                .check(password, current.user_name.as_str(), current.email.as_str())?;
            if let Some(email) = &new_email {
                self.policy.check(password, "", email.as_str())?;
            }
        }
        if new_email.is_some() || change.new_password.is_some() {
            self.check_current_password(&current, change.current_password.as_deref())
                .await?;
        }
        if new_email.is_some() {
            // Before anything is written: a refused change changes nothing.
            self.admit_email_change(&current).await?;
        }
        let password_hash = match change.new_password.as_deref() {
            Some(password) => Some(self.hasher.hash(password).await?),
            None => None,
        };
        let now = self.now();
        let changes_now = first_name.is_some()
            || last_name.is_some()
            || language.is_some()
            || password_hash.is_some();
        let account = if !changes_now {
            current
        } else {
            self.modify(current.id, |account| {
                if let Some(name) = &first_name {
                    account.first_name = name.clone();
                }
                if let Some(name) = &last_name {
                    account.last_name = name.clone();
                }
                if let Some(language) = language {
                    account.language = language;
                }
                if let Some(hash) = &password_hash {
                    account.password_hash = Some(hash.clone());
                    account.password_changed_at = Some(now);
                }
                Ok(())
            })
            .await?
        };
        if password_hash.is_some() {
            // A stolen session or link must not survive a password change:
            // every session ends (the person logs in again with the new password).
            self.tokens.revoke_all(account.id).await?;
            self.sessions.delete_all(account.id).await?;
            self.notify(AccountMail::PasswordChanged, &account, &account.email)
                .await;
        }
        if let Some(new_email) = new_email {
            self.request_email_change(&account, new_email).await?;
        }
        Ok(account)
    }

    /// Moves the account of an e-mail confirmation token to the confirmed address.
    pub async fn confirm_email_change(&self, token: &str) -> Result<(), AccountError> {
        let record = self.consume(token).await?;
        let TokenPurpose::EmailChange { new_email } = record.purpose else {
            return Err(AccountError::TokenInvalid);
        };
        self.modify(record.account_id, |account| {
            if account.state == AccountState::Inactive {
                return Err(AccountError::TokenInvalid);
            }
            account.email = new_email.clone();
            Ok(())
        })
        .await
        .map_err(|error| match error {
            AccountError::NotFound => AccountError::TokenInvalid,
            other => other,
        })?;
        // Links already mailed to the old address must not work any more.
        self.tokens.revoke_all(record.account_id).await?;
        Ok(())
    }

    /// Checks the current password before a sensitive change, under the same
    /// lockout (and counter) as logging in to the account.
    async fn check_current_password(
        &self,
        account: &Account,
        password: Option<&str>,
    ) -> Result<(), AccountError> {
        let Some(password) = password else {
            return Err(InvalidField::new(
                "current_password",
                "is required to change the e-mail or the password",
            )
            .into());
        };
        let key = failure_key("", Some(account));
        let now = self.now();
        let since = now - self.settings.lockout_window;
        if self.attempts.failures_since(&key, since).await? >= self.settings.lockout_failures {
            return Err(self.locked_out());
        }
        match self
            .hasher
            .verify(account.password_hash.as_deref(), password)
            .await?
        {
            Verification::Match { .. } => Ok(()),
            Verification::Mismatch => {
                self.attempts.record_failure(&key, now, since).await?;
                Err(InvalidField::new("current_password", "is not the current password").into())
            }
        }
    }

    /// Counts an e-mail change asked for `account` (by itself or by an
    /// administrator): past [`EMAIL_CHANGES_PER_HOUR`] within the hour,
    /// `RateLimited`.
    pub(super) async fn admit_email_change(&self, account: &Account) -> Result<(), AccountError> {
        let counter = CountedRequest::EmailChangeOf(account.id);
        let window = Duration::hours(1);
        if self.count_request(counter, window).await? > EMAIL_CHANGES_PER_HOUR {
            return Err(AccountError::RateLimited {
                limit: RateLimit::EmailChanges,
                retry_after: window,
            });
        }
        Ok(())
    }

    /// Mails a confirmation link to `new_email`, or tells its holder when it
    /// already belongs to an account; past [`EMAIL_CHANGES_PER_HOUR`] mails to
    /// one address within the hour, whoever asks, nothing is sent (and the
    /// answer is the same, so nobody learns that others asked for it).
    pub(super) async fn request_email_change(
        &self,
        account: &Account,
        new_email: Email,
    ) -> Result<(), AccountError> {
        let counter = CountedRequest::EmailChangeTo(new_email.clone());
        if self.count_request(counter, Duration::hours(1)).await? > EMAIL_CHANGES_PER_HOUR {
            tracing::info!(account = %account.id, "e-mail change mail not sent: the address had its share this hour");
            return Ok(());
        }
        if let Some(holder) = self.accounts.find_by_email(&new_email).await? {
            return self
                .send(AccountMail::AddressInUse, &holder, &holder.email)
                .await;
        }
        let valid_for = self.settings.activation_ttl;
        let purpose = TokenPurpose::EmailChange {
            new_email: new_email.clone(),
        };
        let token = self.issue(account.id, purpose, valid_for).await?;
        let link = mails::email_confirmation_link(&self.settings.public_base_url, &token);
        self.send(
            AccountMail::EmailChange { link, valid_for },
            account,
            &new_email,
        )
        .await
    }
}
