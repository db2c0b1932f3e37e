//! The membership store on DynamoDB (items: see `membership_items`).
//!
//! Listings are one Query each: of the organization's partition, of the
//! person's, of the organization's fee entries. A write reads what its checks
//! need, checks, and writes everything in one transaction whose conditions
//! make sure what was read still holds:
//! - no overlap: the periods guard of the person and organization is read
//!   (GetItem), then their memberships (a Query of the person's partition);
//!   the transaction moves the guard on under the condition that it is still
//!   at the version read, so that of concurrent adds for one person and
//!   organization only one can be written from one reading; the others read
//!   again and see it;
//! - AGENT of one organization at a time: the person's marker (organization
//!   and latest last day of their AGENT memberships there) is read (GetItem);
//!   an AGENT membership is refused if it names another organization and a day
//!   not before today, else the marker is written counting it. A membership
//!   that stops holding AGENT (removed, or its role dropped) has the marker of
//!   its organization recomputed from the person's other AGENT memberships of
//!   it (a Query of the person's partition, after the marker): pointed at the
//!   one ending last, or deleted when none is left. Every marker write is
//!   conditioned on the marker's token still being the one read.
//!
//! A transaction refused because what was read changed is planned again
//! after a short random pause, a few times at most.

use crate::item::{json, key, number};
use crate::keys::{
    agent_pk, membership_pk, organization_fees_pk, organization_memberships_pk, periods_guard_pk,
    person_memberships_pk, GUARD_SK, MARKER_SK, MEMBERSHIP_SK,
};
use crate::membership_items::{Marker, Refusal, Writes, FEE, MEMBERSHIP, VERSION};
use crate::transact::{pause, Outcome};
use crate::AwsStore;
use async_trait::async_trait;
use chrono::NaiveDate;
use patron_hub_domain::accounts::{AccountId, OrganizationId};
use patron_hub_domain::organizations::{
    FeeEntry, Membership, MembershipId, MembershipStore, MembershipWriteError, Role,
};
use patron_hub_domain::StoreError;
use std::future::Future;

/// Plans of one write tried before giving up on concurrent writers.
const ATTEMPTS: u32 = 8;

/// One person's memberships of one organization, as read for the overlap check.
struct Periods {
    /// The guard's version when read (None: no guard yet).
    guard: Option<u64>,
    /// The memberships, read after the guard.
    memberships: Vec<Membership>,
}

impl Periods {
    /// Whether another membership shares a day with `membership`'s period.
    fn overlap(&self, membership: &Membership) -> bool {
        self.memberships.iter().any(|other| {
            other.id != membership.id && other.overlaps(membership.date_start, membership.date_end)
        })
    }
}

#[async_trait]
impl MembershipStore for AwsStore {
    async fn add(
        &self,
        membership: &Membership,
        fee: Option<&FeeEntry>,
        today: NaiveDate,
    ) -> Result<(), MembershipWriteError> {
        self.write_memberships("TransactWriteItems membership add", || async {
            let mut writes = Writes::default();
            self.plan_add(&mut writes, membership, fee, today).await?;
            Ok(writes)
        })
        .await
    }

    async fn update(
        &self,
        membership: &Membership,
        today: NaiveDate,
    ) -> Result<(), MembershipWriteError> {
        self.write_memberships("TransactWriteItems membership update", || {
            self.plan_update(membership, today)
        })
        .await
    }

    async fn remove(&self, membership: &Membership) -> Result<(), MembershipWriteError> {
        self.write_memberships("TransactWriteItems membership remove", || async {
            let mut writes = Writes::default();
            writes.remove_membership(&self.table, membership)?;
            if membership.roles.contains(&Role::Agent) {
                self.plan_release(&mut writes, membership).await?;
            }
            Ok(writes)
        })
        .await
    }

    async fn get(&self, id: MembershipId) -> Result<Option<Membership>, StoreError> {
        self.get_item("GetItem membership", key(membership_pk(id), MEMBERSHIP_SK))
            .await?
            .map(|item| json(&item, MEMBERSHIP))
            .transpose()
    }

    async fn of_organization(
        &self,
        organization: OrganizationId,
    ) -> Result<Vec<Membership>, StoreError> {
        self.memberships_under(organization_memberships_pk(organization))
            .await
    }

    async fn of_person(&self, person: AccountId) -> Result<Vec<Membership>, StoreError> {
        self.memberships_under(person_memberships_pk(person)).await
    }

    async fn fees(&self, organization: OrganizationId) -> Result<Vec<FeeEntry>, StoreError> {
        self.items_under("Query fee entries", organization_fees_pk(organization))
            .await?
            .iter()
            .map(|item| json(item, FEE))
            .collect()
    }
}

