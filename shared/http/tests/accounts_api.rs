//! The accounts JSON API in-process (issue 11): changes by session cookie
//! only from patron-hub's own origin with a JSON body, JSON bodies that are
//! objects, typed query parameters named when bad, a `Retry-After` and a
//! fitting message on every 429, and an import that checks its caller before
//! reading its body.

mod account_pages_support;
mod common;

use account_pages_support::Site;
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode};
use common::{cookie_request, super_admin_session, OWN_ORIGIN, PASSWORD, SIBLING_ORIGIN};
use futures::StreamExt;
use patron_hub_domain::accounts::{AccountSettings, AddressLimits};
use patron_hub_http::client_address::ClientAddress;
use patron_hub_http::origin::SPREADSHEET_TYPE;
use serde_json::json;
use std::time::Duration;

/// Point 2: a page on a sibling origin (same site, so `SameSite=Strict` lets
/// the cookie through) cannot change the account the cookie logs in; the
/// same change from our own origin, as JSON, can; bearer clients are as before.
#[tokio::test]
async fn a_cookie_change_from_another_origin_is_refused() {
    let site = Site::start();
    let (_, session) = super_admin_session(&site.accounts).await;
    let rename = r#"{"last_name": "Pirate"}"#;
    let refused = [
        // A form-like text/plain post from the sandbox's port, as a page sends it.
        vec![("origin", SIBLING_ORIGIN)],
        vec![("origin", SIBLING_ORIGIN), ("sec-fetch-site", "same-site")],
        vec![("sec-fetch-site", "cross-site")],
        // No browser header at all: nothing says it is ours.
        vec![],
    ];
    for headers in refused {
        for content_type in [Some("text/plain;charset=UTF-8"), Some("application/json")] {
            let request = cookie_request(
                Method::PATCH,
                "/accounts/me",
                &session,
                content_type,
                rename,
                &headers,
            );
            let answer = site.send(request).await;
            assert_eq!(
                (answer.status, answer.json()["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("CROSS_ORIGIN")),
                "{headers:?} {content_type:?}"
            );
        }
    }
    // Our own origin, but a body a form could send: refused too.
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let request = cookie_request(
            Method::PATCH,
            "/accounts/me",
            &session,
            content_type,
            rename,
            &[("origin", OWN_ORIGIN)],
        );
        let answer = site.send(request).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{content_type:?}");
    }
    let me = site
        .send(cookie_request(
            Method::GET,
            "/accounts/me",
            &session,
            None,
            "",
            &[],
        ))
        .await;
    assert_eq!(me.json()["last_name"], "Admin", "nothing changed");

    for headers in [
        [("origin", OWN_ORIGIN)],
        [("sec-fetch-site", "same-origin")],
    ] {
        let request = cookie_request(
            Method::PATCH,
            "/accounts/me",
            &session,
            Some("application/json"),
            rename,
            &headers,
        );
        let answer = site.send(request).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    // A bearer client needs neither header.
    let answer = site
        .json(
            Method::PATCH,
            "/accounts/me",
            &json!({"first_name": "Chef"}),
            Some(&session),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // Logging out by cookie from elsewhere does not end the session.
    let logout = cookie_request(
        Method::DELETE,
        "/sessions/current",
        &session,
        None,
        "",
        &[("origin", SIBLING_ORIGIN)],
    );
    assert_eq!(site.send(logout).await.status, StatusCode::FORBIDDEN);
    assert!(site.accounts.authenticate(&session).await.is_ok());
}

/// Point 2: the import by cookie needs our origin too, and takes its
/// spreadsheet type; a super administrator's cookie from a sibling origin
/// imports nothing.
#[tokio::test]
async fn an_import_by_cookie_from_another_origin_is_refused() {
    let site = Site::start();
    let (_, session) = super_admin_session(&site.accounts).await;
    let foreign = cookie_request(
        Method::POST,
        "/accounts/import",
        &session,
        Some("text/plain"),
        "not read",
        &[("origin", SIBLING_ORIGIN)],
    );
    let answer = site.send(foreign).await;
    assert_eq!(
        (answer.status, answer.json()["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("CROSS_ORIGIN"))
    );
    let ours = cookie_request(
        Method::POST,
        "/accounts/import",
        &session,
        Some(SPREADSHEET_TYPE),
        "not a spreadsheet",
        &[("origin", OWN_ORIGIN)],
    );
    let answer = site.send(ours).await;
    assert_eq!(
        (answer.status, answer.json()["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("IMPORT_REJECTED")),
        "read and refused as a file: {}",
        answer.body
    );
}

/// Point 2: a body is a JSON object; an array or a scalar is 422.
#[tokio::test]
async fn a_body_that_is_not_an_object_is_refused() {
    let site = Site::start();
    let (_, session) = super_admin_session(&site.accounts).await;
    for body in [r#"["Renamed"]"#, "[]", "42", r#""x""#] {
        let request = Request::patch("/accounts/me")
            .header("authorization", format!("Bearer {session}"))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let answer = site.send(request).await;
        assert_eq!(
            (answer.status, answer.json()["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("VALIDATION_ERROR")),
            "{body}"
        );
    }
}

/// Point 5.7: `limit` given empty, zero or too large is 400 naming it.
#[tokio::test]
async fn a_bad_search_limit_is_named() {
    let site = Site::start();
    let (_, session) = super_admin_session(&site.accounts).await;
    let bearer = format!("Bearer {session}");
    for query in [
        "limit=",
        "limit=0",
        "limit=101",
        "limit=ten",
        "search=a&limit=%20",
    ] {
        let answer = site
            .get(&format!("/accounts?{query}"), &[("authorization", &bearer)])
            .await;
        assert_eq!(
            (answer.status, answer.json()["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("INVALID_PARAMETER")),
            "{query}"
        );
        assert!(
            answer.json()["message"].as_str().unwrap().contains("limit"),
            "{}",
            answer.body
        );
    }
    for query in ["", "?limit=1", "?search=chief&limit=100"] {
        let answer = site
            .get(&format!("/accounts{query}"), &[("authorization", &bearer)])
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.body);
    }
}

/// Point 5.8: every 429 says when to come back, and what it is about.
#[tokio::test]
async fn every_429_carries_retry_after_and_names_its_limit() {
    let site = Site::start();
    super_admin_session(&site.accounts).await;
    for _ in 0..10 {
        let failed = site
            .post_json(
                "/sessions",
                &json!({"identifier": "chief", "password": "not the password at all"}),
            )
            .await;
        assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    }
    let locked = site
        .post_json(
            "/sessions",
            &json!({"identifier": "chief", "password": PASSWORD}),
        )
        .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.header("retry-after"), "900");
    assert_eq!(
        locked.json()["message"],
        "too many failed attempts; try again later"
    );

    // Successful registrations from one address: a limit, not a failure.
    let limit = AddressLimits::default().registration.requests;
    let from = ClientAddress("203.0.113.9".parse().unwrap());
    let register = |i: u32| {
        let body = json!({"email": format!("r{i}@example.org"), "first_name": "A",
            "last_name": "B", "password": PASSWORD});
        let mut request = Request::post("/accounts/registrations")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        request.extensions_mut().insert(from);
        request
    };
    for i in 0..limit {
        assert_eq!(site.send(register(i)).await.status, StatusCode::ACCEPTED);
    }
    let limited = site.send(register(limit)).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.header("retry-after"), "3600");
    let message = limited.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("registrations"), "{message}");
    assert!(!message.contains("failed"), "{message}");
    assert_eq!(AccountSettings::default().lockout_failures, 10);
}

/// Point 5.3: the import checks who asks before reading the body; a body
/// that never ends is not waited for.
#[tokio::test]
async fn an_import_refuses_a_non_administrator_before_reading_the_body() {
    let site = Site::start();
    let (_, admin) = super_admin_session(&site.accounts).await;
    let reader = common::account_with_roles(&site.accounts, &admin, "reader", &[]).await;
    let (session, _) = site.accounts.login("reader", PASSWORD).await.unwrap();
    assert_eq!(reader.user_name.as_str(), "reader");
    let endless = futures::stream::once(async { Ok::<_, std::io::Error>(Bytes::from("PK")) })
        .chain(futures::stream::pending());
    let request = Request::post("/accounts/import")
        .header("authorization", format!("Bearer {}", session.expose()))
        .header("content-type", SPREADSHEET_TYPE)
        .body(Body::from_stream(endless))
        .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), site.send(request))
        .await
        .expect("the import waited for a body it should never have read");
    assert_eq!(
        (answer.status, answer.json()["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("FORBIDDEN"))
    );
}
