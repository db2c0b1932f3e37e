//! The registration router in-process (`tower::ServiceExt::oneshot`) over real
//! parts: SQLite as registry, staging records, inbox, queue and event log, the
//! Alma client against the sandbox, and real account sessions for staff.

mod common;
mod registration_support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::Days;
use patron_hub_domain::ports::JobQueue;
use patron_hub_domain::JobAction;
use patron_hub_http::registration::router;
use registration_support::*;
use serde_json::json;
use std::time::Duration;

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[tokio::test]
async fn every_route_needs_a_known_client_key() {
    let hub = Hub::start().await;
    let body = json!({"generalInfo": {"firstName": "A", "lastName": "B"},
                      "contactInfo": {"email": "a@example.org"}})
    .to_string();
    for key in [None, Some("not-a-key"), Some("")] {
        for (method, uri) in [
            (Method::POST, "/patron"),
            (Method::PUT, "/patron/some-id"),
            (Method::GET, "/patron/some-id"),
            (
                Method::GET,
                "/patron-registration-status?emailId=a@example.org",
            ),
            (
                Method::GET,
                "/patron/registration-status?emailId=a@example.org",
            ),
            (Method::POST, "/patron/some-id/complete"),
            (Method::GET, "/events?type=patron.registered"),
        ] {
            let (status, answer) = hub.call(method.clone(), uri, key, &body).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri} {key:?}");
            assert_eq!(
                answer,
                json!({"code": "UNAUTHORIZED", "message": "Access Denied"})
            );
        }
    }
    let (status, _) = hub
        .call(Method::GET, "/patron/some-id", Some(KIOSK_KEY), "")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a right key gets past");
}

#[tokio::test]
async fn a_post_creates_a_record_and_a_second_post_with_the_email_updates_it() {
    let hub = Hub::start().await;
    let (status, created) = hub
        .submit(json!({
            "externalSystemId": "chosen-by-the-client",
            "generalInfo": {"firstName": "Jeanne", "lastName": "Barret"},
            "contactInfo": {"email": "Jeanne.Barret@Example.org"},
            "preferredEmailCommunication": ["Support"]
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["externalSystemId"].as_str().unwrap();
    assert!(is_uuid(id), "{id}");
    assert_eq!(created["status"], "TIER-1");
    assert_eq!(created["isEmailVerified"], false);
    assert_eq!(created["minor"], false);
    assert_eq!(created["contactInfo"]["email"], "jeanne.barret@example.org");

    let (status, updated) = hub
        .submit(json!({
            "generalInfo": {"firstName": "Jeanne", "lastName": "Baret"},
            "contactInfo": {"email": "jeanne.barret@example.org"},
            "status": "TIER-2"
        }))
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["externalSystemId"], id);
    assert_eq!(updated["generalInfo"]["lastName"], "Baret");
    assert_eq!(updated["status"], "TIER-2");
    assert_eq!(updated["preferredEmailCommunication"], json!(["Support"]));

    let (status, stored) = hub
        .call(Method::GET, &format!("/patron/{id}"), Some(KIOSK_KEY), "")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored, updated);
}

#[tokio::test]
async fn bodies_are_refused_with_the_field_named() {
    let hub = Hub::start().await;
    let (status, answer) = hub.call(Method::POST, "/patron", Some(KIOSK_KEY), "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer,
        json!({"code": "MISSING_BODY", "message": "Request body must not be null"})
    );
    let cases = [
        (
            json!({"generalInfo": {"firstName": "A", "lastName": "B", "nick": "x"},
                   "contactInfo": {"email": "a@example.org"}}),
            "generalInfo.nick: unknown field",
        ),
        (
            json!({"generalInfo": {"firstName": "A", "lastName": "B"}, "minor": "yes",
                   "contactInfo": {"email": "a@example.org"}}),
            "minor: invalid type",
        ),
        (
            json!({"generalInfo": {"firstName": "A", "lastName": "B"}}),
            "contactInfo.email: is required",
        ),
        (
            json!({"generalInfo": {"firstName": "A"}, "contactInfo": {"email": "a@example.org"}}),
            "generalInfo.lastName: is required",
        ),
        (
            json!({"generalInfo": {"firstName": "A", "lastName": "B"},
                   "contactInfo": {"email": "a@example.org"},
                   "preferredEmailCommunication": ["Support", "Support"]}),
            "preferredEmailCommunication: must not repeat a value",
        ),
    ];
    for (body, message) in cases {
        let (status, answer) = hub.submit(body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(answer["code"], "VALIDATION_ERROR");
        let text = answer["message"].as_str().unwrap();
        assert!(text.starts_with(message), "{text} for {body}");
    }
    let huge = json!({"generalInfo": {"firstName": "x".repeat(70_000)}}).to_string();
    let (status, answer) = hub
        .call(Method::POST, "/patron", Some(KIOSK_KEY), &huge)
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("PAYLOAD_TOO_LARGE"))
    );
    let (status, answer) = hub
        .call(Method::POST, "/patron", Some(KIOSK_KEY), "{not json")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["code"], "VALIDATION_ERROR");
    let (status, answer) = hub
        .call(
            Method::GET,
            "/patron-registration-status?emailId=a@example.org",
            Some(KIOSK_KEY),
            "",
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("USER_NOT_FOUND")),
        "nothing invalid was stored"
    );
}

