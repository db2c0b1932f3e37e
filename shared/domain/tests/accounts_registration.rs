//! Self-registration and activation over the SQLite adapters and the outbox.

mod accounts_support;

use accounts_support::{
    assert_error, token_of, Harness, ParseEmail, GOOD_PASSWORD, OTHER_PASSWORD,
};
use chrono::Duration;
use patron_hub_domain::accounts::{
    AccountError, AccountState, AccountStore, MailedLink, Registration,
};

fn registration(email: &str, password: &str) -> Registration {
    Registration {
        email: email.to_owned(),
        first_name: "Zoé".to_owned(),
        last_name: "Martin".to_owned(),
        password: password.to_owned(),
        language: Some("en".to_owned()),
    }
}

#[tokio::test]
async fn a_registration_is_activated_by_the_mailed_link_and_can_then_log_in() {
    let h = Harness::new();
    h.service
        .register(registration("Zoe.Martin@Example.org", GOOD_PASSWORD))
        .await
        .unwrap();

    let account = h
        .store
        .find_by_email(&"zoe.martin@example.org".parse_email())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.state, AccountState::PendingActivation);
    assert_eq!(account.user_name.as_str(), "zoe.martin@example.org");
    // A pending account cannot log in, and says so exactly as for an unknown one.
    assert_error(
        h.service
            .login("zoe.martin@example.org", GOOD_PASSWORD)
            .await,
        AccountError::InvalidCredentials,
    );

    let mails = h.mails_to("zoe.martin@example.org");
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, "Activate your patron-hub account");
    assert!(!mails[0].text.contains(GOOD_PASSWORD) && !mails[0].html.contains(GOOD_PASSWORD));
    let link = h.last_link("zoe.martin@example.org", "/accounts/activate");
    h.service
        .activate(&token_of(&link), GOOD_PASSWORD)
        .await
        .unwrap();

    let (_, account) = h
        .service
        .login("ZOE.MARTIN@example.org", GOOD_PASSWORD)
        .await
        .unwrap();
    assert_eq!(account.state, AccountState::Active);
    // Single use: the same link again is an invalid token.
    assert_error(
        h.service.activate(&token_of(&link), GOOD_PASSWORD).await,
        AccountError::TokenInvalid,
    );
}

#[tokio::test]
async fn an_activation_link_expires_after_the_activation_lifetime() {
    let h = Harness::new();
    h.service
        .register(registration("late@example.org", GOOD_PASSWORD))
        .await
        .unwrap();
    let token = token_of(&h.last_link("late@example.org", "/accounts/activate"));
    h.clock.advance(Duration::hours(72));
    assert_error(
        h.service.activate(&token, GOOD_PASSWORD).await,
        AccountError::TokenInvalid,
    );
    let account = h
        .store
        .find_by_email(&"late@example.org".parse_email())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.state, AccountState::PendingActivation);
}

#[tokio::test]
async fn an_activation_link_works_until_its_last_minute() {
    let h = Harness::new();
    h.service
        .register(registration("ontime@example.org", GOOD_PASSWORD))
        .await
        .unwrap();
    let token = token_of(&h.last_link("ontime@example.org", "/accounts/activate"));
    h.clock.advance(Duration::hours(72) - Duration::minutes(1));
    h.service.activate(&token, GOOD_PASSWORD).await.unwrap();
}

#[tokio::test]
async fn a_token_used_for_the_wrong_purpose_is_invalid_and_used_up() {
    let h = Harness::new();
    h.service
        .register(registration("mixup@example.org", GOOD_PASSWORD))
        .await
        .unwrap();
    let token = token_of(&h.last_link("mixup@example.org", "/accounts/activate"));
    assert_error(
        h.service
            .confirm_password_reset(&token, OTHER_PASSWORD)
            .await,
        AccountError::TokenInvalid,
    );
    assert_error(
        h.service.confirm_email_change(&token).await,
        AccountError::TokenInvalid,
    );
    assert_error(
        h.service.activate(&token, GOOD_PASSWORD).await,
        AccountError::TokenInvalid,
    );
    assert_error(
        h.service.activate("made-up-token", GOOD_PASSWORD).await,
        AccountError::TokenInvalid,
    );
}

