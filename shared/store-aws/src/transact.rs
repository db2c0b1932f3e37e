//! TransactWriteItems with the one answer the adapters need: written, or
//! refused because the conditions of these items (by position) failed.
//!
//! A cancelled transaction names its failed items in `CancellationReasons`,
//! one code per item in request order (`None`, `ConditionalCheckFailed`,
//! `TransactionConflict`, ...). Real DynamoDB and moto both send that list; when
//! a service sends only the message (`... specific reasons [None,
//! ConditionalCheckFailed]`), the codes are read from it instead. A transaction
//! cancelled only because another one was writing the same items
//! (`TransactionConflict`) is tried again after a short random pause.

use crate::error::unavailable;
use crate::item::Item;
use crate::AwsStore;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem};
use patron_hub_domain::StoreError;
use rand::Rng;
use std::collections::HashMap;
use std::time::Duration;

/// The condition of a write that creates its item.
pub(crate) const ABSENT: &str = "attribute_not_exists(pk)";

/// Code of an item whose condition failed.
const CONDITION_FAILED: &str = "ConditionalCheckFailed";
/// Code of an item another transaction was writing at the same time.
const CONFLICT: &str = "TransactionConflict";
/// Code of an item that did not cause the cancellation.
const FINE: &str = "None";
/// Attempts of a transaction that keeps meeting concurrent ones.
const CONFLICT_ATTEMPTS: u32 = 6;

/// How a transaction ended, when DynamoDB answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Every item was written.
    Written,
    /// Nothing was written: the conditions of these items (positions in the
    /// request) did not hold.
    Refused(Vec<usize>),
}

/// A condition on one write: its expression and the values and attribute
/// names (for reserved words such as `state`) it names.
pub(crate) struct Condition {
    expression: &'static str,
    values: HashMap<String, AttributeValue>,
    names: HashMap<String, String>,
}

impl Condition {
    /// A condition naming no value.
    pub(crate) fn new(expression: &'static str) -> Self {
        Self {
            expression,
            values: HashMap::new(),
            names: HashMap::new(),
        }
    }

    /// The condition with `:name` bound to `value`.
    pub(crate) fn with(mut self, name: &str, value: AttributeValue) -> Self {
        self.values.insert(name.to_owned(), value);
        self
    }

    /// The condition with `#placeholder` standing for `attribute`.
    pub(crate) fn naming(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names
            .insert(placeholder.to_owned(), attribute.to_owned());
        self
    }
}

/// The parts of a condition as the request builders take them.
struct Parts {
    expression: Option<String>,
    values: Option<HashMap<String, AttributeValue>>,
    names: Option<HashMap<String, String>>,
}

/// A Put of `item` in a transaction, guarded by `condition` if any.
pub(crate) fn put(
    table: &str,
    item: Item,
    condition: Option<Condition>,
) -> Result<TransactWriteItem, StoreError> {
    let parts = split(condition);
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(parts.expression)
        .set_expression_attribute_values(parts.values)
        .set_expression_attribute_names(parts.names)
        .build()
        .map_err(incomplete)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// A Delete of the item at `key` in a transaction, guarded by `condition` if any.
pub(crate) fn delete(
    table: &str,
    key: Item,
    condition: Option<Condition>,
) -> Result<TransactWriteItem, StoreError> {
    let parts = split(condition);
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .set_condition_expression(parts.expression)
        .set_expression_attribute_values(parts.values)
        .set_expression_attribute_names(parts.names)
        .build()
        .map_err(incomplete)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// A check, in a transaction, that the item at `key` meets `condition`
/// (absent items included), without writing it.
pub(crate) fn check(
    table: &str,
    key: Item,
    condition: Condition,
) -> Result<TransactWriteItem, StoreError> {
    let parts = split(Some(condition));
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key))
        .set_condition_expression(parts.expression)
        .set_expression_attribute_values(parts.values)
        .set_expression_attribute_names(parts.names)
        .build()
        .map_err(incomplete)?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

fn split(condition: Option<Condition>) -> Parts {
    match condition {
        None => Parts {
            expression: None,
            values: None,
            names: None,
        },
        Some(condition) => Parts {
            expression: Some(condition.expression.to_owned()),
            values: (!condition.values.is_empty()).then_some(condition.values),
            names: (!condition.names.is_empty()).then_some(condition.names),
        },
    }
}

fn incomplete(error: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Unavailable(format!("incomplete DynamoDB request: {error}"))
}

impl AwsStore {
    /// Writes `items` all or none (at most 100 of them, none twice).
    pub(crate) async fn transact(
        &self,
        operation: &'static str,
        items: Vec<TransactWriteItem>,
    ) -> Result<Outcome, StoreError> {
        let count = items.len();
        let mut attempt = 1;
        loop {
            let result = self
                .dynamodb
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(Outcome::Written),
                Err(error) => error,
            };
            match cancellation(&error, count) {
                Some(Cancelled::Conditions(failed)) => return Ok(Outcome::Refused(failed)),
                Some(Cancelled::Conflict) if attempt < CONFLICT_ATTEMPTS => {
                    tokio::time::sleep(pause(attempt)).await;
                    attempt += 1;
                }
                _ => return Err(unavailable(operation, error)),
            }
        }
    }
}