#[tokio::test]
async fn a_put_merges_into_the_stored_record() {
    let hub = Hub::start().await;
    let (_, created) = hub
        .submit(json!({
            "generalInfo": {"firstName": "Jeanne", "middleName": "M", "lastName": "Barret"},
            "addressInfo": {"city": "Paris", "zip": "75005"},
            "contactInfo": {"email": "jeanne@example.org", "phone": "01"},
            "preferredEmailCommunication": ["Support", "Programs"]
        }))
        .await;
    let id = created["externalSystemId"].as_str().unwrap().to_owned();
    let uri = format!("/patron/{id}");
    let change = json!({
        "externalSystemId": "another-id",
        "generalInfo": {"firstName": "Jeanne-Marie"},
        "addressInfo": {"addressLine0": "2 quai Saint-Bernard"},
        "contactInfo": {"email": "other@example.org", "mobilePhone": "06"},
        "preferredEmailCommunication": [],
        "isEmailVerified": true
    });
    let (status, merged) = hub
        .call(Method::PUT, &uri, Some(KIOSK_KEY), &change.to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["externalSystemId"], id.as_str());
    assert_eq!(
        merged["generalInfo"],
        json!({"firstName": "Jeanne-Marie", "middleName": "M", "lastName": "Barret"})
    );
    assert_eq!(
        merged["addressInfo"],
        json!({"addressLine0": "2 quai Saint-Bernard", "city": "Paris", "zip": "75005"})
    );
    assert_eq!(
        merged["contactInfo"],
        json!({"email": "jeanne@example.org", "phone": "01", "mobilePhone": "06"})
    );
    assert_eq!(
        merged["preferredEmailCommunication"],
        json!(["Support", "Programs"])
    );
    assert_eq!(merged["isEmailVerified"], true);
    assert_eq!(merged["status"], "TIER-1");
    let (_, stored) = hub.call(Method::GET, &uri, Some(KIOSK_KEY), "").await;
    assert_eq!(stored, merged);

    let (status, answer) = hub.call(Method::PUT, &uri, Some(KIOSK_KEY), "").await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("MISSING_BODY"))
    );
    let (status, answer) = hub
        .call(Method::PUT, &uri, Some(KIOSK_KEY), r#"{"minor": 3}"#)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer["message"].as_str().unwrap().starts_with("minor: "));
    for missing in ["/patron/no-such-record", "/patron/%20"] {
        let (status, answer) = hub
            .call(Method::PUT, missing, Some(KIOSK_KEY), r#"{"minor": true}"#)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(answer["code"], "STAGING_USER_NOT_FOUND");
        let (status, answer) = hub.call(Method::GET, missing, Some(KIOSK_KEY), "").await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("STAGING_USER_NOT_FOUND"))
        );
    }
}

