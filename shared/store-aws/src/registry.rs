//! The patron registry on DynamoDB:
//! - the entry (`PATRON#{primary_id}` / `REGISTRY`): the entry as JSON and its
//!   `version`, which every write's condition checks;
//! - one lookup item per e-mail (`PATRON_EMAIL#{email}`) and one for the
//!   externalSystemId (`PATRON_EXT#{id}`), each with the primary id as sort key
//!   and a full copy of the entry JSON, so that a lookup is ONE strongly
//!   consistent Query of that partition. Several entries may share a key.
//!
//! A save or a removal is one transaction: the entry under its version
//! condition, every lookup item of the new entry (rewritten so that the copies
//! stay current), and the deletion of the keys the previous entry had but the
//! new one has not. The version condition guarantees that `previous` is what
//! is stored, hence that its keys are the ones in the table.

use crate::item::{json, key, n, s, to_json, Item};
use crate::keys::{patron_pk, registry_email_pk, registry_external_pk, REGISTRY_SK};
use crate::transact::{self, Condition, Outcome, ABSENT};
use crate::AwsStore;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;
use patron_hub_domain::registration::{
    ExternalSystemId, PatronRegistry, RecordWriteError, RegistryEntry,
};
use patron_hub_domain::{PrimaryId, StoreError};
use std::collections::BTreeSet;

/// The attribute holding the entry as JSON (on the entry and its lookup items).
const ENTRY: &str = "entry";
/// The attribute holding the entry's version.
const VERSION: &str = "version";
/// The most items one TransactWriteItems may hold.
const MAX_TRANSACTION_ITEMS: usize = 100;

#[async_trait]
impl PatronRegistry for AwsStore {
    async fn get(&self, primary_id: &PrimaryId) -> Result<Option<RegistryEntry>, StoreError> {
        self.get_item(
            "GetItem registry entry",
            key(patron_pk(primary_id), REGISTRY_SK),
        )
        .await?
        .map(|item| json(&item, ENTRY))
        .transpose()
    }

    async fn save(
        &self,
        previous: Option<&RegistryEntry>,
        entry: &RegistryEntry,
    ) -> Result<(), RecordWriteError> {
        let expected_version = previous.map_or(0, |p| p.version);
        let same_patron = previous.is_none_or(|p| p.primary_id == entry.primary_id);
        if !same_patron || expected_version.checked_add(1) != Some(entry.version) {
            return Err(RecordWriteError::VersionConflict);
        }
        let condition = match previous {
            None => Condition::new(ABSENT),
            Some(previous) => {
                Condition::new("version = :expected").with(":expected", n(previous.version))
            }
        };
        let copy = to_json(entry)?;
        let mut items = vec![transact::put(
            &self.table,
            entry_item(entry, &copy),
            Some(condition),
        )?];
        let kept = lookup_keys(entry);
        for pk in &kept {
            items.push(transact::put(
                &self.table,
                lookup_item(pk, entry, &copy),
                None,
            )?);
        }
        if let Some(previous) = previous {
            for pk in lookup_keys(previous).difference(&kept) {
                items.push(lookup_delete(&self.table, pk, previous)?);
            }
        }
        self.write_registry("TransactWriteItems registry save", items)
            .await
    }

    async fn remove(&self, entry: &RegistryEntry) -> Result<(), RecordWriteError> {
        let mut items = vec![transact::delete(
            &self.table,
            key(patron_pk(&entry.primary_id), REGISTRY_SK),
            Some(Condition::new("version = :expected").with(":expected", n(entry.version))),
        )?];
        for pk in &lookup_keys(entry) {
            items.push(lookup_delete(&self.table, pk, entry)?);
        }
        self.write_registry("TransactWriteItems registry remove", items)
            .await
    }

    async fn find_by_email(&self, email: &str) -> Result<Vec<RegistryEntry>, StoreError> {
        self.entries_under(registry_email_pk(email)).await
    }

    async fn find_by_external_id(
        &self,
        id: &ExternalSystemId,
    ) -> Result<Vec<RegistryEntry>, StoreError> {
        self.entries_under(registry_external_pk(id.as_str())).await
    }
}

