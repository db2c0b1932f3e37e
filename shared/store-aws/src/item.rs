//! Small helpers to build and read DynamoDB items.

use crate::error::{corrupt, json_error};
use crate::keys::{from_nanos, parse_time, PK, SK};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use patron_hub_domain::StoreError;
use std::collections::HashMap;
use std::str::FromStr;

/// One DynamoDB item.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The primary key of one item.
pub(crate) fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// The primary key (`pk`, `sk`) of an item.
pub(crate) fn primary_key(item: &Item) -> Item {
    item.iter()
        .filter(|(name, _)| [PK, SK].contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// A string attribute of a stored item.
pub(crate) fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(corrupt("item", format!("no string attribute {name}"))),
    }
}

/// A number attribute of a stored item.
pub(crate) fn number<T: FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value
            .parse()
            .map_err(|_| corrupt("item", format!("attribute {name} is not a valid number"))),
        _ => Err(corrupt("item", format!("no number attribute {name}"))),
    }
}

/// A time stored as nanoseconds (see `keys::nanos`).
pub(crate) fn nanos_time(item: &Item, name: &str) -> Result<DateTime<Utc>, StoreError> {
    from_nanos(number(item, name)?)
        .ok_or_else(|| corrupt("item", format!("attribute {name} is out of range")))
}

/// A time stored as RFC 3339 text.
pub(crate) fn text_time(item: &Item, name: &str) -> Result<DateTime<Utc>, StoreError> {
    parse_time(text(item, name)?)
        .ok_or_else(|| corrupt("item", format!("attribute {name} is not a time")))
}

/// A JSON document stored in a string attribute.
pub(crate) fn json<T: serde::de::DeserializeOwned>(
    item: &Item,
    name: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text(item, name)?).map_err(|e| corrupt(name, json_error(&e)))
}

/// A value as JSON text for storage or a message body.
pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("not serialisable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_a_missing_or_mistyped_attribute_is_corrupt_not_a_panic() {
        let item = HashMap::from([
            ("a".to_owned(), s("text")),
            ("b".to_owned(), n(42)),
            ("c".to_owned(), n("4x")),
        ]);
        assert_eq!(text(&item, "a").unwrap(), "text");
        assert_eq!(number::<u32>(&item, "b").unwrap(), 42);
        assert!(matches!(text(&item, "b"), Err(StoreError::Corrupt(_))));
        assert!(matches!(
            number::<u32>(&item, "a"),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            number::<u32>(&item, "c"),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(text(&item, "zz"), Err(StoreError::Corrupt(_))));
    }
}
