//! Administration and profile over the SQLite adapters: the permission rules of
//! point 9, creation mails, network roles, deactivation, the first
//! administrators, and one's own profile.

mod accounts_support;

use accounts_support::{
    assert_error, token_of, Harness, ParseEmail, GOOD_PASSWORD, OTHER_PASSWORD,
};
use patron_hub_domain::accounts::{
    AccountError, AccountId, AccountPatch, AccountState, AccountStore, MailOption, NetworkRole,
    NewAccount, ProfileChange, Registration, DEMO_ADMIN_USER_NAME,
};
use patron_hub_domain::organizations::{OrganizationInput, OrganizationService};
use std::sync::Arc;

fn new_account(
    user_name: &str,
    email: &str,
    password: Option<&str>,
    mail: MailOption,
) -> NewAccount {
    NewAccount {
        user_name: user_name.to_owned(),
        email: email.to_owned(),
        first_name: "Zoé".to_owned(),
        last_name: "Martin".to_owned(),
        password: password.map(str::to_owned),
        mail,
        language: Some("en".to_owned()),
        ..NewAccount::default()
    }
}

#[tokio::test]
async fn only_a_super_admin_creates_searches_and_reads_other_accounts() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    let member = h.member(&admin, "clefebvre", "camille@example.org").await;
    let other = h.member(&admin, "zmartin", "zoe@example.org").await;
    let staff = h
        .service
        .create_account(
            &admin,
            NewAccount {
                network_roles: vec!["NETWORK_STAFF".to_owned()],
                ..new_account(
                    "staff",
                    "staff@example.org",
                    Some(GOOD_PASSWORD),
                    MailOption::None,
                )
            },
        )
        .await
        .unwrap();

    for actor in [&member, &staff] {
        assert_error(
            h.service
                .create_account(
                    actor,
                    new_account("x", "x@example.org", None, MailOption::None),
                )
                .await,
            AccountError::Forbidden,
        );
        assert_error(
            h.service.search(actor, "martin", 10).await,
            AccountError::Forbidden,
        );
        assert_error(
            h.service.get_account(actor, other.id).await,
            AccountError::Forbidden,
        );
        // Not even whether an id exists.
        assert_error(
            h.service.get_account(actor, AccountId::new()).await,
            AccountError::Forbidden,
        );
        assert_eq!(
            h.service.get_account(actor, actor.id).await.unwrap().id,
            actor.id
        );
    }
    assert_eq!(
        h.service.get_account(&admin, other.id).await.unwrap().id,
        other.id
    );
    assert_error(
        h.service.get_account(&admin, AccountId::new()).await,
        AccountError::NotFound,
    );
    let found = h.service.search(&admin, "  ZOE ", 10).await.unwrap();
    assert_eq!(
        found.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![other.id]
    );
}

#[tokio::test]
async fn an_account_changes_only_its_own_names() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    let member = h.member(&admin, "clefebvre", "camille@example.org").await;
    let other = h.member(&admin, "zmartin", "zoe@example.org").await;

    let renamed = h
        .service
        .update_account(
            &member,
            member.id,
            AccountPatch {
                first_name: Some("Camilla".into()),
                ..AccountPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.first_name.as_str(), "Camilla");
    assert_error(
        h.service
            .update_account(
                &member,
                other.id,
                AccountPatch {
                    first_name: Some("X".into()),
                    ..AccountPatch::default()
                },
            )
            .await,
        AccountError::Forbidden,
    );
    let administrative = [
        AccountPatch {
            active: Some(true),
            ..AccountPatch::default()
        },
        AccountPatch {
            expires_on: Some(None),
            ..AccountPatch::default()
        },
        AccountPatch {
            department: Some(None),
            ..AccountPatch::default()
        },
        AccountPatch {
            email: Some("new@example.org".into()),
            ..AccountPatch::default()
        },
        AccountPatch {
            network_roles: Some(vec!["SUPER_ADMIN".into()]),
            ..AccountPatch::default()
        },
    ];
    for patch in administrative {
        assert_error(
            h.service.update_account(&member, member.id, patch).await,
            AccountError::Forbidden,
        );
    }
    let stored = h.store.get(member.id).await.unwrap().unwrap();
    assert!(stored.network_roles.is_empty());
    assert_eq!(stored.email.as_str(), "camille@example.org");
}

