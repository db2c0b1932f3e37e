//! Forgotten passwords: a mailed single-use link, then a new password.

use super::AccountService;
use crate::accounts::{
    mails, AccountError, AccountMail, AccountState, CountedRequest, SecretToken, TokenPurpose,
    TokenRecord,
};
use chrono::Duration;

/// Reset mails sent at most per submitted identifier and hour; further
/// requests still answer `Ok` but send nothing (no mail bombing).
const RESET_MAILS_PER_HOUR: u32 = 5;

impl AccountService {
    /// Mails a set-password link when exactly one active account (not past its
    /// expiry date) has `identifier` as user name or e-mail. Always `Ok` for any
    /// identifier, after the same lookups and token minting, and without
    /// changing the account; a failure to store the token or send the mail is
    /// logged, not answered, since only existing accounts could cause one. The
    /// answer comes no sooner than `reset_answer_floor`, whatever happened.
    pub async fn request_password_reset(&self, identifier: &str) -> Result<(), AccountError> {
        let answer_at = tokio::time::Instant::now() + self.settings.reset_answer_floor;
        let result = self.mail_reset_link(identifier).await;
        tokio::time::sleep_until(answer_at).await;
        result
    }

    /// The work of [`AccountService::request_password_reset`], however long it takes.
    async fn mail_reset_link(&self, identifier: &str) -> Result<(), AccountError> {
        let now = self.now();
        let counter = CountedRequest::PasswordReset(identifier.to_owned());
        let requests = self.count_request(counter, Duration::hours(1)).await?;
        let today = now.date_naive();
        let mut matches = self.lookup(identifier).await?;
        matches.retain(|a| {
            a.state == AccountState::Active && a.expires_on.is_none_or(|last| today <= last)
        });
        let token = SecretToken::generate();
        let hash = token.hash();
        let ([account], true) = (matches.as_slice(), requests <= RESET_MAILS_PER_HOUR) else {
            return Ok(());
        };
        let valid_for = self.settings.reset_ttl;
        let record = TokenRecord {
            hash,
            account_id: account.id,
            purpose: TokenPurpose::PasswordReset,
            issued_at: now,
            expires_at: now + valid_for,
        };
        if let Err(error) = self.tokens.issue(&record).await {
            tracing::error!(account = %account.id, %error, "password reset token not stored");
            return Ok(());
        }
        let link = mails::password_link(&self.settings.public_base_url, &token);
        self.notify(
            AccountMail::PasswordReset { link, valid_for },
            account,
            &account.email,
        )
        .await;
        Ok(())
    }

    /// Sets a new password with a set-password token (reset or invitation).
    /// Every outstanding token and every session of the account ends, and a
    /// "password changed" mail is sent; nobody is logged in. A password the
    /// policy refuses leaves the link usable.
    pub async fn confirm_password_reset(
        &self,
        token: &str,
        password: &str,
    ) -> Result<(), AccountError> {
        // What needs no account is checked before the token is used up.
        self.policy.check(password, "", "")?;
        let record = self.consume(token).await?;
        if record.purpose != TokenPurpose::PasswordReset {
            return Err(AccountError::TokenInvalid);
        }
        let account = self
            .accounts
            .get(record.account_id)
            .await?
            .filter(|account| account.state == AccountState::Active)
            .ok_or(AccountError::TokenInvalid)?;
        if let Err(weak) =
            self.policy
                .check(password, account.user_name.as_str(), account.email.as_str())
        {
            self.tokens.issue(&record).await?;
            return Err(weak.into());
        }
        let password_hash = self.hasher.hash(password).await?;
        let now = self.now();
        let account = self
            .modify(account.id, |account| {
                account.password_hash = Some(password_hash.clone());
                account.password_changed_at = Some(now);
                Ok(())
            })
            .await?;
        self.tokens.revoke_all(account.id).await?;
        self.sessions.delete_all(account.id).await?;
        self.notify(AccountMail::PasswordChanged, &account, &account.email)
            .await;
        Ok(())
    }
}
