//! The table read back raw through the SDK, as the crate doc lays it out.

#![allow(dead_code)] // each test file uses its own part of this module

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

use crate::support::Fixture;

/// One item as stored.
pub type Item = HashMap<String, AttributeValue>;

/// A string attribute value.
pub fn text(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// A number attribute value.
pub fn number(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The item at `pk`/`sk`, if any.
pub async fn item(fixture: &Fixture, pk: &str, sk: &str) -> Option<Item> {
    fixture
        .dynamodb
        .get_item()
        .table_name(&fixture.table)
        .key("pk", text(pk))
        .key("sk", text(sk))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem on moto")
        .item
}

/// Every item of one partition, in sort-key order.
pub async fn partition(fixture: &Fixture, pk: &str) -> Vec<Item> {
    fixture
        .dynamodb
        .query()
        .table_name(&fixture.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", text(pk))
        .consistent_read(true)
        .send()
        .await
        .expect("Query on moto")
        .items
        .unwrap_or_default()
}

/// The sort keys of one partition, in order.
pub async fn sort_keys(fixture: &Fixture, pk: &str) -> Vec<String> {
    partition(fixture, pk)
        .await
        .iter()
        .map(|item| match item.get("sk") {
            Some(AttributeValue::S(sk)) => sk.clone(),
            other => panic!("no sort key: {other:?}"),
        })
        .collect()
}
