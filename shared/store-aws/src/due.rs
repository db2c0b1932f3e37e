//! The due indexes: partitions (`DUE#…`, see `keys`) whose sort keys begin
//! with a date or a time, one small item per record that can fall due, written
//! in the same transaction as the record. What is due before a bound is then
//! one Query of a key range, read in order and only as far as needed: never a
//! scan of the records themselves.

use crate::error::unavailable;
use crate::item::{s, Item};
use crate::AwsStore;
use patron_hub_domain::StoreError;

/// Most items asked of DynamoDB per page.
const MAX_PAGE: usize = 500;

impl AwsStore {
    /// What `select` makes of the items of the due partition `pk` whose sort
    /// key is below `below`, in sort-key order, at most `limit` of them (items
    /// it leaves out, answering `None`, do not count). Pages are read until
    /// `limit` are selected or the range ends, so that items left out never
    /// hide due ones behind them.
    pub(crate) async fn due_items<T>(
        &self,
        operation: &'static str,
        pk: &str,
        below: String,
        limit: usize,
        mut select: impl FnMut(Item) -> Result<Option<T>, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut kept = Vec::new();
        if limit == 0 {
            return Ok(kept);
        }
        let page = i32::try_from(limit.min(MAX_PAGE)).unwrap_or(1);
        let mut items = self
            .dynamodb
            .query()
            .table_name(&*self.table)
            .key_condition_expression("pk = :pk AND sk < :below")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":below", s(below))
            .consistent_read(true)
            .limit(page)
            .into_paginator()
            .items()
            .send();
        while kept.len() < limit {
            let Some(item) = items.next().await else {
                break;
            };
            let item = item.map_err(|e| unavailable(operation, e))?;
            if let Some(selected) = select(item)? {
                kept.push(selected);
            }
        }
        Ok(kept)
    }
}