/// Why a transaction was cancelled, when that can be acted on.
#[derive(Debug, PartialEq, Eq)]
enum Cancelled {
    /// These items' conditions failed.
    Conditions(Vec<usize>),
    /// Only concurrent transactions were in the way: worth another try.
    Conflict,
}

fn cancellation<R>(
    error: &SdkError<TransactWriteItemsError, R>,
    count: usize,
) -> Option<Cancelled> {
    let SdkError::ServiceError(service) = error else {
        return None;
    };
    let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err() else {
        return None;
    };
    let codes: Vec<String> = if cancelled.cancellation_reasons().is_empty() {
        codes_in_message(cancelled.message()?)
    } else {
        cancelled
            .cancellation_reasons()
            .iter()
            .map(|reason| reason.code().unwrap_or(FINE).to_owned())
            .collect()
    };
    if codes.len() != count {
        return None;
    }
    classify(&codes)
}

/// The codes listed at the end of a cancellation message, in item order.
fn codes_in_message(message: &str) -> Vec<String> {
    let Some((_, list)) = message.rsplit_once('[') else {
        return Vec::new();
    };
    let Some((list, _)) = list.split_once(']') else {
        return Vec::new();
    };
    list.split(',').map(|code| code.trim().to_owned()).collect()
}

/// A failed condition is a definite answer; conflicts alone are worth a retry;
/// anything else (throttling, validation) is a failure of the store.
fn classify(codes: &[String]) -> Option<Cancelled> {
    let failed: Vec<usize> = codes
        .iter()
        .enumerate()
        .filter(|(_, code)| code.as_str() == CONDITION_FAILED)
        .map(|(position, _)| position)
        .collect();
    if !failed.is_empty() {
        return Some(Cancelled::Conditions(failed));
    }
    let conflicts_only = codes
        .iter()
        .all(|code| [FINE, CONFLICT].contains(&code.as_str()))
        && codes.iter().any(|code| code == CONFLICT);
    conflicts_only.then_some(Cancelled::Conflict)
}

/// A random pause before another try, longer after each attempt.
pub(crate) fn pause(attempt: u32) -> Duration {
    let ceiling = 20u64 << attempt.min(6);
    Duration::from_millis(rand::thread_rng().gen_range(ceiling / 2..=ceiling))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(list: &[&str]) -> Vec<String> {
        list.iter().map(|code| (*code).to_owned()).collect()
    }

    #[test]
    fn the_codes_are_read_from_a_cancellation_message() {
        let message = "Transaction cancelled, please refer cancellation reasons for specific \
                       reasons [None, ConditionalCheckFailed, None]";
        assert_eq!(
            codes_in_message(message),
            codes(&["None", "ConditionalCheckFailed", "None"])
        );
        assert!(codes_in_message("Transaction cancelled").is_empty());
    }

    #[test]
    fn failed_conditions_are_named_by_position_even_among_conflicts() {
        assert_eq!(
            classify(&codes(&[
                "None",
                "ConditionalCheckFailed",
                "TransactionConflict",
                "ConditionalCheckFailed"
            ])),
            Some(Cancelled::Conditions(vec![1, 3]))
        );
        assert_eq!(
            classify(&codes(&["TransactionConflict", "None"])),
            Some(Cancelled::Conflict)
        );
        assert_eq!(classify(&codes(&["None", "ThrottlingError"])), None);
        assert_eq!(classify(&codes(&["None", "None"])), None);
    }

    #[test]
    fn pauses_grow_and_stay_bounded() {
        for attempt in 1..20 {
            let pause = pause(attempt);
            assert!(pause >= Duration::from_millis(10), "{pause:?}");
            assert!(pause <= Duration::from_millis(20 << 6), "{pause:?}");
        }
    }
}
