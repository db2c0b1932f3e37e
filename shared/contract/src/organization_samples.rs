//! What the organization and membership cases share: the day they call "today",
//! sample clubs, memberships and fee entries with non-ASCII text (so a lossy round
//! trip shows), accounts to be the members, and the calls that fail the case on
//! an unexpected error.

use crate::people::{account, unique_word};
use crate::support::now_ms;
use crate::OrganizationBackend;
use chrono::{Days, NaiveDate};
use patron_hub_domain::accounts::{AccountId, OrganizationId};
use patron_hub_domain::organizations::{
    FeeEntry, Membership, MembershipId, MembershipPolicy, MembershipWriteError, Organization, Role,
};
use std::collections::BTreeSet;

/// The day the cases pass as "today": years away from the real date, so a
/// backend that reads its own clock instead of the day it is given fails.
pub(crate) fn base_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2031, 6, 15).expect("a valid date")
}

/// `day` plus `days`.
pub(crate) fn after(day: NaiveDate, days: u64) -> NaiveDate {
    day.checked_add_days(Days::new(days))
        .expect("the suite's dates are within range")
}

/// `day` minus `days`.
pub(crate) fn before(day: NaiveDate, days: u64) -> NaiveDate {
    day.checked_sub_days(Days::new(days))
        .expect("the suite's dates are within range")
}

/// A new organization id.
pub(crate) fn organization_id() -> OrganizationId {
    OrganizationId(uuid::Uuid::new_v4())
}

/// A new club (version 1) whose membership window opens on `start` (a
/// department, without window, when `start` is None).
pub(crate) fn club(start: Option<NaiveDate>) -> Organization {
    let policy = MembershipPolicy {
        require_memberships: start.is_some(),
        membership_start: start,
        membership_end: start.map(|day| after(day, 395)),
        membership_duration: Some(365),
        membership_fee_paid: 500,
        membership_fee_unpaid: 300,
    };
    Organization {
        id: organization_id(),
        name: format!("Cercle des lecteurs de Genève {}", unique_word()),
        parent: Some(organization_id()),
        policy: policy.normalized(),
        titles: vec!["Trésorière".to_owned(), "Secrétaire générale".to_owned()],
        rolled_on: None,
        created_at: now_ms(),
        version: 1,
    }
}

/// A new membership (version 1) of `person` in `organization` from `start` to
/// `end`, holding `roles`.
pub(crate) fn membership(
    person: AccountId,
    organization: OrganizationId,
    (start, end): (NaiveDate, NaiveDate),
    roles: &[Role],
) -> Membership {
    Membership {
        id: MembershipId::new(),
        person,
        organization,
        roles: roles.iter().copied().collect::<BTreeSet<_>>(),
        titles: vec!["Trésorière".to_owned()],
        date_start: start,
        date_end: end,
        fee: 500,
        created_at: now_ms(),
        version: 1,
    }
}

/// The fee entry `membership` charges.
pub(crate) fn fee(membership: &Membership) -> FeeEntry {
    FeeEntry {
        membership: membership.id,
        person: membership.person,
        organization: membership.organization,
        amount: membership.fee,
        charged_at: now_ms(),
    }
}

/// `membership` as its next update would write it, holding `roles`.
pub(crate) fn with_roles(membership: &Membership, roles: &[Role]) -> Membership {
    Membership {
        roles: roles.iter().copied().collect(),
        version: membership.version + 1,
        ..membership.clone()
    }
}

/// A new account, stored, to be a member.
pub(crate) async fn person(b: &OrganizationBackend) -> AccountId {
    let member = account();
    if let Err(error) = b.accounts.create(&member).await {
        panic!("create of account {} failed: {error}", member.user_name);
    }
    member.id
}

/// The name of a write's answer, failing the case on a storage error.
fn answer(result: &Result<(), MembershipWriteError>, why: &str) -> &'static str {
    match result {
        Ok(()) => "Ok",
        Err(MembershipWriteError::VersionConflict) => "VersionConflict",
        Err(MembershipWriteError::Overlap) => "Overlap",
        Err(MembershipWriteError::AgentElsewhere) => "AgentElsewhere",
        Err(MembershipWriteError::Store(error)) => panic!("{why}: storage failed: {error}"),
    }
}

