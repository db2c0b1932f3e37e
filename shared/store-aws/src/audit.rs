//! The staff console's audit log on DynamoDB:
//! - the entry (`AUDIT#{id}` / `ENTRY`): the entry as JSON, written only if
//!   absent, so that an action recorded again (a retried request) is kept once;
//! - one index item per primary id the entry is listed under (the patron's,
//!   and the new id of a primary-id change), in the patron's partition
//!   (`PATRON#{primary_id}` / `AUDIT#{at}#{id}`, `at` as fixed-width RFC 3339
//!   text to the nanosecond, which sorts like time), carrying a full copy of
//!   the entry JSON, so that a patron's log is ONE Query of a key range, read
//!   backwards (newest first).
//!
//! The entry and its index items are one transaction: all of them or none.

use crate::error::unavailable;
use crate::item::{json, key, s, to_json, Item};
use crate::keys::{patron_pk, time_key};
use crate::transact::{self, Condition, Outcome, ABSENT};
use crate::AwsStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use patron_hub_domain::console::{AuditEntry, AuditLog, ConsoleAction};
use patron_hub_domain::{PrimaryId, StoreError};

/// The attribute holding the entry as JSON (on the entry and its index items).
const ENTRY: &str = "entry";
/// Sort key of an audit entry item.
const ENTRY_SK: &str = "ENTRY";
/// Sort-key prefix of a patron's audit index items.
const AUDIT_PREFIX: &str = "AUDIT#";

/// Partition key of the audit entry `id`.
fn entry_pk(id: &str) -> String {
    format!("{AUDIT_PREFIX}{id}")
}

/// Sort key of an entry's index item in a patron's partition: ordered by the
/// time of the action, unique by its id.
fn index_sk(at: DateTime<Utc>, id: &str) -> String {
    format!("{AUDIT_PREFIX}{}#{id}", time_key(at))
}

/// The primary ids `entry` is listed under, without repeats.
fn listed_under(entry: &AuditEntry) -> Vec<&PrimaryId> {
    let mut ids = vec![&entry.primary_id];
    if let ConsoleAction::ChangePrimaryId { new_primary_id } = &entry.action {
        if new_primary_id != &entry.primary_id {
            ids.push(new_primary_id);
        }
    }
    ids
}

/// The entry item.
fn entry_item(entry: &AuditEntry, copy: &str) -> Item {
    let mut item = key(entry_pk(&entry.id), ENTRY_SK);
    item.insert(ENTRY.to_owned(), s(copy));
    item
}

/// The entry's index item under `primary_id`.
fn index_item(primary_id: &PrimaryId, entry: &AuditEntry, copy: &str) -> Item {
    let mut item = key(patron_pk(primary_id), index_sk(entry.at, &entry.id));
    item.insert(ENTRY.to_owned(), s(copy));
    item
}

#[async_trait]
impl AuditLog for AwsStore {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let copy = to_json(entry)?;
        let mut items = vec![transact::put(
            &self.table,
            entry_item(entry, &copy),
            Some(Condition::new(ABSENT)),
        )?];
        for primary_id in listed_under(entry) {
            items.push(transact::put(
                &self.table,
                index_item(primary_id, entry, &copy),
                None,
            )?);
        }
        match self
            .transact("TransactWriteItems audit entry", items)
            .await?
        {
            // Only the entry has a condition: refused means kept already.
            Outcome::Written | Outcome::Refused(_) => Ok(()),
        }
    }

    async fn for_patron(&self, primary_id: &PrimaryId) -> Result<Vec<AuditEntry>, StoreError> {
        let items: Vec<Item> = self
            .dynamodb
            .query()
            .table_name(&*self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(patron_pk(primary_id)))
            .expression_attribute_values(":prefix", s(AUDIT_PREFIX))
            .scan_index_forward(false)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| unavailable("Query audit entries", e))?;
        items.iter().map(|item| json(item, ENTRY)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::text;
    use crate::keys::{PK, SK};
    use chrono::TimeZone;
    use patron_hub_domain::accounts::AccountId;

    fn id(text: &str) -> PrimaryId {
        PrimaryId::parse(text).unwrap()
    }

    fn entry(action: ConsoleAction, at: DateTime<Utc>, uuid: &str) -> AuditEntry {
        AuditEntry {
            id: format!("console:{uuid}"),
            primary_id: id("ADA-0001"),
            actor: AccountId::new(),
            actor_name: "desk".to_owned(),
            action,
            institutions: Vec::new(),
            at,
        }
    }

    #[test]
    fn a_primary_id_change_is_listed_under_both_ids_once() {
        let at = Utc::now();
        let change = |new: &str| {
            entry(
                ConsoleAction::ChangePrimaryId {
                    new_primary_id: id(new),
                },
                at,
                "a",
            )
        };
        assert_eq!(
            listed_under(&change("ADA-0002")),
            [&id("ADA-0001"), &id("ADA-0002")]
        );
        assert_eq!(listed_under(&change("ADA-0001")), [&id("ADA-0001")]);
        let delete = entry(ConsoleAction::DeleteEverywhere, at, "b");
        assert_eq!(listed_under(&delete), [&id("ADA-0001")]);
    }

    #[test]
    fn index_keys_sort_by_time_to_the_nanosecond_then_by_id() {
        let at = |nanos| Utc.timestamp_opt(1_767_225_600, nanos).single().unwrap();
        let keys = [
            index_sk(at(0), "console:b"),
            index_sk(at(1), "console:a"),
            index_sk(at(1), "console:b"),
            index_sk(at(999_999_999), "console:a"),
        ];
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, keys);
        assert!(keys.iter().all(|k| k.starts_with(AUDIT_PREFIX)));
    }

    #[test]
    fn index_items_live_in_the_patrons_partition_and_carry_the_entry() {
        let entry = entry(ConsoleAction::Redistribute, Utc::now(), "c");
        let copy = to_json(&entry).unwrap();
        let item = index_item(&entry.primary_id, &entry, &copy);
        assert_eq!(text(&item, PK).unwrap(), "PATRON#ADA-0001");
        assert_eq!(
            text(&item, SK).unwrap(),
            index_sk(entry.at, "console:c").as_str()
        );
        assert_eq!(json::<AuditEntry>(&item, ENTRY).unwrap(), entry);
        let kept = entry_item(&entry, &copy);
        assert_eq!(text(&kept, PK).unwrap(), "AUDIT#console:c");
        assert_eq!(text(&kept, SK).unwrap(), ENTRY_SK);
    }
}
