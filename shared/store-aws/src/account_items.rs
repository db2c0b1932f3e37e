//! The items of one account and the transactions that write them together:
//! - the account (`ACCOUNT#{id}` / `ACCOUNT`): the account as JSON and its
//!   `version`, which every update's condition checks;
//! - a marker per user name (`USERNAME#{lower-cased}`) and per e-mail
//!   (`EMAIL#{email}`) holding the account id, created with
//!   `attribute_not_exists(pk)` in the same transaction as the account: the
//!   only way DynamoDB enforces uniqueness. E-mail markers are never deleted
//!   (an e-mail is reserved for ever); a user-name marker moves with a rename;
//! - a directory entry (`ACCOUNTS` / `{lower-cased user name}#{id}`) with the
//!   lower-cased searchable text, for search without Scan;
//! - an expiry entry (`DUE#ACCOUNT_EXPIRY` / `{yyyy-mm-dd}#{id}`) naming the
//!   account, present exactly while the account is not inactive and has an
//!   expiry date, moved or deleted when either changes: what the daily
//!   rollover reads to find the accounts past their expiry date.
//!
//! Items written by a bulk import also carry its `import_id`, so that a
//! rollback deletes only what that import wrote.

use crate::error::corrupt;
use crate::item::{json, key, n, primary_key, s, text, to_json, Item};
use crate::keys::{
    account_expiry_sk, account_pk, directory_sk, email_pk, user_name_pk, ACCOUNT_EXPIRY_PK,
    ACCOUNT_SK, DIRECTORY_PK, MARKER_SK,
};
use crate::transact::{self, Condition, ABSENT};
use aws_sdk_dynamodb::types::TransactWriteItem;
use patron_hub_domain::accounts::{
    Account, AccountId, AccountState, AccountWriteError, Email, UserName,
};
use patron_hub_domain::StoreError;

/// The attribute naming the bulk import that wrote an item.
pub(crate) const IMPORT_ID: &str = "import_id";
/// The attribute of markers and directory entries naming their account.
pub(crate) const ACCOUNT_ID: &str = "account_id";
/// The attribute of directory entries holding the searchable text.
pub(crate) const SEARCH: &str = "search";

/// What the failed condition of one write of a transaction means.
#[derive(Debug, Clone)]
enum Guard {
    /// The account item: absent (creation) or at the expected version (update).
    Account,
    /// The user name's marker must be free.
    UserName(UserName),
    /// The e-mail's marker must be free (or already this account's).
    Email(Email),
    /// An item of this account's own that must still be its own.
    Owned,
    /// A write without condition.
    Free,
}

/// The writes of one transaction on accounts, each with what its failure means.
#[derive(Default)]
pub(crate) struct AccountWrites {
    items: Vec<TransactWriteItem>,
    guards: Vec<Guard>,
    keys: Vec<Item>,
}

impl AccountWrites {
    /// The items of a new account: the account and its two markers only if
    /// absent; the directory entry and the expiry entry if it is due one (their
    /// keys hold the id) unconditionally.
    pub(crate) fn create(
        &mut self,
        table: &str,
        account: &Account,
        import: Option<&str>,
    ) -> Result<(), StoreError> {
        self.put(
            table,
            account_item(account, import)?,
            Some(Condition::new(ABSENT)),
            Guard::Account,
        )?;
        self.put(
            table,
            marker(user_name_pk(&account.user_name), account.id, import),
            Some(Condition::new(ABSENT)),
            Guard::UserName(account.user_name.clone()),
        )?;
        self.put(
            table,
            marker(email_pk(&account.email), account.id, import),
            Some(Condition::new(ABSENT)),
            Guard::Email(account.email.clone()),
        )?;
        self.put(table, directory_entry(account, import), None, Guard::Free)?;
        if let Some(entry) = expiry_entry(account, import) {
            self.put(table, entry, None, Guard::Free)?;
        }
        Ok(())
    }