impl AwsStore {
    /// Plans and writes until written or refused for good (see the module doc).
    pub(crate) async fn write_memberships<F, P>(
        &self,
        operation: &'static str,
        mut plan: F,
    ) -> Result<(), MembershipWriteError>
    where
        F: FnMut() -> P + Send,
        P: Future<Output = Result<Writes, MembershipWriteError>> + Send,
    {
        for attempt in 1..=ATTEMPTS {
            let writes = plan().await?;
            match self.transact(operation, writes.items()).await? {
                Outcome::Written => return Ok(()),
                Outcome::Refused(failed) => match writes.refusal(&failed) {
                    Refusal::Overtaken => tokio::time::sleep(pause(attempt)).await,
                    Refusal::Final(error) => return Err(error),
                },
            }
        }
        tracing::warn!(operation, "overtaken by concurrent writes on every attempt");
        Err(StoreError::Unavailable(format!(
            "{operation}: overtaken by concurrent writes {ATTEMPTS} times"
        ))
        .into())
    }

    /// Adds to `writes` a new membership, refusing an overlap now (what was
    /// read is guarded by the transaction).
    pub(crate) async fn plan_add(
        &self,
        writes: &mut Writes,
        membership: &Membership,
        fee: Option<&FeeEntry>,
        today: NaiveDate,
    ) -> Result<(), MembershipWriteError> {
        let periods = self
            .periods(membership.person, membership.organization)
            .await?;
        if periods.overlap(membership) {
            return Err(MembershipWriteError::Overlap);
        }
        writes.add_membership(&self.table, membership, fee, periods.guard)?;
        if membership.roles.contains(&Role::Agent) {
            let marker = self.marker(membership.person).await?;
            writes.take_marker(&self.table, marker.as_ref(), membership, today)?;
        }
        Ok(())
    }

    /// The writes of an update from the stored version before `membership`'s.
    async fn plan_update(
        &self,
        membership: &Membership,
        today: NaiveDate,
    ) -> Result<Writes, MembershipWriteError> {
        let expected = membership.version.checked_sub(1);
        let stored = MembershipStore::get(self, membership.id)
            .await?
            .filter(|stored| Some(stored.version) == expected)
            .ok_or(MembershipWriteError::VersionConflict)?;
        let mut writes = Writes::default();
        writes.update_membership(&self.table, &stored, membership)?;
        let period = |m: &Membership| (m.person, m.organization, m.date_start, m.date_end);
        if period(&stored) != period(membership) {
            let periods = self
                .periods(membership.person, membership.organization)
                .await?;
            if periods.overlap(membership) {
                return Err(MembershipWriteError::Overlap);
            }
            writes.periods(&self.table, membership, periods.guard)?;
        }
        let agent = |m: &Membership| m.roles.contains(&Role::Agent);
        if agent(membership) {
            let marker = self.marker(membership.person).await?;
            writes.take_marker(&self.table, marker.as_ref(), membership, today)?;
        }
        let kept = agent(membership) && membership.person == stored.person;
        if agent(&stored) && !kept {
            self.plan_release(&mut writes, &stored).await?;
        }
        Ok(writes)
    }

    /// The periods guard's version, then the memberships of `person` in
    /// `organization` (read in that order: see the module doc).
    async fn periods(
        &self,
        person: AccountId,
        organization: OrganizationId,
    ) -> Result<Periods, StoreError> {
        let guard = self
            .get_item(
                "GetItem periods guard",
                key(periods_guard_pk(person, organization), GUARD_SK),
            )
            .await?
            .map(|item| number(&item, VERSION))
            .transpose()?;
        let memberships = self
            .memberships_under(person_memberships_pk(person))
            .await?
            .into_iter()
            .filter(|membership| membership.organization == organization)
            .collect();
        Ok(Periods { guard, memberships })
    }

    /// The AGENT marker of `person`, if any.
    async fn marker(&self, person: AccountId) -> Result<Option<Marker>, StoreError> {
        self.get_item("GetItem agent marker", key(agent_pk(person), MARKER_SK))
            .await?
            .as_ref()
            .map(Marker::from_item)
            .transpose()
    }

    /// Adds to `writes` the recomputation of the AGENT marker `leaving`'s
    /// person holds through `leaving`'s organization, as if `leaving` no
    /// longer held AGENT (nothing when the marker names another organization).
    async fn plan_release(
        &self,
        writes: &mut Writes,
        leaving: &Membership,
    ) -> Result<(), StoreError> {
        let Some(marker) = self.marker(leaving.person).await? else {
            return Ok(());
        };
        if marker.organization != leaving.organization.0.to_string() {
            return Ok(());
        }
        let others = self
            .memberships_under(person_memberships_pk(leaving.person))
            .await?;
        let latest = others
            .iter()
            .filter(|other| {
                other.organization == leaving.organization
                    && other.id != leaving.id
                    && other.roles.contains(&Role::Agent)
            })
            .max_by_key(|other| other.date_end);
        writes.recompute_marker(&self.table, &marker, latest)
    }

    /// The membership copies of one partition, in sort-key order (first day,
    /// then id).
    async fn memberships_under(&self, pk: String) -> Result<Vec<Membership>, StoreError> {
        self.items_under("Query memberships", pk)
            .await?
            .iter()
            .map(|item| json(item, MEMBERSHIP))
            .collect()
    }
}
