//! The account store: one row per account (its JSON, beside its lower-cased user
//! name and its e-mail under UNIQUE indexes, and its lower-cased search text), and
//! every e-mail an account ever held in `reserved_emails`, so that an address is
//! never given to another account, after a change or a deactivation alike. Each
//! write checks and reserves in one IMMEDIATE transaction; `create_all` writes a
//! whole import in one, so a conflict anywhere leaves nothing behind. Every write
//! also sets the row's expiry day (only while the account is not inactive), so
//! the accounts past their expiry are one range of its index.

use crate::codec::{day_number, db_error, from_json, json_rows, stored_version, to_json};
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::NaiveDate;
use patron_hub_domain::accounts::{
    Account, AccountId, AccountState, AccountStore, AccountWriteError, Email, UserName,
};
use patron_hub_domain::StoreError;
use rusqlite::{params, OptionalExtension, Transaction};

/// One account by id (primary key).
const SELECT_BY_ID: &str = "SELECT account FROM accounts WHERE id = ?1";

/// The account holding an e-mail now (`accounts_by_email`).
const SELECT_BY_EMAIL: &str = "SELECT account FROM accounts WHERE email = ?1";

/// The account holding a user name key (`accounts_by_user_name`).
const SELECT_BY_USER_NAME: &str = "SELECT account FROM accounts WHERE user_name_key = ?1";

/// Who holds a user name key.
const USER_NAME_HOLDER: &str = "SELECT id FROM accounts WHERE user_name_key = ?1";

/// Who holds, or held, an e-mail.
const EMAIL_HOLDER: &str = "SELECT account_id FROM reserved_emails WHERE email = ?1";

/// Accounts whose search text contains `?1`, at most `?2`, in user-name order.
const SEARCH: &str = "SELECT account FROM accounts WHERE instr(search_text, ?1) > 0
     ORDER BY user_name_key LIMIT ?2";

/// Up to `?2` accounts whose expiry day is before `?1`, earliest first
/// (`accounts_by_expiry`, which holds only accounts that are not inactive).
const SELECT_EXPIRED: &str = "SELECT account FROM accounts WHERE expires_on < ?1
     ORDER BY expires_on, id LIMIT ?2";

/// Separates the fields of the search text: a control character, which no user
/// name, e-mail or person name may contain, so no match spans two fields.
const FIELD_SEPARATOR: &str = "\u{1f}";

/// What `search` looks in: user name, e-mail, first and last name, lower-cased
/// by Unicode rules (so `É` finds `é`, which SQLite's own `lower` would not do).
fn search_text(account: &Account) -> String {
    [
        account.user_name.as_str(),
        account.email.as_str(),
        account.first_name.as_str(),
        account.last_name.as_str(),
    ]
    .join(FIELD_SEPARATOR)
    .to_lowercase()
}

/// The day number the expiry index keeps for `account`: its expiry day, unless
/// it has none or is inactive (then the rollover has nothing to do with it).
fn expiry_day(account: &Account) -> Option<i64> {
    match account.state {
        AccountState::Inactive => None,
        AccountState::PendingActivation | AccountState::Active => {
            account.expires_on.map(day_number)
        }
    }
}

/// The id of whoever `sql` finds holding `key`.
fn holder(tx: &Transaction<'_>, sql: &str, key: &str) -> Result<Option<String>, StoreError> {
    tx.prepare_cached(sql)
        .and_then(|mut select| select.query_row(params![key], |row| row.get(0)).optional())
        .map_err(db_error)
}

/// The one account `sql` finds for `key`.
fn select_one(tx: &Transaction<'_>, sql: &str, key: &str) -> Result<Option<Account>, StoreError> {
    let stored: Option<String> = tx
        .prepare_cached(sql)
        .and_then(|mut select| select.query_row(params![key], |row| row.get(0)).optional())
        .map_err(db_error)?;
    stored.as_deref().map(from_json).transpose()
}

/// Refuses `account` if another account than `owner` holds its user name, or
/// holds or held its e-mail (`owner` is None for a new account).
fn check_free(
    tx: &Transaction<'_>,
    account: &Account,
    owner: Option<&str>,
) -> Result<(), AccountWriteError> {
    let held_by_another =
        |holder: Option<String>| holder.is_some_and(|id| Some(id.as_str()) != owner);
    if held_by_another(holder(tx, USER_NAME_HOLDER, &account.user_name.key())?) {
        return Err(AccountWriteError::UserNameTaken(
            account.user_name.to_string(),
        ));
    }
    if held_by_another(holder(tx, EMAIL_HOLDER, account.email.as_str())?) {
        return Err(AccountWriteError::EmailTaken(account.email.to_string()));
    }
    Ok(())
}

