//! Account search without Scan: one Query on the directory partition
//! (`ACCOUNTS`, one small entry per account, sorted by user name) with a
//! `contains` filter on the lower-cased text, stopped as soon as `limit`
//! entries matched, then one BatchGetItem of those accounts.
//!
//! Cost: DynamoDB bills a filtered Query for every entry it reads, matching or
//! not, so one search reads up to the whole directory: about 180 bytes per
//! account, i.e. at most some 45 read units (strongly consistent, 4 KB each) per
//! 1,000 accounts, and less when `limit` matches come early. That suits a staff search
//! over tens of thousands of accounts. Far beyond, or for ranked or fuzzy
//! search, an index outside DynamoDB (OpenSearch fed by a stream) would be the
//! next step; prefix search alone could instead use `begins_with` on the sort key.

use crate::account_items::{holder, SEARCH};
use crate::error::unavailable;
use crate::item::s;
use crate::keys::DIRECTORY_PK;
use crate::AwsStore;
use patron_hub_domain::accounts::{Account, AccountId};
use patron_hub_domain::StoreError;

impl AwsStore {
    /// Accounts whose user name, e-mail or names contain `text` whatever its
    /// case, at most `limit`, in user-name order.
    pub(crate) async fn search_directory(
        &self,
        text: &str,
        limit: usize,
    ) -> Result<Vec<Account>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let needle = text.to_lowercase();
        let mut query = self
            .dynamodb
            .query()
            .table_name(&*self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(DIRECTORY_PK))
            .projection_expression("account_id")
            .consistent_read(true);
        if !needle.is_empty() {
            query = query
                .filter_expression("contains(#search, :needle)")
                .expression_attribute_names("#search", SEARCH)
                .expression_attribute_values(":needle", s(needle));
        }
        let mut entries = query.into_paginator().items().send();
        let mut ids: Vec<AccountId> = Vec::new();
        while ids.len() < limit {
            match entries.next().await {
                Some(entry) => ids.push(holder(
                    &entry.map_err(|e| unavailable("Query directory", e))?,
                )?),
                None => break,
            }
        }
        self.accounts_by_id(&ids).await
    }
}