#[tokio::test]
async fn registering_a_taken_address_answers_the_same_and_tells_its_holder() {
    let h = Harness::new();
    h.service
        .register(registration("taken@example.org", GOOD_PASSWORD))
        .await
        .unwrap();
    h.service
        .activate(
            &token_of(&h.last_link("taken@example.org", "/accounts/activate")),
            GOOD_PASSWORD,
        )
        .await
        .unwrap();

    let again = h
        .service
        .register(registration("Taken@example.org", OTHER_PASSWORD))
        .await;
    let fresh = h
        .service
        .register(registration("fresh@example.org", OTHER_PASSWORD))
        .await;
    assert_eq!(again, fresh);
    assert_eq!(again, Ok(()));

    let mails = h.mails_to("taken@example.org");
    assert_eq!(mails.len(), 2);
    assert_eq!(
        mails[1].subject,
        "Your address already has a patron-hub account"
    );
    assert!(
        !mails[1].text.contains("token="),
        "no link that changes anything"
    );
    // The existing account is untouched: its password is still the first one.
    h.service
        .login("taken@example.org", GOOD_PASSWORD)
        .await
        .unwrap();
    assert_error(
        h.service.login("taken@example.org", OTHER_PASSWORD).await,
        AccountError::InvalidCredentials,
    );
}

#[tokio::test]
async fn a_registration_by_someone_else_cannot_be_activated_by_the_address_owner_clicking_the_link()
{
    let h = Harness::new();
    // Someone else registers the owner's address with their own password; the
    // owner then registers it too (which only mails another link).
    h.service
        .register(registration("owner@example.org", OTHER_PASSWORD))
        .await
        .unwrap();
    h.service
        .register(registration("owner@example.org", GOOD_PASSWORD))
        .await
        .unwrap();
    // The owner follows the newest link with their own password: refused, still pending.
    let link = token_of(&h.last_link("owner@example.org", "/accounts/activate"));
    assert_error(
        h.service.activate(&link, GOOD_PASSWORD).await,
        AccountError::InvalidCredentials,
    );
    assert_error(
        h.service.login("owner@example.org", OTHER_PASSWORD).await,
        AccountError::InvalidCredentials,
    );
    // The link stays usable with the right password (typing mistakes do not burn it).
    h.service.activate(&link, OTHER_PASSWORD).await.unwrap();
}

/// Issue 11, point 4: registering a pending address again never replaces the
/// first registrant's password or names, nor voids their link: it only mails
/// the address a fresh link (within the cap). Once the registration has
/// expired (no link of it works any more), a new one takes its place.
#[tokio::test]
async fn a_pending_registration_keeps_its_first_password_and_names_until_it_expires() {
    let h = Harness::new();
    h.service
        .register(registration("twice@example.org", GOOD_PASSWORD))
        .await
        .unwrap();
    let first = token_of(&h.last_link("twice@example.org", "/accounts/activate"));
    let mut again = registration("twice@example.org", OTHER_PASSWORD);
    again.first_name = "Usurpateur".to_owned();
    h.service.register(again).await.unwrap();
    let second = token_of(&h.last_link("twice@example.org", "/accounts/activate"));
    assert_ne!(first, second, "a fresh link was mailed");
    let pending = h
        .store
        .find_by_email(&"twice@example.org".parse_email())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.first_name.as_str(), "Zoé");
    // Neither link knows the second password; the first still works with the first.
    assert_error(
        h.service.activate(&second, OTHER_PASSWORD).await,
        AccountError::InvalidCredentials,
    );
    h.service.activate(&first, GOOD_PASSWORD).await.unwrap();
    h.service
        .login("twice@example.org", GOOD_PASSWORD)
        .await
        .unwrap();

    // An expired registration is replaced by the next one.
    h.service
        .register(registration("late@example.org", GOOD_PASSWORD))
        .await
        .unwrap();
    h.clock.advance(Duration::hours(72) + Duration::seconds(1));
    let mut replacing = registration("late@example.org", OTHER_PASSWORD);
    replacing.first_name = "Léa".to_owned();
    h.service.register(replacing).await.unwrap();
    let link = token_of(&h.last_link("late@example.org", "/accounts/activate"));
    h.service.activate(&link, OTHER_PASSWORD).await.unwrap();
    let (_, account) = h
        .service
        .login("late@example.org", OTHER_PASSWORD)
        .await
        .unwrap();
    assert_eq!(account.first_name.as_str(), "Léa");
}