/// Reserves the account's e-mail for it, for ever (a no-op if it already is).
fn reserve_email(tx: &Transaction<'_>, account: &Account) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO reserved_emails (email, account_id) VALUES (?1, ?2)
         ON CONFLICT (email) DO NOTHING",
    )
    .and_then(|mut insert| insert.execute(params![account.email.as_str(), account.id.to_string()]))
    .map(drop)
    .map_err(db_error)
}

/// Creates one account unless its user name or e-mail is taken.
fn insert(tx: &Transaction<'_>, account: &Account) -> Result<(), AccountWriteError> {
    let (version, record) = (stored_version(account.version)?, to_json(account)?);
    check_free(tx, account, None)?;
    reserve_email(tx, account)?;
    tx.prepare_cached(
        "INSERT INTO accounts (id, user_name_key, email, version, search_text, expires_on,
             account)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut insert| {
        insert.execute(params![
            account.id.to_string(),
            account.user_name.key(),
            account.email.as_str(),
            version,
            search_text(account),
            expiry_day(account),
            record,
        ])
    })
    .map_err(db_error)?;
    Ok(())
}

/// Replaces an account whose stored version is the one before `account.version`,
/// moving its user name and reserving its new e-mail.
fn replace(tx: &Transaction<'_>, account: &Account) -> Result<(), AccountWriteError> {
    let id = account.id.to_string();
    let stored: Option<i64> = tx
        .query_row(
            "SELECT version FROM accounts WHERE id = ?1",
            params![id],
            |row| row.get(0),
        )
        .optional()
        .map_err(db_error)?;
    let stored = stored.ok_or(AccountWriteError::NotFound)?;
    if stored.checked_add(1) != Some(stored_version(account.version)?) {
        return Err(AccountWriteError::VersionConflict);
    }
    check_free(tx, account, Some(&id))?;
    reserve_email(tx, account)?;
    tx.execute(
        "UPDATE accounts SET user_name_key = ?2, email = ?3, version = ?4, search_text = ?5,
             expires_on = ?6, account = ?7
         WHERE id = ?1",
        params![
            id,
            account.user_name.key(),
            account.email.as_str(),
            stored_version(account.version)?,
            search_text(account),
            expiry_day(account),
            to_json(account)?,
        ],
    )
    .map_err(db_error)?;
    Ok(())
}

/// Which of `names` and `emails` some account holds (an e-mail: holds or held).
fn taken(
    tx: &Transaction<'_>,
    names: &[UserName],
    emails: &[Email],
) -> Result<(Vec<UserName>, Vec<Email>), StoreError> {
    let mut taken_names = Vec::new();
    for name in names {
        if holder(tx, USER_NAME_HOLDER, &name.key())?.is_some() {
            taken_names.push(name.clone());
        }
    }
    let mut taken_emails = Vec::new();
    for email in emails {
        if holder(tx, EMAIL_HOLDER, email.as_str())?.is_some() {
            taken_emails.push(email.clone());
        }
    }
    Ok((taken_names, taken_emails))
}