#[tokio::test]
async fn a_super_admin_changes_any_account_and_grants_network_roles() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    let member = h.member(&admin, "clefebvre", "camille@example.org").await;
    let (session, before) = h.service.login("clefebvre", GOOD_PASSWORD).await.unwrap();

    // A department is an organization that exists.
    let nowhere = AccountPatch {
        department: Some(Some("0b6f1c3e-5d0a-4c1b-9a8e-2f1d3c4b5a69".into())),
        ..AccountPatch::default()
    };
    match h.service.update_account(&admin, member.id, nowhere).await {
        Err(AccountError::Invalid(field)) => assert_eq!(field.field, "department"),
        other => panic!("an unknown department must be refused: {other:?}"),
    }
    let store = Arc::new(h.store.clone());
    let organizations =
        OrganizationService::new(store.clone(), store.clone(), store, h.clock.clone());
    let input = OrganizationInput {
        name: Some("Bibliothèque de droit".into()),
        ..OrganizationInput::default()
    };
    let (law, _) = organizations
        .create_organization(&admin, input)
        .await
        .unwrap();
    let department = law.id.0.to_string();
    let department = department.as_str();
    let changed = h
        .service
        .update_account(
            &admin,
            member.id,
            AccountPatch {
                last_name: Some("Lefèvre".into()),
                email: Some("Camille.Lefevre@example.org".into()),
                department: Some(Some(department.into())),
                expires_on: Some(Some("2026-12-31".into())),
                network_roles: Some(vec!["NETWORK_STAFF".into()]),
                ..AccountPatch::default()
            },
        )
        .await
        .unwrap();
    // The new address counts once the link mailed to it is followed.
    assert_eq!(changed.email.as_str(), "camille@example.org");
    let link = h.last_link(
        "camille.lefevre@example.org",
        "/accounts/email-confirmation",
    );
    h.service
        .confirm_email_change(&token_of(&link))
        .await
        .unwrap();
    let stored = h.store.get(member.id).await.unwrap().unwrap();
    assert_eq!(stored.email.as_str(), "camille.lefevre@example.org");
    assert_eq!(changed.department.unwrap().0.to_string(), department);
    assert!(changed.has_role(NetworkRole::NetworkStaff));
    assert_eq!(changed.version, before.version + 1);
    // New rights start with a new session.
    assert_error(
        h.service.authenticate(session.expose()).await,
        AccountError::Unauthenticated,
    );

    // A staff member cannot pass on network roles.
    let staff = h.service.login("clefebvre", GOOD_PASSWORD).await.unwrap().1;
    assert_error(
        h.service
            .update_account(
                &staff,
                staff.id,
                AccountPatch {
                    network_roles: Some(vec!["SUPER_ADMIN".into()]),
                    ..AccountPatch::default()
                },
            )
            .await,
        AccountError::Forbidden,
    );

    match h
        .service
        .update_account(
            &admin,
            member.id,
            AccountPatch {
                expires_on: Some(Some("31/12/2026".into())),
                ..AccountPatch::default()
            },
        )
        .await
    {
        Err(AccountError::Invalid(field)) => assert_eq!(field.field, "expires_on"),
        other => panic!("{other:?}"),
    }
    // A change based on an old version is a conflict.
    assert_error(
        h.service
            .update_account(
                &admin,
                member.id,
                AccountPatch {
                    version: Some(member.version),
                    first_name: Some("X".into()),
                    ..AccountPatch::default()
                },
            )
            .await,
        AccountError::Conflict,
    );
}

