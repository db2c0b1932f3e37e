//! The account store on DynamoDB: every write is one transaction of the
//! account with its markers and directory entry (see `account_items`), every
//! lookup by user name or e-mail is two GetItems (marker, then account),
//! `taken` is one BatchGetItem of markers, and `expired_on` one Query of the
//! expiry index then one BatchGetItem of the accounts it names.

use crate::account_items::{holder, read_account, AccountWrites};
use crate::error::unavailable;
use crate::item::{key, text, Item};
use crate::keys::{
    account_pk, day_key, email_pk, user_name_pk, ACCOUNT_EXPIRY_PK, ACCOUNT_SK, MARKER_SK, PK,
};
use crate::transact::Outcome;
use crate::AwsStore;
use async_trait::async_trait;
use chrono::NaiveDate;
use patron_hub_domain::accounts::{
    Account, AccountId, AccountState, AccountStore, AccountWriteError, Email, UserName,
};
use patron_hub_domain::StoreError;
use std::collections::{HashMap, HashSet};

#[async_trait]
impl AccountStore for AwsStore {
    async fn create(&self, account: &Account) -> Result<(), AccountWriteError> {
        let mut writes = AccountWrites::default();
        writes.create(&self.table, account, None)?;
        match self
            .transact("TransactWriteItems account", writes.items())
            .await?
        {
            Outcome::Written => Ok(()),
            Outcome::Refused(failed) => Err(writes.refusal(
                &failed,
                StoreError::Unavailable(format!("account {} already exists", account.id)).into(),
            )),
        }
    }

    async fn create_all(&self, accounts: &[Account]) -> Result<(), AccountWriteError> {
        self.import_accounts(accounts).await
    }

    async fn update(&self, account: &Account) -> Result<(), AccountWriteError> {
        let stored = self
            .get(account.id)
            .await?
            .ok_or(AccountWriteError::NotFound)?;
        if stored.version.checked_add(1) != Some(account.version) {
            return Err(AccountWriteError::VersionConflict);
        }
        let mut writes = AccountWrites::default();
        writes.update(&self.table, &stored, account)?;
        match self
            .transact("TransactWriteItems account update", writes.items())
            .await?
        {
            Outcome::Written => Ok(()),
            Outcome::Refused(failed) => {
                Err(writes.refusal(&failed, AccountWriteError::VersionConflict))
            }
        }
    }

    async fn get(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.get_item("GetItem account", key(account_pk(id), ACCOUNT_SK))
            .await?
            .map(|item| read_account(&item))
            .transpose()
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<Account>, StoreError> {
        let Some(id) = self.marker_holder(email_pk(email)).await? else {
            return Ok(None);
        };
        // A former e-mail stays reserved by its account but is no longer its e-mail.
        Ok(self
            .get(id)
            .await?
            .filter(|account| account.email == *email))
    }

    async fn find_by_user_name(&self, user_name: &UserName) -> Result<Option<Account>, StoreError> {
        match self.marker_holder(user_name_pk(user_name)).await? {
            Some(id) => self.get(id).await,
            None => Ok(None),
        }
    }

    async fn taken(
        &self,
        user_names: &[UserName],
        emails: &[Email],
    ) -> Result<(Vec<UserName>, Vec<Email>), StoreError> {
        let keys = user_names
            .iter()
            .map(user_name_pk)
            .chain(emails.iter().map(email_pk))
            .map(|pk| key(pk, MARKER_SK))
            .collect();
        let found: HashSet<String> = self
            .get_many(keys)
            .await?
            .iter()
            .map(|item| text(item, PK).map(str::to_owned))
            .collect::<Result<_, _>>()?;
        let mut reported = HashSet::new();
        let names = user_names
            .iter()
            .filter(|name| {
                found.contains(&user_name_pk(name)) && reported.insert(user_name_pk(name))
            })
            .cloned()
            .collect();
        let emails = emails
            .iter()
            .filter(|email| found.contains(&email_pk(email)) && reported.insert(email_pk(email)))
            .cloned()
            .collect();
        Ok((names, emails))
    }

    async fn search(&self, text: &str, limit: usize) -> Result<Vec<Account>, StoreError> {
        self.search_directory(text, limit).await
    }

    async fn expired_on(&self, today: NaiveDate, limit: usize) -> Result<Vec<Account>, StoreError> {
        // Entries sort by expiry date: those before `today`'s first key expired
        // before today.
        let ids: Vec<AccountId> = self
            .due_items(
                "Query account expiry index",
                ACCOUNT_EXPIRY_PK,
                day_key(today),
                limit,
                |entry| holder(&entry).map(Some),
            )
            .await?;
        // An account changed since its entry was read is left to the next run.
        Ok(self
            .accounts_by_id(&ids)
            .await?
            .into_iter()
            .filter(|account| {
                account.state != AccountState::Inactive
                    && account.expires_on.is_some_and(|day| day < today)
            })
            .collect())
    }
}

impl AwsStore {
    /// The accounts `ids` name, in that order, read in batches; an id whose
    /// account is gone is left out.
    pub(crate) async fn accounts_by_id(
        &self,
        ids: &[AccountId],
    ) -> Result<Vec<Account>, StoreError> {
        let keys = ids
            .iter()
            .map(|id| key(account_pk(*id), ACCOUNT_SK))
            .collect();
        let mut accounts: HashMap<AccountId, Account> = self
            .get_many(keys)
            .await?
            .iter()
            .map(|item| read_account(item).map(|account| (account.id, account)))
            .collect::<Result<_, _>>()?;
        Ok(ids.iter().filter_map(|id| accounts.remove(id)).collect())
    }

    /// One item by key, strongly consistent.
    pub(crate) async fn get_item(
        &self,
        operation: &'static str,
        item_key: Item,
    ) -> Result<Option<Item>, StoreError> {
        let output = self
            .dynamodb
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(item_key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable(operation, e))?;
        Ok(output.item)
    }

    /// The account a user-name or e-mail marker names, if the marker exists.
    async fn marker_holder(&self, pk: String) -> Result<Option<AccountId>, StoreError> {
        self.get_item("GetItem marker", key(pk, MARKER_SK))
            .await?
            .map(|item| holder(&item))
            .transpose()
    }
}