/// The accounts whose search text contains `text` (any case), at most `limit`.
fn search(tx: &Transaction<'_>, text: &str, limit: usize) -> Result<Vec<Account>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut select = tx.prepare_cached(SEARCH).map_err(db_error)?;
    let stored = select
        .query_map(params![text.to_lowercase(), limit], |row| {
            row.get::<_, String>(0)
        })
        .map_err(db_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_error)?;
    stored.iter().map(|account| from_json(account)).collect()
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create(&self, account: &Account) -> Result<(), AccountWriteError> {
        let account = account.clone();
        self.write(move |tx| insert(tx, &account)).await
    }

    async fn create_all(&self, accounts: &[Account]) -> Result<(), AccountWriteError> {
        let accounts = accounts.to_vec();
        self.write(move |tx| accounts.iter().try_for_each(|account| insert(tx, account)))
            .await
    }

    async fn update(&self, account: &Account) -> Result<(), AccountWriteError> {
        let account = account.clone();
        self.write(move |tx| replace(tx, &account)).await
    }

    async fn get(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.read(move |tx| select_one(tx, SELECT_BY_ID, &id.to_string()))
            .await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<Account>, StoreError> {
        let email = email.clone();
        self.read(move |tx| select_one(tx, SELECT_BY_EMAIL, email.as_str()))
            .await
    }

    async fn find_by_user_name(&self, user_name: &UserName) -> Result<Option<Account>, StoreError> {
        let key = user_name.key();
        self.read(move |tx| select_one(tx, SELECT_BY_USER_NAME, &key))
            .await
    }

    async fn taken(
        &self,
        user_names: &[UserName],
        emails: &[Email],
    ) -> Result<(Vec<UserName>, Vec<Email>), StoreError> {
        let (names, emails) = (user_names.to_vec(), emails.to_vec());
        self.read(move |tx| taken(tx, &names, &emails)).await
    }

    async fn search(&self, text: &str, limit: usize) -> Result<Vec<Account>, StoreError> {
        let text = text.to_owned();
        self.read(move |tx| search(tx, &text, limit)).await
    }

    async fn expired_on(&self, today: NaiveDate, limit: usize) -> Result<Vec<Account>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |tx| json_rows(tx, SELECT_EXPIRED, params![day_number(today), limit]))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::migrate;
    use crate::schema::tests::{migrated_in_memory, migrated_in_memory_up_to, query_plan};

    /// An active account without an expiry date, as JSON once stored it.
    fn sample_account() -> Account {
        serde_json::from_value(serde_json::json!({
            "id": "7f9c1f0e-8d5e-4b7a-9a43-3f1e2b0c4d5e",
            "user_name": "Z.Orsted",
            "email": "zoe@example.org",
            "first_name": "ÉLODIE",
            "last_name": "Lefèvre",
            "department": null,
            "state": "active",
            "expires_on": null,
            "password_hash": null,
            "created_at": "2025-01-01T00:00:00Z",
            "last_seen_at": null,
            "password_changed_at": null,
            "version": 1
        }))
        .unwrap()
    }

    #[test]
    fn lookups_by_email_and_user_name_are_one_index_search_each() {
        let conn = migrated_in_memory();
        for (sql, index) in [
            (SELECT_BY_EMAIL, "accounts_by_email"),
            (SELECT_BY_USER_NAME, "accounts_by_user_name"),
            (USER_NAME_HOLDER, "accounts_by_user_name"),
        ] {
            let plan = query_plan(&conn, sql);
            assert!(plan.starts_with("SEARCH accounts USING"), "{plan}");
            assert!(plan.contains(&format!("INDEX {index} ")), "{plan}");
            assert!(!plan.contains("SCAN"), "{plan}");
        }
        let plan = query_plan(&conn, EMAIL_HOLDER);
        assert!(
            plan.contains("SEARCH reserved_emails USING PRIMARY KEY"),
            "{plan}"
        );
    }

    #[test]
    fn migration_5_fills_the_expiry_day_of_stored_accounts_as_writes_do() {
        let mut conn = migrated_in_memory_up_to(4);
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        let stored: Vec<Account> = [
            (AccountState::Active, day(2026, 6, 30)),
            (AccountState::Active, day(2024, 2, 29)),
            (AccountState::PendingActivation, day(1, 1, 1)),
            (AccountState::Active, day(0, 3, 1)),
            (AccountState::Active, day(9999, 12, 31)),
            (AccountState::Active, None),
            (AccountState::Inactive, day(2020, 1, 1)),
        ]
        .into_iter()
        .map(|(state, expires_on)| Account {
            id: AccountId::new(),
            state,
            expires_on,
            ..sample_account()
        })
        .collect();
        for account in &stored {
            conn.execute(
                "INSERT INTO accounts (id, user_name_key, email, version, search_text, account)
                 VALUES (?1, ?1, ?1, 1, '', ?2)",
                params![account.id.to_string(), to_json(account).unwrap()],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        for account in &stored {
            let filled: Option<i64> = conn
                .query_row(
                    "SELECT expires_on FROM accounts WHERE id = ?1",
                    params![account.id.to_string()],
                    |row| row.get(0),
                )
                .unwrap();
            let expected = expiry_day(account);
            assert_eq!(
                filled, expected,
                "{:?} {:?}",
                account.state, account.expires_on
            );
        }
        assert_eq!(expiry_day(&stored[0]), day(2026, 6, 30).map(day_number));
        assert_eq!(
            expiry_day(&stored[6]),
            None,
            "an inactive account is never due"
        );
    }

    #[test]
    fn expired_accounts_are_one_range_of_the_expiry_index_in_its_order() {
        let conn = migrated_in_memory();
        let plan = query_plan(&conn, SELECT_EXPIRED);
        assert!(
            plan.contains("SEARCH accounts USING INDEX accounts_by_expiry (expires_on<?)"),
            "{plan}"
        );
        assert!(!plan.contains("SCAN"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }

    #[test]
    fn search_text_is_lower_cased_with_accents_and_fields_kept_apart() {
        assert_eq!(
            search_text(&sample_account()),
            "z.orsted\u{1f}zoe@example.org\u{1f}élodie\u{1f}lefèvre"
        );
    }
}
