//! Cases of the organization store: an organization is created together with
//! its founder's membership, updates are optimistically locked, and the rollover
//! index gives exactly the organizations due on a day, at most as many as asked,
//! following every window change and leaving out those already rolled that day.

use crate::organization_samples::{
    after, assert_answer, base_day, before, club, create, due, get_membership, get_organization,
    membership, of_organization, of_person, organization_id, person, stored_club,
    update_organization,
};
use crate::OrganizationBackend;
use chrono::NaiveDate;
use patron_hub_domain::organizations::{MembershipPolicy, Organization, Role};

/// `organization` as its next update would write it.
fn next(organization: &Organization) -> Organization {
    Organization {
        version: organization.version + 1,
        ..organization.clone()
    }
}

/// `organization`'s next version with its window opening on `start` (none when None).
fn with_window(organization: &Organization, start: Option<NaiveDate>) -> Organization {
    Organization {
        policy: club(start).policy,
        ..next(organization)
    }
}

/// The organization and its founder read back intact by id, by organization and
/// by person; a second create of the same organization is a VersionConflict
/// that writes neither it nor its founder.
pub async fn create_stores_the_organization_and_its_founder(b: OrganizationBackend) {
    let organization = club(Some(before(base_day(), 30)));
    let founder = membership(
        person(&b).await,
        organization.id,
        (base_day(), after(base_day(), 365)),
        &[Role::Admin],
    );
    create(&b, &organization, &founder).await;
    assert_eq!(
        get_organization(&b, organization.id).await.as_ref(),
        Some(&organization)
    );
    assert_eq!(
        get_membership(&b, founder.id).await.as_ref(),
        Some(&founder)
    );
    assert_eq!(
        of_organization(&b, organization.id).await,
        std::slice::from_ref(&founder)
    );
    assert_eq!(
        of_person(&b, founder.person).await,
        std::slice::from_ref(&founder)
    );
    assert_eq!(get_organization(&b, organization_id()).await, None);

    let usurper = Organization {
        name: "Autre cercle".to_owned(),
        ..organization.clone()
    };
    let second = membership(
        person(&b).await,
        organization.id,
        (base_day(), after(base_day(), 365)),
        &[Role::Admin],
    );
    assert_answer(
        b.organizations.create(&usurper, &second).await,
        "VersionConflict",
        "a second create of one organization",
    );
    assert_eq!(
        get_organization(&b, organization.id).await.as_ref(),
        Some(&organization)
    );
    assert_eq!(get_membership(&b, second.id).await, None);
    assert_eq!(of_organization(&b, organization.id).await, [founder]);
    assert_eq!(of_person(&b, second.person).await, []);
}

/// An update from the stored version is kept; one from an older or a future
/// version, or of an organization never created, is a VersionConflict that
/// changes nothing.
pub async fn update_bumps_the_version_and_refuses_stale_or_missing(b: OrganizationBackend) {
    let first = stored_club(&b, Some(base_day())).await;
    let second = Organization {
        name: "Cercle renommé — Zürich".to_owned(),
        titles: vec!["Président·e".to_owned()],
        ..next(&first)
    };
    update_organization(&b, &second).await;
    assert_eq!(get_organization(&b, first.id).await.as_ref(), Some(&second));
    let stale = Organization {
        name: "Périmé".to_owned(),
        ..second.clone()
    };
    assert_answer(
        b.organizations.update(&stale).await,
        "VersionConflict",
        "an update from version 1 when 2 is stored",
    );
    let ahead = Organization {
        version: 4,
        ..stale.clone()
    };
    assert_answer(
        b.organizations.update(&ahead).await,
        "VersionConflict",
        "an update skipping a version",
    );
    assert_eq!(get_organization(&b, first.id).await.as_ref(), Some(&second));
    let missing = next(&club(Some(base_day())));
    assert_answer(
        b.organizations.update(&missing).await,
        "VersionConflict",
        "an update of an organization never created",
    );
    assert_eq!(get_organization(&b, missing.id).await, None);
}

