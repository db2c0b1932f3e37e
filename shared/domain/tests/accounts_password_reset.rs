//! Forgotten passwords over the SQLite adapters and the outbox: enumeration-safe
//! requests, single-use expiring links, and a reset that ends every session and
//! every other outstanding link.

mod accounts_support;

use accounts_support::{
    assert_error, token_of, Harness, ParseEmail, BASE_URL, GOOD_PASSWORD, OTHER_PASSWORD,
};
use argon2::password_hash::{PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::Duration;
use patron_hub_domain::accounts::{AccountError, AccountPatch, AccountSettings, AccountStore};

const RESET: &str = "/password-reset/confirm";

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    h.member(&admin, "clefebvre", "camille@example.org").await;

    h.service
        .request_password_reset("camille@example.org")
        .await
        .unwrap();
    let link = h.last_link("camille@example.org", RESET);
    h.service
        .confirm_password_reset(&token_of(&link), OTHER_PASSWORD)
        .await
        .unwrap();

    assert_error(
        h.service.login("clefebvre", GOOD_PASSWORD).await,
        AccountError::InvalidCredentials,
    );
    h.service.login("clefebvre", OTHER_PASSWORD).await.unwrap();
    assert_error(
        h.service
            .confirm_password_reset(&token_of(&link), "encore un autre mot de passe")
            .await,
        AccountError::TokenInvalid,
    );
    let mails = h.mails_to("camille@example.org");
    assert_eq!(
        mails.last().unwrap().subject,
        "Votre mot de passe patron-hub a été modifié"
    );
    for mail in &mails {
        assert!(!mail.text.contains(OTHER_PASSWORD) && !mail.html.contains(OTHER_PASSWORD));
    }
}

#[tokio::test]
async fn a_reset_ends_every_session_and_every_other_outstanding_link() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    h.member(&admin, "clefebvre", "camille@example.org").await;
    let (session_a, _) = h.service.login("clefebvre", GOOD_PASSWORD).await.unwrap();
    let (session_b, _) = h
        .service
        .login("camille@example.org", GOOD_PASSWORD)
        .await
        .unwrap();
    h.service.authenticate(session_a.expose()).await.unwrap();

    // Several outstanding links: each works until the first is used.
    h.service.request_password_reset("clefebvre").await.unwrap();
    let first = token_of(&h.last_link("camille@example.org", RESET));
    h.service
        .request_password_reset("camille@example.org")
        .await
        .unwrap();
    let second = token_of(&h.last_link("camille@example.org", RESET));
    assert_ne!(first, second);
    h.service
        .confirm_password_reset(&second, OTHER_PASSWORD)
        .await
        .unwrap();

    assert_error(
        h.service.authenticate(session_a.expose()).await,
        AccountError::Unauthenticated,
    );
    assert_error(
        h.service.authenticate(session_b.expose()).await,
        AccountError::Unauthenticated,
    );
    assert_error(
        h.service
            .confirm_password_reset(&first, GOOD_PASSWORD)
            .await,
        AccountError::TokenInvalid,
    );
}

#[tokio::test]
async fn a_reset_link_expires_after_thirty_minutes() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    h.member(&admin, "clefebvre", "camille@example.org").await;
    h.service.request_password_reset("clefebvre").await.unwrap();
    let token = token_of(&h.last_link("camille@example.org", RESET));
    h.clock.advance(Duration::minutes(30));
    assert_error(
        h.service
            .confirm_password_reset(&token, OTHER_PASSWORD)
            .await,
        AccountError::TokenInvalid,
    );
    h.service.login("clefebvre", GOOD_PASSWORD).await.unwrap();
}

#[tokio::test]
async fn a_refused_password_leaves_the_link_usable() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    h.member(&admin, "clefebvre", "camille@example.org").await;
    h.service.request_password_reset("clefebvre").await.unwrap();
    let token = token_of(&h.last_link("camille@example.org", RESET));
    for weak in ["court", "azertyuiop123", "Camille@Example.org"] {
        assert!(matches!(
            h.service.confirm_password_reset(&token, weak).await,
            Err(AccountError::WeakPassword(_))
        ));
    }
    h.service
        .confirm_password_reset(&token, OTHER_PASSWORD)
        .await
        .unwrap();
}