impl AwsStore {
    /// Runs a registry transaction whose only condition is the entry's (first item).
    async fn write_registry(
        &self,
        operation: &'static str,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), RecordWriteError> {
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::Unavailable(format!(
                "a registry entry with {} lookup keys does not fit in one transaction",
                items.len() - 1
            ))
            .into());
        }
        match self.transact(operation, items).await? {
            Outcome::Written => Ok(()),
            Outcome::Refused(_) => Err(RecordWriteError::VersionConflict),
        }
    }

    /// The entry copies held by the lookup partition `pk`: one strongly
    /// consistent Query (paged only past 1 MB).
    async fn entries_under(&self, pk: String) -> Result<Vec<RegistryEntry>, StoreError> {
        let items = self.items_under("Query registry lookup", pk).await?;
        items.iter().map(|item| json(item, ENTRY)).collect()
    }
}

/// The partition keys of an entry's lookup items, without repeats.
fn lookup_keys(entry: &RegistryEntry) -> BTreeSet<String> {
    entry
        .emails
        .iter()
        .map(|email| registry_email_pk(email))
        .chain(
            entry
                .external_system_id
                .iter()
                .map(|id| registry_external_pk(id)),
        )
        .collect()
}

/// The entry item.
fn entry_item(entry: &RegistryEntry, copy: &str) -> Item {
    let mut item = key(patron_pk(&entry.primary_id), REGISTRY_SK);
    item.insert(ENTRY.to_owned(), s(copy));
    item.insert(VERSION.to_owned(), n(entry.version));
    item
}

/// One lookup item: under the key's partition, sorted by primary id.
fn lookup_item(pk: &str, entry: &RegistryEntry, copy: &str) -> Item {
    let mut item = key(pk.to_owned(), entry.primary_id.to_string());
    item.insert(ENTRY.to_owned(), s(copy));
    item.insert(VERSION.to_owned(), n(entry.version));
    item
}

/// The deletion of one of `entry`'s lookup items.
fn lookup_delete(
    table: &str,
    pk: &str,
    entry: &RegistryEntry,
) -> Result<TransactWriteItem, StoreError> {
    transact::delete(
        table,
        key(pk.to_owned(), entry.primary_id.to_string()),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::text;
    use crate::keys::{PK, SK};
    use chrono::Utc;
    use std::collections::BTreeMap;

    fn entry(emails: &[&str], external: Option<&str>) -> RegistryEntry {
        use patron_hub_domain::registration::{PatronStatus, RecordType};
        RegistryEntry {
            primary_id: PrimaryId::parse("p-1").unwrap(),
            emails: emails.iter().map(|e| (*e).to_owned()).collect(),
            record_type: RecordType::Patron,
            status: PatronStatus::Active,
            expiry_date: None,
            user_group: None,
            first_name: None,
            last_name: None,
            external_system_id: external.map(str::to_owned),
            holdings: BTreeMap::new(),
            updated_at: Utc::now(),
            version: 1,
        }
    }

    #[test]
    fn lookup_keys_cover_every_email_and_the_external_id_once() {
        let keys = lookup_keys(&entry(&["a@x.org", "b@x.org", "a@x.org"], Some("ext-1")));
        assert_eq!(
            keys.into_iter().collect::<Vec<_>>(),
            [
                "PATRON_EMAIL#a@x.org",
                "PATRON_EMAIL#b@x.org",
                "PATRON_EXT#ext-1"
            ]
        );
        assert!(lookup_keys(&entry(&[], None)).is_empty());
    }

    #[test]
    fn lookup_items_are_sorted_by_primary_id_and_carry_the_entry() {
        let entry = entry(&["a@x.org"], None);
        let copy = to_json(&entry).unwrap();
        let item = lookup_item("PATRON_EMAIL#a@x.org", &entry, &copy);
        assert_eq!(text(&item, SK).unwrap(), "p-1");
        assert_eq!(text(&item, PK).unwrap(), "PATRON_EMAIL#a@x.org");
        assert_eq!(json::<RegistryEntry>(&item, ENTRY).unwrap(), entry);
    }
}
