//! The organization and membership items on the table are as the crate doc
//! lays them out, read back raw through the SDK: an organization has one
//! rollover entry that follows its window, a membership's copies follow it in
//! its organization's and its person's partitions, the periods guard moves on
//! with every period added, and the AGENT marker names the membership holding
//! AGENT and goes with it.

mod raw;
mod support;

use chrono::{DateTime, NaiveDate, Utc};
use patron_hub_domain::accounts::{AccountId, OrganizationId};
use patron_hub_domain::organizations::{
    FeeEntry, Membership, MembershipId, MembershipPolicy, MembershipStore, Organization,
    OrganizationStore, Role,
};
use patron_hub_domain::SystemClock;
use raw::{item, number, partition, sort_keys, text};
use std::sync::Arc;
use support::Fixture;

const ROLLOVER: &str = "DUE#ORGANIZATION_ROLLOVER";

fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a valid date")
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).expect("a valid time")
}

fn policy(start: Option<NaiveDate>) -> MembershipPolicy {
    MembershipPolicy {
        require_memberships: start.is_some(),
        membership_start: start,
        membership_end: start.map(|start| start + chrono::Days::new(395)),
        membership_duration: Some(365),
        membership_fee_paid: 500,
        membership_fee_unpaid: 300,
    }
    .normalized()
}

fn club(start: NaiveDate) -> Organization {
    Organization {
        id: OrganizationId(uuid::Uuid::new_v4()),
        name: "Cercle des lecteurs".to_owned(),
        parent: None,
        policy: policy(Some(start)),
        titles: vec!["Trésorière".to_owned()],
        rolled_on: None,
        created_at: at(1_900_000_000),
        version: 1,
    }
}

fn membership(
    person: AccountId,
    organization: OrganizationId,
    (start, end): (NaiveDate, NaiveDate),
    roles: &[Role],
) -> Membership {
    Membership {
        id: MembershipId::new(),
        person,
        organization,
        roles: roles.iter().copied().collect(),
        titles: Vec::new(),
        date_start: start,
        date_end: end,
        fee: 500,
        created_at: at(1_900_000_000),
        version: 1,
    }
}