#[tokio::test]
async fn each_registration_status_case_has_its_answer_on_both_paths() {
    let hub = Hub::start().await;
    let mut active = alma_user(
        "p-active",
        "Active@Example.org",
        "PUBLIC",
        "ACTIVE",
        "2027-06-30Z",
    );
    active["user_identifier"] =
        json!([{"id_type": {"value": "OTHER_ID_1"}, "value": "ext-active"}]);
    hub.observe("DEMO_A", &active).await;
    hub.observe("DEMO_B", &active).await;
    #[rustfmt::skip]
    let seeds = [
        ("s-librarian", "active@example.org", "STAFF", "ACTIVE", "DEMO_A"),
        ("s-alone", "staff@example.org", "STAFF", "ACTIVE", "DEMO_A"),
        ("p-expired", "expired@example.org", "PUBLIC", "ACTIVE", "DEMO_A"),
        ("p-inactive", "inactive@example.org", "PUBLIC", "INACTIVE", "DEMO_A"),
        ("p-twin-1", "twin@example.org", "PUBLIC", "ACTIVE", "DEMO_A"),
        ("p-twin-2", "twin@example.org", "PUBLIC", "ACTIVE", "DEMO_B"),
    ];
    for (id, email, kind, status, institution) in seeds {
        let expiry = if id == "p-expired" {
            "2026-03-01Z"
        } else {
            "2027-06-30Z"
        };
        hub.observe(institution, &alma_user(id, email, kind, status, expiry))
            .await;
    }
    let expected_view = json!({
        "primaryId": "p-active", "externalSystemId": "ext-active", "type": "patron",
        "active": true, "status": "ACTIVE", "userGroup": "EXT",
        "expirationDate": "2027-06-30", "emails": ["active@example.org"],
        "firstName": "Jeanne", "lastName": "Barret", "institutions": ["DEMO_A", "DEMO_B"]
    });
    // The query, then the status and code answered (no code: the patron view).
    #[rustfmt::skip]
    let cases: [(&str, u16, Option<&str>); 12] = [
        ("emailId=active%40example.org", 200, None),
        ("emailId=%20ACTIVE%40example.ORG%20", 200, None),
        ("externalSystemId=ext-active", 200, None),
        ("emailId=expired%40example.org", 404, Some("ACCOUNT_EXPIRED")),
        ("emailId=inactive%40example.org", 404, Some("USER_ACCOUNT_INACTIVE")),
        ("emailId=staff%40example.org", 404, Some("USER_NOT_FOUND")),
        ("emailId=twin%40example.org", 400, Some("MULTIPLE_USER_WITH_EMAIL")),
        ("emailId=nobody%40example.org", 404, Some("USER_NOT_FOUND")),
        ("externalSystemId=ext-nobody", 404, Some("USER_NOT_FOUND")),
        ("emailId=a%40b.org&externalSystemId=ext-active", 400, Some("INVALID_IDENTIFIERS")),
        ("emailId=", 400, Some("INVALID_IDENTIFIERS")),
        ("", 400, Some("INVALID_IDENTIFIERS")),
    ];
    for path in ["/patron-registration-status", "/patron/registration-status"] {
        for (query, status, code) in &cases {
            let uri = format!("{path}?{query}");
            let (got, answer) = hub.call(Method::GET, &uri, Some(KIOSK_KEY), "").await;
            assert_eq!(got.as_u16(), *status, "{uri}: {answer}");
            match code {
                None => assert_eq!(answer, expected_view, "{uri}"),
                Some(code) => assert_eq!(answer["code"], *code, "{uri}"),
            }
        }
        let uri = format!("{path}?emailId=expired@example.org");
        let (_, expired) = hub.call(Method::GET, &uri, Some(DESK_KEY), "").await;
        assert_eq!(expired["message"], "Patron account has expired");
    }
}

