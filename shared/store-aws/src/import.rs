//! Bulk import beyond one transaction: all or nothing by a staged write with a
//! compensating rollback.
//!
//! The accounts are written in order, as many per TransactWriteItems as fit in
//! its 100 actions (4 items each, 5 with an expiry date: 25 or 20 accounts),
//! every item tagged with this import's id. A chunk that
//! is refused (a user name or e-mail taken meanwhile by another writer) or that
//! fails deletes every item the import wrote, each with the condition
//! `import_id = :this_import` so that nothing another writer owns is touched,
//! and then the refusal is returned. A chunk whose outcome is unknown (the call
//! failed without an answer) is rolled back too: its deletes are harmless if
//! it was never written.
//!
//! What this cannot hide: while an import runs, its first accounts are visible
//! (they cannot log in yet: they have no password and their invitations are
//! mailed only after the import succeeded), and a rollback that itself fails
//! leaves items tagged with the import id, reported as an error and logged.

use crate::account_items::{AccountWrites, IMPORT_ID};
use crate::error::conditional;
use crate::item::{s, Item};
use crate::transact::Outcome;
use crate::AwsStore;
use futures::{stream, StreamExt};
use patron_hub_domain::accounts::{Account, AccountWriteError};
use patron_hub_domain::StoreError;
use std::collections::HashSet;

/// The most writes one TransactWriteItems may hold.
const MAX_TRANSACTION_ITEMS: usize = 100;
/// Deletes of a rollback in flight at once.
const ROLLBACK_CONCURRENCY: usize = 16;
/// Passes over the items a rollback could not delete yet.
const ROLLBACK_PASSES: usize = 3;

impl AwsStore {
    /// Creates every account or none (see the module doc).
    pub(crate) async fn import_accounts(
        &self,
        accounts: &[Account],
    ) -> Result<(), AccountWriteError> {
        refuse_clashes(accounts)?;
        let import = uuid::Uuid::new_v4().to_string();
        let mut written: Vec<Item> = Vec::new();
        for writes in transactions(&self.table, accounts, &import)? {
            let failure = match self
                .transact("TransactWriteItems import", writes.items())
                .await
            {
                Ok(Outcome::Written) => {
                    written.extend_from_slice(writes.keys());
                    continue;
                }
                Ok(Outcome::Refused(failed)) => writes.refusal(
                    &failed,
                    StoreError::Unavailable("an imported account id already exists".to_owned())
                        .into(),
                ),
                Err(error) => {
                    written.extend_from_slice(writes.keys());
                    error.into()
                }
            };
            return Err(self.roll_back(&import, written, failure).await);
        }
        Ok(())
    }

    /// Deletes what the import `import` wrote at `keys`, then answers `failure`,
    /// or a storage error if some items could not be deleted.
    async fn roll_back(
        &self,
        import: &str,
        keys: Vec<Item>,
        failure: AccountWriteError,
    ) -> AccountWriteError {
        let mut left = keys;
        for _ in 0..ROLLBACK_PASSES {
            if left.is_empty() {
                break;
            }
            left = stream::iter(left)
                .map(|key| async move {
                    match self.delete_if_imported(import, key.clone()).await {
                        Ok(()) => None,
                        Err(_) => Some(key),
                    }
                })
                .buffer_unordered(ROLLBACK_CONCURRENCY)
                .filter_map(|kept| async move { kept })
                .collect()
                .await;
        }
        if left.is_empty() {
            tracing::info!(import, "bulk import refused and rolled back");
            return failure;
        }
        tracing::error!(
            import,
            items = left.len(),
            "bulk import rolled back only in part"
        );
        AccountWriteError::Store(StoreError::Unavailable(format!(
            "the import failed and {} of its items could not be removed (items tagged import_id {import})",
            left.len()
        )))
    }

    /// Deletes the item at `key` if this import wrote it (else leaves it).
    async fn delete_if_imported(&self, import: &str, key: Item) -> Result<(), StoreError> {
        let delete = self
            .dynamodb
            .delete_item()
            .table_name(&*self.table)
            .set_key(Some(key))
            .condition_expression("#import = :import")
            .expression_attribute_names("#import", IMPORT_ID)
            .expression_attribute_values(":import", s(import))
            .send()
            .await;
        conditional("DeleteItem import rollback", delete)?;
        Ok(())
    }
}

/// The creations of `accounts` in order, grouped into transactions of at
/// most [`MAX_TRANSACTION_ITEMS`] writes, never splitting an account.
fn transactions(
    table: &str,
    accounts: &[Account],
    import: &str,
) -> Result<Vec<AccountWrites>, StoreError> {
    let mut transactions = Vec::new();
    let mut current = AccountWrites::default();
    for account in accounts {
        let mut writes = AccountWrites::default();
        writes.create(table, account, Some(import))?;
        if current.len() + writes.len() > MAX_TRANSACTION_ITEMS {
            transactions.push(std::mem::take(&mut current));
        }
        current.append(writes);
    }
    if current.len() > 0 {
        transactions.push(current);
    }
    Ok(transactions)
}

/// Refuses, before writing anything, accounts that share a user name (in any
/// case) or an e-mail among themselves.
fn refuse_clashes(accounts: &[Account]) -> Result<(), AccountWriteError> {
    let mut names = HashSet::new();
    let mut emails = HashSet::new();
    for account in accounts {
        if !names.insert(account.user_name.key()) {
            return Err(AccountWriteError::UserNameTaken(
                account.user_name.to_string(),
            ));
        }
        if !emails.insert(account.email.clone()) {
            return Err(AccountWriteError::EmailTaken(account.email.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};
    use patron_hub_domain::accounts::{
        AccountId, AccountState, Email, Language, PersonName, UserName,
    };
    use std::collections::BTreeSet;

    fn account(i: usize, expires: bool) -> Account {
        Account {
            id: AccountId::new(),
            user_name: UserName::parse(&format!("imp{i}")).unwrap(),
            email: Email::parse(&format!("imp{i}@example.org")).unwrap(),
            first_name: PersonName::parse("first_name", "Anne").unwrap(),
            last_name: PersonName::parse("last_name", "Import").unwrap(),
            department: None,
            department_roles: Vec::new(),
            paid: false,
            state: AccountState::Active,
            expires_on: expires.then(|| NaiveDate::from_ymd_opt(2031, 6, 30).unwrap()),
            network_roles: BTreeSet::new(),
            password_hash: None,
            language: Language::Fr,
            created_at: Utc::now(),
            last_seen_at: None,
            password_changed_at: None,
            version: 1,
        }
    }

    fn sizes(accounts: &[Account]) -> Vec<usize> {
        transactions("t", accounts, "import-1")
            .unwrap()
            .iter()
            .map(AccountWrites::len)
            .collect()
    }

    #[test]
    fn transactions_fill_up_to_100_writes_without_splitting_an_account() {
        let plain: Vec<Account> = (0..60).map(|i| account(i, false)).collect();
        assert_eq!(sizes(&plain), [100, 100, 40]);
        let expiring: Vec<Account> = (0..45).map(|i| account(i, true)).collect();
        assert_eq!(sizes(&expiring), [100, 100, 25]);
        let mixed: Vec<Account> = (0..30).map(|i| account(i, i % 2 == 0)).collect();
        assert_eq!(sizes(&mixed), [99, 36], "22 accounts, then 8");
        assert!(sizes(&[]).is_empty());
    }
}