    /// The writes replacing `stored` by `account` (one version later): the
    /// account; a rename moves the user-name marker and the directory entry; a
    /// new e-mail gets its marker (the old one stays); a change of searchable
    /// text rewrites the directory entry; a change of expiry date or of being
    /// inactive moves, adds or deletes the expiry entry.
    pub(crate) fn update(
        &mut self,
        table: &str,
        stored: &Account,
        account: &Account,
    ) -> Result<(), StoreError> {
        let id = s(account.id.to_string());
        self.put(
            table,
            account_item(account, None)?,
            Some(Condition::new("version = :expected").with(":expected", n(stored.version))),
            Guard::Account,
        )?;
        if stored.user_name.key() != account.user_name.key() {
            self.delete(
                table,
                key(user_name_pk(&stored.user_name), MARKER_SK),
                Some(Condition::new("account_id = :id").with(":id", id.clone())),
                Guard::Owned,
            )?;
            self.put(
                table,
                marker(user_name_pk(&account.user_name), account.id, None),
                Some(Condition::new(ABSENT)),
                Guard::UserName(account.user_name.clone()),
            )?;
            self.delete(
                table,
                key(
                    DIRECTORY_PK.to_owned(),
                    directory_sk(&stored.user_name, stored.id),
                ),
                None,
                Guard::Free,
            )?;
            self.put(table, directory_entry(account, None), None, Guard::Free)?;
        } else if search_text(stored) != search_text(account) {
            self.put(table, directory_entry(account, None), None, Guard::Free)?;
        }
        if stored.email != account.email {
            // Coming back to one of its own former e-mails is allowed.
            self.put(
                table,
                marker(email_pk(&account.email), account.id, None),
                Some(
                    Condition::new("attribute_not_exists(pk) OR account_id = :id").with(":id", id),
                ),
                Guard::Email(account.email.clone()),
            )?;
        }
        let (before, after) = (expiry_sk(stored), expiry_sk(account));
        if before != after {
            if let Some(sk) = before {
                let entry = key(ACCOUNT_EXPIRY_PK.to_owned(), sk);
                self.delete(table, entry, None, Guard::Free)?;
            }
            if let Some(entry) = expiry_entry(account, None) {
                self.put(table, entry, None, Guard::Free)?;
            }
        }
        Ok(())
    }

    /// How many writes there are.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Adds `other`'s writes after these.
    pub(crate) fn append(&mut self, other: AccountWrites) {
        self.items.extend(other.items);
        self.guards.extend(other.guards);
        self.keys.extend(other.keys);
    }

    /// The writes, for the transaction.
    pub(crate) fn items(&self) -> Vec<TransactWriteItem> {
        self.items.clone()
    }

    /// The keys of every item written.
    pub(crate) fn keys(&self) -> &[Item] {
        &self.keys
    }

    /// Why the transaction was refused, from the positions of its failed
    /// conditions: the account's own condition first (`on_account`), then a
    /// taken user name, then a taken e-mail.
    pub(crate) fn refusal(
        &self,
        failed: &[usize],
        on_account: AccountWriteError,
    ) -> AccountWriteError {
        let failed: Vec<&Guard> = failed
            .iter()
            .filter_map(|at| self.guards.get(*at))
            .collect();
        if failed.iter().any(|guard| matches!(guard, Guard::Account)) {
            return on_account;
        }
        for guard in &failed {
            if let Guard::UserName(name) = guard {
                return AccountWriteError::UserNameTaken(name.to_string());
            }
        }
        for guard in &failed {
            if let Guard::Email(email) = guard {
                return AccountWriteError::EmailTaken(email.to_string());
            }
        }
        AccountWriteError::Store(StoreError::Corrupt(
            "an account's marker no longer names it".to_owned(),
        ))
    }

    fn put(
        &mut self,
        table: &str,
        item: Item,
        condition: Option<Condition>,
        guard: Guard,
    ) -> Result<(), StoreError> {
        let item_key = primary_key(&item);
        self.items.push(transact::put(table, item, condition)?);
        self.guards.push(guard);
        self.keys.push(item_key);
        Ok(())
    }

    fn delete(
        &mut self,
        table: &str,
        item_key: Item,
        condition: Option<Condition>,
        guard: Guard,
    ) -> Result<(), StoreError> {
        self.items
            .push(transact::delete(table, item_key.clone(), condition)?);
        self.guards.push(guard);
        self.keys.push(item_key);
        Ok(())
    }
}

/// The account item.
fn account_item(account: &Account, import: Option<&str>) -> Result<Item, StoreError> {
    let mut item = key(account_pk(account.id), ACCOUNT_SK);
    item.insert("account".to_owned(), s(to_json(account)?));
    item.insert("version".to_owned(), n(account.version));
    tag(&mut item, import);
    Ok(item)
}

