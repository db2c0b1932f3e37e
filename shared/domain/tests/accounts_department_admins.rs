//! Issue 3, point 9: the administrators of an account's department (an
//! organization, through a membership with ORGANIZATION:ADMIN valid today)
//! read, search and change it; nobody else but super administrators and the
//! account itself — and never an account holding a network role.

mod accounts_support;

use accounts_support::*;
use patron_hub_domain::accounts::{Account, AccountError, AccountPatch, NetworkRole};
use patron_hub_domain::organizations::{NewMember, OrganizationInput, OrganizationService, Role};
use std::sync::Arc;

fn organizations(h: &Harness) -> OrganizationService {
    let store = Arc::new(h.store.clone());
    OrganizationService::new(store.clone(), store.clone(), store, h.clock.clone())
}

/// Puts `account` in `department` (as the super administrator).
async fn assign(h: &Harness, chief: &Account, account: &Account, department: &str) -> Account {
    let patch = AccountPatch {
        department: Some(Some(department.to_owned())),
        ..AccountPatch::default()
    };
    h.service
        .update_account(chief, account.id, patch)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_department_administrator_administers_the_departments_accounts_only() {
    let h = Harness::new();
    let chief = h.super_admin().await;
    let head = h.member(&chief, "head", "head@patrons.test").await;
    let clerk = h.member(&chief, "clerk", "clerk@patrons.test").await;
    let outsider = h.member(&chief, "outsider", "outsider@patrons.test").await;
    let orgs = organizations(&h);

    // The head creates the department and so administers it.
    let input = OrganizationInput {
        name: Some("Bibliothèque de droit".into()),
        ..OrganizationInput::default()
    };
    let (department, _) = orgs.create_organization(&head, input).await.unwrap();
    let department_id = department.id.0.to_string();
    let clerk = assign(&h, &chief, &clerk, &department_id).await;

    // Before the head administers it, nothing; after, read, search and change.
    let rename = || AccountPatch {
        last_name: Some("Renommé".into()),
        paid: Some(true),
        ..AccountPatch::default()
    };
    let changed = h
        .service
        .update_account(&head, clerk.id, rename())
        .await
        .unwrap();
    assert_eq!(
        (changed.last_name.as_str(), changed.paid),
        ("Renommé", true)
    );
    assert_eq!(
        h.service.get_account(&head, clerk.id).await.unwrap().id,
        clerk.id
    );
    let found = h.service.search(&head, "patrons.test", 100).await.unwrap();
    assert_eq!(
        found.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![clerk.id]
    );

    // Outside the department: forbidden, whether or not the account exists.
    assert_error(
        h.service.update_account(&head, outsider.id, rename()).await,
        AccountError::Forbidden,
    );
    assert_error(
        h.service.get_account(&head, outsider.id).await,
        AccountError::Forbidden,
    );
    assert_error(
        h.service.search(&outsider, "patrons", 10).await,
        AccountError::Forbidden,
    );
    // Nor may the head move an account to a department they do not administer.
    let elsewhere = AccountPatch {
        department: Some(Some(uuid_text())),
        ..AccountPatch::default()
    };
    assert_error(
        h.service.update_account(&head, clerk.id, elsewhere).await,
        AccountError::Forbidden,
    );

    // A network account in the department stays out of reach.
    let staff = assign(&h, &chief, &outsider, &department_id).await;
    let grant = AccountPatch {
        network_roles: Some(vec!["NETWORK_STAFF".into()]),
        ..AccountPatch::default()
    };
    let staff = h
        .service
        .update_account(&chief, staff.id, grant)
        .await
        .unwrap();
    assert!(staff.has_role(NetworkRole::NetworkStaff));
    assert_error(
        h.service.update_account(&head, staff.id, rename()).await,
        AccountError::Forbidden,
    );

    // An admin role that is removed (or a membership that expires) grants nothing.
    let deputy = h.member(&chief, "deputy", "deputy@patrons.test").await;
    let added = orgs
        .add_member(
            &head,
            department.id,
            NewMember {
                person: deputy.id,
                roles: vec![Role::Admin],
                titles: vec![],
                date_start: None,
            },
        )
        .await
        .unwrap();
    assert!(h.service.get_account(&deputy, clerk.id).await.is_ok());
    orgs.remove_member(&head, department.id, added.id)
        .await
        .unwrap();
    assert_error(
        h.service.get_account(&deputy, clerk.id).await,
        AccountError::Forbidden,
    );
}

fn uuid_text() -> String {
    "6f1c1d0e-5a4b-4c3d-8e2f-1a2b3c4d5e6f".to_owned()
}

/// Issue 11, point 3: an account of the department that also holds a role in
/// an organization the department's administrator does not administer is out
/// of their reach (else they could set its e-mail, reset its password and
/// administer that organization); a role in the department itself is not.
#[tokio::test]
async fn an_account_holding_a_role_elsewhere_answers_to_super_administrators_only() {
    let h = Harness::new();
    let chief = h.super_admin().await;
    let head = h.member(&chief, "head", "head@patrons.test").await;
    let victim = h.member(&chief, "victim", "victim@patrons.test").await;
    let clerk = h.member(&chief, "clerk", "clerk@patrons.test").await;
    let orgs = organizations(&h);
    let (department, _) = orgs
        .create_organization(&head, named("Bibliothèque de droit"))
        .await
        .unwrap();
    let department_id = department.id.0.to_string();
    let victim = assign(&h, &chief, &victim, &department_id).await;
    let clerk = assign(&h, &chief, &clerk, &department_id).await;
    // The victim founds a club, and so administers it.
    orgs.create_organization(&victim, named("Club d'échecs"))
        .await
        .unwrap();
    // The clerk holds a role in the department itself only.
    orgs.add_member(
        &head,
        department.id,
        NewMember {
            person: clerk.id,
            roles: vec![Role::Analytics],
            titles: vec![],
            date_start: None,
        },
    )
    .await
    .unwrap();

    let takeover = AccountPatch {
        email: Some("attacker@elsewhere.test".into()),
        ..AccountPatch::default()
    };
    assert_error(
        h.service.update_account(&head, victim.id, takeover).await,
        AccountError::Forbidden,
    );
    assert_error(
        h.service.get_account(&head, victim.id).await,
        AccountError::Forbidden,
    );
    let found = h.service.search(&head, "patrons.test", 100).await.unwrap();
    assert_eq!(
        found.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![clerk.id],
        "the victim is not listed"
    );
    assert_eq!(
        h.service.get_account(&head, clerk.id).await.unwrap().id,
        clerk.id
    );
    // A super administrator still administers the victim.
    assert_eq!(
        h.service.get_account(&chief, victim.id).await.unwrap().id,
        victim.id
    );
    assert!(h.mails_to("attacker@elsewhere.test").is_empty());
}

/// Issue 11, point 3: an administrator of their own department changes their
/// own names only, never their own expiry date, department, state or paid
/// flag; a super administrator may.
#[tokio::test]
async fn nobody_but_a_super_administrator_changes_their_own_expiry_or_department() {
    let h = Harness::new();
    let chief = h.super_admin().await;
    let head = h.member(&chief, "head", "head@patrons.test").await;
    let orgs = organizations(&h);
    let (department, _) = orgs
        .create_organization(&head, named("Bibliothèque de droit"))
        .await
        .unwrap();
    let (other, _) = orgs
        .create_organization(&head, named("Bibliothèque de médecine"))
        .await
        .unwrap();
    let department_id = department.id.0.to_string();
    let head = assign(&h, &chief, &head, &department_id).await;
    let head = h
        .service
        .update_account(
            &chief,
            head.id,
            AccountPatch {
                expires_on: Some(Some("2026-06-30".into())),
                ..AccountPatch::default()
            },
        )
        .await
        .unwrap();

    let own = [
        AccountPatch {
            expires_on: Some(None),
            ..AccountPatch::default()
        },
        AccountPatch {
            expires_on: Some(Some("2099-12-31".into())),
            ..AccountPatch::default()
        },
        AccountPatch {
            department: Some(Some(other.id.0.to_string())),
            ..AccountPatch::default()
        },
        AccountPatch {
            department: Some(None),
            ..AccountPatch::default()
        },
        AccountPatch {
            paid: Some(true),
            ..AccountPatch::default()
        },
        AccountPatch {
            active: Some(true),
            ..AccountPatch::default()
        },
    ];
    for patch in own {
        assert_error(
            h.service
                .update_account(&head, head.id, patch.clone())
                .await,
            AccountError::Forbidden,
        );
    }
    let stored = h.service.get_account(&head, head.id).await.unwrap();
    assert_eq!(
        (stored.expires_on, stored.department),
        (head.expires_on, head.department)
    );
    // Their names are theirs to change.
    let renamed = h
        .service
        .update_account(
            &head,
            head.id,
            AccountPatch {
                first_name: Some("Hélène".into()),
                ..AccountPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.first_name.as_str(), "Hélène");
    // A super administrator changes their own.
    let chief_patch = AccountPatch {
        expires_on: Some(Some("2099-12-31".into())),
        department: Some(Some(department_id.clone())),
        ..AccountPatch::default()
    };
    let chief = h
        .service
        .update_account(&chief, chief.id, chief_patch)
        .await
        .unwrap();
    assert_eq!(chief.department, Some(department.id));
}

fn named(name: &str) -> OrganizationInput {
    OrganizationInput {
        name: Some(name.into()),
        ..OrganizationInput::default()
    }
}