#[tokio::test]
async fn staff_complete_a_registration_and_it_is_distributed() {
    let hub = Hub::start().await;
    let id = hub.staging("jeanne@example.org").await;
    let (status, completed) = hub.complete(&id, "DEMO_A", "B-1001").await;
    assert_eq!(status, StatusCode::CREATED, "{completed}");
    let expiry = (today() + Days::new(365)).to_string();
    assert_eq!(
        completed,
        json!({"primaryId": id, "homeInstitution": "DEMO_A", "expiryDate": expiry, "renewal": false})
    );

    let patron = hub
        .sandbox
        .sandbox
        .user("DEMO_A", &id)
        .expect("created in DEMO_A");
    assert_eq!(patron["last_name"], "Barret");
    assert_eq!(patron["job_category"]["value"], "Exterieur");
    assert_eq!(patron["expiry_date"], format!("{expiry}Z"));
    let identifiers = patron["user_identifier"].to_string();
    assert!(
        identifiers.contains("B-1001") && identifiers.contains(&id),
        "{identifiers}"
    );
    assert!(
        hub.sandbox.sandbox.user("DEMO_B", &id).is_none(),
        "the worker creates it there"
    );

    let (status, answer) = hub
        .call(Method::GET, &format!("/patron/{id}"), Some(KIOSK_KEY), "")
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("STAGING_USER_NOT_FOUND"))
    );
    let (status, view) = hub
        .call(
            Method::GET,
            "/patron-registration-status?emailId=jeanne@example.org",
            Some(KIOSK_KEY),
            "",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["primaryId"], id.as_str());
    assert_eq!(view["externalSystemId"], id.as_str());
    assert_eq!(view["institutions"], json!(["DEMO_A"]));
    let (status, _) = hub
        .call(
            Method::GET,
            &format!("/patron/registration-status?externalSystemId={id}"),
            Some(KIOSK_KEY),
            "",
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    for (institution, expected) in [("DEMO_A", 0), ("DEMO_B", 1), ("DEMO_C", 1)] {
        let jobs = hub
            .store
            .receive(&code(institution), 10, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(jobs.len(), expected, "{institution}");
        for delivery in jobs {
            assert_eq!(delivery.job.primary_id.to_string(), id);
            assert_eq!(delivery.job.origin, code("DEMO_A"));
            assert_eq!(delivery.job.action, JobAction::Upsert);
            assert!(delivery.job.user.is_some());
        }
    }

    let (status, events) = hub
        .call(
            Method::GET,
            "/events?type=patron.registered",
            Some(DESK_KEY),
            "",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let items = events["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["type"], "patron.registered");
    assert_eq!(items[0]["detail"]["primaryId"], id.as_str());
    assert_eq!(items[0]["detail"]["homeInstitution"], "DEMO_A");
    assert_eq!(items[0]["detail"]["renewal"], false);

    let (status, answer) = hub.complete(&id, "DEMO_A", "B-1001").await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("STAGING_USER_NOT_FOUND"))
    );
    let (status, answer) = hub.submit(json!({"generalInfo": {"firstName": "J", "lastName": "B"}, "contactInfo": {"email": "jeanne@example.org"}})).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::CONFLICT, Some("PATRON_ALREADY_EXISTS")),
        "the patron is active now"
    );
}

#[tokio::test]
async fn an_active_patron_email_cannot_be_staged_or_completed_again() {
    let hub = Hub::start().await;
    let id = hub.staging("late@example.org").await;
    hub.observe(
        "DEMO_B",
        &alma_user(
            "p-late",
            "late@example.org",
            "PUBLIC",
            "ACTIVE",
            "2027-06-30Z",
        ),
    )
    .await;
    let (status, answer) = hub.complete(&id, "DEMO_A", "B-2002").await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::CONFLICT, Some("PATRON_ALREADY_EXISTS"))
    );
    let (status, answer) = hub
        .submit(json!({"generalInfo": {"firstName": "L", "lastName": "Late"}, "contactInfo": {"email": "LATE@example.org"}}))
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::CONFLICT, Some("PATRON_ALREADY_EXISTS"))
    );
    assert!(hub.sandbox.sandbox.users("DEMO_A").is_empty());
}

