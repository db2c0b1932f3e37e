//! Single-use tokens on DynamoDB, kept only as their SHA-256:
//! - the token (`TOKEN#{hash}` / `TOKEN`): the record as JSON, `valid_until`
//!   (nanoseconds) and the TTL `expires_at`;
//! - an index entry in its account's partition (`ACCOUNT#{id}` / `TOKEN#{hash}`),
//!   written in the same transaction, so that `revoke_all` is one Query.
//!
//! A use is one DeleteItem conditioned on the token existing and not having
//! expired (TTL deletion is lazy, so the time is checked here), returning the
//! deleted record: two concurrent uses cannot both get it.

use crate::error::{conditional, corrupt};
use crate::item::{json, key, n, s, text, to_json, Item};
use crate::keys::{
    account_pk, epoch_seconds, nanos, token_key, EXPIRES_AT, SK, TOKEN_PREFIX, TOKEN_SK,
};
use crate::transact::{self, Condition, Outcome, ABSENT};
use crate::AwsStore;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};
use patron_hub_domain::accounts::{AccountId, TokenHash, TokenRecord, TokenStore};
use patron_hub_domain::StoreError;

#[async_trait]
impl TokenStore for AwsStore {
    async fn issue(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let ttl = n(epoch_seconds(token.expires_at));
        let mut item = key(token_key(&token.hash), TOKEN_SK);
        item.extend([
            ("token".to_owned(), s(to_json(token)?)),
            ("valid_until".to_owned(), n(nanos(token.expires_at))),
            (EXPIRES_AT.to_owned(), ttl.clone()),
        ]);
        let mut entry = index_key(token.account_id, &token.hash);
        entry.insert(EXPIRES_AT.to_owned(), ttl);
        let writes = vec![
            transact::put(&self.table, item, Some(Condition::new(ABSENT)))?,
            transact::put(&self.table, entry, None)?,
        ];
        match self.transact("TransactWriteItems token", writes).await? {
            Outcome::Written => Ok(()),
            Outcome::Refused(_) => Err(StoreError::Unavailable(
                "a token with this hash is already outstanding".to_owned(),
            )),
        }
    }

    async fn consume(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let delete = self
            .dynamodb
            .delete_item()
            .table_name(&*self.table)
            .set_key(Some(key(token_key(hash), TOKEN_SK)))
            .condition_expression("attribute_exists(pk) AND valid_until > :now")
            .expression_attribute_values(":now", n(nanos(now)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let Some(deleted) = conditional("DeleteItem token", delete)? else {
            return Ok(None);
        };
        let old = deleted
            .attributes
            .ok_or_else(|| corrupt("token", "the deleted token came back empty"))?;
        let record: TokenRecord = json(&old, "token")?;
        // The token is used up: a leftover index entry would only make a later
        // revoke_all delete nothing, and its TTL removes it.
        if let Err(error) = self
            .delete_many(vec![index_key(record.account_id, &record.hash)])
            .await
        {
            tracing::warn!(%error, account_id = %record.account_id, "token index entry left behind");
        }
        Ok(Some(record))
    }

    async fn revoke_all(&self, account_id: AccountId) -> Result<(), StoreError> {
        let entries = self
            .keys_under(account_pk(account_id), TOKEN_PREFIX)
            .await?;
        let mut keys = Vec::with_capacity(entries.len() * 2);
        for entry in entries {
            let token = text(&entry, SK)?.to_owned();
            keys.push(key(token, TOKEN_SK));
            keys.push(entry);
        }
        self.delete_many(keys).await
    }
}

/// The key of a token's entry in its account's index.
fn index_key(account_id: AccountId, hash: &TokenHash) -> Item {
    key(account_pk(account_id), token_key(hash))
}
