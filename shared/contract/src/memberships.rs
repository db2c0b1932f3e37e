//! Cases of the membership store: memberships read back by id, organization
//! and person in start order; one person's memberships of one organization
//! never share a day, even under concurrent adds; a person is AGENT of at most
//! one organization at a time (by the memberships valid on the day given);
//! updates and removals are optimistically locked, and fee entries outlive the
//! memberships that charged them.

use crate::organization_samples::{
    add, after, assert_answer, base_day, before, fee, fees, get_membership, in_start_order,
    membership, of_organization, of_person, organization_id, person, update_membership, with_roles,
};
use crate::OrganizationBackend;
use chrono::NaiveDate;
use patron_hub_domain::organizations::{Membership, MembershipId, MembershipWriteError, Role};

/// How many overlapping adds race in the concurrent case.
const RACERS: u64 = 10;

/// A period of `days` days from `start`, both ends included.
fn period(start: NaiveDate, days: u64) -> (NaiveDate, NaiveDate) {
    (start, after(start, days - 1))
}

/// Memberships of two persons in two organizations, added out of order (one
/// sharing its first day with another), read back intact by id, and listed by
/// organization and by person by first day, then id.
pub async fn added_memberships_read_back_in_start_order(b: OrganizationBackend) {
    let today = base_day();
    let (ana, ben) = (person(&b).await, person(&b).await);
    let (club, other) = (organization_id(), organization_id());
    let late = membership(ana, club, period(after(today, 400), 30), &[Role::Export]);
    let early = membership(ana, club, period(before(today, 400), 30), &[]);
    let now = membership(
        ana,
        club,
        period(today, 365),
        &[Role::Admin, Role::Analytics],
    );
    let bens = membership(ben, club, period(today, 365), &[Role::Agent]);
    let elsewhere = membership(ana, other, period(before(today, 10), 20), &[Role::Admin]);
    for added in [&late, &early, &now, &bens, &elsewhere] {
        add(&b, added, Some(&fee(added)), today).await;
    }
    for added in [&late, &early, &now, &bens, &elsewhere] {
        assert_eq!(get_membership(&b, added.id).await.as_ref(), Some(added));
    }
    assert_eq!(
        of_organization(&b, club).await,
        in_start_order(&[&late, &early, &now, &bens])
    );
    assert_eq!(
        of_person(&b, ana).await,
        in_start_order(&[&late, &early, &now, &elsewhere])
    );
    assert_eq!(of_person(&b, ben).await, [bens]);
    assert_eq!(get_membership(&b, MembershipId::new()).await, None);
    assert_eq!(of_organization(&b, organization_id()).await, []);
}

/// An update from the stored version is kept everywhere it is read; one from an
/// older or a future version, or of a membership never added, and a second add
/// of a stored membership, are VersionConflicts that change nothing.
pub async fn update_bumps_the_version_and_refuses_stale_or_missing(b: OrganizationBackend) {
    let today = base_day();
    let first = membership(person(&b).await, organization_id(), period(today, 90), &[]);
    add(&b, &first, None, today).await;
    let second = Membership {
        titles: vec!["Secrétaire adjointe".to_owned()],
        ..with_roles(&first, &[Role::Admin, Role::Export])
    };
    update_membership(&b, &second, today).await;
    assert_eq!(get_membership(&b, first.id).await.as_ref(), Some(&second));
    assert_eq!(
        of_organization(&b, first.organization).await,
        std::slice::from_ref(&second)
    );
    assert_eq!(
        of_person(&b, first.person).await,
        std::slice::from_ref(&second)
    );
    let stale = with_roles(&first, &[Role::Analytics]);
    assert_answer(
        b.memberships.update(&stale, today).await,
        "VersionConflict",
        "an update from version 1 when 2 is stored",
    );
    let ahead = Membership {
        version: 4,
        ..stale.clone()
    };
    assert_answer(
        b.memberships.update(&ahead, today).await,
        "VersionConflict",
        "an update skipping a version",
    );
    let again = Membership {
        date_start: after(first.date_end, 1),
        date_end: after(first.date_end, 30),
        ..first.clone()
    };
    assert_answer(
        b.memberships.add(&again, None, today).await,
        "VersionConflict",
        "a second add of one membership (another period)",
    );
    assert_eq!(get_membership(&b, first.id).await.as_ref(), Some(&second));
    assert_eq!(of_organization(&b, first.organization).await, [second]);
    let never = membership(first.person, organization_id(), period(today, 90), &[]);
    let missing = with_roles(&never, &[Role::Admin]);
    assert_answer(
        b.memberships.update(&missing, today).await,
        "VersionConflict",
        "an update of a membership never added",
    );
    assert_eq!(get_membership(&b, missing.id).await, None);
    assert_eq!(of_organization(&b, missing.organization).await, []);
}