/// Fails unless `result` is the answer `expected` names (`"Ok"`, `"Overlap"` …).
pub(crate) fn assert_answer(result: Result<(), MembershipWriteError>, expected: &str, why: &str) {
    assert_eq!(answer(&result, why), expected, "{why}: answered {result:?}");
}

/// Creates an organization with its founder, failing the case on any error.
pub(crate) async fn create(
    b: &OrganizationBackend,
    organization: &Organization,
    founder: &Membership,
) {
    let result = b.organizations.create(organization, founder).await;
    assert_answer(result, "Ok", "create of an organization");
}

/// A stored club whose window opens on `start`, founded by a new person.
pub(crate) async fn stored_club(b: &OrganizationBackend, start: Option<NaiveDate>) -> Organization {
    let organization = club(start);
    let founder = membership(
        person(b).await,
        organization.id,
        (base_day(), after(base_day(), 365)),
        &[Role::Admin],
    );
    create(b, &organization, &founder).await;
    organization
}

/// Updates an organization, failing the case on any error.
pub(crate) async fn update_organization(b: &OrganizationBackend, organization: &Organization) {
    let result = b.organizations.update(organization).await;
    assert_answer(result, "Ok", "update of an organization");
}

/// Reads one organization, failing the case on a storage error.
pub(crate) async fn get_organization(
    b: &OrganizationBackend,
    id: OrganizationId,
) -> Option<Organization> {
    match b.organizations.get(id).await {
        Ok(organization) => organization,
        Err(error) => panic!("get of organization {id:?} failed: {error}"),
    }
}

/// The organizations due for rollover on `today`, sorted by id.
pub(crate) async fn due(
    b: &OrganizationBackend,
    today: NaiveDate,
    limit: usize,
) -> Vec<Organization> {
    match b.organizations.due_for_rollover(today, limit).await {
        Ok(mut due) => {
            due.sort_by_key(|organization| organization.id);
            due
        }
        Err(error) => panic!("due_for_rollover({today}, {limit}) failed: {error}"),
    }
}

/// Adds a membership on `today`, failing the case on any error.
pub(crate) async fn add(
    b: &OrganizationBackend,
    membership: &Membership,
    fee: Option<&FeeEntry>,
    today: NaiveDate,
) {
    let result = b.memberships.add(membership, fee, today).await;
    assert_answer(result, "Ok", "add of a membership");
}

/// Updates a membership on `today`, failing the case on any error.
pub(crate) async fn update_membership(
    b: &OrganizationBackend,
    membership: &Membership,
    today: NaiveDate,
) {
    let result = b.memberships.update(membership, today).await;
    assert_answer(result, "Ok", "update of a membership");
}

/// Reads one membership, failing the case on a storage error.
pub(crate) async fn get_membership(
    b: &OrganizationBackend,
    id: MembershipId,
) -> Option<Membership> {
    match b.memberships.get(id).await {
        Ok(membership) => membership,
        Err(error) => panic!("get of membership {id} failed: {error}"),
    }
}

/// Every membership of an organization, failing the case on a storage error.
pub(crate) async fn of_organization(
    b: &OrganizationBackend,
    organization: OrganizationId,
) -> Vec<Membership> {
    match b.memberships.of_organization(organization).await {
        Ok(memberships) => memberships,
        Err(error) => panic!("of_organization({organization:?}) failed: {error}"),
    }
}

/// Every membership of a person, failing the case on a storage error.
pub(crate) async fn of_person(b: &OrganizationBackend, person: AccountId) -> Vec<Membership> {
    match b.memberships.of_person(person).await {
        Ok(memberships) => memberships,
        Err(error) => panic!("of_person({person}) failed: {error}"),
    }
}

/// Every fee entry of an organization, sorted by membership id.
pub(crate) async fn fees(b: &OrganizationBackend, organization: OrganizationId) -> Vec<FeeEntry> {
    match b.memberships.fees(organization).await {
        Ok(mut fees) => {
            fees.sort_by_key(|entry| entry.membership);
            fees
        }
        Err(error) => panic!("fees({organization:?}) failed: {error}"),
    }
}

/// `memberships` in the order the listings promise: by first day, then by id.
pub(crate) fn in_start_order(memberships: &[&Membership]) -> Vec<Membership> {
    let mut ordered: Vec<Membership> = memberships.iter().map(|m| (*m).clone()).collect();
    ordered.sort_by_key(|m| (m.date_start, m.id));
    ordered
}
