//! The items of organizations and memberships, and the writes of one
//! transaction on them, each with what its failed condition means:
//! - the organization (`ORGANIZATION#{id}` / `ORGANIZATION`): JSON and `version`;
//! - its rollover entry (`DUE#ORGANIZATION_ROLLOVER` / `{due date}#{id}`), a
//!   copy of the organization, present while it has a membership window;
//! - the membership (`MEMBERSHIP#{id}` / `MEMBERSHIP`): JSON and `version`;
//! - a copy of it in its organization's partition
//!   (`ORGANIZATION_MEMBERSHIPS#{organization}`) and in its person's
//!   (`PERSON_MEMBERSHIPS#{person}`), both sorted by `{date_start}#{id}`;
//! - a fee entry (`ORGANIZATION_FEES#{organization}` / `{charged_at}#{membership}`);
//! - the periods guard (`MEMBERSHIP_PERIODS#{person}#{organization}` / `GUARD`):
//!   a `version` bumped by every write that adds or moves a period of that
//!   person in that organization, under the condition that it is still the
//!   version read before the overlap check;
//! - the AGENT marker (`AGENT#{person}` / `MARKER`): the `organization`
//!   through which the person is AGENT, the latest `date_end` among their
//!   AGENT memberships of it and the `membership` ending then, and a `token`
//!   drawn anew by every write of the marker, so that a write conditioned on
//!   the token read is refused if the marker was written meanwhile (even to
//!   the same content).

use crate::item::{key, n, primary_key, s, text, to_json, Item};
use crate::keys::{
    agent_pk, day_key, fee_sk, membership_copy_sk, membership_pk, organization_fees_pk,
    organization_memberships_pk, organization_pk, periods_guard_pk, person_memberships_pk,
    rollover_sk, GUARD_SK, MARKER_SK, MEMBERSHIP_SK, ORGANIZATION_SK, ROLLOVER_PK,
};
use crate::transact::{self, Condition, ABSENT};
use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::NaiveDate;
use patron_hub_domain::accounts::AccountId;
use patron_hub_domain::organizations::{FeeEntry, Membership, MembershipWriteError, Organization};
use patron_hub_domain::StoreError;

/// The attribute holding a membership as JSON (on the item and its copies).
pub(crate) const MEMBERSHIP: &str = "membership";
/// The attribute holding an organization as JSON (on the item and its entry).
pub(crate) const ORGANIZATION: &str = "organization";
/// The attribute holding a fee entry as JSON.
pub(crate) const FEE: &str = "fee";
/// The attribute holding a record's (or the guard's) version.
pub(crate) const VERSION: &str = "version";

/// The AGENT marker was not written since it was read (token unchanged).
const MARKER_UNCHANGED: &str = "#token = :token";
/// The AGENT marker, read before tokens existed, was not written since.
const UNTOKENED_MARKER_UNCHANGED: &str = "attribute_not_exists(#token) AND organization = :organization AND membership = :membership AND date_end = :date_end";
/// The attribute holding the marker's organization.
const MARKER_ORGANIZATION: &str = "organization";
/// The attribute holding the marker's latest last day.
const DATE_END: &str = "date_end";
/// The attribute holding the marker's token.
const TOKEN: &str = "token";
/// The record is stored at the version expected.
const AT_VERSION: &str = "version = :expected";

/// What the failed condition of one write means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// The organization or membership is not at the version expected (or,
    /// created, exists already).
    Record,
    /// The person's periods in the organization changed since they were read.
    Periods,
    /// The AGENT marker changed since it was read.
    Marker,
    /// A write without condition.
    Free,
}

/// Why a transaction of [`Writes`] was refused.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// What the writes were planned from changed meanwhile: read and plan again.
    Overtaken,
    /// The answer to give.
    Final(MembershipWriteError),
}