#[tokio::test]
async fn completion_is_for_staff_keys_and_staff_accounts_only() {
    let hub = Hub::start().await;
    let id = hub.staging("desk@example.org").await;
    let uri = format!("/patron/{id}/complete");
    let body =
        json!({"homeInstitution": "DEMO_A", "barcode": "B-3003", "userGroup": "EXT"}).to_string();
    let reader = hub.session("reader", &[]).await;
    let staff = hub.session("desk-staff", &["NETWORK_STAFF"]).await;

    let (status, answer) = hub.call(Method::POST, &uri, Some(KIOSK_KEY), &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(answer["code"], "FORBIDDEN");
    for request in [
        with_header(&uri, &body, "authorization", &format!("Bearer {reader}")),
        common::cookie_request(
            Method::POST,
            &uri,
            &reader,
            Some("application/json"),
            &body,
            &[("origin", common::OWN_ORIGIN)],
        ),
    ] {
        let (status, answer) = hub.send(request).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("FORBIDDEN"))
        );
    }
    let (status, answer) = hub
        .send(with_header(
            &uri,
            &body,
            "authorization",
            "Bearer not-a-session",
        ))
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("UNAUTHORIZED"))
    );
    let (status, answer) = hub
        .call(
            Method::GET,
            "/events?type=patron.registered",
            Some(KIOSK_KEY),
            "",
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("FORBIDDEN"))
    );
    assert!(hub.sandbox.sandbox.users("DEMO_A").is_empty());
    let (status, _) = hub
        .call(Method::GET, &format!("/patron/{id}"), Some(KIOSK_KEY), "")
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the refused calls left the staging record"
    );

    let (status, completed) = hub
        .send(with_header(
            &uri,
            &body,
            "authorization",
            &format!("Bearer {staff}"),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{completed}");
    assert!(hub.sandbox.sandbox.user("DEMO_A", &id).is_some());

    let admin_id = hub.staging("admin-desk@example.org").await;
    let admin_uri = format!("/patron/{admin_id}/complete");
    let admin_body = body.replace("B-3003", "B-3004");
    let by_cookie = |headers: &[(&str, &str)]| {
        common::cookie_request(
            Method::POST,
            &admin_uri,
            &hub.admin_token,
            Some("application/json"),
            &admin_body,
            headers,
        )
    };
    // Issue 11, point 2: not from a page of another origin (the sandbox's port).
    let (status, refused) = hub
        .send(by_cookie(&[("origin", common::SIBLING_ORIGIN)]))
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("CROSS_ORIGIN"))
    );
    assert!(hub.sandbox.sandbox.user("DEMO_A", &admin_id).is_none());
    let (status, completed) = hub
        .send(by_cookie(&[("sec-fetch-site", "same-origin")]))
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a super administrator may too: {completed}"
    );
    let events = Request::get("/events?type=patron.registered&limit=1")
        .header("authorization", format!("Bearer {staff}"))
        .body(Body::empty())
        .unwrap();
    let (status, answer) = hub.send(events).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["items"].as_array().map(Vec::len), Some(1));
}

fn with_header(uri: &str, body: &str, name: &str, value: &str) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .header(name, value)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn an_alma_refusal_keeps_the_staging_record_and_a_retry_succeeds() {
    let hub = Hub::start().await;
    let id = hub.staging("refused@example.org").await;
    hub.sandbox
        .sandbox
        .set_user_groups("DEMO_A", Some(vec!["STAFF_ONLY".to_owned()]));
    let (status, answer) = hub.complete(&id, "DEMO_A", "B-4004").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["code"], "ALMA_REJECTED");
    assert!(
        answer["message"].as_str().unwrap().contains("401852"),
        "{answer}"
    );
    let (status, _) = hub
        .call(Method::GET, &format!("/patron/{id}"), Some(KIOSK_KEY), "")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(hub.sandbox.sandbox.users("DEMO_A").is_empty());
    let (_, events) = hub
        .call(
            Method::GET,
            "/events?type=patron.registered",
            Some(DESK_KEY),
            "",
        )
        .await;
    assert_eq!(events["items"], json!([]));

    hub.sandbox.sandbox.set_user_groups("DEMO_A", None);
    let (status, answer) = hub.complete(&id, "DEMO_A", "B-4004").await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

#[tokio::test]
async fn completion_refuses_what_staff_typed_wrong() {
    let hub = Hub::start().await;
    let id = hub.staging("typo@example.org").await;
    let uri = format!("/patron/{id}/complete");
    let cases = [
        (
            json!({"homeInstitution": "NOWHERE", "barcode": "B", "userGroup": "EXT"}),
            "homeInstitution: ",
        ),
        (
            json!({"homeInstitution": "DEMO_A", "barcode": "B", "userGroup": "NOPE"}),
            "userGroup: ",
        ),
        (
            json!({"homeInstitution": "DEMO_A", "barcode": "B", "userGroup": "EXT", "expiryDate": "2020-01-01"}),
            "expiryDate: ",
        ),
        (
            json!({"homeInstitution": "DEMO_A", "barcode": "B", "userGroup": "EXT", "expiryDate": "soon"}),
            "expiryDate: ",
        ),
        (
            json!({"homeInstitution": "DEMO_A", "barcode": "B", "userGroup": "EXT", "pin": 1}),
            "pin: unknown field",
        ),
        (
            json!({"homeInstitution": "DEMO_A", "userGroup": "EXT"}),
            "barcode: missing field `barcode`",
        ),
    ];
    for (body, message) in cases {
        let (status, answer) = hub
            .call(Method::POST, &uri, Some(DESK_KEY), &body.to_string())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["code"], "VALIDATION_ERROR");
        let text = answer["message"].as_str().unwrap();
        assert!(text.starts_with(message), "{text} for {body}");
    }
    let (status, answer) = hub.call(Method::POST, &uri, Some(DESK_KEY), "").await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("MISSING_BODY"))
    );
    let (status, answer) = hub.complete("no-such-record", "DEMO_A", "B").await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("STAGING_USER_NOT_FOUND"))
    );
    assert!(hub.sandbox.sandbox.users("DEMO_A").is_empty());
}

