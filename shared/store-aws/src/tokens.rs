//! Single-use tokens on DynamoDB, kept only as their SHA-256:
//! - the token (`TOKEN#{hash}` / `TOKEN`): the record as JSON, `valid_until`
//!   (nanoseconds) and the TTL `expires_at`;
//! - an index entry in its account's partition (`ACCOUNT#{id}` / `TOKEN#{hash}`),
//!   written in the same transaction, so that `revoke_all` is one Query; it
//!   names the token's expiry entry (`due`);
//! - an expiry entry (`DUE#TOKEN_EXPIRY` / `{expires_at}#{hash}`) with
//!   `account_id` and `hash`, written in the same transaction, so that
//!   `purge_expired` is one Query of the tokens expired before a time. It has
//!   the token's TTL, so that DynamoDB drops both together.
//!
//! A use is one DeleteItem conditioned on the token existing and not having
//! expired (TTL deletion is lazy, so the time is checked here), returning the
//! deleted record: two concurrent uses cannot both get it. Its index and
//! expiry entries are deleted right after (a transaction cannot return the
//! deleted record); one left behind by a failure there only names a token that
//! is gone, and its TTL removes it.

use crate::account_items::{holder, ACCOUNT_ID};
use crate::error::{conditional, corrupt};
use crate::item::{json, key, n, s, text, to_json, Item};
use crate::keys::{
    account_pk, epoch_seconds, nanos, time_key, token_expiry_sk, token_key, EXPIRES_AT, SK,
    TOKEN_EXPIRY_PK, TOKEN_PREFIX, TOKEN_SK,
};
use crate::transact::{self, Condition, Outcome, ABSENT};
use crate::AwsStore;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use patron_hub_domain::accounts::{AccountId, TokenHash, TokenRecord, TokenStore};
use patron_hub_domain::StoreError;

/// The attribute of an index entry naming the sort key of the token's expiry entry.
const DUE: &str = "due";
/// The attribute of an expiry entry holding the token's hash.
const HASH: &str = "hash";

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
        let due_sk = token_expiry_sk(token.expires_at, &token.hash);
        let mut entry = index_key(token.account_id, &token.hash);
        entry.insert(EXPIRES_AT.to_owned(), ttl.clone());
        entry.insert(DUE.to_owned(), s(&due_sk));
        let mut due = key(TOKEN_EXPIRY_PK.to_owned(), due_sk);
        due.extend([
            (ACCOUNT_ID.to_owned(), s(token.account_id.to_string())),
            (HASH.to_owned(), s(token.hash.as_str())),
            (EXPIRES_AT.to_owned(), ttl),
        ]);
        let writes = vec![
            transact::put(&self.table, item, Some(Condition::new(ABSENT)))?,
            transact::put(&self.table, entry, None)?,
            transact::put(&self.table, due, None)?,
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
        // The token is used up: a leftover entry would only make a later
        // revoke_all or purge delete nothing, and its TTL removes it.
        let entries = vec![index_key(record.account_id, &record.hash), due_key(&record)];
        if let Err(error) = self.delete_many(entries).await {
            tracing::warn!(%error, account_id = %record.account_id, "token entries left behind");
        }
        Ok(Some(record))
    }

    async fn find(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let Some(item) = self
            .get_item("GetItem token", key(token_key(hash), TOKEN_SK))
            .await?
        else {
            return Ok(None);
        };
        let record: TokenRecord = json(&item, "token")?;
        // TTL removes expired items only eventually: the expiry decides.
        Ok((record.expires_at > now).then_some(record))
    }

    async fn revoke_all(&self, account_id: AccountId) -> Result<(), StoreError> {
        let pk = account_pk(account_id);
        let entries = self
            .items_starting("Query account tokens", pk.clone(), TOKEN_PREFIX)
            .await?;
        let mut keys = Vec::with_capacity(entries.len() * 3);
        for entry in entries {
            let token = text(&entry, SK)?.to_owned();
            if let Some(AttributeValue::S(due)) = entry.get(DUE) {
                keys.push(key(TOKEN_EXPIRY_PK.to_owned(), due.clone()));
            }
            keys.push(key(token.clone(), TOKEN_SK));
            keys.push(key(pk.clone(), token));
        }
        self.delete_many(keys).await
    }

    async fn purge_expired(&self, now: DateTime<Utc>, dry_run: bool) -> Result<u64, StoreError> {
        // Entries sort by expiry: those before `now`'s key expired before now.
        let expired = self
            .due_items(
                "Query token expiry index",
                TOKEN_EXPIRY_PK,
                time_key(now),
                usize::MAX,
                |entry| Ok(Some(entry)),
            )
            .await?;
        let count = expired.len() as u64;
        if dry_run || expired.is_empty() {
            return Ok(count);
        }
        let mut keys = Vec::with_capacity(expired.len() * 3);
        for entry in &expired {
            let hash = TokenHash(text(entry, HASH)?.to_owned());
            keys.push(key(token_key(&hash), TOKEN_SK));
            keys.push(index_key(holder(entry)?, &hash));
            keys.push(key(TOKEN_EXPIRY_PK.to_owned(), text(entry, SK)?));
        }
        self.delete_many(keys).await?;
        Ok(count)
    }
}

/// The key of a token's expiry entry.
fn due_key(token: &TokenRecord) -> Item {
    key(
        TOKEN_EXPIRY_PK.to_owned(),
        token_expiry_sk(token.expires_at, &token.hash),
    )
}

/// The key of a token's entry in its account's index.
fn index_key(account_id: AccountId, hash: &TokenHash) -> Item {
    key(account_pk(account_id), token_key(hash))
}