/// The writes of one transaction on organizations and memberships.
#[derive(Default)]
pub(crate) struct Writes {
    items: Vec<TransactWriteItem>,
    checks: Vec<Check>,
}

impl Writes {
    /// The writes, for the transaction.
    pub(crate) fn items(&self) -> Vec<TransactWriteItem> {
        self.items.clone()
    }

    /// What the failed conditions at these positions mean: something read
    /// changed (plan again) before a record at another version.
    pub(crate) fn refusal(&self, failed: &[usize]) -> Refusal {
        let failed: Vec<Check> = failed
            .iter()
            .filter_map(|at| self.checks.get(*at).copied())
            .collect();
        if failed.contains(&Check::Periods) || failed.contains(&Check::Marker) {
            Refusal::Overtaken
        } else if failed.contains(&Check::Record) {
            Refusal::Final(MembershipWriteError::VersionConflict)
        } else {
            Refusal::Final(MembershipWriteError::Store(StoreError::Corrupt(
                "a write without condition was refused".to_owned(),
            )))
        }
    }

    /// A new organization (absent before) and its rollover entry.
    pub(crate) fn create_organization(
        &mut self,
        table: &str,
        organization: &Organization,
    ) -> Result<(), StoreError> {
        let copy = to_json(organization)?;
        let item = organization_item(organization, &copy);
        self.put(table, item, Some(Condition::new(ABSENT)), Check::Record)?;
        if let Some(entry) = rollover_entry(organization, &copy) {
            self.put(table, entry, None, Check::Free)?;
        }
        Ok(())
    }

    /// `organization` replacing `stored` (its version before), with its
    /// rollover entry moved, rewritten or deleted.
    pub(crate) fn update_organization(
        &mut self,
        table: &str,
        stored: &Organization,
        organization: &Organization,
    ) -> Result<(), StoreError> {
        let copy = to_json(organization)?;
        let item = organization_item(organization, &copy);
        self.put(table, item, Some(at_version(stored.version)), Check::Record)?;
        let entry = rollover_entry(organization, &copy);
        if let Some(old) = rollover_key(stored) {
            if entry.as_ref().map(primary_key) != Some(old.clone()) {
                self.delete(table, old, None, Check::Free)?;
            }
        }
        if let Some(entry) = entry {
            self.put(table, entry, None, Check::Free)?;
        }
        Ok(())
    }

    /// A new membership (absent before) with its copies and fee entry; the
    /// periods guard moves on from `periods` (the version read before the
    /// overlap check, None when there was no guard). An AGENT takes the marker
    /// apart (see [`Writes::take_marker`]).
    pub(crate) fn add_membership(
        &mut self,
        table: &str,
        membership: &Membership,
        fee: Option<&FeeEntry>,
        periods: Option<u64>,
    ) -> Result<(), StoreError> {
        let copy = to_json(membership)?;
        let item = membership_item(membership, &copy);
        self.put(table, item, Some(Condition::new(ABSENT)), Check::Record)?;
        for copy in copies(membership, &copy) {
            self.put(table, copy, None, Check::Free)?;
        }
        if let Some(fee) = fee {
            self.put(table, fee_item(fee)?, None, Check::Free)?;
        }
        self.periods(table, membership, periods)
    }

    /// `membership` replacing `stored` (its version before), with its copies
    /// moved or rewritten.
    pub(crate) fn update_membership(
        &mut self,
        table: &str,
        stored: &Membership,
        membership: &Membership,
    ) -> Result<(), StoreError> {
        let copy = to_json(membership)?;
        let item = membership_item(membership, &copy);
        self.put(table, item, Some(at_version(stored.version)), Check::Record)?;
        let new = copies(membership, &copy);
        let new_keys: Vec<Item> = new.iter().map(primary_key).collect();
        for old in copy_keys(stored) {
            if !new_keys.contains(&old) {
                self.delete(table, old, None, Check::Free)?;
            }
        }
        for copy in new {
            self.put(table, copy, None, Check::Free)?;
        }
        Ok(())
    }

