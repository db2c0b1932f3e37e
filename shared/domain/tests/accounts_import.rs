//! Bulk import over the SQLite adapters: all or nothing, every error by line,
//! an invitation per account.

mod accounts_support;

use accounts_support::{assert_error, token_of, Harness, ParseEmail, GOOD_PASSWORD};
use async_trait::async_trait;
use patron_hub_domain::accounts::{
    Account, AccountError, AccountId, AccountState, AccountStore, AccountWriteError, Email,
    ImportRow, UserName,
};
use patron_hub_domain::StoreError;
use patron_hub_store_sqlite::SqliteStore;
use std::sync::Arc;

fn row(line: usize, user_name: &str, email: &str) -> ImportRow {
    ImportRow {
        line,
        user_name: user_name.to_owned(),
        nom: "Durand".to_owned(),
        prenom: "Élise".to_owned(),
        email: email.to_owned(),
        roles: "Ens_RT, Admin_RT".to_owned(),
        dept: "RT".to_owned(),
    }
}

fn rows(count: usize) -> Vec<ImportRow> {
    (0..count)
        .map(|i| {
            row(
                i + 2,
                &format!("user{i:03}"),
                &format!("user{i:03}@example.org"),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_clean_file_creates_every_account_and_invites_each() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    let created = h.service.import(&admin, rows(40)).await.unwrap();
    assert_eq!(created.len(), 40);
    for account in &created {
        let stored = h.store.get(account.id).await.unwrap().unwrap();
        assert_eq!(stored.state, AccountState::Active);
        assert!(stored.password_hash.is_none());
        assert_eq!(
            stored.department_roles,
            vec!["dept:RT", "Ens_RT", "Admin_RT"]
        );
        let mails = h.mails_to(account.email.as_str());
        assert_eq!(mails.len(), 1, "{}", account.email);
        assert_eq!(
            mails[0].subject,
            "Bienvenue sur patron-hub : choisissez votre mot de passe"
        );
    }
    // Follow one invitation through.
    let link = h.last_link("user007@example.org", "/password-reset/confirm");
    h.service
        .confirm_password_reset(&token_of(&link), GOOD_PASSWORD)
        .await
        .unwrap();
    h.service.login("user007", GOOD_PASSWORD).await.unwrap();
}

#[tokio::test]
async fn any_error_creates_nothing_and_every_error_is_listed_by_line() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    h.member(&admin, "existing", "existing@example.org").await;
    let mut file = rows(30);
    file[3].email = "not an address".into(); // line 5
    file[10].user_name = "user000".into(); // line 12, repeats line 2
    file[20].user_name = "Existing".into(); // line 22, already an account
    file[25].prenom = "".into(); // line 27
    file[26].roles = "Admin:RT".into(); // line 28
    let mails_before = h.mails().len();

    match h.service.import(&admin, file).await {
        Err(AccountError::ImportRejected(errors)) => assert_eq!(
            errors,
            vec![
                "Line 5: email: is not a valid e-mail address",
                "Line 12: user_name user000 is also on line 2",
                "Line 22: user_name Existing is already taken",
                "Line 27: prenom: must be 1 to 100 characters",
                "Line 28: roles: \"Admin:RT\" is not a role name (letters, digits, '_', '-' and '.', at most 64)",
            ]
        ),
        other => panic!("{other:?}"),
    }
    // Nothing written, nothing mailed.
    let user_names: Vec<UserName> = (0..30)
        .map(|i| UserName::parse(&format!("user{i:03}")).unwrap())
        .collect();
    let (taken, _) = h.store.taken(&user_names, &[]).await.unwrap();
    assert!(taken.is_empty(), "{taken:?}");
    assert_eq!(h.mails().len(), mails_before);
    assert!(h
        .store
        .find_by_email(&"user001@example.org".parse_email())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn an_address_held_by_an_inactive_account_is_refused_too() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    let gone = h.member(&admin, "gone", "gone@example.org").await;
    h.service
        .update_account(
            &admin,
            gone.id,
            patron_hub_domain::accounts::AccountPatch {
                active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut file = rows(2);
    file[1].email = "GONE@example.org".into();
    assert_error(
        h.service.import(&admin, file).await,
        AccountError::ImportRejected(vec![
            "Line 3: email gone@example.org is already taken".into()
        ]),
    );
}

#[tokio::test]
async fn only_a_super_admin_imports() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    let member = h.member(&admin, "member", "member@example.org").await;
    assert_error(
        h.service.import(&member, rows(2)).await,
        AccountError::Forbidden,
    );
    assert!(h
        .store
        .find_by_email(&"user000@example.org".parse_email())
        .await
        .unwrap()
        .is_none());
}

/// The SQLite account store, with another administrator creating an account
/// for one of the file's addresses between the import's check and its write.
struct RacingStore {
    inner: SqliteStore,
    rival: Account,
}

#[async_trait]
impl AccountStore for RacingStore {
    async fn create(&self, account: &Account) -> Result<(), AccountWriteError> {
        self.inner.create(account).await
    }
    async fn create_all(&self, accounts: &[Account]) -> Result<(), AccountWriteError> {
        self.inner.create(&self.rival).await?;
        self.inner.create_all(accounts).await
    }
    async fn update(&self, account: &Account) -> Result<(), AccountWriteError> {
        self.inner.update(account).await
    }
    async fn get(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.inner.get(id).await
    }
    async fn find_by_email(&self, email: &Email) -> Result<Option<Account>, StoreError> {
        self.inner.find_by_email(email).await
    }
    async fn find_by_user_name(&self, user_name: &UserName) -> Result<Option<Account>, StoreError> {
        self.inner.find_by_user_name(user_name).await
    }
    async fn taken(
        &self,
        user_names: &[UserName],
        emails: &[Email],
    ) -> Result<(Vec<UserName>, Vec<Email>), StoreError> {
        self.inner.taken(user_names, emails).await
    }
    async fn search(&self, text: &str, limit: usize) -> Result<Vec<Account>, StoreError> {
        self.inner.search(text, limit).await
    }
    async fn expired_on(
        &self,
        today: chrono::NaiveDate,
        limit: usize,
    ) -> Result<Vec<Account>, StoreError> {
        self.inner.expired_on(today, limit).await
    }
}

#[tokio::test]
async fn a_conflict_during_the_write_leaves_nothing_and_mails_nobody() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    let mut rival = h.member(&admin, "template", "template@example.org").await;
    rival.id = AccountId::new();
    rival.user_name = UserName::parse("rival").unwrap();
    rival.email = "user150@example.org".parse_email();
    let racing = Harness::with_account_store(move |store| {
        Arc::new(RacingStore {
            inner: store,
            rival,
        })
    });
    let admin = racing.super_admin().await;
    let mails_before = racing.mails().len();

    assert_error(
        racing.service.import(&admin, rows(300)).await,
        AccountError::EmailTaken,
    );
    let user_names: Vec<UserName> = (0..300)
        .map(|i| UserName::parse(&format!("user{i:03}")).unwrap())
        .collect();
    let (taken, _) = racing.store.taken(&user_names, &[]).await.unwrap();
    assert!(taken.is_empty(), "{} accounts left behind", taken.len());
    assert_eq!(racing.mails().len(), mails_before);
}