#[tokio::test]
async fn requests_answer_alike_and_mail_only_one_active_account() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    h.member(&admin, "clefebvre", "camille@example.org").await;
    let gone = h.member(&admin, "zmartin", "zoe@example.org").await;
    h.service
        .update_account(
            &admin,
            gone.id,
            AccountPatch {
                active: Some(false),
                ..AccountPatch::default()
            },
        )
        .await
        .unwrap();
    let before = h.mails().len();

    let answers = [
        h.service
            .request_password_reset("camille@example.org")
            .await,
        h.service.request_password_reset("nobody@example.org").await,
        h.service.request_password_reset("zoe@example.org").await,
        h.service.request_password_reset("nobody-at-all").await,
        h.service.request_password_reset("").await,
    ];
    assert!(
        answers.iter().all(|answer| *answer == Ok(())),
        "{answers:?}"
    );
    let sent: Vec<String> = h.mails()[before..].iter().map(|m| m.to.clone()).collect();
    assert_eq!(
        sent,
        vec!["camille@example.org"],
        "only the active account gets a mail"
    );
    // Asking changes nothing on the account.
    h.service.login("clefebvre", GOOD_PASSWORD).await.unwrap();
}

#[tokio::test]
async fn reset_mails_are_limited_per_identifier_and_hour() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    h.member(&admin, "clefebvre", "camille@example.org").await;
    for _ in 0..7 {
        h.service.request_password_reset("clefebvre").await.unwrap();
    }
    assert_eq!(h.mails_to("camille@example.org").len(), 5);
    h.clock.advance(Duration::hours(1) + Duration::seconds(1));
    h.service.request_password_reset("clefebvre").await.unwrap();
    assert_eq!(h.mails_to("camille@example.org").len(), 6);
}

#[tokio::test]
async fn tokens_and_sessions_are_stored_only_as_hashes() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    h.member(&admin, "clefebvre", "camille@example.org").await;
    h.service.request_password_reset("clefebvre").await.unwrap();
    let token = token_of(&h.last_link("camille@example.org", RESET));
    let (session, _) = h.service.login("clefebvre", GOOD_PASSWORD).await.unwrap();
    let bytes = h.database_bytes();
    assert!(!accounts_support::contains(&bytes, &token));
    assert!(!accounts_support::contains(&bytes, session.expose()));
    assert!(!accounts_support::contains(&bytes, GOOD_PASSWORD));
    assert!(accounts_support::contains(
        &bytes,
        "$argon2id$v=19$m=19456,t=2,p=1$"
    ));
}

#[tokio::test]
async fn a_hash_with_weaker_parameters_is_replaced_at_login() {
    let h = Harness::new();
    let admin = h.super_admin().await;
    let member = h.member(&admin, "clefebvre", "camille@example.org").await;
    let salt = SaltString::encode_b64(b"an old salt 1234").unwrap();
    let old = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(4096, 1, 1, None).unwrap(),
    )
    .hash_password(OTHER_PASSWORD.as_bytes(), &salt)
    .unwrap()
    .to_string();
    let mut stored = h.store.get(member.id).await.unwrap().unwrap();
    stored.password_hash = Some(old.clone());
    stored.version += 1;
    h.store.update(&stored).await.unwrap();

    h.service.login("clefebvre", OTHER_PASSWORD).await.unwrap();
    let upgraded = h
        .store
        .get(member.id)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert_ne!(upgraded, old);
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{upgraded}"
    );
    h.service.login("clefebvre", OTHER_PASSWORD).await.unwrap();
    let address = "camille@example.org".parse_email();
    assert_eq!(
        h.store
            .find_by_email(&address)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .unwrap(),
        upgraded
    );
}

/// Enumeration by timing: a request for an existing account (a token stored,
/// a mail written) is answered as late as one for an unknown address, since
/// both wait for the answer floor.
#[tokio::test]
async fn a_reset_request_takes_as_long_for_an_existing_account_as_for_an_unknown_one() {
    let floor = std::time::Duration::from_millis(200);
    let h = Harness::with_settings(AccountSettings {
        public_base_url: BASE_URL.to_owned(),
        reset_answer_floor: floor,
        ..AccountSettings::default()
    });
    let admin = h.super_admin().await;
    h.member(&admin, "clefebvre", "camille@example.org").await;
    let timed = |identifier: String| {
        let service = &h.service;
        async move {
            let started = std::time::Instant::now();
            service.request_password_reset(&identifier).await.unwrap();
            started.elapsed()
        }
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for round in 0..3 {
        known.push(timed("camille@example.org".to_owned()).await);
        unknown.push(timed(format!("nobody-{round}@example.org")).await);
    }
    assert_eq!(h.mails_to("camille@example.org").len(), 3, "the mails went");
    for took in known.iter().chain(&unknown) {
        assert!(*took >= floor, "answered after {took:?}, before the floor");
    }
    let (known, unknown) = (known.iter().min().unwrap(), unknown.iter().min().unwrap());
    assert!(
        known.abs_diff(*unknown) < floor / 4,
        "existing {known:?} against unknown {unknown:?}"
    );
}