    /// The removal of `membership` (stored at its version) and its copies.
    pub(crate) fn remove_membership(
        &mut self,
        table: &str,
        membership: &Membership,
    ) -> Result<(), StoreError> {
        let item = key(membership_pk(membership.id), MEMBERSHIP_SK);
        let condition = Some(at_version(membership.version));
        self.delete(table, item, condition, Check::Record)?;
        for old in copy_keys(membership) {
            self.delete(table, old, None, Check::Free)?;
        }
        Ok(())
    }

    /// Moves the periods guard of `membership`'s person and organization on
    /// from `read` (the version read before the overlap check).
    pub(crate) fn periods(
        &mut self,
        table: &str,
        membership: &Membership,
        read: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut guard = key(
            periods_guard_pk(membership.person, membership.organization),
            GUARD_SK,
        );
        let next = read.map_or(1, |version| version + 1);
        guard.insert(VERSION.to_owned(), n(next));
        let condition = match read {
            None => Condition::new(ABSENT),
            Some(version) => at_version(version),
        };
        self.put(table, guard, Some(condition), Check::Periods)
    }

    /// Makes the person's AGENT marker (as `read`) count `membership`: its
    /// organization, and the later of the marker's last day (same organization)
    /// and the membership's. `AgentElsewhere` when `read` names another
    /// organization and a last day not before `today`. The write is refused
    /// (plan again) if the marker was written since it was read.
    pub(crate) fn take_marker(
        &mut self,
        table: &str,
        read: Option<&Marker>,
        membership: &Membership,
        today: NaiveDate,
    ) -> Result<(), MembershipWriteError> {
        let organization = membership.organization.0.to_string();
        let (id, date_end) = (membership.id.to_string(), day_key(membership.date_end));
        let (id, date_end) = match read {
            Some(read) if read.organization == organization && read.date_end > date_end => {
                (read.membership.clone(), read.date_end.clone())
            }
            Some(read) if read.organization != organization && read.date_end >= day_key(today) => {
                return Err(MembershipWriteError::AgentElsewhere);
            }
            _ => (id, date_end),
        };
        let marker = marker_item(membership.person, organization, id, date_end);
        Ok(self.put(table, marker, Some(unchanged(read)), Check::Marker)?)
    }

    /// Recomputes the person's AGENT marker (as `read`, naming the
    /// organization a membership leaves AGENT in) from `latest`, the person's
    /// other AGENT membership of that organization ending last: pointed at it,
    /// or deleted when there is none. Refused (plan again) if the marker was
    /// written since it was read.
    pub(crate) fn recompute_marker(
        &mut self,
        table: &str,
        read: &Marker,
        latest: Option<&Membership>,
    ) -> Result<(), StoreError> {
        let condition = Some(unchanged(Some(read)));
        match latest {
            Some(latest) => {
                let marker = marker_item(
                    latest.person,
                    latest.organization.0.to_string(),
                    latest.id.to_string(),
                    day_key(latest.date_end),
                );
                self.put(table, marker, condition, Check::Marker)
            }
            None => self.delete(table, read.key.clone(), condition, Check::Marker),
        }
    }

    fn put(
        &mut self,
        table: &str,
        item: Item,
        condition: Option<Condition>,
        check: Check,
    ) -> Result<(), StoreError> {
        self.items.push(transact::put(table, item, condition)?);
        self.checks.push(check);
        Ok(())
    }

    fn delete(
        &mut self,
        table: &str,
        item_key: Item,
        condition: Option<Condition>,
        check: Check,
    ) -> Result<(), StoreError> {
        self.items
            .push(transact::delete(table, item_key, condition)?);
        self.checks.push(check);
        Ok(())
    }
}

/// A person's AGENT marker as read.
#[derive(Debug, Clone)]
pub(crate) struct Marker {
    key: Item,
    /// The organization the person is AGENT of.
    pub(crate) organization: String,
    membership: String,
    date_end: String,
    token: Option<String>,
}