/// `membership` one version later, holding `roles`.
fn with_roles(membership: &Membership, roles: &[Role]) -> Membership {
    Membership {
        roles: roles.iter().copied().collect(),
        version: membership.version + 1,
        ..membership.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_has_one_rollover_entry_that_follows_its_window() {
    let fixture = Fixture::new().await;
    let store = fixture.store(fixture.queues.clone(), Arc::new(SystemClock));
    let organization = club(day(2030, 9, 1));
    let id = organization.id.0;
    let founder = membership(
        AccountId::new(),
        organization.id,
        (day(2031, 1, 1), day(2031, 12, 31)),
        &[Role::Admin],
    );
    OrganizationStore::create(&store, &organization, &founder)
        .await
        .expect("create");

    assert_eq!(
        sort_keys(&fixture, ROLLOVER).await,
        [format!("2031-09-01#{id}")]
    );
    let stored = item(&fixture, &format!("ORGANIZATION#{id}"), "ORGANIZATION")
        .await
        .expect("the organization item");
    let entry = &partition(&fixture, ROLLOVER).await[0];
    assert_eq!(entry.get("organization"), stored.get("organization"));
    assert_eq!(entry.get("version"), Some(&number(1)));
    let copy = format!("2031-01-01#{}", founder.id);
    assert_eq!(
        sort_keys(&fixture, &format!("ORGANIZATION_MEMBERSHIPS#{id}")).await,
        std::slice::from_ref(&copy)
    );
    assert_eq!(
        sort_keys(&fixture, &format!("PERSON_MEMBERSHIPS#{}", founder.person)).await,
        [copy]
    );
    let guard = format!("MEMBERSHIP_PERIODS#{}#{id}", founder.person);
    assert_eq!(
        item(&fixture, &guard, "GUARD")
            .await
            .and_then(|g| g.get("version").cloned()),
        Some(number(1)),
        "the founder's period moved the guard on"
    );

    let earlier = Organization {
        policy: policy(Some(day(2029, 3, 1))),
        version: 2,
        ..organization.clone()
    };
    OrganizationStore::update(&store, &earlier)
        .await
        .expect("update");
    assert_eq!(
        sort_keys(&fixture, ROLLOVER).await,
        [format!("2030-03-01#{id}")]
    );
    assert_eq!(
        partition(&fixture, ROLLOVER).await[0].get("version"),
        Some(&number(2))
    );
    let rolled = earlier
        .rolled_over(day(2030, 3, 1))
        .expect("due on 2030-03-01");
    OrganizationStore::update(&store, &rolled)
        .await
        .expect("rollover");
    assert_eq!(
        sort_keys(&fixture, ROLLOVER).await,
        [format!("2031-03-01#{id}")]
    );
    let department = Organization {
        policy: policy(None),
        version: rolled.version + 1,
        ..rolled.clone()
    };
    OrganizationStore::update(&store, &department)
        .await
        .expect("update");
    assert!(
        partition(&fixture, ROLLOVER).await.is_empty(),
        "no window, no entry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_copies_guard_and_marker_follow_every_write() {
    let fixture = Fixture::new().await;
    let store = fixture.store(fixture.queues.clone(), Arc::new(SystemClock));
    let (person, organization) = (AccountId::new(), OrganizationId(uuid::Uuid::new_v4()));
    let today = day(2031, 6, 15);
    let first = membership(
        person,
        organization,
        (day(2031, 1, 1), day(2031, 6, 30)),
        &[Role::Agent],
    );
    let fee = FeeEntry {
        membership: first.id,
        person,
        organization,
        amount: 500,
        charged_at: at(1_900_000_000),
    };
    store.add(&first, Some(&fee), today).await.expect("add");
    let (by_organization, by_person) = (
        format!("ORGANIZATION_MEMBERSHIPS#{}", organization.0),
        format!("PERSON_MEMBERSHIPS#{person}"),
    );
    let guard = format!("MEMBERSHIP_PERIODS#{person}#{}", organization.0);
    let marker_pk = format!("AGENT#{person}");
    let guard_version = |guard: Option<raw::Item>| guard.and_then(|g| g.get("version").cloned());
    assert_eq!(
        guard_version(item(&fixture, &guard, "GUARD").await),
        Some(number(1))
    );
    let marker = item(&fixture, &marker_pk, "MARKER")
        .await
        .expect("the AGENT marker");
    assert_eq!(
        marker.get("organization"),
        Some(&text(&organization.0.to_string()))
    );
    assert_eq!(marker.get("membership"), Some(&text(&first.id.to_string())));
    assert_eq!(marker.get("date_end"), Some(&text("2031-06-30")));

    let second = membership(
        person,
        organization,
        (day(2031, 7, 1), day(2031, 12, 31)),
        &[Role::Admin],
    );
    store.add(&second, None, today).await.expect("add");
    assert_eq!(
        guard_version(item(&fixture, &guard, "GUARD").await),
        Some(number(2))
    );
    let copies = [
        format!("2031-01-01#{}", first.id),
        format!("2031-07-01#{}", second.id),
    ];
    assert_eq!(sort_keys(&fixture, &by_organization).await, copies);
    assert_eq!(sort_keys(&fixture, &by_person).await, copies);

    let first_admin = with_roles(&first, &[Role::Admin]);
    MembershipStore::update(&store, &first_admin, today)
        .await
        .expect("update");
    assert_eq!(
        item(&fixture, &marker_pk, "MARKER").await,
        None,
        "dropping AGENT releases the marker"
    );
    let stored = item(&fixture, &format!("MEMBERSHIP#{}", first.id), "MEMBERSHIP")
        .await
        .expect("the membership item");
    for pk in [&by_organization, &by_person] {
        let copy = item(&fixture, pk, &copies[0]).await.expect("a copy");
        assert_eq!(copy.get("membership"), stored.get("membership"), "{pk}");
        assert_eq!(copy.get("version"), Some(&number(2)), "{pk}");
    }
    assert_eq!(
        guard_version(item(&fixture, &guard, "GUARD").await),
        Some(number(2)),
        "a change of roles moves no period"
    );

    let second_agent = with_roles(&second, &[Role::Admin, Role::Agent]);
    MembershipStore::update(&store, &second_agent, today)
        .await
        .expect("update");
    let marker = item(&fixture, &marker_pk, "MARKER")
        .await
        .expect("the AGENT marker");
    assert_eq!(
        marker.get("membership"),
        Some(&text(&second.id.to_string()))
    );
    store.remove(&second_agent).await.expect("remove");
    assert_eq!(item(&fixture, &marker_pk, "MARKER").await, None);
    assert_eq!(
        item(&fixture, &format!("MEMBERSHIP#{}", second.id), "MEMBERSHIP").await,
        None
    );
    assert_eq!(sort_keys(&fixture, &by_organization).await, copies[..1]);
    assert_eq!(sort_keys(&fixture, &by_person).await, copies[..1]);
    assert_eq!(
        sort_keys(&fixture, &format!("ORGANIZATION_FEES#{}", organization.0)).await,
        [format!("2030-03-17T17:46:40.000000000Z#{}", first.id)],
        "the fee entry stays"
    );
}
