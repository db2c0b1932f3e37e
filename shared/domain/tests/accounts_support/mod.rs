//! What the account integration tests share: an `AccountService` over the real
//! SQLite adapters and the outbox mailer, a clock the tests move, and readers
//! of the mailed links.

#![allow(dead_code)] // each test file uses its own part of this module

use chrono::{DateTime, TimeZone, Utc};
use patron_hub_domain::accounts::{
    Account, AccountError, AccountPorts, AccountService, AccountSettings, AccountStore, MailOption,
    NewAccount,
};
use patron_hub_domain::FixedClock;
use patron_hub_mail::outbox::{read_all, OutboxMessage};
use patron_hub_mail::{find_link, OutboxMailer};
use patron_hub_store_sqlite::SqliteStore;
use std::path::PathBuf;
use std::sync::Arc;

/// Where mailed links point in these tests.
pub const BASE_URL: &str = "https://patrons.test";

/// A password the policy accepts.
pub const GOOD_PASSWORD: &str = "tortue bleue du lundi matin";

/// Another one.
pub const OTHER_PASSWORD: &str = "une girafe lit Proust à minuit";

/// A service over a fresh SQLite file and outbox folder.
pub struct Harness {
    pub service: AccountService,
    pub clock: Arc<FixedClock>,
    pub store: SqliteStore,
    pub database: PathBuf,
    pub outbox: PathBuf,
    _folder: tempfile::TempDir,
}

/// Monday 2 March 2026, 09:00 UTC: where every test's clock starts.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

impl Harness {
    /// With the default settings (and the test base URL).
    pub fn new() -> Self {
        Self::with_settings(AccountSettings {
            public_base_url: BASE_URL.to_owned(),
            ..AccountSettings::default()
        })
    }

    /// With `settings`.
    pub fn with_settings(settings: AccountSettings) -> Self {
        Self::build(settings, |store| Arc::new(store))
    }

    /// With the default settings and the account store `wrap` makes of the
    /// SQLite store (to put something between the service and the store).
    pub fn with_account_store(wrap: impl FnOnce(SqliteStore) -> Arc<dyn AccountStore>) -> Self {
        Self::build(
            AccountSettings {
                public_base_url: BASE_URL.to_owned(),
                ..AccountSettings::default()
            },
            wrap,
        )
    }

    fn build(
        settings: AccountSettings,
        wrap: impl FnOnce(SqliteStore) -> Arc<dyn AccountStore>,
    ) -> Self {
        let folder = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::at(start()));
        let database = folder.path().join("patron-hub.sqlite");
        let store = SqliteStore::open(&database, clock.clone()).unwrap();
        let outbox = folder.path().join("outbox");
        let mailer = OutboxMailer::new(
            outbox.clone(),
            "patron-hub <no-reply@patrons.test>".to_owned(),
        )
        .unwrap();
        let ports = AccountPorts {
            accounts: wrap(store.clone()),
            tokens: Arc::new(store.clone()),
            sessions: Arc::new(store.clone()),
            attempts: Arc::new(store.clone()),
            requests: Arc::new(store.clone()),
            mailer: Arc::new(mailer),
            clock: clock.clone(),
        };
        Self {
            service: AccountService::new(ports, settings)
                .with_organizations(Arc::new(store.clone()), Arc::new(store.clone())),
            clock,
            store,
            database,
            outbox,
            _folder: folder,
        }
    }

    /// Every mail in the outbox, oldest first.
    pub fn mails(&self) -> Vec<OutboxMessage> {
        read_all(&self.outbox).unwrap()
    }

    /// The mails sent to `address`, oldest first.
    pub fn mails_to(&self, address: &str) -> Vec<OutboxMessage> {
        self.mails()
            .into_iter()
            .filter(|m| m.to == address)
            .collect()
    }

    /// The link under `path` in the last mail to `address`, checked to be the
    /// same in the text and HTML parts.
    pub fn last_link(&self, address: &str, path: &str) -> String {
        let mail = self
            .mails_to(address)
            .pop()
            .unwrap_or_else(|| panic!("no mail to {address}"));
        let link = find_link(&mail.text, path)
            .unwrap_or_else(|| panic!("no {path} link in {:?}", mail.text));
        assert_eq!(
            find_link(&mail.html, path).as_deref(),
            Some(link.as_str()),
            "text and HTML links differ"
        );
        assert!(link.starts_with(BASE_URL), "{link}");
        link
    }

    /// A super administrator, created as `patron-hub create-admin` does and given
    /// a password through its set-password link.
    pub async fn super_admin(&self) -> Account {
        let (account, link) = self
            .service
            .create_super_admin(
                "chief@patrons.test".parse_email(),
                patron_hub_domain::accounts::UserName::parse("chief").unwrap(),
            )
            .await
            .unwrap();
        self.service
            .confirm_password_reset(&token_of(&link), GOOD_PASSWORD)
            .await
            .unwrap();
        let (_, account_now) = self.service.login("chief", GOOD_PASSWORD).await.unwrap();
        assert_eq!(account_now.id, account.id);
        account_now
    }

    /// An active account with `GOOD_PASSWORD`, created by `admin` without mail.
    pub async fn member(&self, admin: &Account, user_name: &str, email: &str) -> Account {
        self.service
            .create_account(
                admin,
                NewAccount {
                    user_name: user_name.to_owned(),
                    email: email.to_owned(),
                    first_name: "Camille".to_owned(),
                    last_name: "Lefebvre".to_owned(),
                    password: Some(GOOD_PASSWORD.to_owned()),
                    mail: MailOption::None,
                    ..NewAccount::default()
                },
            )
            .await
            .unwrap()
    }

    /// The bytes of the database and its write-ahead log, to look for secrets.
    pub fn database_bytes(&self) -> Vec<u8> {
        let mut bytes = std::fs::read(&self.database).unwrap();
        let wal = self.database.with_extension("sqlite-wal");
        if let Ok(more) = std::fs::read(wal) {
            bytes.extend(more);
        }
        bytes
    }
}

/// The `token` query parameter of a mailed link.
pub fn token_of(link: &str) -> String {
    link.split_once("?token=")
        .map(|(_, token)| token.to_owned())
        .unwrap_or_else(|| panic!("no token in {link}"))
}

/// Parsing shorthand for addresses in tests.
pub trait ParseEmail {
    fn parse_email(&self) -> patron_hub_domain::accounts::Email;
}

impl ParseEmail for str {
    fn parse_email(&self) -> patron_hub_domain::accounts::Email {
        patron_hub_domain::accounts::Email::parse(self).unwrap()
    }
}

/// Whether `bytes` contain `needle`.
pub fn contains(bytes: &[u8], needle: &str) -> bool {
    bytes
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// Asserts that `result` failed with `expected`.
pub fn assert_error<T: std::fmt::Debug>(result: Result<T, AccountError>, expected: AccountError) {
    match result {
        Err(error) => assert_eq!(error, expected),
        Ok(value) => panic!("expected {expected:?}, got Ok({value:?})"),
    }
}
