//! The members router in-process (`tower::ServiceExt::oneshot`) over real
//! parts: SQLite for accounts, sessions, organizations and memberships, the
//! account service with the outbox mailer, and a fixed clock the tests move.

mod common;
mod members_support;

use axum::http::{header, Method, StatusCode};
use calamine::{Data, Reader, Xlsx};
use chrono::{Days, NaiveDate};
use members_support::*;
use patron_hub_http::members::ROUTES;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;

const ADMIN: &str = "ORGANIZATION:ADMIN";
const AGENT: &str = "ORGANIZATION:AGENT";
const ANALYTICS: &str = "ORGANIZATION:ANALYTICS";
const EXPORT: &str = "ORGANIZATION:EXPORT";

/// The kinds of caller, in the order of the matrix's columns.
const CALLERS: [&str; 9] = [
    "anonymous",
    "account without membership",
    "member without role",
    "agent",
    "analytics",
    "export",
    "admin of this organization",
    "admin of another organization",
    "super administrator",
];

/// Every route × every kind of caller: the status expected. `{org}` is the
/// organization under test; `{person}` and `{member}` are a person and a
/// membership of it made for each call (a renewable one for renewals).
#[rustfmt::skip]
const MATRIX: [(&str, &str, [u16; 9]); 16] = [
    //                                                       anon out mem agent ana  exp  adm  other super
    ("GET",    "/people",                                    [401, 403, 403, 403, 403, 403, 403, 403, 200]),
    ("GET",    "/people?organization={org}",                 [401, 403, 403, 403, 403, 403, 200, 403, 200]),
    ("GET",    "/people/{person}",                           [401, 403, 403, 403, 403, 403, 200, 403, 200]),
    ("GET",    "/people/{person}/memberships",               [401, 403, 403, 403, 403, 403, 200, 403, 200]),
    ("POST",   "/organizations",                             [401, 201, 201, 201, 201, 201, 201, 201, 201]),
    ("GET",    "/organizations/{org}",                       [401, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("PATCH",  "/organizations/{org}",                       [401, 403, 403, 403, 403, 403, 200, 403, 200]),
    ("GET",    "/organizations/{org}/members",               [401, 403, 403, 403, 403, 403, 200, 403, 200]),
    ("POST",   "/organizations/{org}/members",               [401, 403, 403, 403, 403, 403, 201, 403, 201]),
    ("GET",    "/organizations/{org}/members/{member}",      [401, 403, 403, 403, 403, 403, 200, 403, 200]),
    ("PATCH",  "/organizations/{org}/members/{member}",      [401, 403, 403, 403, 403, 403, 200, 403, 200]),
    ("DELETE", "/organizations/{org}/members/{member}",      [401, 403, 403, 403, 403, 403, 204, 403, 204]),
    ("POST",   "/organizations/{org}/members/{member}/renewal", [401, 403, 403, 403, 403, 403, 201, 403, 201]),
    ("GET",    "/organizations/{org}/statistics",            [401, 403, 403, 403, 200, 403, 403, 403, 200]),
    ("GET",    "/organizations/{org}/members.xlsx",          [401, 403, 403, 403, 403, 200, 403, 403, 200]),
    ("GET",    "/organizations/{org}/members.csv",           [401, 403, 403, 403, 403, 200, 403, 403, 200]),
];

/// The route a matrix row exercises, as the router declares it.
fn route_of(method: &str, template: &str) -> (String, String) {
    let path = template.split('?').next().unwrap_or(template);
    let path = path
        .replace("{org}", "{id}")
        .replace("{person}", "{id}")
        .replace("{member}", "{memberId}");
    (method.to_owned(), path)
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap()
}

#[tokio::test]
async fn authorization_matrix_of_every_route_and_every_kind_of_caller() {
    let table: BTreeSet<_> = MATRIX.iter().map(|(m, t, _)| route_of(m, t)).collect();
    let routed: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(
        table, routed,
        "every route of the router has its row in the matrix"
    );

    let hub = Hub::start().await;
    let (_, admin) = hub.user("admin-a").await;
    let org = hub
        .organization(&admin, club("Bibliothèque des sciences"))
        .await;
    let (_, other_admin) = hub.user("admin-b").await;
    hub.organization(&other_admin, json!({"name": "Archives"}))
        .await;
    let (_, outsider) = hub.user("outsider").await;
    let mut tokens = vec![None, Some(outsider)];
    for (name, roles) in [
        ("member", vec![]),
        ("agent", vec![AGENT]),
        ("analyst", vec![ANALYTICS]),
        ("exporter", vec![EXPORT]),
    ] {
        let (account, token) = hub.user(name).await;
        hub.member(&admin, &org, &account, &roles).await;
        tokens.push(Some(token));
    }
    tokens.extend([
        Some(admin.clone()),
        Some(other_admin),
        Some(hub.chief_token.clone()),
    ]);
    assert_eq!(tokens.len(), CALLERS.len());

    // Memberships started in this window become renewable once it moves a year on.
    let mut renewable = Vec::new();
    for n in 0..CALLERS.len() {
        let person = hub.account(&format!("renewing-{n}")).await;
        renewable.push(hub.member(&admin, &org, &person, &[]).await);
    }
    let next_year = json!({"membership_start": "2026-08-31", "membership_end": "2027-09-30"});
    let (status, moved) = hub
        .call(
            Method::PATCH,
            &format!("/organizations/{org}"),
            Some(&admin),
            Some(next_year),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");

    let mut wrong = Vec::new();
    let mut n = 0;
    for (verb, template, expected) in MATRIX {
        let (_, route) = route_of(verb, template);
        for (column, token) in tokens.iter().enumerate() {
            n += 1;
            let mut uri = template.replace("{org}", &org);
            if uri.contains("{person}") || (uri.contains("{member}") && !uri.ends_with("/renewal"))
            {
                let target = hub.account(&format!("target-{n}")).await;
                let (status, added) = hub
                    .add(
                        &admin,
                        &org,
                        json!({"person": target.id, "date_start": "2026-08-31"}),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{added}");
                uri = uri
                    .replace("{person}", &target.id.0.to_string())
                    .replace("{member}", added["id"].as_str().unwrap());
            }
            if uri.ends_with("/renewal") {
                uri = uri.replace("{member}", &renewable.pop().unwrap());
            }
            let body = match (verb, route.as_str()) {
                ("POST", "/organizations") => Some(json!({"name": format!("Club {n}")})),
                ("PATCH", "/organizations/{id}") => Some(json!({"titles": ["Trésorier"]})),
                ("POST", "/organizations/{id}/members") => {
                    let person = hub.account(&format!("newcomer-{n}")).await;
                    Some(json!({"person": person.id, "date_start": "2026-08-31"}))
                }
                ("PATCH", "/organizations/{id}/members/{memberId}") => {
                    Some(json!({"roles": [EXPORT]}))
                }
                _ => None,
            };
            let answer = hub
                .send(method(verb), &uri, token.as_deref(), body.as_ref())
                .await;
            let status = answer.status.as_u16();
            let code = match status {
                401 => Some("UNAUTHENTICATED"),
                403 => Some("FORBIDDEN"),
                _ => None,
            };
            if status != expected[column] || code.is_some_and(|code| answer.json()["code"] != code)
            {
                wrong.push(format!(
                    "{verb} {template} as {}: {status} {} (expected {})",
                    CALLERS[column],
                    String::from_utf8_lossy(&answer.bytes),
                    expected[column]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn a_bad_or_missing_session_is_401_and_the_cookie_works_too() {
    let hub = Hub::start().await;
    let (_, token) = hub.user("reader").await;
    for bad in ["", "not-a-session"] {
        let (status, answer) = hub.call(Method::GET, "/people", Some(bad), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer["code"], "UNAUTHENTICATED");
    }
    let request = axum::http::Request::builder()
        .uri("/people/not-a-uuid")
        .header(
            header::COOKIE,
            format!("other=1; patron_hub_session={token}"),
        )
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(hub.router.clone(), request)
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "the cookie's session got past"
    );
}

#[tokio::test]
async fn listings_link_their_first_middle_and_last_pages() {
    let hub = Hub::start().await;
    let (admin_account, admin) = hub.user("admin").await;
    let org = hub
        .organization(&admin, json!({"name": "Département d'histoire"}))
        .await;
    for n in 1..25 {
        let person = hub.account(&format!("reader-{n:02}")).await;
        hub.member(&admin, &org, &person, &[]).await;
    }
    let base = format!("/organizations/{org}/members");
    let href = |page: usize| format!("{base}?page={page}&limit=10");
    let mut seen = BTreeSet::new();
    for (page, items, prev, next) in [
        (1, 10, None, Some(2)),
        (2, 10, Some(1), Some(3)),
        (3, 5, Some(2), None),
    ] {
        let (status, listing) = hub.get(&href(page), &admin).await;
        assert_eq!(status, StatusCode::OK, "{listing}");
        assert_eq!(
            (
                &listing["page"],
                &listing["limit"],
                &listing["pages"],
                &listing["total"]
            ),
            (&json!(page), &json!(10), &json!(3), &json!(25))
        );
        let links = &listing["_links"];
        assert_eq!(links["self"], json!({"href": href(page)}));
        assert_eq!(links["first"], json!({"href": href(1)}));
        assert_eq!(links["last"], json!({"href": href(3)}));
        assert_eq!(
            links.get("prev").map(|l| l["href"].clone()),
            prev.map(|p| json!(href(p)))
        );
        assert_eq!(
            links.get("next").map(|l| l["href"].clone()),
            next.map(|p| json!(href(p)))
        );
        let listed = listing["_embedded"]["items"].as_array().unwrap();
        assert_eq!(listed.len(), items);
        for item in listed {
            assert!(
                item["_embedded"]["person"]["userName"].is_string(),
                "{item}"
            );
            seen.insert(item["id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen.len(), 25, "every member once across the pages");

    // Defaults, and a page past the end.
    let (_, first) = hub.get(&base, &admin).await;
    assert_eq!(first["_links"]["self"]["href"], href(1));
    let (status, beyond) = hub.get(&href(4), &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(beyond["_embedded"]["items"], json!([]));
    assert_eq!(beyond["_links"]["prev"]["href"], href(3));
    assert!(beyond["_links"].get("next").is_none());

    // The people listing keeps its filters in every link.
    let (status, people) = hub
        .get(
            "/people?search%5Bemail%5D=READER-1&page=2&limit=4",
            &hub.chief_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{people}");
    assert_eq!(
        (&people["total"], &people["pages"]),
        (&json!(10), &json!(3))
    );
    let filtered = |page: usize| format!("/people?search%5Bemail%5D=READER-1&page={page}&limit=4");
    assert_eq!(people["_links"]["self"]["href"], filtered(2));
    assert_eq!(people["_links"]["prev"]["href"], filtered(1));
    assert_eq!(people["_links"]["next"]["href"], filtered(3));
    let emails: Vec<&str> = people["_embedded"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        [
            "reader-14@patrons.test",
            "reader-15@patrons.test",
            "reader-16@patrons.test",
            "reader-17@patrons.test"
        ]
    );
    let (status, members) = hub
        .get(
            &format!("/people?organization={org}&search[email]=reader-2"),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{members}");
    assert_eq!(members["total"], 5);
    assert_eq!(
        members["_links"]["last"]["href"],
        format!("/people?search%5Bemail%5D=reader-2&organization={org}&page=1&limit=10")
    );

    for uri in [
        format!("{base}?page=0"),
        format!("{base}?limit=0"),
        format!("{base}?limit=101"),
        format!("{base}?page=two"),
        "/people?limit=1000".to_owned(),
        format!("/people/{}/memberships?page=-1", admin_account.id.0),
    ] {
        let (status, answer) = hub.get(&uri, &hub.chief_token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(answer["code"], "INVALID_PAGINATION", "{uri}");
    }
    let (status, answer) = hub.get("/people?organization=club", &hub.chief_token).await;
    assert_eq!(
        (status, answer["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("INVALID_PARAMETER"))
    );
}

/// Seed 001's example of `GET /people/{id}/memberships`.
const SEED_001: &str = r#"{
    "page": 1, "limit": 10, "pages": 1, "total": 1,
    "_links": {
        "self": {"href": "/people/5020c6ea-ca07-42d1-994f-d90b86703b1a/memberships?page=1&limit=10"},
        "first": {"href": "/people/5020c6ea-ca07-42d1-994f-d90b86703b1a/memberships?page=1&limit=10"},
        "last": {"href": "/people/5020c6ea-ca07-42d1-994f-d90b86703b1a/memberships?page=1&limit=10"}
    },
    "_embedded": {"items": [{
        "id": "b0e7e28f-5b91-4c73-875e-8f34aa03553a",
        "roles": ["ORGANIZATION:ADMIN", "ORGANIZATION:AGENT"],
        "createdAt": "2018-02-27T10:00:00+02:00",
        "_links": {
            "self": {
                "href": "/organizations/84d36093-b8bc-47ad-bc8a-a043b3e301a9/members/b0e7e28f-5b91-4c73-875e-8f34aa03553a",
                "iriTemplate": {"mapping": {"organization": "84d36093-b8bc-47ad-bc8a-a043b3e301a9", "member": "b0e7e28f-5b91-4c73-875e-8f34aa03553a"}}
            },
            "person": {
                "href": "/people/5020c6ea-ca07-42d1-994f-d90b86703b1a",
                "iriTemplate": {"mapping": {"person": "5020c6ea-ca07-42d1-994f-d90b86703b1a"}}
            },
            "organization": {
                "href": "/organizations/84d36093-b8bc-47ad-bc8a-a043b3e301a9",
                "iriTemplate": {"mapping": {"organization": "84d36093-b8bc-47ad-bc8a-a043b3e301a9"}}
            }
        },
        "_embedded": {"availableRoles": ["ORGANIZATION:ADMIN", "ORGANIZATION:ANALYTICS", "ORGANIZATION:EXPORT", "ORGANIZATION:READ_ONLY"]}
    }]}
}"#;

/// Fields a membership may show beyond the seed's.
const ADDED_FIELDS: [&str; 4] = ["titles", "dateStart", "dateEnd", "fee"];

/// Where `ours` differs in shape from `seed`: a key missing or unexpected, or
/// a value of another JSON type.
fn shape_differences(seed: &Value, ours: &Value, at: &str, found: &mut Vec<String>) {
    match (seed, ours) {
        (Value::Object(expected), Value::Object(actual)) => {
            for (key, value) in expected {
                match actual.get(key) {
                    Some(other) => shape_differences(value, other, &format!("{at}.{key}"), found),
                    None => found.push(format!("{at}.{key} is missing")),
                }
            }
            for key in actual.keys().filter(|k| !expected.contains_key(*k)) {
                if !ADDED_FIELDS.contains(&key.as_str()) {
                    found.push(format!("{at}.{key} is not in the seed"));
                }
            }
        }
        (Value::Array(expected), Value::Array(actual)) => {
            if actual.len() != expected.len() {
                found.push(format!(
                    "{at} has {} items, the seed {}",
                    actual.len(),
                    expected.len()
                ));
            }
            for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
                shape_differences(e, a, &format!("{at}[{i}]"), found);
            }
        }
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, Value::Null) => {}
        _ => found.push(format!("{at}: {ours} is not shaped like {seed}")),
    }
}

#[tokio::test]
async fn a_persons_memberships_have_the_shape_of_seed_001() {
    let hub = Hub::start().await;
    let (person, token) = hub.user("camille").await;
    let org = hub
        .organization(&token, json!({"name": "Réseau des bibliothèques"}))
        .await;
    let (_, members) = hub
        .get(&format!("/organizations/{org}/members"), &token)
        .await;
    let member = members["_embedded"]["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = hub
        .call(
            Method::PATCH,
            &format!("/organizations/{org}/members/{member}"),
            Some(&token),
            Some(json!({"roles": [AGENT, ADMIN]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let id = person.id.0.to_string();
    let (status, listing) = hub.get(&format!("/people/{id}/memberships"), &token).await;
    assert_eq!(status, StatusCode::OK, "{listing}");
    let seed: Value = serde_json::from_str(SEED_001).unwrap();
    let mut differences = Vec::new();
    shape_differences(&seed, &listing, "", &mut differences);
    assert!(differences.is_empty(), "{differences:#?}\n{listing:#}");

    let own = format!("/people/{id}/memberships?page=1&limit=10");
    assert_eq!(
        listing["_links"],
        json!({"self": {"href": own}, "first": {"href": own}, "last": {"href": own}})
    );
    let item = &listing["_embedded"]["items"][0];
    assert_eq!(item["id"], member);
    assert_ne!(item["id"], id, "a membership's id is never the person's");
    assert_eq!(item["roles"], json!([ADMIN, AGENT]));
    assert_eq!(item["createdAt"], "2025-09-15T09:00:00+00:00");
    assert_eq!(
        item["_links"],
        json!({
            "self": {"href": format!("/organizations/{org}/members/{member}"),
                     "iriTemplate": {"mapping": {"organization": org, "member": member}}},
            "person": {"href": format!("/people/{id}"),
                       "iriTemplate": {"mapping": {"person": id}}},
            "organization": {"href": format!("/organizations/{org}"),
                             "iriTemplate": {"mapping": {"organization": org}}}
        })
    );
    assert_eq!(
        item["_embedded"]["availableRoles"],
        json!([ADMIN, AGENT, ANALYTICS, EXPORT])
    );
    assert_eq!(
        (&item["dateStart"], &item["fee"]),
        (&json!("2025-09-15"), &json!(0))
    );

    let (status, me) = hub.get(&format!("/people/{id}"), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me,
        json!({"id": id, "userName": "camille", "email": "camille@patrons.test",
               "firstName": "Camille", "lastName": "Lefèvre", "state": "active", "paid": false,
               "_links": {"self": {"href": format!("/people/{id}")},
                          "memberships": {"href": format!("/people/{id}/memberships")}}})
    );
}

#[tokio::test]
async fn organizations_are_created_read_and_changed() {
    let hub = Hub::start().await;
    let (_, token) = hub.user("fondatrice").await;
    let department = json!({
        "name": "  Département de chimie ", "require_memberships": false,
        "membership_start": "2025-08-31", "membership_duration": 30,
        "membership_fee_paid": 500, "titles": ["Secrétaire", "Secrétaire"]
    });
    let answer = hub
        .send(
            Method::POST,
            "/organizations",
            Some(&token),
            Some(&department),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    let created = answer.json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        answer.headers[header::LOCATION],
        format!("/organizations/{id}")
    );
    assert_eq!(
        created,
        json!({"id": id, "name": "Département de chimie", "parent": null,
               "require_memberships": false, "membership_start": null, "membership_end": null,
               "membership_duration": null, "membership_fee_paid": 0, "membership_fee_unpaid": 0,
               "titles": ["Secrétaire"],
               "_links": {"self": {"href": format!("/organizations/{id}")},
                          "members": {"href": format!("/organizations/{id}/members")},
                          "statistics": {"href": format!("/organizations/{id}/statistics")}}})
    );
    let (status, read) = hub.get(&format!("/organizations/{id}"), &token).await;
    assert_eq!((status, &read), (StatusCode::OK, &created));

    let (status, child) = hub
        .call(
            Method::POST,
            "/organizations",
            Some(&token),
            Some(json!({"name": "Laboratoire", "parent": id})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{child}");
    assert_eq!(
        child["_links"]["parent"]["href"],
        format!("/organizations/{id}")
    );
    let (status, patched) = hub
        .call(
            Method::PATCH,
            &format!("/organizations/{}", child["id"].as_str().unwrap()),
            Some(&token),
            Some(json!({"parent": null, "require_memberships": true,
                                         "membership_fee_unpaid": 250})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (&patched["parent"], &patched["membership_fee_unpaid"]),
        (&Value::Null, &json!(250))
    );
    assert_eq!(
        patched["name"], "Laboratoire",
        "absent fields keep their values"
    );

    for (body, status, code, message) in [
        (json!({}), 422, "VALIDATION_ERROR", "name: is required"),
        (
            json!({"name": "X", "colour": "red"}),
            422,
            "VALIDATION_ERROR",
            "colour: unknown field",
        ),
        (
            json!({"name": "X", "membership_start": "31/08/2025"}),
            422,
            "VALIDATION_ERROR",
            "membership_start: ",
        ),
        (
            json!({"name": "X", "require_memberships": true, "membership_start": "2026-01-01",
                "membership_end": "2025-01-01"}),
            422,
            "VALIDATION_ERROR",
            "membership_end: must not be before membership_start",
        ),
    ] {
        let (got, answer) = hub
            .call(
                Method::POST,
                "/organizations",
                Some(&token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(got.as_u16(), status, "{body} → {answer}");
        assert_eq!(answer["code"], code, "{body}");
        assert!(
            answer["message"].as_str().unwrap().starts_with(message),
            "{answer}"
        );
    }
    let not_json = hub
        .send(Method::POST, "/organizations", Some(&token), None)
        .await;
    assert_eq!(
        (not_json.status, not_json.json()["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("INVALID_JSON"))
    );

    for uri in [
        "/organizations/not-a-uuid",
        "/organizations/84d36093-b8bc-47ad-bc8a-a043b3e301a9",
    ] {
        let (status, answer) = hub.get(uri, &token).await;
        assert_eq!(
            (status, answer["code"].clone()),
            (StatusCode::NOT_FOUND, json!("ORGANIZATION_NOT_FOUND")),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn members_are_read_changed_and_removed_but_the_last_admin_stays() {
    let hub = Hub::start().await;
    let (_, admin) = hub.user("admin").await;
    let org = hub
        .organization(
            &admin,
            json!({"name": "Médiathèque", "titles": ["Trésorier"]}),
        )
        .await;
    let (member, member_token) = hub.user("membre").await;
    let answer = hub
        .send(
            Method::POST,
            &format!("/organizations/{org}/members"),
            Some(&admin),
            Some(&json!({"person": member.id, "titles": ["Trésorier"]})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    let added = answer.json();
    let id = added["id"].as_str().unwrap().to_owned();
    let href = format!("/organizations/{org}/members/{id}");
    assert_eq!(answer.headers[header::LOCATION], href);
    assert_eq!(
        (&added["roles"], &added["titles"]),
        (&json!([]), &json!(["Trésorier"]))
    );

    // A member without a role reads their own membership and person.
    let (status, own) = hub.get(&href, &member_token).await;
    assert_eq!((status, &own["id"]), (StatusCode::OK, &json!(id)));
    let (status, _) = hub
        .get(
            &format!("/people/{}/memberships", member.id.0),
            &member_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, changed) = hub
        .call(
            Method::PATCH,
            &href,
            Some(&admin),
            Some(json!({"roles": [EXPORT, ADMIN], "titles": []})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (&changed["roles"], &changed["titles"]),
        (&json!([ADMIN, EXPORT]), &json!([]))
    );
    let (status, refused) = hub
        .call(
            Method::PATCH,
            &href,
            Some(&admin),
            Some(json!({"titles": ["Président"]})),
        )
        .await;
    assert_eq!(
        (status, refused["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("VALIDATION_ERROR"))
    );

    // The founder may leave now that another administrator exists, not before.
    let (_, listing) = hub
        .get(&format!("/organizations/{org}/members"), &admin)
        .await;
    let founder = listing["_embedded"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] != json!(id))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = hub
        .call(
            Method::PATCH,
            &href,
            Some(&admin),
            Some(json!({"roles": []})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let founder_href = format!("/organizations/{org}/members/{founder}");
    let (status, last) = hub
        .call(Method::DELETE, &founder_href, Some(&admin), None)
        .await;
    assert_eq!(
        (status, last["code"].clone()),
        (StatusCode::CONFLICT, json!("LAST_ADMIN"))
    );

    let (status, gone) = hub.call(Method::DELETE, &href, Some(&admin), None).await;
    assert_eq!((status, gone), (StatusCode::NO_CONTENT, Value::Null));
    for uri in [
        href.clone(),
        format!("/organizations/{org}/members/not-a-uuid"),
    ] {
        let (status, answer) = hub.get(&uri, &admin).await;
        assert_eq!(
            (status, answer["code"].clone()),
            (StatusCode::NOT_FOUND, json!("MEMBER_NOT_FOUND")),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn seed_004_membership_rules_through_http() {
    let hub = Hub::start().await;
    let (_, admin) = hub.user("bureau").await;
    let bde = hub.organization(&admin, club("BDE")).await;
    let unpaid = hub.account("etudiant").await;
    let paid = hub.account("eleve").await;
    hub.set_paid(&paid).await;

    // The window: both messages name the date.
    for (start, message) in [
        ("2025-08-30", "The membership must start after 08-31-2025."),
        ("2026-10-01", "The membership must begin before 09-30-2026."),
    ] {
        let (status, answer) = hub
            .add(
                &admin,
                &bde,
                json!({"person": unpaid.id, "date_start": start}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{start}");
        assert_eq!(
            answer,
            json!({"code": "MEMBERSHIP_RULE", "message": message})
        );
    }

    // Fee by paid status; end = start + 396 days, capped at the window's end.
    let (status, by_unpaid) = hub
        .add(
            &admin,
            &bde,
            json!({"person": unpaid.id, "date_start": "2025-09-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{by_unpaid}");
    assert_eq!(
        (
            &by_unpaid["dateStart"],
            &by_unpaid["dateEnd"],
            &by_unpaid["fee"]
        ),
        (&json!("2025-09-01"), &json!("2026-09-30"), &json!(300))
    );
    let (status, by_paid) = hub
        .add(
            &admin,
            &bde,
            json!({"person": paid.id, "date_start": "2025-08-31", "roles": [EXPORT]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{by_paid}");
    assert_eq!(
        (&by_paid["fee"], &by_paid["dateEnd"]),
        (&json!(500), &json!("2026-09-30"))
    );
    let last_day = hub.account("retardataire").await;
    let (status, latest) = hub
        .add(
            &admin,
            &bde,
            json!({"person": last_day.id, "date_start": "2026-09-30"}),
        )
        .await;
    assert_eq!(
        (status, &latest["dateEnd"]),
        (StatusCode::CREATED, &json!("2026-09-30"))
    );

    // Without an end to the window, the duration alone decides; without a
    // duration either, 424242 days.
    let open = hub
        .organization(
            &admin,
            json!({"name": "Ciné-club", "require_memberships": true, "membership_duration": 396}),
        )
        .await;
    let (_, film) = hub.add(&admin, &open, json!({"person": unpaid.id})).await;
    let expected = day(2025, 9, 15) + Days::new(396);
    assert_eq!(
        (&film["dateStart"], &film["dateEnd"]),
        (&json!("2025-09-15"), &json!(expected.to_string()))
    );
    let department = hub
        .organization(&admin, json!({"name": "Département de physique"}))
        .await;
    let (_, staff) = hub
        .add(&admin, &department, json!({"person": unpaid.id}))
        .await;
    let forever = day(2025, 9, 15) + Days::new(424_242);
    assert_eq!(
        (&staff["dateEnd"], &staff["fee"]),
        (&json!(forever.to_string()), &json!(0))
    );

    // No overlap with one's own membership of the same club.
    let (status, overlap) = hub
        .add(
            &admin,
            &bde,
            json!({"person": unpaid.id, "date_start": "2026-01-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        overlap,
        json!({"code": "ALREADY_MEMBER", "message": "User is already a member of the club"})
    );

    // A child club needs a parent membership valid on the start date.
    let mut kfet = club("Kfet");
    kfet["parent"] = json!(bde);
    let kfet = hub.organization(&admin, kfet).await;
    let stranger = hub.account("passant").await;
    let (status, refused) = hub.add(&admin, &kfet, json!({"person": stranger.id})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused,
        json!({"code": "MEMBERSHIP_RULE", "message": "User is not a member of the parent club BDE"})
    );
    let late = hub.account("tardif").await;
    let (status, _) = hub
        .add(
            &admin,
            &bde,
            json!({"person": late.id, "date_start": "2025-09-10"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, early) = hub
        .add(
            &admin,
            &kfet,
            json!({"person": late.id, "date_start": "2025-09-01"}),
        )
        .await;
    assert_eq!(
        (status, &early["message"]),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!("User is not a member of the parent club BDE")
        )
    );
    let (status, joined) = hub
        .add(
            &admin,
            &kfet,
            json!({"person": late.id, "date_start": "2025-09-10"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{joined}");

    // A club of short memberships.
    let mut choir = club("Chorale");
    choir["membership_duration"] = json!(30);
    let choir = hub.organization(&admin, choir).await;
    let (_, sung) = hub.add(&admin, &choir, json!({"person": paid.id})).await;
    assert_eq!(sung["dateEnd"], "2025-10-15");

    // A year on: nothing to renew until the window moves, as the rollover moves it.
    hub.clock.advance(day(2026, 9, 1) - day(2025, 9, 15));
    let admin = hub.login("bureau").await;
    let renew = |org: &str, member: &Value| {
        format!(
            "/organizations/{org}/members/{}/renewal",
            member["id"].as_str().unwrap()
        )
    };
    let (status, early) = hub
        .call(Method::POST, &renew(&bde, &by_unpaid), Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        early["message"],
        "This membership started in the current membership year: nothing to renew"
    );
    for org in [&bde, &choir] {
        let (status, rolled) = hub
            .call(
                Method::PATCH,
                &format!("/organizations/{org}"),
                Some(&admin),
                Some(json!({"membership_start": "2026-08-31", "membership_end": "2027-09-30"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{rolled}");
    }

    let (status, renewed) = hub
        .call(Method::POST, &renew(&bde, &by_unpaid), Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{renewed}");
    assert_ne!(renewed["id"], by_unpaid["id"]);
    assert_eq!(
        (
            &renewed["dateStart"],
            &renewed["dateEnd"],
            &renewed["fee"],
            &renewed["roles"]
        ),
        (
            &json!("2026-10-01"),
            &json!("2027-09-30"),
            &json!(300),
            &json!([])
        )
    );
    let (status, again) = hub
        .call(Method::POST, &renew(&bde, &by_unpaid), Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        again,
        json!({"code": "ALREADY_RENEWED", "message": "User has already renewed this membership"})
    );
    let (status, _) = hub
        .call(Method::POST, &renew(&bde, &renewed), Some(&admin), None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the renewal itself is this year's"
    );

    let (status, renewed_paid) = hub
        .call(Method::POST, &renew(&bde, &by_paid), Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{renewed_paid}");
    assert_eq!(
        (&renewed_paid["fee"], &renewed_paid["roles"]),
        (&json!(500), &json!([EXPORT]))
    );
    // The choir membership ended on 15 October: only a current one is renewed.
    let (status, sung_again) = hub
        .call(Method::POST, &renew(&choir, &sung), Some(&admin), None)
        .await;
    assert_eq!(
        (status, sung_again),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"code": "MEMBERSHIP_RULE", "message": "Only a membership valid today can be renewed"})
        )
    );
}

#[tokio::test]
async fn the_agent_role_is_held_in_one_organization_only() {
    let hub = Hub::start().await;
    let (_, admin) = hub.user("admin").await;
    let museum = hub.organization(&admin, json!({"name": "Musée"})).await;
    let archives = hub.organization(&admin, json!({"name": "Archives"})).await;
    let agent = hub.account("agent").await;
    let first = hub
        .member(&admin, &museum, &agent, &[AGENT, ANALYTICS])
        .await;
    let (status, refused) = hub
        .add(
            &admin,
            &archives,
            json!({"person": agent.id, "roles": [AGENT]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        refused,
        json!({"code": "AGENT_IN_ANOTHER_ORGANIZATION",
               "message": "ORGANIZATION:AGENT can be held in one organization only"})
    );
    let second = hub
        .member(&admin, &archives, &agent, &[ANALYTICS, EXPORT])
        .await;
    let second_href = format!("/organizations/{archives}/members/{second}");
    let (status, refused) = hub
        .call(
            Method::PATCH,
            &second_href,
            Some(&admin),
            Some(json!({"roles": [AGENT]})),
        )
        .await;
    assert_eq!(
        (status, refused["code"].clone()),
        (StatusCode::CONFLICT, json!("AGENT_IN_ANOTHER_ORGANIZATION"))
    );

    let (status, _) = hub
        .call(
            Method::PATCH,
            &format!("/organizations/{museum}/members/{first}"),
            Some(&admin),
            Some(json!({"roles": [ANALYTICS]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, moved) = hub
        .call(
            Method::PATCH,
            &second_href,
            Some(&admin),
            Some(json!({"roles": [AGENT]})),
        )
        .await;
    assert_eq!((status, &moved["roles"]), (StatusCode::OK, &json!([AGENT])));

    let (_, memberships) = hub
        .get(
            &format!("/people/{}/memberships", agent.id.0),
            &hub.chief_token,
        )
        .await;
    let roles: BTreeMap<String, Value> = memberships["_embedded"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_str().unwrap().to_owned(), m["roles"].clone()))
        .collect();
    assert_eq!(
        roles,
        BTreeMap::from([(first, json!([ANALYTICS])), (second, json!([AGENT]))])
    );
}

/// The Excel serial number of a day (days since 30 December 1899).
fn serial(day: NaiveDate) -> f64 {
    (day - NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()).num_days() as f64
}

/// A CSV file as RFC 4180 reads it: records of fields.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "the last line ends with CRLF"
    );
    records
}

#[tokio::test]
async fn members_export_as_a_spreadsheet_and_as_csv() {
    let hub = Hub::start().await;
    let (_, admin) = hub.user("bureau").await;
    let mut reading = club("Club de lecture");
    reading["membership_start"] = Value::Null;
    reading["membership_end"] = Value::Null;
    reading["membership_duration"] = json!(30);
    reading["titles"] = json!(["Trésorier, adjoint", "Secrétaire \"général\""]);
    let org = hub.organization(&admin, reading).await;
    let reader = hub
        .named("zoe", ("Zoé", "Arc, dite \"la Pucelle\""), Some(PASSWORD))
        .await;
    let (_, added) = hub
        .add(
            &admin,
            &org,
            json!({"person": reader.id, "roles": [EXPORT, ANALYTICS],
                                  "titles": ["Trésorier, adjoint", "Secrétaire \"général\""]}),
        )
        .await;
    let formula = hub.named("formule", ("=1+2", "Dupont"), None).await;
    let (_, formula_member) = hub.add(&admin, &org, json!({"person": formula.id})).await;
    let former = hub.account("ancien").await;
    let (_, expired) = hub
        .add(
            &admin,
            &org,
            json!({"person": former.id, "date_start": "2025-01-01"}),
        )
        .await;
    let token = hub.login("zoe").await;

    let answer = hub
        .send(
            Method::GET,
            &format!("/organizations/{org}/members.xlsx"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.headers[header::CONTENT_TYPE],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(
        answer.headers[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"members-{org}.xlsx\"")
    );
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(answer.bytes.to_vec())).unwrap();
    let sheet = book.worksheet_range("Members").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(
        header,
        [
            "Membership id",
            "User name",
            "First name",
            "Last name",
            "E-mail",
            "Roles",
            "Titles",
            "Start",
            "End",
            "Fee (cents)",
            "Valid today"
        ]
    );
    assert_eq!(rows.len(), 5, "the header and four members");
    let row = |id: &Value| {
        *rows
            .iter()
            .find(|r| r[0] == Data::String(id.as_str().unwrap().to_owned()))
            .unwrap_or_else(|| panic!("no row for {id}"))
    };
    let zoe = row(&added["id"]);
    let text = |cells: &[Data], from: usize, to: usize| -> Vec<String> {
        cells[from..to].iter().map(|c| c.to_string()).collect()
    };
    assert_eq!(
        text(zoe, 1, 7),
        [
            "zoe",
            "Zoé",
            "Arc, dite \"la Pucelle\"",
            "zoe@patrons.test",
            "ORGANIZATION:ANALYTICS, ORGANIZATION:EXPORT",
            "Trésorier, adjoint, Secrétaire \"général\""
        ]
    );
    for (cell, expected) in [(&zoe[7], day(2025, 9, 15)), (&zoe[8], day(2025, 10, 15))] {
        match cell {
            Data::DateTime(date) => assert_eq!(date.as_f64(), serial(expected)),
            other => panic!("{other:?} is not a date"),
        }
    }
    assert_eq!(
        (&zoe[9], &zoe[10]),
        (&Data::Float(300.0), &Data::Bool(true))
    );
    let old = row(&expired["id"]);
    assert_eq!(old[10], Data::Bool(false), "ended on 31 January");
    match &old[8] {
        Data::DateTime(date) => assert_eq!(date.as_f64(), serial(day(2025, 1, 31))),
        other => panic!("{other:?} is not a date"),
    }
    assert_eq!(
        row(&formula_member["id"])[2],
        Data::String("=1+2".into()),
        "a string, never a formula"
    );

    let answer = hub
        .send(
            Method::GET,
            &format!("/organizations/{org}/members.csv"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.headers[header::CONTENT_TYPE],
        "text/csv; charset=utf-8; header=present"
    );
    let text = String::from_utf8(answer.bytes.to_vec()).expect("UTF-8");
    assert!(text.contains("\"Arc, dite \"\"la Pucelle\"\"\""), "{text}");
    let records = parse_csv(&text);
    assert_eq!(records.len(), 5);
    assert_eq!(records[0], header);
    let record = |id: &Value| {
        records
            .iter()
            .find(|r| r[0] == id.as_str().unwrap())
            .unwrap_or_else(|| panic!("no record for {id}"))
            .clone()
    };
    assert_eq!(
        record(&added["id"]),
        [
            added["id"].as_str().unwrap(),
            "zoe",
            "Zoé",
            "Arc, dite \"la Pucelle\"",
            "zoe@patrons.test",
            "ORGANIZATION:ANALYTICS, ORGANIZATION:EXPORT",
            "Trésorier, adjoint, Secrétaire \"général\"",
            "2025-09-15",
            "2025-10-15",
            "300",
            "true"
        ]
    );
    assert_eq!(
        record(&expired["id"])[7..],
        ["2025-01-01", "2025-01-31", "300", "false"]
    );
    assert_eq!(
        record(&formula_member["id"])[2],
        "'=1+2",
        "defused for spreadsheet programs"
    );
}

#[tokio::test]
async fn statistics_count_members_by_role_month_and_fee() {
    let hub = Hub::start().await;
    let (_, admin) = hub.user("bureau").await;
    let org = hub.organization(&admin, club("BDE")).await;
    let (analyst, analyst_token) = hub.user("analyste").await;
    hub.add(
        &admin,
        &org,
        json!({"person": analyst.id, "roles": [ANALYTICS]}),
    )
    .await;
    let paid = hub.account("eleve").await;
    hub.set_paid(&paid).await;
    let (_, later) = hub
        .add(
            &admin,
            &org,
            json!({"person": paid.id, "date_start": "2025-10-01"}),
        )
        .await;
    let agent = hub.account("agent").await;
    hub.add(
        &admin,
        &org,
        json!({"person": agent.id, "roles": [AGENT, EXPORT], "date_start": "2025-09-01"}),
    )
    .await;

    let uri = format!("/organizations/{org}/statistics");
    let founder_ends = (day(2025, 9, 15) + Days::new(424_242))
        .format("%Y-%m")
        .to_string();
    let (status, figures) = hub.get(&uri, &analyst_token).await;
    assert_eq!(status, StatusCode::OK, "{figures}");
    let mut expiring = json!({"2026-09": 3});
    expiring[&founder_ends] = json!(1);
    assert_eq!(
        figures,
        json!({
            "date": "2025-09-15",
            "active_members": 3,
            "members_by_role": {ADMIN: 1, AGENT: 1, ANALYTICS: 1, EXPORT: 1, "NONE": 0},
            "new_by_month": {"2025-09": 3, "2025-10": 1},
            "expiring_by_month": expiring,
            "fees_collected": 1100,
            "fees_by_month": {"2025-09": 1100}
        })
    );

    // A removed membership leaves the counts; its fee stays collected.
    let (status, _) = hub
        .call(
            Method::DELETE,
            &format!(
                "/organizations/{org}/members/{}",
                later["id"].as_str().unwrap()
            ),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, figures) = hub.get(&uri, &analyst_token).await;
    assert_eq!(figures["new_by_month"], json!({"2025-09": 3}));
    assert_eq!(figures["fees_collected"], 1100);
}

/// Issue 11, point 2: an administrator's cookie, sent by a page of a sibling
/// origin (same site: `SameSite=Strict` lets it through) as `text/plain`, adds
/// no administrator, renames nothing and renews nothing; from our own origin,
/// as JSON, the same calls work.
#[tokio::test]
async fn an_administrators_cookie_from_another_origin_changes_nothing() {
    let hub = Hub::start().await;
    let (_, admin) = hub.user("admin").await;
    let (intruder, _) = hub.user("intruder").await;
    let org = hub.organization(&admin, club("BDE")).await;
    let member = hub.member(&admin, &org, &intruder, &[]).await;
    let grant = json!({"person": intruder.id, "roles": ["ORGANIZATION:ADMIN"]}).to_string();
    let foreign = [
        vec![("origin", common::SIBLING_ORIGIN)],
        vec![("sec-fetch-site", "same-site")],
        vec![],
    ];
    let calls = [
        (
            Method::POST,
            format!("/organizations/{org}/members"),
            grant.clone(),
        ),
        (
            Method::PATCH,
            format!("/organizations/{org}"),
            r#"{"name": "Pirates"}"#.to_owned(),
        ),
        (
            Method::POST,
            format!("/organizations/{org}/members/{member}/renewal"),
            String::new(),
        ),
        (
            Method::DELETE,
            format!("/organizations/{org}/members/{member}"),
            String::new(),
        ),
    ];
    for headers in &foreign {
        for (method, uri, body) in &calls {
            let request = common::cookie_request(
                method.clone(),
                uri,
                &admin,
                (!body.is_empty()).then_some("text/plain;charset=UTF-8"),
                body,
                headers,
            );
            let answer = hub.send_request(request).await;
            assert_eq!(
                (answer.status, answer.json()["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("CROSS_ORIGIN")),
                "{method} {uri} {headers:?}"
            );
        }
    }
    let (_, members) = hub
        .get(&format!("/organizations/{org}/members"), &admin)
        .await;
    assert_eq!(members["total"], 2, "nobody added or removed: {members}");
    let (_, organization) = hub.get(&format!("/organizations/{org}"), &admin).await;
    assert_eq!(organization["name"], "BDE");

    let ours = common::cookie_request(
        Method::PATCH,
        &format!("/organizations/{org}"),
        &admin,
        Some("application/json"),
        r#"{"name": "BDE 2025"}"#,
        &[("origin", common::OWN_ORIGIN)],
    );
    let answer = hub.send_request(ours).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
    // Reading by cookie needs no origin.
    let read = common::cookie_request(
        Method::GET,
        &format!("/organizations/{org}"),
        &admin,
        None,
        "",
        &[],
    );
    assert_eq!(hub.send_request(read).await.json()["name"], "BDE 2025");
}

/// Issue 11, point 2: a body is a JSON object: `["Renamed"]` renames nothing.
#[tokio::test]
async fn an_array_or_scalar_body_is_refused() {
    let hub = Hub::start().await;
    let (_, admin) = hub.user("admin").await;
    let org = hub.organization(&admin, club("BDE")).await;
    for body in [json!(["Renamed"]), json!([]), json!("Renamed"), json!(7)] {
        let (status, answer) = hub
            .call(
                Method::PATCH,
                &format!("/organizations/{org}"),
                Some(&admin),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("VALIDATION_ERROR")),
            "{body}"
        );
    }
    let (_, organization) = hub.get(&format!("/organizations/{org}"), &admin).await;
    assert_eq!(organization["name"], "BDE");
}

/// Issue 11, point 5.7: a typed query parameter given empty is 400 naming it,
/// never taken as absent.
#[tokio::test]
async fn an_empty_typed_parameter_is_named() {
    let hub = Hub::start().await;
    for (query, code, named) in [
        ("organization=", "INVALID_PARAMETER", "organization"),
        ("page=", "INVALID_PAGINATION", "page"),
        ("limit=", "INVALID_PAGINATION", "limit"),
        ("limit=0", "INVALID_PAGINATION", "limit"),
    ] {
        let (status, answer) = hub.get(&format!("/people?{query}"), &hub.chief_token).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{query}"
        );
        assert!(
            answer["message"].as_str().unwrap().contains(named),
            "{query}: {answer}"
        );
    }
    let (status, _) = hub.get("/people?search[email]=", &hub.chief_token).await;
    assert_eq!(status, StatusCode::OK, "an empty text filter is no filter");
}