#[tokio::test]
async fn completing_for_an_expired_patron_renews_it_instead_of_creating_another() {
    let hub = Hub::start().await;
    let expired = alma_user(
        "p-returning",
        "returning@example.org",
        "PUBLIC",
        "ACTIVE",
        "2025-12-31Z",
    );
    hub.alma_patron("DEMO_A", &expired).await;
    hub.alma_patron("DEMO_B", &expired).await;
    let (status, _) = hub
        .call(
            Method::GET,
            "/patron-registration-status?emailId=returning@example.org",
            Some(KIOSK_KEY),
            "",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let id = hub.staging("returning@example.org").await;

    let (status, completed) = hub.complete(&id, "DEMO_A", "B-5005").await;
    assert_eq!(status, StatusCode::OK, "{completed}");
    let expiry = (today() + Days::new(365)).to_string();
    assert_eq!(
        completed,
        json!({"primaryId": "p-returning", "homeInstitution": "DEMO_A", "expiryDate": expiry, "renewal": true})
    );
    let users = hub.sandbox.sandbox.users("DEMO_A");
    assert_eq!(users.len(), 1, "no second user: {users:?}");
    assert_eq!(users[0]["primary_id"], "p-returning");
    assert_eq!(users[0]["expiry_date"], format!("{expiry}Z"));

    let (status, view) = hub
        .call(
            Method::GET,
            "/patron/registration-status?emailId=returning@example.org",
            Some(KIOSK_KEY),
            "",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["expirationDate"], expiry.as_str());
    let jobs = hub
        .store
        .receive(&code("DEMO_B"), 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].job.primary_id.to_string(), "p-returning");
    let jobs = hub
        .store
        .receive(&code("DEMO_C"), 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(jobs.is_empty(), "a renewal goes where the patron is held");
    let (_, events) = hub
        .call(
            Method::GET,
            "/events?type=patron.registered",
            Some(DESK_KEY),
            "",
        )
        .await;
    assert_eq!(events["items"][0]["detail"]["renewal"], true);
}

#[tokio::test]
async fn the_events_route_checks_its_parameters_and_exists_only_with_a_log() {
    let hub = Hub::start().await;
    for query in [
        "",
        "?limit=5",
        "?type=",
        "?type=patron.registered&limit=0",
        "?type=patron.registered&limit=501",
        "?type=patron.registered&limit=ten",
    ] {
        let (status, answer) = hub
            .call(Method::GET, &format!("/events{query}"), Some(DESK_KEY), "")
            .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("INVALID_PARAMETER")),
            "{query}"
        );
    }
    let (status, answer) = hub
        .call(
            Method::GET,
            "/events?type=patron.registered&limit=500",
            Some(DESK_KEY),
            "",
        )
        .await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"items": []})));
    let without_log = router(hub.api_without_events.clone());
    let (status, _) = send_to(
        &without_log,
        request(
            Method::GET,
            "/events?type=patron.registered",
            Some(DESK_KEY),
            "",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, answer) = send_to(
        &without_log,
        request(Method::GET, "/patron/x", Some(DESK_KEY), ""),
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("STAGING_USER_NOT_FOUND"))
    );
}

/// Issue 11, point 2: a body is a JSON object: `[]` changes nothing and is 422.
#[tokio::test]
async fn an_array_or_scalar_body_is_refused() {
    let hub = Hub::start().await;
    let id = hub.staging("array@example.org").await;
    for body in ["[]", r#"[{"minor": true}]"#, "true"] {
        let (status, answer) = hub
            .call(Method::PUT, &format!("/patron/{id}"), Some(KIOSK_KEY), body)
            .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("VALIDATION_ERROR")),
            "{body}"
        );
    }
}
