//! The account use cases behind `accounts-api` and the operator commands:
//! registration and activation, password reset, login and sessions, profile,
//! administration, bulk import and the first administrator.
//!
//! Rules kept here for every use case: answers that do not reveal which
//! accounts exist (registration, reset, login), single-use tokens whose purpose
//! is checked after they are used up, no password ever mailed or logged.

mod address_limits;
mod administration;
mod bootstrap;
mod import;
mod links;
mod password_reset;
mod permissions;
mod profile;
mod registration;
mod sessions;

pub use administration::MAX_SEARCH_RESULTS;
pub use bootstrap::{DEMO_ADMIN_EMAIL, DEMO_ADMIN_USER_NAME};
pub use import::ImportProgress;
pub use links::MailedLink;

use super::{
    Account, AccountError, AccountId, AccountMail, AccountPorts, AccountSettings, AccountStore,
    CountedRequest, Email, EmailConfirmed, InvalidField, LoginAttempts, Mailer, NetworkRole,
    OrganizationId, PasswordHasher, PasswordPolicy, RequestCounters, SecretToken, SessionStore,
    TokenPurpose, TokenRecord, TokenStore, UserName,
};
use crate::organizations::{MembershipStore, OrganizationStore, Role};
use crate::Clock;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeSet;
use std::sync::Arc;

/// How many times a write that lost an optimistic-locking race is tried again
/// (re-reading the account each time) before answering `Conflict`.
const WRITE_ATTEMPTS: usize = 3;

/// The account use cases, built once at start-up from the adapters and settings
/// and shared by every request.
pub struct AccountService {
    accounts: Arc<dyn AccountStore>,
    tokens: Arc<dyn TokenStore>,
    sessions: Arc<dyn SessionStore>,
    attempts: Arc<dyn LoginAttempts>,
    requests: Arc<dyn RequestCounters>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    settings: AccountSettings,
    policy: PasswordPolicy,
    hasher: PasswordHasher,
    email_confirmed: Option<Arc<dyn EmailConfirmed>>,
    memberships: Option<Arc<dyn MembershipStore>>,
    organizations: Option<Arc<dyn OrganizationStore>>,
}

impl AccountService {
    /// The service over `ports`, configured by `settings`.
    pub fn new(ports: AccountPorts, settings: AccountSettings) -> Self {
        Self {
            accounts: ports.accounts,
            tokens: ports.tokens,
            sessions: ports.sessions,
            attempts: ports.attempts,
            requests: ports.requests,
            mailer: ports.mailer,
            clock: ports.clock,
            policy: PasswordPolicy::new(settings.min_password_length),
            settings,
            hasher: PasswordHasher::new(),
            email_confirmed: None,
            memberships: None,
            organizations: None,
        }
    }

    /// Also lets the administrators of an account's department (an
    /// organization) administer it, their memberships read from
    /// `memberships`; and a department must then be one of `organizations`.
    pub fn with_organizations(
        mut self,
        organizations: Arc<dyn OrganizationStore>,
        memberships: Arc<dyn MembershipStore>,
    ) -> Self {
        self.organizations = Some(organizations);
        self.memberships = Some(memberships);
        self
    }

    /// Counts one more `request` now; how many of them were counted within
    /// the last `window`, this one included.
    async fn count_request(
        &self,
        request: CountedRequest,
        window: Duration,
    ) -> Result<u32, AccountError> {
        Ok(self.requests.count(&request, self.now(), window).await?)
    }

    /// `department` as given, once it is known to name an organization (when
    /// the service knows the organizations): 422 on `department` otherwise.
    async fn existing_department(
        &self,
        department: OrganizationId,
    ) -> Result<OrganizationId, AccountError> {
        let Some(organizations) = &self.organizations else {
            return Ok(department);
        };
        match organizations.get(department).await? {
            Some(_) => Ok(department),
            None => Err(InvalidField::new("department", "no such organization").into()),
        }
    }

    /// The organizations `actor` administers today (through a valid membership
    /// holding `ORGANIZATION:ADMIN`); empty without a memberships store.
    async fn administered_organizations(
        &self,
        actor: &Account,
    ) -> Result<BTreeSet<OrganizationId>, AccountError> {
        let Some(memberships) = &self.memberships else {
            return Ok(BTreeSet::new());
        };
        let today = self.now().date_naive();
        Ok(memberships
            .of_person(actor.id)
            .await?
            .into_iter()
            .filter(|m| m.grants(Role::Admin, today))
            .map(|m| m.organization)
            .collect())
    }

    /// The organizations in which `person` holds any role, in any membership
    /// (past, present or future); empty without a memberships store.
    async fn organizations_with_roles(
        &self,
        person: AccountId,
    ) -> Result<BTreeSet<OrganizationId>, AccountError> {
        let Some(memberships) = &self.memberships else {
            return Ok(BTreeSet::new());
        };
        Ok(memberships
            .of_person(person)
            .await?
            .into_iter()
            .filter(|m| !m.roles.is_empty())
            .map(|m| m.organization)
            .collect())
    }

    /// Whether `actor`, administering `administers` today, may administer
    /// `target` ([`permissions::may_administer`]); the memberships of `target`
    /// are read only when the rest of the rule allows it.
    async fn may_administer(
        &self,
        actor: &Account,
        target: &Account,
        administers: &BTreeSet<OrganizationId>,
    ) -> Result<bool, AccountError> {
        let holds_roles_in = if !actor.has_role(NetworkRole::SuperAdmin)
            && actor.id != target.id
            && permissions::department_administrator(target, administers)
        {
            self.organizations_with_roles(target.id).await?
        } else {
            BTreeSet::new()
        };
        Ok(permissions::may_administer(
            actor,
            target,
            administers,
            &holds_roles_in,
        ))
    }

