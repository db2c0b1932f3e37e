//! Reads, writes and deletes of many items by key (BatchGetItem,
//! BatchWriteItem), with the keys DynamoDB leaves unprocessed under load
//! tried again, and the items or keys of one partition found by Query.

use crate::error::unavailable;
use crate::item::{s, Item};
use crate::keys::{PK, SK};
use crate::AwsStore;
use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest};
use patron_hub_domain::StoreError;
use std::collections::HashSet;
use std::time::Duration;

/// Most keys one BatchGetItem may name.
const GET_LIMIT: usize = 100;
/// Most requests one BatchWriteItem may hold.
const WRITE_LIMIT: usize = 25;
/// Rounds of retrying unprocessed keys before giving up.
const ROUNDS: u32 = 8;

impl AwsStore {
    /// The items at `keys` that exist (strongly consistent), in no order.
    /// Repeated keys are read once.
    pub(crate) async fn get_many(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        for chunk in distinct(keys).chunks(GET_LIMIT) {
            let mut pending = chunk.to_vec();
            for round in 0..ROUNDS {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                let output = self
                    .dynamodb
                    .batch_get_item()
                    .request_items(&*self.table, request)
                    .send()
                    .await
                    .map_err(|e| unavailable("BatchGetItem", e))?;
                if let Some(items) = output.responses.and_then(|mut r| r.remove(&*self.table)) {
                    found.extend(items);
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut left| left.remove(&*self.table))
                    .map(|left| left.keys)
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if round + 1 == ROUNDS {
                    return Err(StoreError::Unavailable(format!(
                        "BatchGetItem left {} keys unprocessed",
                        pending.len()
                    )));
                }
                tokio::time::sleep(backoff(round)).await;
            }
        }
        Ok(found)
    }

    /// Writes `items` whatever is stored under their keys, without
    /// conditions; of items sharing a key, the last one is written.
    pub(crate) async fn put_many(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let requests = last_of_each(items)
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.write_many(requests, "puts").await
    }

    /// Deletes the items at `keys` (absent ones are fine), without conditions.
    pub(crate) async fn delete_many(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        let requests = distinct(keys)
            .into_iter()
            .map(|key| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.write_many(requests, "deletes").await
    }

    /// Sends `requests` (no key twice) in BatchWriteItems of at most 25,
    /// trying again what DynamoDB leaves unprocessed under load.
    async fn write_many(
        &self,
        requests: Vec<WriteRequest>,
        what: &'static str,
    ) -> Result<(), StoreError> {
        for chunk in requests.chunks(WRITE_LIMIT) {
            let mut pending = chunk.to_vec();
            for round in 0..ROUNDS {
                let output = self
                    .dynamodb
                    .batch_write_item()
                    .request_items(&*self.table, pending)
                    .send()
                    .await
                    .map_err(|e| unavailable("BatchWriteItem", e))?;
                pending = output
                    .unprocessed_items
                    .and_then(|mut left| left.remove(&*self.table))
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if round + 1 == ROUNDS {
                    return Err(StoreError::Unavailable(format!(
                        "BatchWriteItem left {} {what} unprocessed",
                        pending.len()
                    )));
                }
                tokio::time::sleep(backoff(round)).await;
            }
        }
        Ok(())
    }

    /// The items of partition `pk` whose sort key starts with `prefix`, whole.
    pub(crate) async fn items_starting(
        &self,
        operation: &'static str,
        pk: String,
        prefix: &str,
    ) -> Result<Vec<Item>, StoreError> {
        self.dynamodb
            .query()
            .table_name(&*self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| unavailable(operation, e))
    }

    /// Every item of partition `pk`, in sort-key order: one strongly
    /// consistent Query (paged only past 1 MB).
    pub(crate) async fn items_under(
        &self,
        operation: &'static str,
        pk: String,
    ) -> Result<Vec<Item>, StoreError> {
        self.dynamodb
            .query()
            .table_name(&*self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| unavailable(operation, e))
    }
}

/// `keys` without repeats (DynamoDB refuses a batch naming one key twice).
fn distinct(keys: Vec<Item>) -> Vec<Item> {
    let mut seen = HashSet::new();
    keys.into_iter()
        .filter(|key| {
            let pk = key.get(PK).and_then(|v| v.as_s().ok()).cloned();
            let sk = key.get(SK).and_then(|v| v.as_s().ok()).cloned();
            seen.insert((pk, sk))
        })
        .collect()
}

/// `items` without repeated keys, each key's last item kept, in the order
/// those come.
fn last_of_each(items: Vec<Item>) -> Vec<Item> {
    let mut latest = distinct(items.into_iter().rev().collect());
    latest.reverse();
    latest
}

/// The pause before retrying unprocessed keys: 25 ms, doubling, at most 1.6 s.
fn backoff(round: u32) -> Duration {
    Duration::from_millis(25 << round.min(6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{key, text};

    #[test]
    fn repeated_keys_are_asked_once_in_first_seen_order() {
        let keys = vec![
            key("A".to_owned(), "1"),
            key("B".to_owned(), "1"),
            key("A".to_owned(), "1"),
            key("A".to_owned(), "2"),
        ];
        let kept = distinct(keys);
        let pairs: Vec<(String, String)> = kept
            .iter()
            .map(|k| {
                (
                    text(k, PK).unwrap().to_owned(),
                    text(k, SK).unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            pairs,
            [("A", "1"), ("B", "1"), ("A", "2")].map(|(p, s)| (p.to_owned(), s.to_owned()))
        );
    }

    #[test]
    fn of_items_sharing_a_key_the_last_is_written() {
        let item = |pk: &str, value: &str| {
            let mut item = key(pk.to_owned(), "1");
            item.insert("v".to_owned(), s(value));
            item
        };
        let kept = last_of_each(vec![
            item("A", "first"),
            item("B", "only"),
            item("A", "second"),
        ]);
        let values: Vec<(&str, &str)> = kept
            .iter()
            .map(|k| (text(k, PK).unwrap(), text(k, "v").unwrap()))
            .collect();
        assert_eq!(values, [("B", "only"), ("A", "second")]);
    }
}
