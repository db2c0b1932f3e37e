//! Issue 11, point 5.6: club fees are bounded, and the statistics add them up
//! with checked arithmetic instead of wrapping around.

mod accounts_support;

use accounts_support::Harness;
use chrono::Utc;
use patron_hub_domain::accounts::Account;
use patron_hub_domain::organizations::{
    FeeEntry, Membership, MembershipId, MembershipStore, OrganizationError, OrganizationInput,
    OrganizationService, MAX_FEE_CENTS,
};
use patron_hub_domain::Clock;
use std::collections::BTreeSet;
use std::sync::Arc;

fn organizations(h: &Harness) -> OrganizationService {
    let store = Arc::new(h.store.clone());
    OrganizationService::new(store.clone(), store.clone(), store, h.clock.clone())
}

fn club(paid: u64, unpaid: u64) -> OrganizationInput {
    OrganizationInput {
        name: Some("Club d'échecs".into()),
        require_memberships: Some(true),
        membership_fee_paid: Some(paid),
        membership_fee_unpaid: Some(unpaid),
        ..OrganizationInput::default()
    }
}

#[tokio::test]
async fn a_fee_above_the_bound_is_refused_naming_the_field() {
    let h = Harness::new();
    let chief = h.super_admin().await;
    let orgs = organizations(&h);
    for (input, field) in [
        (club(MAX_FEE_CENTS + 1, 0), "membership_fee_paid"),
        (club(0, u64::MAX), "membership_fee_unpaid"),
    ] {
        match orgs.create_organization(&chief, input).await {
            Err(OrganizationError::Invalid(invalid)) => assert_eq!(invalid.field, field),
            other => panic!("a fee over the bound was accepted: {other:?}"),
        }
    }
    let (club, _) = orgs
        .create_organization(&chief, club(MAX_FEE_CENTS, 500))
        .await
        .unwrap();
    assert_eq!(club.policy.membership_fee_paid, MAX_FEE_CENTS);
    match orgs
        .update_organization(
            &chief,
            club.id,
            OrganizationInput {
                membership_fee_paid: Some(MAX_FEE_CENTS + 1),
                ..OrganizationInput::default()
            },
        )
        .await
    {
        Err(OrganizationError::Invalid(invalid)) => {
            assert_eq!(invalid.field, "membership_fee_paid")
        }
        other => panic!("a fee over the bound was accepted: {other:?}"),
    }
}

/// Fee entries written before the bound existed (two maximal fees) make the
/// statistics fail plainly rather than report a wrapped-around sum.
#[tokio::test]
async fn fees_that_overflow_are_refused_not_wrapped() {
    let h = Harness::new();
    let chief = h.super_admin().await;
    let orgs = organizations(&h);
    let (club, _) = orgs.create_organization(&chief, club(0, 0)).await.unwrap();
    let today = h.clock.now().date_naive();
    for person in [
        h.member(&chief, "a", "a@example.org").await,
        h.member(&chief, "b", "b@example.org").await,
    ] {
        add_with_fee(&h, &person, club.id, u64::MAX - 1, today).await;
    }
    match orgs.statistics(&chief, club.id).await {
        Err(OrganizationError::Unavailable(detail)) => {
            assert!(detail.contains("fees"), "{detail}")
        }
        other => panic!("the fees were summed to {other:?}"),
    }
}

async fn add_with_fee(
    h: &Harness,
    person: &Account,
    organization: patron_hub_domain::accounts::OrganizationId,
    amount: u64,
    today: chrono::NaiveDate,
) {
    let membership = Membership {
        id: MembershipId::new(),
        person: person.id,
        organization,
        roles: BTreeSet::new(),
        titles: Vec::new(),
        date_start: today,
        date_end: today,
        fee: amount,
        created_at: Utc::now(),
        version: 1,
    };
    let fee = FeeEntry {
        membership: membership.id,
        person: person.id,
        organization,
        amount,
        charged_at: Utc::now(),
    };
    h.store.add(&membership, Some(&fee), today).await.unwrap();
}