    /// Also tells `listener` whenever an activation proves an e-mail address
    /// (registration marks the address's staging record as verified).
    pub fn with_email_confirmed(mut self, listener: Arc<dyn EmailConfirmed>) -> Self {
        self.email_confirmed = Some(listener);
        self
    }

    /// The settings it runs with (the HTTP layer sizes the session cookie from them).
    pub fn settings(&self) -> &AccountSettings {
        &self.settings
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The answer of a lockout: try again once the window has passed.
    fn locked_out(&self) -> AccountError {
        AccountError::TooManyAttempts {
            retry_after: self.settings.lockout_window,
        }
    }

    /// Stores the hash of a fresh token for `account_id`, valid for `ttl`.
    async fn issue(
        &self,
        account_id: AccountId,
        purpose: TokenPurpose,
        ttl: Duration,
    ) -> Result<SecretToken, AccountError> {
        let token = SecretToken::generate();
        let now = self.now();
        self.tokens
            .issue(&TokenRecord {
                hash: token.hash(),
                account_id,
                purpose,
                issued_at: now,
                expires_at: now + ttl,
            })
            .await?;
        Ok(token)
    }

    /// Uses up a presented token; unknown, used and expired tokens all give `TokenInvalid`.
    async fn consume(&self, token: &str) -> Result<TokenRecord, AccountError> {
        self.tokens
            .consume(&SecretToken::presented(token).hash(), self.now())
            .await?
            .ok_or(AccountError::TokenInvalid)
    }

    /// Renders `mail` about `account` and sends it to `to`.
    async fn send(
        &self,
        mail: AccountMail,
        account: &Account,
        to: &Email,
    ) -> Result<(), AccountError> {
        let mail = mail.render(account, to, &self.settings.public_base_url);
        Ok(self.mailer.send(&mail).await?)
    }

    /// Sends a mail whose failure must not undo what was already done (or must
    /// not show in the answer): the failure is logged instead.
    async fn notify(&self, mail: AccountMail, account: &Account, to: &Email) {
        if let Err(error) = self.send(mail, account, to).await {
            tracing::error!(account = %account.id, %error, "account mail not sent");
        }
    }

    /// Sends an invitation: welcome and a set-password link valid as long as an activation link.
    async fn invite(&self, account: &Account) -> Result<(), AccountError> {
        let valid_for = self.settings.activation_ttl;
        let token = self
            .issue(account.id, TokenPurpose::PasswordReset, valid_for)
            .await?;
        let link = super::mails::password_link(&self.settings.public_base_url, &token);
        self.send(
            AccountMail::Invite { link, valid_for },
            account,
            &account.email,
        )
        .await
    }

    /// Reads the account, applies `change` and writes it back with the next
    /// version, starting again from a fresh read when another write came first.
    async fn modify(
        &self,
        id: AccountId,
        mut change: impl FnMut(&mut Account) -> Result<(), AccountError>,
    ) -> Result<Account, AccountError> {
        for _ in 0..WRITE_ATTEMPTS {
            let mut account = self.accounts.get(id).await?.ok_or(AccountError::NotFound)?;
            change(&mut account)?;
            account.version += 1;
            match self.accounts.update(&account).await {
                Ok(()) => return Ok(account),
                Err(super::AccountWriteError::VersionConflict) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(AccountError::Conflict)
    }

    /// The distinct accounts an identifier designates: for an e-mail address,
    /// the account with that e-mail first (an address is the stronger claim: no
    /// user name can shadow it), then the one with that user name. Both lookups
    /// are made whatever the first finds, so the work does not depend on which
    /// accounts exist.
    async fn lookup(&self, identifier: &str) -> Result<Vec<Account>, AccountError> {
        let mut found = Vec::new();
        if let Ok(email) = Email::parse(identifier) {
            found.extend(self.accounts.find_by_email(&email).await?);
        }
        if let Ok(user_name) = UserName::parse(identifier) {
            if let Some(account) = self.accounts.find_by_user_name(&user_name).await? {
                if found.iter().all(|a: &Account| a.id != account.id) {
                    found.push(account);
                }
            }
        }
        Ok(found)
    }
}

/// The key under which failed logins are counted for a submitted identifier:
/// trimmed, lower-cased, bounded, and in a namespace of its own so that no
/// login input can reach an account's counter.
fn attempt_key(identifier: &str) -> String {
    format!(
        "{LOGIN_COUNTER_PREFIX}{}",
        super::ports::identifier_key(identifier)
    )
}

/// The namespace of login-failure counters of submitted identifiers.
const LOGIN_COUNTER_PREFIX: &str = "login:";

/// The namespace of the failure counters of accounts (no login input can
/// reach it: every identifier's key starts with [`LOGIN_COUNTER_PREFIX`]).
const ACCOUNT_COUNTER_PREFIX: &str = "login-account:";

/// The key under which failed logins and wrong current passwords are counted:
/// the account's own when an account has the identifier, so that its user
/// name, its e-mail and its current-password checks share one counter; the
/// submitted identifier's when none has it.
fn failure_key(identifier: &str, account: Option<&Account>) -> String {
    match account {
        Some(account) => format!("{ACCOUNT_COUNTER_PREFIX}{}", account.id),
        None => attempt_key(identifier),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_keys_ignore_case_and_surrounding_spaces() {
        assert_eq!(
            attempt_key("  C.Lefebvre@Example.ORG "),
            "login:c.lefebvre@example.org"
        );
        assert_eq!(
            attempt_key(&"x".repeat(1000)).len(),
            LOGIN_COUNTER_PREFIX.len() + 320
        );
        // No login input lands in the accounts' namespace.
        assert!(!attempt_key("x").starts_with(ACCOUNT_COUNTER_PREFIX));
    }
}
