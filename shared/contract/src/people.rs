//! What the accounts cases share: sample accounts, tokens and sessions whose
//! names, e-mails and hashes no other case (nor another run) uses, and the
//! write calls that fail the case on a storage error.

use crate::support::now_ms;
use crate::Backend;
use chrono::{DateTime, NaiveDate, Utc};
use patron_hub_domain::accounts::{
    Account, AccountId, AccountState, Email, Language, NetworkRole, OrganizationId, PersonName,
    SecretToken, TokenHash, UserName,
};
use std::collections::BTreeSet;

/// A fresh random word of 12 lower-case hex digits, to make names unique.
pub(crate) fn unique_word() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// Parses a user name the suite built.
pub(crate) fn user_name(name: &str) -> UserName {
    UserName::parse(name).expect("the suite's user names are valid")
}

/// Parses an e-mail the suite built (normalised by `Email`).
pub(crate) fn email(address: &str) -> Email {
    Email::parse(address).expect("the suite's e-mails are valid")
}

/// Parses a person name the suite built.
pub(crate) fn person(name: &str) -> PersonName {
    PersonName::parse("last_name", name).expect("the suite's names are valid")
}

/// A new active account (version 1) with a unique user name and e-mail, and every
/// optional field filled, non-ASCII names included, so that a lossy round trip shows.
pub(crate) fn account() -> Account {
    let word = unique_word();
    let now = now_ms();
    Account {
        id: AccountId::new(),
        user_name: user_name(&format!("Lib.{word}")),
        email: email(&format!("lib.{word}@example.org")),
        first_name: person("Zoé"),
        last_name: person("Ørsted-Łukasiewicz"),
        department: Some(OrganizationId(uuid::Uuid::new_v4())),
        department_roles: vec!["ADMIN".to_owned(), "CIRCULATION".to_owned()],
        paid: false,
        state: AccountState::Active,
        expires_on: NaiveDate::from_ymd_opt(2030, 12, 31),
        network_roles: BTreeSet::from([NetworkRole::NetworkStaff]),
        password_hash: Some(format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${word}")),
        language: Language::En,
        created_at: now,
        last_seen_at: Some(now),
        password_changed_at: Some(now),
        version: 1,
    }
}

/// A new pending account with only the required fields, for bulk imports.
pub(crate) fn bare_account(index: usize, word: &str) -> Account {
    Account {
        id: AccountId::new(),
        user_name: user_name(&format!("imp{index}.{word}")),
        email: email(&format!("imp{index}.{word}@example.org")),
        first_name: person("Anne"),
        last_name: person(&format!("Import {index}")),
        department: None,
        department_roles: Vec::new(),
        paid: false,
        state: AccountState::PendingActivation,
        expires_on: None,
        network_roles: BTreeSet::new(),
        password_hash: None,
        language: Language::Fr,
        created_at: now_ms(),
        last_seen_at: None,
        password_changed_at: None,
        version: 1,
    }
}

/// `account` as the next update would write it (version bumped).
pub(crate) fn next_version(account: &Account) -> Account {
    Account {
        version: account.version + 1,
        ..account.clone()
    }
}

/// Creates, failing the case on any error.
pub(crate) async fn create(b: &Backend, account: &Account) {
    if let Err(error) = b.accounts.create(account).await {
        panic!("create of {} failed: {error}", account.user_name);
    }
}

/// Updates, failing the case on any error.
pub(crate) async fn update(b: &Backend, account: &Account) {
    if let Err(error) = b.accounts.update(account).await {
        panic!(
            "update of {} to version {} failed: {error}",
            account.user_name, account.version
        );
    }
}

/// Reads one account by id, failing the case on a storage error.
pub(crate) async fn get(b: &Backend, id: AccountId) -> Option<Account> {
    match b.accounts.get(id).await {
        Ok(account) => account,
        Err(error) => panic!("get of {id} failed: {error}"),
    }
}

/// Reads the account holding an e-mail, failing the case on a storage error.
pub(crate) async fn by_email(b: &Backend, address: &Email) -> Option<Account> {
    match b.accounts.find_by_email(address).await {
        Ok(account) => account,
        Err(error) => panic!("find_by_email({address}) failed: {error}"),
    }
}

/// Reads the account holding a user name, failing the case on a storage error.
pub(crate) async fn by_user_name(b: &Backend, name: &UserName) -> Option<Account> {
    match b.accounts.find_by_user_name(name).await {
        Ok(account) => account,
        Err(error) => panic!("find_by_user_name({name}) failed: {error}"),
    }
}

/// The hash of a new random token.
pub(crate) fn token_hash() -> TokenHash {
    SecretToken::generate().hash()
}

/// `t` plus some seconds.
pub(crate) fn plus(t: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    t + chrono::TimeDelta::seconds(seconds)
}
