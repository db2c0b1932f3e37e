//! Login, the session check of every authenticated route, and logout.

use super::{failure_key, AccountService};
use crate::accounts::hasher::Verification;
use crate::accounts::{Account, AccountError, SecretToken, SessionRecord, MAX_PASSWORD_LENGTH};

impl AccountService {
    /// Opens a session for whoever knows the password of the account whose user
    /// name or e-mail is `identifier`; returns the session token (handed to the
    /// client once, only its hash is stored) and the account.
    ///
    /// Unknown identifier, wrong password, pending, inactive or expired account
    /// all answer `InvalidCredentials` after the same Argon2id work. After
    /// `lockout_failures` failures within `lockout_window` the answer is
    /// `TooManyAttempts` until the window has passed, checked before any
    /// password is looked at. Failures are counted per account, whether its
    /// user name or its e-mail was typed (and with its wrong current
    /// passwords), or per identifier (trimmed, lower-cased) when no account
    /// has it. A hash with weaker parameters than today's is replaced;
    /// last-seen is updated.
    pub async fn login(
        &self,
        identifier: &str,
        password: &str,
    ) -> Result<(SecretToken, Account), AccountError> {
        let account = self.lookup(identifier).await?.into_iter().next();
        let key = failure_key(identifier, account.as_ref());
        let now = self.now();
        let since = now - self.settings.lockout_window;
        let limit = self.settings.lockout_failures;
        if self.attempts.failures_since(&key, since).await? >= limit {
            return Err(self.locked_out());
        }
        // The attempt counts before the password is looked at, so that many
        // guesses sent at once cannot all pass the check above; a success clears it.
        if self.attempts.record_failure(&key, now, since).await? > limit {
            return Err(self.locked_out());
        }
        // No stored password can be longer than the policy allows: skip the hashing.
        let verification = if password.chars().count() > MAX_PASSWORD_LENGTH {
            Verification::Mismatch
        } else {
            self.hasher
                .verify(
                    account.as_ref().and_then(|a| a.password_hash.as_deref()),
                    password,
                )
                .await?
        };
        let (account, needs_rehash) = match (account, verification) {
            (Some(account), Verification::Match { needs_rehash })
                if account.can_log_in(now.date_naive()) =>
            {
                (account, needs_rehash)
            }
            _ => return Err(AccountError::InvalidCredentials),
        };
        self.attempts.clear(&key).await?;
        let new_hash = if needs_rehash {
            Some(self.hasher.hash(password).await?)
        } else {
            None
        };
        let account = self
            .modify(account.id, |account| {
                account.last_seen_at = Some(now);
                if let Some(hash) = &new_hash {
                    account.password_hash = Some(hash.clone());
                }
                Ok(())
            })
            .await?;
        let token = SecretToken::generate();
        self.sessions
            .create(&SessionRecord {
                hash: token.hash(),
                account_id: account.id,
                created_at: now,
                last_used_at: now,
            })
            .await?;
        Ok((token, account))
    }

    /// The account behind a session token, for every authenticated route. The
    /// session is over (and removed) once unused for `session_idle`, once
    /// `session_absolute` old, or once its account can no longer log in;
    /// otherwise its last use is moved to now.
    pub async fn authenticate(&self, session_token: &str) -> Result<Account, AccountError> {
        let hash = SecretToken::presented(session_token).hash();
        let session = self
            .sessions
            .get(&hash)
            .await?
            .ok_or(AccountError::Unauthenticated)?;
        let now = self.now();
        let expired = now - session.last_used_at >= self.settings.session_idle
            || now - session.created_at >= self.settings.session_absolute;
        let account = if expired {
            None
        } else {
            self.accounts
                .get(session.account_id)
                .await?
                .filter(|account| account.can_log_in(now.date_naive()))
        };
        let Some(account) = account else {
            self.sessions.delete(&hash).await?;
            return Err(AccountError::Unauthenticated);
        };
        self.sessions.touch(&hash, now).await?;
        Ok(account)
    }

    /// Ends the session of this token (`Unauthenticated` when there is none).
    pub async fn logout(&self, session_token: &str) -> Result<(), AccountError> {
        let hash = SecretToken::presented(session_token).hash();
        if self.sessions.get(&hash).await?.is_none() {
            return Err(AccountError::Unauthenticated);
        }
        Ok(self.sessions.delete(&hash).await?)
    }
}