/// Periods sharing even one day with a stored one are refused as Overlap and
/// leave neither membership nor fee entry; periods ending the day before it
/// starts or starting the day after it ends are accepted.
pub async fn overlapping_periods_are_refused_and_adjacent_ones_accepted(b: OrganizationBackend) {
    let today = base_day();
    let ana = person(&b).await;
    let club = organization_id();
    let stored = membership(ana, club, period(today, 100), &[]);
    let charged = fee(&stored);
    add(&b, &stored, Some(&charged), today).await;
    let last = stored.date_end;
    let overlapping = [
        (before(today, 10), today),
        (last, after(last, 10)),
        (after(today, 10), after(today, 20)),
        (before(today, 1), after(last, 1)),
        (today, last),
    ];
    for dates in overlapping {
        let refused = membership(ana, club, dates, &[]);
        assert_answer(
            b.memberships
                .add(&refused, Some(&fee(&refused)), today)
                .await,
            "Overlap",
            &format!("a period {dates:?} over {:?}", (today, last)),
        );
        assert_eq!(get_membership(&b, refused.id).await, None);
    }
    assert_eq!(fees(&b, club).await, [charged]);
    let before_it = membership(ana, club, (before(today, 30), before(today, 1)), &[]);
    let after_it = membership(ana, club, (after(last, 1), after(last, 30)), &[]);
    add(&b, &before_it, None, today).await;
    add(&b, &after_it, None, today).await;
    assert_eq!(
        of_organization(&b, club).await,
        in_start_order(&[&stored, &before_it, &after_it])
    );
}