/// Due on `today`: the window opened a year ago or more (due long ago, due
/// today, or rolled on another day); not due: due tomorrow, no window, or
/// already rolled today. Exactly the due ones come back, intact.
pub async fn due_for_rollover_returns_exactly_the_due_ones(b: OrganizationBackend) {
    let today = base_day();
    let due_today = stored_club(&b, Some(before(today, 365))).await;
    assert_eq!(due_today.policy.rollover_due(), Some(today), "case setup");
    let mut all = vec![
        due_today,
        stored_club(&b, Some(before(today, 3 * 365))).await,
        stored_club(&b, Some(before(today, 364))).await,
        stored_club(&b, None).await,
    ];
    for rolled_on in [today, before(today, 1)] {
        let rolled = Organization {
            rolled_on: Some(rolled_on),
            ..club(Some(before(today, 2 * 365)))
        };
        let founder = membership(
            person(&b).await,
            rolled.id,
            (today, after(today, 30)),
            &[Role::Admin],
        );
        create(&b, &rolled, &founder).await;
        all.push(rolled);
    }
    let due_on = |day: NaiveDate| {
        let mut due: Vec<Organization> = all
            .iter()
            .filter(|organization| organization.rollover_is_due(day))
            .cloned()
            .collect();
        due.sort_by_key(|organization| organization.id);
        due
    };
    assert_eq!(due_on(today).len(), 3, "case setup: three of six are due");
    assert_eq!(due(&b, today, 100).await, due_on(today));
    let yesterday = before(today, 1);
    assert_eq!(
        due(&b, yesterday, 100).await,
        due_on(yesterday),
        "the day before"
    );
}

/// With organizations already rolled today holding the earliest due dates, a
/// limit still gives that many due organizations (never one rolled today),
/// and a limit beyond their number gives them all.
pub async fn due_for_rollover_respects_its_limit(b: OrganizationBackend) {
    let today = base_day();
    for years in 5..8 {
        let rolled = Organization {
            rolled_on: Some(today),
            ..club(Some(before(today, years * 365)))
        };
        let founder = membership(
            person(&b).await,
            rolled.id,
            (today, after(today, 30)),
            &[Role::Admin],
        );
        create(&b, &rolled, &founder).await;
    }
    let mut expected = Vec::new();
    for days in [400, 500, 600, 700] {
        expected.push(stored_club(&b, Some(before(today, days))).await);
    }
    stored_club(&b, Some(before(today, 10))).await;
    expected.sort_by_key(|organization| organization.id);
    for limit in [1, 2, 3] {
        let some = due(&b, today, limit).await;
        assert_eq!(some.len(), limit, "limit {limit}: {some:?}");
        assert!(
            some.iter()
                .all(|organization| expected.contains(organization)),
            "limit {limit} gave an organization that is not due: {some:?}"
        );
    }
    assert_eq!(due(&b, today, 4).await, expected);
    assert_eq!(due(&b, today, 50).await, expected);
}

/// Every window change an update makes moves the due date: earlier makes the
/// organization due, later or no window takes it out, and back again.
pub async fn updating_the_window_moves_the_due_date(b: OrganizationBackend) {
    let today = base_day();
    let ids = |due: &[Organization]| due.iter().map(|o| o.id).collect::<Vec<_>>();
    let mut stored = stored_club(&b, Some(before(today, 100))).await;
    assert_eq!(due(&b, today, 10).await, []);
    let steps: [(Option<NaiveDate>, bool); 4] = [
        (Some(before(today, 366)), true),
        (Some(today), false),
        (None, false),
        (Some(before(today, 800)), true),
    ];
    for (start, is_due) in steps {
        stored = with_window(&stored, start);
        update_organization(&b, &stored).await;
        let found = due(&b, today, 10).await;
        let expected = if is_due { vec![stored.id] } else { vec![] };
        assert_eq!(ids(&found), expected, "window opening on {start:?}");
        if is_due {
            assert_eq!(
                found,
                std::slice::from_ref(&stored),
                "the due organization is the stored one"
            );
        }
    }
    let department = with_window(&stored, None);
    assert_eq!(department.policy, MembershipPolicy::default(), "case setup");
    update_organization(&b, &department).await;
    assert_eq!(
        due(&b, after(today, 3650), 10).await,
        [],
        "no window is never due"
    );
}

/// An organization years behind, rolled over today (one year), is not due again
/// today though its new due date is past; it is due again tomorrow.
pub async fn an_organization_rolled_today_is_not_due_again_today(b: OrganizationBackend) {
    let today = base_day();
    let behind = stored_club(&b, Some(before(today, 3 * 365))).await;
    assert_eq!(due(&b, today, 10).await, std::slice::from_ref(&behind));
    let Some(rolled) = behind.rolled_over(today) else {
        panic!("case setup: the organization is due");
    };
    update_organization(&b, &rolled).await;
    assert_eq!(due(&b, today, 10).await, []);
    assert_eq!(due(&b, after(today, 1), 10).await, [rolled]);
}