/// A user-name or e-mail marker.
fn marker(pk: String, id: AccountId, import: Option<&str>) -> Item {
    let mut item = key(pk, MARKER_SK);
    item.insert(ACCOUNT_ID.to_owned(), s(id.to_string()));
    tag(&mut item, import);
    item
}

/// The account's directory entry.
fn directory_entry(account: &Account, import: Option<&str>) -> Item {
    let mut item = key(
        DIRECTORY_PK.to_owned(),
        directory_sk(&account.user_name, account.id),
    );
    item.insert(ACCOUNT_ID.to_owned(), s(account.id.to_string()));
    item.insert(SEARCH.to_owned(), s(search_text(account)));
    tag(&mut item, import);
    item
}

/// The sort key of the account's expiry entry, if it is due one: not
/// inactive, with an expiry date.
fn expiry_sk(account: &Account) -> Option<String> {
    match (account.state, account.expires_on) {
        (AccountState::Inactive, _) | (_, None) => None,
        (_, Some(day)) => Some(account_expiry_sk(day, account.id)),
    }
}

/// The account's expiry entry, if it is due one.
fn expiry_entry(account: &Account, import: Option<&str>) -> Option<Item> {
    let mut item = key(ACCOUNT_EXPIRY_PK.to_owned(), expiry_sk(account)?);
    item.insert(ACCOUNT_ID.to_owned(), s(account.id.to_string()));
    tag(&mut item, import);
    Some(item)
}

fn tag(item: &mut Item, import: Option<&str>) {
    if let Some(import) = import {
        item.insert(IMPORT_ID.to_owned(), s(import));
    }
}

/// What search looks in, lower-cased: user name, e-mail, first and last name,
/// one per line (none of them can hold a line break, so a match never spans two).
pub(crate) fn search_text(account: &Account) -> String {
    [
        account.user_name.as_str(),
        account.email.as_str(),
        account.first_name.as_str(),
        account.last_name.as_str(),
    ]
    .join("\n")
    .to_lowercase()
}

/// Reads an account item back.
pub(crate) fn read_account(item: &Item) -> Result<Account, StoreError> {
    json(item, "account")
}