#[tokio::test]
async fn a_deactivated_account_keeps_its_address_reserved_and_can_come_back() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    let member = h.member(&admin, "clefebvre", "camille@example.org").await;
    let closed = h
        .service
        .update_account(
            &admin,
            member.id,
            AccountPatch {
                active: Some(false),
                ..AccountPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(closed.state, AccountState::Inactive);
    assert!(
        h.store.get(member.id).await.unwrap().is_some(),
        "never deleted"
    );
    assert_error(
        h.service
            .create_account(
                &admin,
                new_account("someone", "camille@example.org", None, MailOption::None),
            )
            .await,
        AccountError::EmailTaken,
    );
    assert_error(
        h.service
            .create_account(
                &admin,
                new_account("CLEFEBVRE", "other@example.org", None, MailOption::None),
            )
            .await,
        AccountError::UserNameTaken,
    );
    h.service
        .register(Registration {
            email: "camille@example.org".into(),
            first_name: "Another".into(),
            last_name: "Person".into(),
            password: OTHER_PASSWORD.into(),
            language: None,
        })
        .await
        .unwrap();
    assert_eq!(
        h.store
            .find_by_email(&"camille@example.org".parse_email())
            .await
            .unwrap()
            .unwrap()
            .id,
        member.id
    );

    h.service
        .update_account(
            &admin,
            member.id,
            AccountPatch {
                active: Some(true),
                ..AccountPatch::default()
            },
        )
        .await
        .unwrap();
    h.service.login("clefebvre", GOOD_PASSWORD).await.unwrap();
}

#[tokio::test]
async fn creation_mails_follow_the_chosen_option_and_never_carry_a_password() {
    let h = Harness::new();
    let admin = h.super_admin().await;

    let invited = h
        .service
        .create_account(
            &admin,
            new_account("invited", "invited@example.org", None, MailOption::Invite),
        )
        .await
        .unwrap();
    assert_eq!(invited.state, AccountState::Active);
    assert!(invited.password_hash.is_none());
    assert_error(
        h.service.login("invited", "").await,
        AccountError::InvalidCredentials,
    );
    let mail = h.mails_to("invited@example.org").pop().unwrap();
    assert_eq!(mail.subject, "Welcome to patron-hub: choose your password");
    assert!(mail.text.contains("invited"));
    let link = h.last_link("invited@example.org", "/password-reset/confirm");
    h.service
        .confirm_password_reset(&token_of(&link), GOOD_PASSWORD)
        .await
        .unwrap();
    h.service.login("invited", GOOD_PASSWORD).await.unwrap();

    h.service
        .create_account(
            &admin,
            new_account(
                "welcomed",
                "welcomed@example.org",
                Some(OTHER_PASSWORD),
                MailOption::Welcome,
            ),
        )
        .await
        .unwrap();
    let mail = h.mails_to("welcomed@example.org").pop().unwrap();
    assert_eq!(mail.subject, "Welcome to patron-hub");
    assert!(!mail.text.contains(OTHER_PASSWORD) && !mail.html.contains(OTHER_PASSWORD));
    assert!(!mail.text.contains("token="));
    h.service.login("welcomed", OTHER_PASSWORD).await.unwrap();

    h.service
        .create_account(
            &admin,
            new_account(
                "silent",
                "silent@example.org",
                Some(OTHER_PASSWORD),
                MailOption::None,
            ),
        )
        .await
        .unwrap();
    assert!(h.mails_to("silent@example.org").is_empty());

    match h
        .service
        .create_account(
            &admin,
            new_account(
                "weak",
                "weak@example.org",
                Some("weak@example.org"),
                MailOption::None,
            ),
        )
        .await
    {
        Err(AccountError::WeakPassword(reason)) => assert!(reason.contains("e-mail"), "{reason}"),
        other => panic!("{other:?}"),
    }
    match h
        .service
        .create_account(
            &admin,
            NewAccount {
                network_roles: vec!["LIBRARIAN".into()],
                ..new_account("r", "r@example.org", None, MailOption::None)
            },
        )
        .await
    {
        Err(AccountError::Invalid(field)) => assert_eq!(field.field, "network_roles"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_demo_admin_is_created_once() {
    let h = Harness::new();
    let generated = h.service.ensure_demo_admin(None).await.unwrap().unwrap();
    assert!(generated.chars().count() >= 12);
    let (_, admin) = h
        .service
        .login(DEMO_ADMIN_USER_NAME, &generated)
        .await
        .unwrap();
    assert!(admin.has_role(NetworkRole::SuperAdmin));
    assert_eq!(h.service.ensure_demo_admin(None).await.unwrap(), None);
    h.service
        .login(DEMO_ADMIN_USER_NAME, &generated)
        .await
        .unwrap();

    // A configured password replaces it and is never echoed back.
    assert_eq!(
        h.service
            .ensure_demo_admin(Some(OTHER_PASSWORD.into()))
            .await
            .unwrap(),
        None
    );
    h.service
        .login(DEMO_ADMIN_USER_NAME, OTHER_PASSWORD)
        .await
        .unwrap();

    let fresh = Harness::new();
    assert_eq!(
        fresh
            .service
            .ensure_demo_admin(Some(GOOD_PASSWORD.into()))
            .await
            .unwrap(),
        None
    );
    fresh.service.login("admin", GOOD_PASSWORD).await.unwrap();
    assert!(matches!(
        Harness::new()
            .service
            .ensure_demo_admin(Some("admin".into()))
            .await,
        Err(AccountError::WeakPassword(_))
    ));
}

#[tokio::test]
async fn the_profile_changes_names_at_once_and_email_or_password_with_the_current_password() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    let member = h.member(&admin, "clefebvre", "camille@example.org").await;

    let changed = h
        .service
        .update_profile(
            &member,
            ProfileChange {
                last_name: Some("Lefèvre".into()),
                language: Some("en".into()),
                ..ProfileChange::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.last_name.as_str(), "Lefèvre");

    let new_email = ProfileChange {
        email: Some("camille@univ.example".into()),
        ..ProfileChange::default()
    };
    match h.service.update_profile(&member, new_email.clone()).await {
        Err(AccountError::Invalid(field)) => assert_eq!(field.field, "current_password"),
        other => panic!("{other:?}"),
    }
    let wrong = ProfileChange {
        current_password: Some(OTHER_PASSWORD.into()),
        ..new_email.clone()
    };
    match h.service.update_profile(&member, wrong).await {
        Err(AccountError::Invalid(field)) => assert_eq!(field.field, "current_password"),
        other => panic!("{other:?}"),
    }
    let right = ProfileChange {
        current_password: Some(GOOD_PASSWORD.into()),
        ..new_email
    };
    let pending = h.service.update_profile(&member, right).await.unwrap();
    assert_eq!(
        pending.email.as_str(),
        "camille@example.org",
        "not before confirmation"
    );
    let mail = h.mails_to("camille@univ.example").pop().unwrap();
    assert_eq!(mail.subject, "Confirm your new patron-hub e-mail address");
    let link = h.last_link("camille@univ.example", "/accounts/email-confirmation");
    h.service
        .confirm_email_change(&token_of(&link))
        .await
        .unwrap();
    assert_error(
        h.service.confirm_email_change(&token_of(&link)).await,
        AccountError::TokenInvalid,
    );
    h.service
        .login("camille@univ.example", GOOD_PASSWORD)
        .await
        .unwrap();
    // The old address stays reserved for ever.
    assert_error(
        h.service
            .create_account(
                &admin,
                new_account("newcomer", "camille@example.org", None, MailOption::None),
            )
            .await,
        AccountError::EmailTaken,
    );

    let password = ProfileChange {
        new_password: Some(OTHER_PASSWORD.into()),
        current_password: Some(GOOD_PASSWORD.into()),
        ..ProfileChange::default()
    };
    h.service.update_profile(&member, password).await.unwrap();
    assert_error(
        h.service.login("clefebvre", GOOD_PASSWORD).await,
        AccountError::InvalidCredentials,
    );
    h.service.login("clefebvre", OTHER_PASSWORD).await.unwrap();
    assert_eq!(
        h.mails_to("camille@univ.example").pop().unwrap().subject,
        "Your patron-hub password was changed"
    );
}

#[tokio::test]
async fn moving_to_a_taken_address_tells_its_holder_and_changes_nothing() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    let member = h.member(&admin, "clefebvre", "camille@example.org").await;
    h.member(&admin, "zmartin", "zoe@example.org").await;
    let change = ProfileChange {
        email: Some("zoe@example.org".into()),
        current_password: Some(GOOD_PASSWORD.into()),
        ..ProfileChange::default()
    };
    let answer = h.service.update_profile(&member, change).await.unwrap();
    assert_eq!(answer.email.as_str(), "camille@example.org");
    let mails = h.mails_to("zoe@example.org");
    assert_eq!(mails.len(), 1);
    assert!(!mails[0].text.contains("token="));
}

#[tokio::test]
async fn a_password_change_ends_sessions_and_an_email_change_voids_links_sent_to_the_old_address() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    h.member(&admin, "clefebvre", "camille@example.org").await;
    let (session, member) = h.service.login("clefebvre", GOOD_PASSWORD).await.unwrap();
    // A reset link is waiting in the old mailbox when the address changes.
    h.service
        .request_password_reset("camille@example.org")
        .await
        .unwrap();
    let reset = token_of(&h.last_link("camille@example.org", "/password-reset/confirm"));
    let change = ProfileChange {
        email: Some("camille@univ.example".into()),
        current_password: Some(GOOD_PASSWORD.into()),
        ..ProfileChange::default()
    };
    h.service.update_profile(&member, change).await.unwrap();
    let confirm = token_of(&h.last_link("camille@univ.example", "/accounts/email-confirmation"));
    h.service.confirm_email_change(&confirm).await.unwrap();
    assert_error(
        h.service
            .confirm_password_reset(&reset, OTHER_PASSWORD)
            .await,
        AccountError::TokenInvalid,
    );

    let member = h.service.authenticate(session.expose()).await.unwrap();
    let password = ProfileChange {
        new_password: Some(OTHER_PASSWORD.into()),
        current_password: Some(GOOD_PASSWORD.into()),
        ..ProfileChange::default()
    };
    h.service.update_profile(&member, password).await.unwrap();
    assert_error(
        h.service.authenticate(session.expose()).await,
        AccountError::Unauthenticated,
    );
}

/// Issue 11, point 3: an e-mail set by an administrator is confirmed by a
/// link to the new address, exactly like one's own change; the old address
/// stays (and receives the account's mails) until then, and an address in
/// use gets an "address in use" mail instead.
#[tokio::test]
async fn an_email_set_by_an_administrator_is_confirmed_by_a_link_to_the_new_address() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    let member = h.member(&admin, "clefebvre", "camille@example.org").await;
    h.member(&admin, "zmartin", "zoe@example.org").await;
    let set = |email: &str| AccountPatch {
        email: Some(email.into()),
        ..AccountPatch::default()
    };
    let answer = h
        .service
        .update_account(&admin, member.id, set("camille@univ.example"))
        .await
        .unwrap();
    assert_eq!(answer.email.as_str(), "camille@example.org");
    let stored = h.store.get(member.id).await.unwrap().unwrap();
    assert_eq!(stored.email.as_str(), "camille@example.org", "not yet");
    // Until then the new address is nobody's: no reset link, no login.
    h.service
        .request_password_reset("camille@univ.example")
        .await
        .unwrap();
    assert_eq!(h.mails_to("camille@univ.example").len(), 1);
    assert_error(
        h.service.login("camille@univ.example", GOOD_PASSWORD).await,
        AccountError::InvalidCredentials,
    );
    let link = h.last_link("camille@univ.example", "/accounts/email-confirmation");
    h.service
        .confirm_email_change(&token_of(&link))
        .await
        .unwrap();
    h.service
        .login("camille@univ.example", GOOD_PASSWORD)
        .await
        .unwrap();

    // An address in use: its holder is told, nothing changes.
    let before = h.mails_to("zoe@example.org").len();
    let answer = h
        .service
        .update_account(&admin, member.id, set("zoe@example.org"))
        .await
        .unwrap();
    assert_eq!(answer.email.as_str(), "camille@univ.example");
    let mails = h.mails_to("zoe@example.org");
    assert_eq!(mails.len(), before + 1);
    assert!(!mails[before].text.contains("token="));
}

/// Issue 11, point 5.5: an expiry date before today is refused, on creation
/// and on change (today itself is still a day the account may log in).
#[tokio::test]
async fn an_expiry_date_in_the_past_is_refused() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    let member = h.member(&admin, "clefebvre", "camille@example.org").await;
    // The harness's clock is on 2 March 2026.
    let created = h
        .service
        .create_account(
            &admin,
            NewAccount {
                expires_on: Some("2026-03-01".into()),
                ..new_account("late", "late@example.org", None, MailOption::None)
            },
        )
        .await;
    match created {
        Err(AccountError::Invalid(field)) => assert_eq!(field.field, "expires_on"),
        other => panic!("a past expiry date was accepted: {other:?}"),
    }
    let changed = h
        .service
        .update_account(
            &admin,
            member.id,
            AccountPatch {
                expires_on: Some(Some("2025-12-31".into())),
                ..AccountPatch::default()
            },
        )
        .await;
    match changed {
        Err(AccountError::Invalid(field)) => assert_eq!(field.field, "expires_on"),
        other => panic!("a past expiry date was accepted: {other:?}"),
    }
    let today = h
        .service
        .update_account(
            &admin,
            member.id,
            AccountPatch {
                expires_on: Some(Some("2026-03-02".into())),
                ..AccountPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(today.expires_on.unwrap().to_string(), "2026-03-02");
}

/// Issue 11, point 4: e-mail change confirmations (and "address in use"
/// mails) are capped at 5 an hour per account — the sixth change is refused
/// and changes nothing — and at 5 an hour per recipient, whoever asks (past
/// that, the answer is the same and nothing is sent).
#[tokio::test]
async fn email_change_mails_are_capped_per_account_and_per_recipient() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    let member = h.member(&admin, "clefebvre", "camille@example.org").await;
    let change = |email: String| ProfileChange {
        email: Some(email),
        first_name: Some("Bombardier".into()),
        current_password: Some(GOOD_PASSWORD.into()),
        ..ProfileChange::default()
    };
    for i in 0..5 {
        h.service
            .update_profile(&member, change(format!("target{i}@example.org")))
            .await
            .unwrap();
    }
    match h
        .service
        .update_profile(&member, change("target5@example.org".into()))
        .await
    {
        Err(AccountError::RateLimited { retry_after, .. }) => {
            assert!(retry_after > chrono::Duration::zero())
        }
        other => panic!("a sixth change within the hour was accepted: {other:?}"),
    }
    assert!(h.mails_to("target5@example.org").is_empty());

    // Five accounts asking for one recipient mail it five times, a sixth does not.
    for i in 0..6 {
        let someone = h
            .member(
                &admin,
                &format!("asker{i}"),
                &format!("asker{i}@example.org"),
            )
            .await;
        h.service
            .update_profile(&someone, change("victim@example.org".into()))
            .await
            .unwrap();
    }
    assert_eq!(h.mails_to("victim@example.org").len(), 5);

    // An hour later the account may ask again.
    h.clock
        .advance(chrono::Duration::hours(1) + chrono::Duration::seconds(1));
    h.service
        .update_profile(&member, change("target5@example.org".into()))
        .await
        .unwrap();
    assert_eq!(h.mails_to("target5@example.org").len(), 1);
}