#[tokio::test]
async fn bad_registrations_name_the_field_or_the_password_rule() {
    let h = Harness::new();
    match h
        .service
        .register(registration("not-an-address", GOOD_PASSWORD))
        .await
    {
        Err(AccountError::Invalid(field)) => assert_eq!(field.field, "email"),
        other => panic!("{other:?}"),
    }
    let mut nameless = registration("a@example.org", GOOD_PASSWORD);
    nameless.last_name = " ".to_owned();
    match h.service.register(nameless).await {
        Err(AccountError::Invalid(field)) => assert_eq!(field.field, "last_name"),
        other => panic!("{other:?}"),
    }
    match h
        .service
        .register(registration("a@example.org", "motdepasse2024"))
        .await
    {
        Err(AccountError::WeakPassword(reason)) => assert!(reason.contains("common"), "{reason}"),
        other => panic!("{other:?}"),
    }
    match h
        .service
        .register(registration("a@example.org", "court"))
        .await
    {
        Err(AccountError::WeakPassword(reason)) => assert!(reason.contains("12"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(h.mails().is_empty());
    assert!(h
        .store
        .find_by_email(&"a@example.org".parse_email())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn concurrent_registrations_of_one_address_give_one_account() {
    let h = std::sync::Arc::new(Harness::new());
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let h = h.clone();
            tokio::spawn(async move {
                let mut r = registration("race@example.org", GOOD_PASSWORD);
                r.first_name = format!("Runner {i}");
                h.service.register(r).await
            })
        })
        .collect();
    for attempt in attempts {
        assert_eq!(attempt.await.unwrap(), Ok(()));
    }
    let found = h.store.search("race@example.org", 50).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
}

/// Registering one address over and over mails it five times an hour at most
/// (the activation, then four more), answering `Ok` every time; an hour on,
/// it may be mailed again.
#[tokio::test]
async fn registrations_of_one_address_mail_it_five_times_an_hour_at_most() {
    let h = Harness::new();
    for _ in 0..8 {
        h.service
            .register(registration("zoe@example.org", GOOD_PASSWORD))
            .await
            .unwrap();
    }
    assert_eq!(h.mails_to("zoe@example.org").len(), 5);
    h.clock.advance(Duration::hours(1) + Duration::seconds(1));
    h.service
        .register(registration("ZOE@example.org", GOOD_PASSWORD))
        .await
        .unwrap();
    assert_eq!(h.mails_to("zoe@example.org").len(), 6);
}

/// A mailed link's page asks whether the link works without using it: only
/// for its own kind of page, as often as asked, until it is used or expires.
#[tokio::test]
async fn a_link_works_for_its_own_page_until_it_is_used() {
    let h = Harness::new();
    h.service
        .register(registration("zoe@example.org", GOOD_PASSWORD))
        .await
        .unwrap();
    let token = token_of(&h.last_link("zoe@example.org", "/accounts/activate"));
    for _ in 0..2 {
        assert_eq!(
            h.service.link_works(&token, MailedLink::Activation).await,
            Ok(true)
        );
    }
    for other in [MailedLink::NewPassword, MailedLink::EmailConfirmation] {
        assert_eq!(h.service.link_works(&token, other).await, Ok(false));
    }
    assert_eq!(
        h.service
            .link_works("not-a-token", MailedLink::Activation)
            .await,
        Ok(false)
    );
    h.service.activate(&token, GOOD_PASSWORD).await.unwrap();
    assert_eq!(
        h.service.link_works(&token, MailedLink::Activation).await,
        Ok(false),
        "a used link"
    );
    h.service
        .register(registration("late@example.org", GOOD_PASSWORD))
        .await
        .unwrap();
    let late = token_of(&h.last_link("late@example.org", "/accounts/activate"));
    h.clock.advance(Duration::hours(72));
    assert_eq!(
        h.service.link_works(&late, MailedLink::Activation).await,
        Ok(false),
        "an expired link"
    );
}
