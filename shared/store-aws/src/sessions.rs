//! Login sessions on DynamoDB, kept only as the SHA-256 of their token:
//! - the session (`SESSION#{hash}` / `SESSION`): `account_id`, `created_at`
//!   and `last_used_at` (nanoseconds), TTL `expires_at` at the absolute
//!   timeout ([`AwsStore::with_session_lifetime`]);
//! - an index entry in its account's partition (`ACCOUNT#{id}` /
//!   `SESSION#{hash}`), written in the same transaction, so that ending every
//!   session of an account is one Query; it names the session's start entry
//!   (`due`);
//! - a start entry (`DUE#SESSION_START` / `{created_at}#{hash}`) with
//!   `account_id` and `hash`, written in the same transaction, so that the
//!   daily purge of the sessions started before a time is one Query.
//!
//! The timeouts themselves are the domain's: it reads both times back and
//! compares them with its clock (TTL deletion is lazy). Every item of a
//! session has its TTL, so DynamoDB drops them together.

use crate::account_items::{holder, ACCOUNT_ID};
use crate::error::{conditional, unavailable};
use crate::item::{key, n, nanos_time, s, text, Item};
use crate::keys::{
    account_pk, epoch_seconds, later, nanos, session_key, session_start_sk, time_key, EXPIRES_AT,
    SESSION_PREFIX, SESSION_SK, SESSION_START_PK, SK,
};
use crate::transact::{self, Condition, Outcome, ABSENT};
use crate::AwsStore;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use patron_hub_domain::accounts::{AccountId, SessionRecord, SessionStore, TokenHash};
use patron_hub_domain::StoreError;
use std::time::Duration;

/// The absolute session timeout of the defaults (8 hours).
pub(crate) const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);

impl AwsStore {
    /// This store with sessions purged by TTL `lifetime` after they started.
    /// Give it the configured absolute session timeout (default 8 hours): a
    /// shorter lifetime would let TTL delete sessions still valid.
    pub fn with_session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = lifetime;
        self
    }
}

#[async_trait]
impl SessionStore for AwsStore {
    async fn create(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let ttl = n(epoch_seconds(later(
            session.created_at,
            self.session_lifetime,
        )));
        let mut item = key(session_key(&session.hash), SESSION_SK);
        item.extend([
            (ACCOUNT_ID.to_owned(), s(session.account_id.to_string())),
            ("created_at".to_owned(), n(nanos(session.created_at))),
            ("last_used_at".to_owned(), n(nanos(session.last_used_at))),
            (EXPIRES_AT.to_owned(), ttl.clone()),
        ]);
        let due_sk = session_start_sk(session.created_at, &session.hash);
        let mut entry = index_key(session.account_id, &session.hash);
        entry.insert(EXPIRES_AT.to_owned(), ttl.clone());
        entry.insert(DUE.to_owned(), s(&due_sk));
        let mut due = key(SESSION_START_PK.to_owned(), due_sk);
        due.extend([
            (ACCOUNT_ID.to_owned(), s(session.account_id.to_string())),
            (HASH.to_owned(), s(session.hash.as_str())),
            (EXPIRES_AT.to_owned(), ttl),
        ]);
        let writes = vec![
            transact::put(&self.table, item, Some(Condition::new(ABSENT)))?,
            transact::put(&self.table, entry, None)?,
            transact::put(&self.table, due, None)?,
        ];
        match self.transact("TransactWriteItems session", writes).await? {
            Outcome::Written => Ok(()),
            Outcome::Refused(_) => Err(StoreError::Unavailable(
                "a session with this hash already exists".to_owned(),
            )),
        }
    }

    async fn get(&self, hash: &TokenHash) -> Result<Option<SessionRecord>, StoreError> {
        self.get_item("GetItem session", key(session_key(hash), SESSION_SK))
            .await?
            .map(|item| read_session(hash, &item))
            .transpose()
    }

    async fn touch(&self, hash: &TokenHash, at: DateTime<Utc>) -> Result<(), StoreError> {
        // Never recreates an ended session, never moves its last use back.
        let update = self
            .dynamodb
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(key(session_key(hash), SESSION_SK)))
            .update_expression("SET last_used_at = :at")
            .condition_expression("attribute_exists(pk) AND last_used_at < :at")
            .expression_attribute_values(":at", n(nanos(at)))
            .send()
            .await;
        conditional("UpdateItem session", update)?;
        Ok(())
    }

    async fn delete(&self, hash: &TokenHash) -> Result<(), StoreError> {
        let delete = self
            .dynamodb
            .delete_item()
            .table_name(&*self.table)
            .set_key(Some(key(session_key(hash), SESSION_SK)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| unavailable("DeleteItem session", e))?;
        if let Some(old) = delete.attributes {
            let session = read_session(hash, &old)?;
            self.delete_many(vec![
                index_key(session.account_id, hash),
                start_key(session.created_at, hash),
            ])
            .await?;
        }
        Ok(())
    }

    async fn delete_all(&self, account_id: AccountId) -> Result<(), StoreError> {
        let pk = account_pk(account_id);
        let entries = self
            .items_starting("Query account sessions", pk.clone(), SESSION_PREFIX)
            .await?;
        let mut keys = Vec::with_capacity(entries.len() * 3);
        for entry in entries {
            let session = text(&entry, SK)?.to_owned();
            if let Some(AttributeValue::S(due)) = entry.get(DUE) {
                keys.push(key(SESSION_START_PK.to_owned(), due.clone()));
            }
            keys.push(key(session.clone(), SESSION_SK));
            keys.push(key(pk.clone(), session));
        }
        self.delete_many(keys).await
    }

    async fn purge_started_before(
        &self,
        cutoff: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<u64, StoreError> {
        // Entries sort by start: those before `cutoff`'s key started before it.
        let started = self
            .due_items(
                "Query session start index",
                SESSION_START_PK,
                time_key(cutoff),
                usize::MAX,
                |entry| Ok(Some(entry)),
            )
            .await?;
        let count = started.len() as u64;
        if dry_run || started.is_empty() {
            return Ok(count);
        }
        let mut keys = Vec::with_capacity(started.len() * 3);
        for entry in &started {
            let hash = TokenHash(text(entry, HASH)?.to_owned());
            keys.push(key(session_key(&hash), SESSION_SK));
            keys.push(index_key(holder(entry)?, &hash));
            keys.push(key(SESSION_START_PK.to_owned(), text(entry, SK)?));
        }
        self.delete_many(keys).await?;
        Ok(count)
    }
}

/// The key of a session's entry in its account's index.
fn index_key(account_id: AccountId, hash: &TokenHash) -> Item {
    key(account_pk(account_id), session_key(hash))
}

/// The key of a session's entry in the start index.
fn start_key(created_at: DateTime<Utc>, hash: &TokenHash) -> Item {
    key(
        SESSION_START_PK.to_owned(),
        session_start_sk(created_at, hash),
    )
}

/// The attribute of an index entry naming the sort key of the session's start entry.
const DUE: &str = "due";
/// The attribute of a start entry holding the session's hash.
const HASH: &str = "hash";

fn read_session(hash: &TokenHash, item: &Item) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        hash: hash.clone(),
        account_id: holder(item)?,
        created_at: nanos_time(item, "created_at")?,
        last_used_at: nanos_time(item, "last_used_at")?,
    })
}
