//! The pages the mailed account links open, in-process over SQLite and the
//! outbox mailer: a patron follows the link from the mail with a GET, posts
//! the form as a browser would, and the account changes; the JSON API on the
//! same paths answers as it always did.

mod account_pages_support;
mod common;

use account_pages_support::{token_of, Site};
use axum::http::{Method, StatusCode};
use common::{super_admin_session, PASSWORD};
use serde_json::json;

const PATRON: &str = "jeanne.barret@patrons.test";
const NEW_PASSWORD: &str = "le héron gris du canal";

/// Registers `PATRON` with `PASSWORD` through the JSON API; the activation link.
async fn register(site: &Site) -> String {
    let answer = site
        .post_json(
            "/accounts/registrations",
            &json!({"email": PATRON, "first_name": "Jeanne", "last_name": "Barret", "password": PASSWORD}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    site.mailed_link(PATRON, "/accounts/activate")
}

#[tokio::test]
async fn the_mailed_activation_link_opens_a_page_that_activates_the_account() {
    let site = Site::start();
    let link = register(&site).await;
    assert!(
        !site.logs_in(PATRON, PASSWORD).await,
        "pending until activated"
    );

    let page = site.get(&link, &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(page.body.contains(r#"<html lang="fr">"#), "{}", page.body);
    assert!(page.body.contains("Activer votre compte"));
    assert!(page
        .body
        .contains(r#"<label for="password">Mot de passe</label>"#));
    assert!(page.body.contains(r#"action="/accounts/activate""#));
    assert_eq!(page.hidden_token(), token_of(&link));
    assert!(page
        .header("content-security-policy")
        .contains("script-src 'none'"));
    assert_eq!(page.header("referrer-policy"), "no-referrer");
    assert_eq!(page.header("cache-control"), "no-store");
    assert_eq!(page.header("x-content-type-options"), "nosniff");

    let token = page.hidden_token();
    let wrong = site
        .post_form(
            "/accounts/activate",
            &[("token", &token), ("password", "not the chosen one at all")],
            &[],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("ne correspond pas"), "{}", wrong.body);
    assert_eq!(wrong.hidden_token(), token, "the form is shown again");
    assert!(!site.logs_in(PATRON, PASSWORD).await);

    let done = site
        .post_form(
            "/accounts/activate",
            &[("token", &token), ("password", PASSWORD)],
            &[
                ("sec-fetch-site", "same-origin"),
                ("origin", account_pages_support::BASE),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body.contains("Votre compte est actif"),
        "{}",
        done.body
    );
    assert_eq!(done.header("referrer-policy"), "no-referrer");
    assert!(site.logs_in(PATRON, PASSWORD).await);

    let again = site
        .post_form(
            "/accounts/activate",
            &[("token", &token), ("password", PASSWORD)],
            &[],
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(
        again.body.contains("Ce lien est invalide ou a expiré."),
        "{}",
        again.body
    );
}

#[tokio::test]
async fn the_mailed_reset_link_sets_a_new_password_in_english_when_asked() {
    let site = Site::start();
    super_admin_session(&site.accounts).await;
    let asked = site
        .post_json("/password-reset", &json!({"email": "chief@patrons.test"}))
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    let link = site.mailed_link("chief@patrons.test", "/password-reset/confirm");

    let page = site.get(&format!("{link}&lang=en"), &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(r#"<html lang="en">"#), "{}", page.body);
    assert!(page.body.contains("Choose a new password"));
    assert!(page
        .body
        .contains(r#"<label for="confirmation">Confirm the new password</label>"#));
    assert!(page.body.contains("At least 12 characters"));
    assert!(page
        .body
        .contains(r#"action="/password-reset/confirm?lang=en""#));
    let token = page.hidden_token();
    let english = "/password-reset/confirm?lang=en";

    let mismatch = site
        .post_form(
            english,
            &[
                ("token", &token),
                ("password", NEW_PASSWORD),
                ("confirmation", "another one entirely"),
            ],
            &[],
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        mismatch.body.contains("are not the same"),
        "{}",
        mismatch.body
    );

    let weak = site
        .post_form(
            english,
            &[
                ("token", &token),
                ("password", "short"),
                ("confirmation", "short"),
            ],
            &[],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        weak.body
            .contains("This password is not accepted: it must be at least 12 characters long."),
        "{}",
        weak.body
    );

    let repeated = "zzzzzzzzzzzzzz";
    let french = site
        .post_form(
            "/password-reset/confirm",
            &[
                ("token", &token),
                ("password", repeated),
                ("confirmation", repeated),
            ],
            &[],
        )
        .await;
    assert_eq!(french.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(french.body.contains(r#"<html lang="fr">"#));
    assert!(
        french
            .body
            .contains("il ne doit pas être un seul caractère répété"),
        "{}",
        french.body
    );
    assert!(site.logs_in("chief", PASSWORD).await, "nothing changed yet");

    let done = site
        .post_form(
            english,
            &[
                ("token", &token),
                ("password", NEW_PASSWORD),
                ("confirmation", NEW_PASSWORD),
            ],
            &[],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body.contains("Your password was changed"),
        "{}",
        done.body
    );
    assert!(site.logs_in("chief", NEW_PASSWORD).await);
    assert!(!site.logs_in("chief", PASSWORD).await);

    // The used link no longer shows a form, and its token is refused.
    let used = site
        .get(&link, &[("accept-language", "en-GB,en;q=0.9")])
        .await;
    assert_eq!(used.status, StatusCode::BAD_REQUEST);
    assert!(
        used.body.contains("This link is invalid or has expired."),
        "{}",
        used.body
    );
    assert!(!used.body.contains("<form"), "{}", used.body);
    let token = link.split("token=").nth(1).unwrap();
    let refused = site
        .post_form(
            "/password-reset/confirm",
            &[
                ("token", token),
                ("password", NEW_PASSWORD),
                ("confirmation", NEW_PASSWORD),
            ],
            &[("accept-language", "en")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused
            .body
            .contains("This link is invalid or has expired."),
        "{}",
        refused.body
    );
}

#[tokio::test]
async fn the_mailed_email_confirmation_link_moves_the_account() {
    let site = Site::start();
    let (_, session) = super_admin_session(&site.accounts).await;
    let changed = site
        .json(
            Method::PATCH,
            "/accounts/me",
            &json!({"email": "chief.new@patrons.test", "current_password": PASSWORD}),
            Some(&session),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let link = site.mailed_link("chief.new@patrons.test", "/accounts/email-confirmation");

    let page = site.get(&link, &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page
        .body
        .contains("Confirmer votre nouvelle adresse e-mail"));
    assert!(page
        .body
        .contains(r#"<button type="submit">Confirmer l&#39;adresse</button>"#));
    let token = page.hidden_token();

    let done = site
        .post_form("/accounts/email-confirmation", &[("token", &token)], &[])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Adresse confirmée"), "{}", done.body);
    assert!(site.logs_in("chief.new@patrons.test", PASSWORD).await);

    let again = site
        .post_form("/accounts/email-confirmation", &[("token", &token)], &[])
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.body.contains("Ce lien est invalide ou a expiré."));
}

#[tokio::test]
async fn cross_site_forms_change_nothing() {
    let site = Site::start();
    let link = register(&site).await;
    let token = token_of(&link).to_owned();
    let fields = [("token", token.as_str()), ("password", PASSWORD)];
    let hostile: [&[(&str, &str)]; 3] = [
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site")],
        &[
            ("origin", "https://evil.example"),
            ("host", "localhost:8080"),
        ],
    ];
    for headers in hostile {
        let refused = site.post_form("/accounts/activate", &fields, headers).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(
            refused.body.contains("Formulaire refusé"),
            "{}",
            refused.body
        );
        assert_eq!(refused.header("referrer-policy"), "no-referrer");
    }
    let refused = site
        .post_form(
            "/password-reset/confirm",
            &[
                ("token", "whatever"),
                ("password", NEW_PASSWORD),
                ("confirmation", NEW_PASSWORD),
            ],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!site.logs_in(PATRON, PASSWORD).await, "still pending");
    let done = site.post_form("/accounts/activate", &fields, &[]).await;
    assert_eq!(
        done.status,
        StatusCode::OK,
        "the link still works: {}",
        done.body
    );
}

#[tokio::test]
async fn a_link_without_a_token_and_a_hostile_token_are_harmless() {
    let site = Site::start();
    for path in [
        "/accounts/activate",
        "/password-reset/confirm",
        "/accounts/email-confirmation",
    ] {
        let page = site.get(path, &[]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(
            page.body.contains("Ce lien est invalide ou a expiré."),
            "{path}"
        );
    }
    let page = site
        .get(
            "/accounts/activate?token=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "no such link");
    assert!(!page.body.contains("<script>"), "{}", page.body);
    assert!(page.body.contains("Ce lien est invalide ou a expiré."));
    let css = site.get("/accounts/style.css", &[]).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("content-type").starts_with("text/css"));
}

#[tokio::test]
async fn the_json_api_on_the_same_paths_answers_as_before() {
    let site = Site::start();
    let bad = site
        .post_json(
            "/password-reset/confirm",
            &json!({"token": "nope", "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["code"], "TOKEN_INVALID");
    assert!(bad.header("content-type").starts_with("application/json"));
    assert_eq!(
        bad.header("referrer-policy"),
        "",
        "JSON answers keep their headers"
    );

    let unknown = site
        .post_json(
            "/password-reset/confirm",
            &json!({"token": "nope", "password": "x", "extra": 1}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.json()["code"], "VALIDATION_ERROR");

    let no_type = site
        .send(
            axum::http::Request::post("/accounts/email-confirmation")
                .body(axum::body::Body::from(r#"{"token":"nope"}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(no_type.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_type.json()["code"], "INVALID_JSON");

    let email = site
        .post_json("/accounts/email-confirmation", &json!({"token": "nope"}))
        .await;
    assert_eq!(email.status, StatusCode::BAD_REQUEST);
    assert_eq!(email.json()["code"], "TOKEN_INVALID");

    let link = register(&site).await;
    let activated = site
        .post_json(
            "/accounts/activation",
            &json!({"token": token_of(&link), "password": PASSWORD}),
        )
        .await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.body);
    assert_eq!(activated.json(), json!({"status": "active"}));

    site.post_json("/password-reset", &json!({"email": PATRON}))
        .await;
    let link = site.mailed_link(PATRON, "/password-reset/confirm");
    let reset = site
        .post_json(
            "/password-reset/confirm",
            &json!({"token": token_of(&link), "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(reset.json(), json!({"status": "password_changed"}));
    assert!(site.logs_in(PATRON, NEW_PASSWORD).await);
}