impl Marker {
    /// The marker stored as `item`.
    pub(crate) fn from_item(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            key: primary_key(item),
            organization: text(item, MARKER_ORGANIZATION)?.to_owned(),
            membership: text(item, MEMBERSHIP)?.to_owned(),
            date_end: text(item, DATE_END)?.to_owned(),
            token: item
                .contains_key(TOKEN)
                .then(|| text(item, TOKEN))
                .transpose()?
                .map(str::to_owned),
        })
    }
}

/// A marker item with a fresh token.
fn marker_item(
    person: AccountId,
    organization: String,
    membership: String,
    date_end: String,
) -> Item {
    let mut marker = key(agent_pk(person), MARKER_SK);
    marker.extend([
        (MARKER_ORGANIZATION.to_owned(), s(organization)),
        (MEMBERSHIP.to_owned(), s(membership)),
        (DATE_END.to_owned(), s(date_end)),
        (TOKEN.to_owned(), s(uuid::Uuid::new_v4().to_string())),
    ]);
    marker
}

/// The condition that the marker is still as `read` (absent when None).
fn unchanged(read: Option<&Marker>) -> Condition {
    match read {
        None => Condition::new(ABSENT),
        Some(Marker {
            token: Some(token), ..
        }) => Condition::new(MARKER_UNCHANGED)
            .naming("#token", TOKEN)
            .with(":token", s(token)),
        Some(read) => Condition::new(UNTOKENED_MARKER_UNCHANGED)
            .naming("#token", TOKEN)
            .with(":organization", s(&read.organization))
            .with(":membership", s(&read.membership))
            .with(":date_end", s(&read.date_end)),
    }
}

/// The condition of a record stored at `version`.
fn at_version(version: u64) -> Condition {
    Condition::new(AT_VERSION).with(":expected", n(version))
}

/// The organization item.
fn organization_item(organization: &Organization, copy: &str) -> Item {
    let mut item = key(organization_pk(organization.id), ORGANIZATION_SK);
    item.insert(ORGANIZATION.to_owned(), s(copy));
    item.insert(VERSION.to_owned(), n(organization.version));
    item
}

/// The key of the organization's rollover entry, if it has a window.
fn rollover_key(organization: &Organization) -> Option<Item> {
    let due = organization.policy.rollover_due()?;
    Some(key(
        ROLLOVER_PK.to_owned(),
        rollover_sk(due, organization.id),
    ))
}

/// The organization's rollover entry (with its copy), if it has a window.
fn rollover_entry(organization: &Organization, copy: &str) -> Option<Item> {
    let mut entry = rollover_key(organization)?;
    entry.insert(ORGANIZATION.to_owned(), s(copy));
    entry.insert(VERSION.to_owned(), n(organization.version));
    Some(entry)
}

/// The membership item.
fn membership_item(membership: &Membership, copy: &str) -> Item {
    let mut item = key(membership_pk(membership.id), MEMBERSHIP_SK);
    item.insert(MEMBERSHIP.to_owned(), s(copy));
    item.insert(VERSION.to_owned(), n(membership.version));
    item
}

/// The keys of the membership's copies: in its organization's partition and
/// in its person's.
fn copy_keys(membership: &Membership) -> [Item; 2] {
    let sk = membership_copy_sk(membership.date_start, membership.id);
    [
        key(
            organization_memberships_pk(membership.organization),
            sk.clone(),
        ),
        key(person_memberships_pk(membership.person), sk),
    ]
}

/// The membership's copies.
fn copies(membership: &Membership, copy: &str) -> [Item; 2] {
    copy_keys(membership).map(|mut item| {
        item.insert(MEMBERSHIP.to_owned(), s(copy));
        item.insert(VERSION.to_owned(), n(membership.version));
        item
    })
}

