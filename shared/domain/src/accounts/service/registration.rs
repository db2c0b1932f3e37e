//! Self-registration with e-mail activation.

use super::AccountService;
use crate::accounts::{
    fields, mails, Account, AccountError, AccountId, AccountMail, AccountState, AccountWriteError,
    CountedRequest, Email, InvalidField, PersonName, Registration, TokenPurpose, UserName,
    Verification, MAX_PASSWORD_LENGTH,
};
use chrono::Duration;
use rand::RngCore;

/// How many user names are tried for one registration before giving up.
const USER_NAME_ATTEMPTS: usize = 5;

/// Registrations of one address that mail it, per hour; further ones still
/// answer `Ok` but change and send nothing (no mail bombing of an address).
const REGISTRATION_MAILS_PER_HOUR: u32 = 5;

impl AccountService {
    /// Creates a `pending_activation` account and mails it an activation link.
    ///
    /// A valid registration always answers `Ok` after the same work (password
    /// checked and hashed, one write, one mail), so the answer does not tell
    /// whether the address has an account: when it has, its holder gets an
    /// "address in use" mail instead, or, while that account is still pending,
    /// one more activation link for it. A pending registration keeps its
    /// password and names (and its links keep working) until it expires — no
    /// link of it works any more, `activation_ttl` after it was made —, so
    /// nobody can take over someone else's registration; an expired one is
    /// replaced by the next. Past 5 registrations of one address in an hour,
    /// nothing more is changed or mailed. The user name is the e-mail address,
    /// or a form of it that fits the user-name rules.
    pub async fn register(&self, registration: Registration) -> Result<(), AccountError> {
        let email = Email::parse(&registration.email)?;
        let first_name = PersonName::parse("first_name", &registration.first_name)?;
        let last_name = PersonName::parse("last_name", &registration.last_name)?;
        let language = fields::language(registration.language.as_deref())?;
        let user_name = user_name_for(&email, false)?;
        self.policy
            .check(&registration.password, user_name.as_str(), email.as_str())?;
        let password_hash = self.hasher.hash(&registration.password).await?;
        let now = self.now();
        let counter = CountedRequest::Registration(email.clone());
        let registrations = self.count_request(counter, Duration::hours(1)).await?;
        if registrations > REGISTRATION_MAILS_PER_HOUR {
            return Ok(());
        }
        let mut account = Account {
            id: AccountId::new(),
            user_name,
            email,
            first_name,
            last_name,
            department: None,
            department_roles: Vec::new(),
            paid: false,
            state: AccountState::PendingActivation,
            expires_on: None,
            network_roles: Default::default(),
            password_hash: Some(password_hash),
            language,
            created_at: now,
            last_seen_at: None,
            password_changed_at: Some(now),
            version: 1,
        };
        for _ in 0..USER_NAME_ATTEMPTS {
            match self.accounts.create(&account).await {
                Ok(()) => return self.send_activation(&account).await,
                Err(AccountWriteError::EmailTaken(_)) => {
                    return self.registered_again(account).await
                }
                Err(AccountWriteError::UserNameTaken(_)) => {
                    account.user_name = user_name_for(&account.email, true)?
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(AccountError::Unavailable(
            "no free user name for this registration".to_owned(),
        ))
    }

    /// Activates the pending account of an activation token, for whoever also
    /// knows the password chosen at registration: someone who registers another
    /// person's address cannot have that person activate it by clicking the
    /// link, and the link alone (mailed to the address) is not enough either.
    /// A wrong password answers `InvalidCredentials` and leaves the link usable.
    pub async fn activate(&self, token: &str, password: &str) -> Result<(), AccountError> {
        let record = self.consume(token).await?;
        if record.purpose != TokenPurpose::Activation {
            return Err(AccountError::TokenInvalid);
        }
        let account = self
            .accounts
            .get(record.account_id)
            .await?
            .ok_or(AccountError::TokenInvalid)?;
        let knows_password = password.chars().count() <= MAX_PASSWORD_LENGTH
            && matches!(
                self.hasher
                    .verify(account.password_hash.as_deref(), password)
                    .await?,
                Verification::Match { .. }
            );
        if !knows_password {
            self.tokens.issue(&record).await?;
            return Err(AccountError::InvalidCredentials);
        }
        if let Some(listener) = &self.email_confirmed {
            if let Err(error) = listener.email_confirmed(&account.email).await {
                // Nothing happened yet: the link stays usable for a retry.
                self.tokens.issue(&record).await?;
                return Err(error.into());
            }
        }
        self.modify(record.account_id, |account| match account.state {
            AccountState::PendingActivation | AccountState::Active => {
                account.state = AccountState::Active;
                Ok(())
            }
            AccountState::Inactive => Err(AccountError::TokenInvalid),
        })
        .await
        .map_err(|error| match error {
            AccountError::NotFound => AccountError::TokenInvalid,
            other => other,
        })?;
        Ok(())
    }

    async fn send_activation(&self, account: &Account) -> Result<(), AccountError> {
        let valid_for = self.settings.activation_ttl;
        let token = self
            .issue(account.id, TokenPurpose::Activation, valid_for)
            .await?;
        let link = mails::activation_link(&self.settings.public_base_url, &token);
        self.send(
            AccountMail::Activation { link, valid_for },
            account,
            &account.email,
        )
        .await
    }

    /// A registration for an address that already has an account: an expired
    /// pending registration is replaced by this one (its old links end).
    async fn registered_again(&self, registration: Account) -> Result<(), AccountError> {
        let Some(holder) = self.accounts.find_by_email(&registration.email).await? else {
            // Reserved by an account that has since moved to another address: nobody to tell.
            return Ok(());
        };
        if holder.state != AccountState::PendingActivation {
            return self
                .send(AccountMail::AddressInUse, &holder, &holder.email)
                .await;
        }
        let registered_at = holder.password_changed_at.unwrap_or(holder.created_at);
        if self.now() < registered_at + self.settings.activation_ttl {
            // Still the first registrant's: only mailed again.
            return self.send_activation(&holder).await;
        }
        let pending = self
            .modify(holder.id, |account| {
                if account.password_changed_at != holder.password_changed_at {
                    // Replaced meanwhile by a concurrent registration.
                    return Err(AccountError::Conflict);
                }
                account.first_name = registration.first_name.clone();
                account.last_name = registration.last_name.clone();
                account.language = registration.language;
                account.password_hash = registration.password_hash.clone();
                account.password_changed_at = registration.password_changed_at;
                Ok(())
            })
            .await;
        let pending = match pending {
            Ok(pending) => pending,
            // Registrations of this address racing each other: the one that won
            // sends the link, and a conflict must not show in the answer.
            Err(AccountError::Conflict) => return Ok(()),
            Err(error) => return Err(error),
        };
        self.tokens.revoke_all(pending.id).await?;
        self.send_activation(&pending).await
    }
}

/// The user name of a self-registered account: the address itself when it fits
/// the user-name rules, else its allowed characters; with `suffix`, a random
/// `-xxxx` is added (another account already has the plain form).
fn user_name_for(email: &Email, suffix: bool) -> Result<UserName, InvalidField> {
    let mut name: String = email
        .as_str()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        .take(if suffix { 59 } else { 64 })
        .collect();
    if name.is_empty() {
        name.push_str("patron");
    }
    // A name that is not exactly the address always gets a random suffix, so
    // that it can never equal another account's e-mail and shadow its login.
    if suffix || name != email.as_str() {
        name.push_str(&format!("-{:04x}", rand::rngs::OsRng.next_u32() & 0xffff));
    }
    UserName::parse(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_name_is_the_address_when_it_fits() {
        let email = Email::parse("Camille.Lefebvre@example.org").unwrap();
        assert_eq!(
            user_name_for(&email, false).unwrap().as_str(),
            "camille.lefebvre@example.org"
        );
    }

    #[test]
    fn other_addresses_keep_their_allowed_characters_and_a_suffix() {
        let email = Email::parse("zoé+bib@example.org").unwrap();
        let derived = user_name_for(&email, false).unwrap();
        assert!(
            derived.as_str().starts_with("zobib@example.org-"),
            "never another address: {derived}"
        );
        let suffixed = user_name_for(&email, true).unwrap();
        assert!(
            suffixed.as_str().starts_with("zobib@example.org-"),
            "{suffixed}"
        );
        assert_eq!(suffixed.as_str().len(), "zobib@example.org-".len() + 4);
        let long = Email::parse(&format!("{}@example.org", "a".repeat(60))).unwrap();
        assert!(user_name_for(&long, true).unwrap().as_str().len() <= 64);
    }
}
