//! Bulk import beyond one transaction: all or nothing by a staged write with a
//! compensating rollback.
//!
//! The accounts are written in order, 25 per TransactWriteItems (4 items each:
//! the 100-action limit), every item tagged with this import's id. A chunk that
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

/// Accounts per transaction: 4 items each, DynamoDB takes at most 100.
const ACCOUNTS_PER_TRANSACTION: usize = 25;
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
        for chunk in accounts.chunks(ACCOUNTS_PER_TRANSACTION) {
            let mut writes = AccountWrites::default();
            for account in chunk {
                writes.create(&self.table, account, Some(&import))?;
            }
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