/// A fee entry item.
fn fee_item(fee: &FeeEntry) -> Result<Item, StoreError> {
    let mut item = key(
        organization_fees_pk(fee.organization),
        fee_sk(fee.charged_at, fee.membership),
    );
    item.insert(FEE.to_owned(), s(to_json(fee)?));
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use patron_hub_domain::accounts::{AccountId, OrganizationId};
    use patron_hub_domain::organizations::{MembershipId, MembershipPolicy, Role};

    fn day(month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2031, month, day).unwrap()
    }

    fn membership(roles: &[Role]) -> Membership {
        Membership {
            id: MembershipId::new(),
            person: AccountId::new(),
            organization: OrganizationId(uuid::Uuid::new_v4()),
            roles: roles.iter().copied().collect(),
            titles: Vec::new(),
            date_start: day(1, 1),
            date_end: day(12, 31),
            fee: 500,
            created_at: DateTime::UNIX_EPOCH,
            version: 1,
        }
    }

    fn organization(start: Option<NaiveDate>) -> Organization {
        Organization {
            id: OrganizationId(uuid::Uuid::new_v4()),
            name: "Cercle".to_owned(),
            parent: None,
            policy: MembershipPolicy {
                require_memberships: start.is_some(),
                membership_start: start,
                ..MembershipPolicy::default()
            },
            titles: Vec::new(),
            rolled_on: None,
            created_at: DateTime::UNIX_EPOCH,
            version: 1,
        }
    }

    /// The answer `writes` gives when the writes at `failed` were refused.
    fn answer(writes: &Writes, failed: &[usize]) -> &'static str {
        match writes.refusal(failed) {
            Refusal::Overtaken => "Overtaken",
            Refusal::Final(MembershipWriteError::VersionConflict) => "VersionConflict",
            Refusal::Final(MembershipWriteError::AgentElsewhere) => "AgentElsewhere",
            Refusal::Final(MembershipWriteError::Overlap) => "Overlap",
            Refusal::Final(MembershipWriteError::Store(_)) => "Store",
        }
    }

    #[test]
    fn an_add_writes_the_membership_copies_fee_guard_and_marker() {
        let agent = membership(&[Role::Agent]);
        let fee = FeeEntry {
            membership: agent.id,
            person: agent.person,
            organization: agent.organization,
            amount: 500,
            charged_at: DateTime::UNIX_EPOCH,
        };
        let mut writes = Writes::default();
        writes
            .add_membership("t", &agent, Some(&fee), Some(3))
            .unwrap();
        writes.take_marker("t", None, &agent, day(6, 15)).unwrap();
        assert_eq!(writes.items().len(), 6);
        let (record, guard, marker) = (0, 4, 5);
        assert_eq!(answer(&writes, &[record]), "VersionConflict");
        assert_eq!(answer(&writes, &[marker]), "Overtaken", "a marker appeared");
        assert_eq!(answer(&writes, &[record, marker]), "Overtaken");
        assert_eq!(answer(&writes, &[guard, record, marker]), "Overtaken");
        assert_eq!(answer(&writes, &[1]), "Store", "a copy has no condition");

        let mut writes = Writes::default();
        let plain = membership(&[Role::Admin]);
        writes.add_membership("t", &plain, None, None).unwrap();
        assert_eq!(writes.items().len(), 4, "no fee entry");
    }

    #[test]
    fn an_update_moves_the_copies_only_when_the_first_day_changes() {
        let stored = membership(&[Role::Admin]);
        let next = Membership {
            roles: [Role::Export].into(),
            version: 2,
            ..stored.clone()
        };
        let mut writes = Writes::default();
        writes.update_membership("t", &stored, &next).unwrap();
        assert_eq!(writes.items().len(), 3, "the membership and its two copies");
        let moved = Membership {
            date_start: day(2, 1),
            ..next
        };
        let mut writes = Writes::default();
        writes.update_membership("t", &stored, &moved).unwrap();
        assert_eq!(writes.items().len(), 5, "two old copies deleted");
        let mut writes = Writes::default();
        writes.remove_membership("t", &stored).unwrap();
        let read = marker_of(&stored, day(12, 31));
        writes.recompute_marker("t", &read, None).unwrap();
        assert_eq!(writes.items().len(), 4);
        assert!(writes.items()[3].delete().is_some(), "none left: deleted");
        assert_eq!(answer(&writes, &[3]), "Overtaken", "the marker moved");
    }

    /// The marker as stored after `membership` took it, with `date_end`.
    fn marker_of(membership: &Membership, date_end: NaiveDate) -> Marker {
        let item = marker_item(
            membership.person,
            membership.organization.0.to_string(),
            membership.id.to_string(),
            day_key(date_end),
        );
        Marker::from_item(&item).unwrap()
    }

    /// The `date_end` and `membership` of the marker put by the only write.
    fn put_marker(writes: &Writes) -> (String, String) {
        let items = writes.items();
        let item = items[0].put().unwrap().item();
        let attribute = |name| item[name].as_s().unwrap().clone();
        (attribute(DATE_END), attribute(MEMBERSHIP))
    }

    #[test]
    fn the_marker_keeps_the_latest_last_day_of_its_organization() {
        let today = day(6, 15);
        let held = marker_of(&membership(&[Role::Agent]), day(12, 31));
        let elsewhere = membership(&[Role::Agent]);
        let refused = Writes::default().take_marker("t", Some(&held), &elsewhere, today);
        assert!(matches!(refused, Err(MembershipWriteError::AgentElsewhere)));
        let ended = marker_of(&membership(&[Role::Agent]), day(6, 14));
        let mut writes = Writes::default();
        writes
            .take_marker("t", Some(&ended), &elsewhere, today)
            .unwrap();
        let taken = (day_key(elsewhere.date_end), elsewhere.id.to_string());
        assert_eq!(put_marker(&writes), taken);

        let renewal = Membership {
            id: MembershipId::new(),
            date_start: day(12, 31).succ_opt().unwrap(),
            date_end: NaiveDate::from_ymd_opt(2032, 12, 31).unwrap(),
            ..elsewhere.clone()
        };
        let later = marker_of(&renewal, renewal.date_end);
        let mut writes = Writes::default();
        writes
            .take_marker("t", Some(&later), &elsewhere, today)
            .unwrap();
        let kept = (day_key(renewal.date_end), renewal.id.to_string());
        assert_eq!(put_marker(&writes), kept, "an earlier membership keeps it");
        let mut writes = Writes::default();
        writes
            .recompute_marker("t", &later, Some(&elsewhere))
            .unwrap();
        assert_eq!(put_marker(&writes), taken, "the renewal left: back to it");
        assert_eq!(answer(&writes, &[0]), "Overtaken");
    }

    #[test]
    fn the_rollover_entry_follows_the_window() {
        let stored = organization(Some(day(3, 1)));
        let count = |next: &Organization| {
            let mut writes = Writes::default();
            writes.update_organization("t", &stored, next).unwrap();
            writes.items().len()
        };
        let renamed = Organization {
            name: "Autre".to_owned(),
            version: 2,
            ..stored.clone()
        };
        assert_eq!(count(&renamed), 2, "the organization, its entry rewritten");
        let moved = Organization {
            policy: organization(Some(day(4, 1))).policy,
            ..renamed.clone()
        };
        assert_eq!(count(&moved), 3, "the old entry deleted");
        let department = Organization {
            policy: MembershipPolicy::default(),
            ..renamed
        };
        assert_eq!(count(&department), 2, "the old entry deleted, none new");
        let mut writes = Writes::default();
        writes
            .create_organization("t", &organization(None))
            .unwrap();
        assert_eq!(writes.items().len(), 1, "no window, no entry");
    }
}