/// The account id a marker, directory entry or session holds.
pub(crate) fn holder(item: &Item) -> Result<AccountId, StoreError> {
    uuid::Uuid::parse_str(text(item, ACCOUNT_ID)?)
        .map(AccountId)
        .map_err(|_| corrupt("item", "account_id is not a uuid"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use patron_hub_domain::accounts::{AccountState, Language, PersonName};
    use std::collections::BTreeSet;

    fn sample() -> Account {
        Account {
            id: AccountId::new(),
            user_name: UserName::parse("J.Dupont").unwrap(),
            email: Email::parse("jd@example.org").unwrap(),
            first_name: PersonName::parse("first_name", "Zoé").unwrap(),
            last_name: PersonName::parse("last_name", "Lefèvre").unwrap(),
            department: None,
            department_roles: Vec::new(),
            paid: false,
            state: AccountState::Active,
            expires_on: None,
            network_roles: BTreeSet::new(),
            password_hash: None,
            language: Language::Fr,
            created_at: Utc::now(),
            last_seen_at: None,
            password_changed_at: None,
            version: 1,
        }
    }

    #[test]
    fn the_search_text_is_lower_case_and_line_separated() {
        assert_eq!(
            search_text(&sample()),
            "j.dupont\njd@example.org\nzoé\nlefèvre"
        );
    }

    #[test]
    fn a_creation_writes_four_items_and_names_the_taken_value() {
        let account = sample();
        let mut writes = AccountWrites::default();
        writes.create("t", &account, Some("import-1")).unwrap();
        assert_eq!(writes.items().len(), 4);
        assert_eq!(writes.keys().len(), 4);
        let refused = writes.refusal(&[2], AccountWriteError::VersionConflict);
        assert!(matches!(refused, AccountWriteError::EmailTaken(e) if e == "jd@example.org"));
        let refused = writes.refusal(&[1, 2], AccountWriteError::VersionConflict);
        assert!(matches!(refused, AccountWriteError::UserNameTaken(n) if n == "J.Dupont"));
        let refused = writes.refusal(&[0, 2], AccountWriteError::VersionConflict);
        assert!(matches!(refused, AccountWriteError::VersionConflict));
    }

    /// The sort keys of the expiry entries `writes` puts and deletes.
    fn expiry_writes(writes: &AccountWrites) -> (Vec<String>, Vec<String>) {
        let (mut puts, mut deletes) = (Vec::new(), Vec::new());
        for (item, key) in writes.items().iter().zip(writes.keys()) {
            if text(key, crate::keys::PK).unwrap() != ACCOUNT_EXPIRY_PK {
                continue;
            }
            let sk = text(key, crate::keys::SK).unwrap().to_owned();
            if item.put().is_some() {
                puts.push(sk);
            } else {
                deletes.push(sk);
            }
        }
        (puts, deletes)
    }

    #[test]
    fn the_expiry_entry_follows_the_expiry_date_and_the_state() {
        let day = |d| chrono::NaiveDate::from_ymd_opt(2031, 6, d).unwrap();
        let stored = Account {
            expires_on: Some(day(15)),
            ..sample()
        };
        let entry = |d| account_expiry_sk(day(d), stored.id);
        let mut writes = AccountWrites::default();
        writes.create("t", &stored, Some("import-1")).unwrap();
        assert_eq!(writes.len(), 5);
        assert_eq!(expiry_writes(&writes), (vec![entry(15)], vec![]));

        let steps = [
            (
                Some(day(20)),
                AccountState::Active,
                vec![entry(20)],
                vec![entry(15)],
            ),
            (
                Some(day(15)),
                AccountState::PendingActivation,
                vec![],
                vec![],
            ),
            (
                Some(day(15)),
                AccountState::Inactive,
                vec![],
                vec![entry(15)],
            ),
            (None, AccountState::Active, vec![], vec![entry(15)]),
        ];
        for (expires_on, state, puts, deletes) in steps {
            let next = Account {
                expires_on,
                state,
                version: 2,
                ..stored.clone()
            };
            let mut writes = AccountWrites::default();
            writes.update("t", &stored, &next).unwrap();
            assert_eq!(
                expiry_writes(&writes),
                (puts, deletes),
                "{expires_on:?} {state:?}"
            );
        }
        let inactive = Account {
            state: AccountState::Inactive,
            ..stored.clone()
        };
        let mut writes = AccountWrites::default();
        writes.create("t", &inactive, None).unwrap();
        assert_eq!(writes.len(), 4, "no entry for an inactive account");
        let back = Account {
            state: AccountState::Active,
            version: 2,
            ..inactive.clone()
        };
        let mut writes = AccountWrites::default();
        writes.update("t", &inactive, &back).unwrap();
        assert_eq!(expiry_writes(&writes), (vec![entry(15)], vec![]));
    }

    #[test]
    fn an_update_touches_only_what_changed() {
        let stored = sample();
        let same = Account {
            version: 2,
            ..stored.clone()
        };
        let mut writes = AccountWrites::default();
        writes.update("t", &stored, &same).unwrap();
        assert_eq!(writes.items().len(), 1, "only the account");

        let case_only = Account {
            user_name: UserName::parse("j.DUPONT").unwrap(),
            ..same.clone()
        };
        let mut writes = AccountWrites::default();
        writes.update("t", &stored, &case_only).unwrap();
        assert_eq!(
            writes.items().len(),
            1,
            "the same marker and lower-cased text"
        );

        let renamed_person = Account {
            first_name: PersonName::parse("first_name", "Camille").unwrap(),
            ..same.clone()
        };
        let mut writes = AccountWrites::default();
        writes.update("t", &stored, &renamed_person).unwrap();
        assert_eq!(
            writes.items().len(),
            2,
            "the account and its directory text"
        );

        let moved = Account {
            user_name: UserName::parse("camille").unwrap(),
            email: Email::parse("c@example.org").unwrap(),
            ..same
        };
        let mut writes = AccountWrites::default();
        writes.update("t", &stored, &moved).unwrap();
        assert_eq!(
            writes.items().len(),
            6,
            "account, 2 user-name markers, 2 entries, 1 e-mail marker"
        );
        assert!(matches!(
            writes.refusal(&[1], AccountWriteError::VersionConflict),
            AccountWriteError::Store(StoreError::Corrupt(_))
        ));
    }
}