/// Ten concurrent adds of overlapping periods for one person and organization:
/// exactly one succeeds, the others are Overlap and leave no trace.
pub async fn concurrent_overlapping_adds_let_exactly_one_in(b: OrganizationBackend) {
    let today = base_day();
    let (ana, club) = (person(&b).await, organization_id());
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let candidate = membership(ana, club, (before(today, i), after(today, i)), &[]);
            let memberships = b.memberships.clone();
            tokio::spawn(async move {
                let charged = fee(&candidate);
                let result = memberships.add(&candidate, Some(&charged), today).await;
                (candidate, charged, result)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for joined in futures::future::join_all(tasks).await {
        let (candidate, charged, result) = joined.expect("an adding task panicked");
        match result {
            Ok(()) => winners.push((candidate, charged)),
            Err(MembershipWriteError::Overlap) => {
                assert_eq!(get_membership(&b, candidate.id).await, None);
            }
            Err(error) => panic!("a concurrent add failed: {error}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one add may succeed");
    let (winner, charged) = winners.remove(0);
    assert_eq!(
        of_organization(&b, club).await,
        std::slice::from_ref(&winner)
    );
    assert_eq!(of_person(&b, ana).await, [winner]);
    assert_eq!(fees(&b, club).await, [charged]);
}

/// One period for one person in two organizations, and for two persons in one
/// organization: no overlap.
pub async fn other_organizations_and_persons_never_overlap(b: OrganizationBackend) {
    let today = base_day();
    let (ana, ben) = (person(&b).await, person(&b).await);
    let (club, other) = (organization_id(), organization_id());
    let dates = period(today, 365);
    let anas = membership(ana, club, dates, &[Role::Admin]);
    let anas_other = membership(ana, other, dates, &[Role::Admin]);
    let bens = membership(ben, club, dates, &[Role::Admin]);
    for added in [&anas, &anas_other, &bens] {
        add(&b, added, None, today).await;
    }
    assert_eq!(
        of_organization(&b, club).await,
        in_start_order(&[&anas, &bens])
    );
    assert_eq!(
        of_person(&b, ana).await,
        in_start_order(&[&anas, &anas_other])
    );
}

/// A person AGENT of one organization by a membership valid today (its last day
/// included) cannot be made AGENT of another, by add or by update; the refused
/// writes change nothing, and other roles there are fine.
pub async fn agent_elsewhere_is_refused_while_valid_today(b: OrganizationBackend) {
    let today = base_day();
    let ana = person(&b).await;
    let agency = membership(
        ana,
        organization_id(),
        (before(today, 30), after(today, 30)),
        &[Role::Agent, Role::Admin],
    );
    add(&b, &agency, None, today).await;
    let other = organization_id();
    let agent_there = membership(ana, other, period(today, 60), &[Role::Agent]);
    for day in [today, agency.date_start, agency.date_end] {
        assert_answer(
            b.memberships.add(&agent_there, None, day).await,
            "AgentElsewhere",
            &format!("AGENT elsewhere on {day}"),
        );
    }
    assert_eq!(get_membership(&b, agent_there.id).await, None);
    let analyst = membership(ana, other, period(today, 60), &[Role::Analytics]);
    add(&b, &analyst, None, today).await;
    assert_answer(
        b.memberships
            .update(
                &with_roles(&analyst, &[Role::Analytics, Role::Agent]),
                agency.date_end,
            )
            .await,
        "AgentElsewhere",
        "an update making the person AGENT elsewhere",
    );
    assert_eq!(
        get_membership(&b, analyst.id).await.as_ref(),
        Some(&analyst)
    );
    assert_eq!(
        of_person(&b, ana).await,
        in_start_order(&[&agency, &analyst])
    );
}

/// Once the AGENT membership has ended (the day after its last day), the person
/// may be AGENT of another organization.
pub async fn agent_elsewhere_is_allowed_once_the_other_has_ended(b: OrganizationBackend) {
    let today = base_day();
    let ana = person(&b).await;
    let agency = membership(
        ana,
        organization_id(),
        (before(today, 30), after(today, 30)),
        &[Role::Agent],
    );
    add(&b, &agency, None, today).await;
    let next_agency = membership(
        ana,
        organization_id(),
        period(after(agency.date_end, 1), 90),
        &[Role::Agent],
    );
    assert_answer(
        b.memberships.add(&next_agency, None, agency.date_end).await,
        "AgentElsewhere",
        "AGENT elsewhere on the last day of the other",
    );
    add(&b, &next_agency, None, after(agency.date_end, 1)).await;
    assert_eq!(
        get_membership(&b, next_agency.id).await.as_ref(),
        Some(&next_agency)
    );
}

/// Once the AGENT membership is removed, the person may be AGENT elsewhere.
pub async fn agent_elsewhere_is_allowed_once_the_other_is_removed(b: OrganizationBackend) {
    let today = base_day();
    let ana = person(&b).await;
    let agency = membership(ana, organization_id(), period(today, 365), &[Role::Agent]);
    add(&b, &agency, None, today).await;
    let agent_there = membership(ana, organization_id(), period(today, 365), &[Role::Agent]);
    assert_answer(
        b.memberships.add(&agent_there, None, today).await,
        "AgentElsewhere",
        "AGENT elsewhere before the removal",
    );
    assert_answer(
        b.memberships.remove(&agency).await,
        "Ok",
        "removal of the AGENT membership",
    );
    add(&b, &agent_there, None, today).await;
    assert_eq!(of_person(&b, ana).await, [agent_there]);
}

/// AGENT by two adjacent memberships of one organization (the earlier one,
/// ended yesterday, added last): removing the earlier one leaves the person
/// AGENT there through the one valid today, so AGENT elsewhere stays refused
/// until that one is removed too.
pub async fn agent_elsewhere_stays_refused_while_another_agent_membership_remains(
    b: OrganizationBackend,
) {
    let today = base_day();
    let (ana, agency) = (person(&b).await, organization_id());
    let current = membership(ana, agency, period(today, 365), &[Role::Agent]);
    let previous = membership(
        ana,
        agency,
        (before(today, 60), before(today, 1)),
        &[Role::Agent, Role::Admin],
    );
    add(&b, &current, None, today).await;
    add(&b, &previous, None, today).await;
    let agent_there = membership(ana, organization_id(), period(today, 365), &[Role::Agent]);
    assert_answer(
        b.memberships.add(&agent_there, None, today).await,
        "AgentElsewhere",
        "AGENT elsewhere while both AGENT memberships are stored",
    );
    assert_answer(
        b.memberships.remove(&previous).await,
        "Ok",
        "removal of the earlier AGENT membership",
    );
    assert_answer(
        b.memberships.add(&agent_there, None, today).await,
        "AgentElsewhere",
        "AGENT elsewhere while the membership valid today holds AGENT",
    );
    assert_eq!(get_membership(&b, agent_there.id).await, None);
    assert_answer(
        b.memberships.remove(&current).await,
        "Ok",
        "removal of the remaining AGENT membership",
    );
    add(&b, &agent_there, None, today).await;
    assert_eq!(of_person(&b, ana).await, [agent_there]);
}

/// Once an update drops AGENT from the membership, the person may be AGENT
/// elsewhere; giving it back is then refused and changes nothing.
pub async fn agent_elsewhere_is_allowed_once_the_other_drops_the_role(b: OrganizationBackend) {
    let today = base_day();
    let ana = person(&b).await;
    let agency = membership(
        ana,
        organization_id(),
        period(today, 365),
        &[Role::Agent, Role::Admin],
    );
    add(&b, &agency, None, today).await;
    let agent_there = membership(ana, organization_id(), period(today, 365), &[Role::Agent]);
    assert_answer(
        b.memberships.add(&agent_there, None, today).await,
        "AgentElsewhere",
        "AGENT elsewhere before the role is dropped",
    );
    let admin_only = with_roles(&agency, &[Role::Admin]);
    update_membership(&b, &admin_only, today).await;
    add(&b, &agent_there, None, today).await;
    assert_answer(
        b.memberships
            .update(&with_roles(&admin_only, &[Role::Admin, Role::Agent]), today)
            .await,
        "AgentElsewhere",
        "AGENT given back while held elsewhere",
    );
    assert_eq!(
        get_membership(&b, agency.id).await.as_ref(),
        Some(&admin_only)
    );
}

/// AGENT by two memberships of one organization, an update keeping it, every
/// other role in many organizations, and AGENT of another person elsewhere:
/// all accepted.
pub async fn agent_twice_in_one_organization_and_other_roles_anywhere_are_fine(
    b: OrganizationBackend,
) {
    let today = base_day();
    let (ana, ben) = (person(&b).await, person(&b).await);
    let agency = organization_id();
    let first = membership(
        ana,
        agency,
        (before(today, 10), after(today, 10)),
        &[Role::Agent],
    );
    let second = membership(
        ana,
        agency,
        period(after(today, 11), 90),
        &[Role::Agent, Role::Admin],
    );
    add(&b, &first, None, today).await;
    add(&b, &second, None, today).await;
    let renamed = Membership {
        titles: vec!["Agente de terrain".to_owned()],
        ..with_roles(&first, &[Role::Agent])
    };
    update_membership(&b, &renamed, today).await;
    let mut others = Vec::new();
    for _ in 0..3 {
        let roles = [Role::Admin, Role::Analytics, Role::Export];
        let elsewhere = membership(ana, organization_id(), period(today, 365), &roles);
        add(&b, &elsewhere, None, today).await;
        others.push(elsewhere);
    }
    let bens = membership(ben, organization_id(), period(today, 365), &[Role::Agent]);
    add(&b, &bens, None, today).await;
    let mut expected = vec![&renamed, &second];
    expected.extend(others.iter());
    assert_eq!(of_person(&b, ana).await, in_start_order(&expected));
    assert_eq!(of_person(&b, ben).await, [bens]);
}

/// The fee entries of an organization are exactly those its memberships were
/// added with, intact; a membership added without one adds none.
pub async fn fees_are_the_entries_added(b: OrganizationBackend) {
    let today = base_day();
    let (ana, ben) = (person(&b).await, person(&b).await);
    let (club, other) = (organization_id(), organization_id());
    let anas = membership(ana, club, period(today, 365), &[]);
    let bens = Membership {
        fee: 300,
        ..membership(ben, club, period(today, 365), &[])
    };
    let free = Membership {
        fee: 0,
        ..membership(ana, club, period(after(today, 365), 30), &[])
    };
    let elsewhere = membership(ana, other, period(today, 365), &[]);
    let mut charged = vec![fee(&anas), fee(&bens)];
    add(&b, &anas, Some(&charged[0]), today).await;
    add(&b, &bens, Some(&charged[1]), today).await;
    add(&b, &free, None, today).await;
    let other_fee = fee(&elsewhere);
    add(&b, &elsewhere, Some(&other_fee), today).await;
    charged.sort_by_key(|entry| entry.membership);
    assert_eq!(fees(&b, club).await, charged);
    assert_eq!(fees(&b, other).await, [other_fee]);
    assert_eq!(fees(&b, organization_id()).await, []);
}

/// A removal of an older version, or of a removed membership, is a
/// VersionConflict; the current version's removal takes the membership out of
/// every listing and leaves its fee entry.
pub async fn remove_refuses_a_stale_version_and_keeps_the_fee(b: OrganizationBackend) {
    let today = base_day();
    let first = membership(
        person(&b).await,
        organization_id(),
        period(today, 365),
        &[Role::Admin],
    );
    let charged = fee(&first);
    add(&b, &first, Some(&charged), today).await;
    let second = with_roles(&first, &[Role::Export]);
    update_membership(&b, &second, today).await;
    assert_answer(
        b.memberships.remove(&first).await,
        "VersionConflict",
        "removal of version 1 when 2 is stored",
    );
    assert_eq!(get_membership(&b, first.id).await.as_ref(), Some(&second));
    assert_answer(
        b.memberships.remove(&second).await,
        "Ok",
        "removal of the current version",
    );
    assert_eq!(get_membership(&b, first.id).await, None);
    assert_eq!(of_organization(&b, first.organization).await, []);
    assert_eq!(of_person(&b, first.person).await, []);
    assert_eq!(fees(&b, first.organization).await, [charged]);
    assert_answer(
        b.memberships.remove(&second).await,
        "VersionConflict",
        "removal of a removed membership",
    );
}
