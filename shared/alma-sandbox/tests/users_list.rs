//! The user list (`GET /almaws/v1/users`) over real HTTP: paging, limits, the
//! `q` fields, the orders, the brief shape, the linked-copy lookup and the gate.

mod common;

use common::{alma_error, call, create, demo, patron, start};
use patron_hub_alma_sandbox::{Faults, RunningSandbox, SandboxConfig, Seed};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// `GET /users{query}` of `institution`: 200 and its body.
async fn list(running: &RunningSandbox, institution: &str, query: &str) -> Value {
    let response = call(
        running,
        institution,
        Method::GET,
        &format!("/users{query}"),
        None,
    )
    .await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.expect("a JSON list")
}

/// The primary ids of a list body, in order.
fn ids(body: &Value) -> Vec<String> {
    body["user"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|user| user["primary_id"].as_str().unwrap().to_owned())
        .collect()
}

/// A reader with every searchable field set.
fn reader(primary_id: &str, first: &str, last: &str) -> Value {
    let mut user = patron(primary_id, last);
    user["first_name"] = json!(first);
    user["contact_info"] = json!({
        "email": [{"email_address": format!("{primary_id}@example.org"), "preferred": true}],
        "phone": [{"phone_number": format!("+33 1 00 00 {}", primary_id.len()), "preferred": true}],
    });
    user
}

#[tokio::test]
async fn pages_are_stable_cover_everyone_once_and_end_empty() {
    let running = demo().await;
    running
        .sandbox
        .seed("DEMO_A", &Seed::new(25))
        .expect("seeded");

    let first = list(&running, "DEMO_A", "").await;
    assert_eq!(first["total_record_count"], 25);
    assert_eq!(ids(&first).len(), 10, "Alma's default limit is 10");

    let mut seen = Vec::new();
    for offset in [0, 10, 20] {
        let page = list(&running, "DEMO_A", &format!("?limit=10&offset={offset}")).await;
        assert_eq!(page["total_record_count"], 25);
        seen.extend(ids(&page));
    }
    assert_eq!(seen.len(), 25);
    assert_eq!(
        seen.iter().collect::<BTreeSet<_>>().len(),
        25,
        "no user twice"
    );
    assert_eq!(ids(&first), seen[..10], "the same page twice is the same");

    for past_the_end in ["?offset=25", "?offset=1000&limit=100"] {
        let body = list(&running, "DEMO_A", past_the_end).await;
        assert_eq!(body, json!({"total_record_count": 25}), "{past_the_end}");
    }
    let count_only = list(&running, "DEMO_A", "?limit=0").await;
    assert_eq!(count_only, json!({"total_record_count": 25}));
    let everyone = list(&running, "DEMO_A", "?limit=100").await;
    assert_eq!(ids(&everyone), seen);

    let empty = list(&running, "DEMO_C", "").await;
    assert_eq!(empty, json!({"total_record_count": 0}));
}

#[tokio::test]
async fn entries_are_brief_records_with_a_link() {
    let running = demo().await;
    let mut full = reader("p 1/é", "Ada", "Lovelace");
    full["status"] = json!({"value": "ACTIVE", "desc": "Active"});
    full["job_category"] = json!({"value": "PEB"});
    full["expiry_date"] = json!("2031-06-30Z");
    create(&running, "DEMO_A", full).await;

    let body = list(&running, "DEMO_A", "").await;
    let entry = body["user"][0].as_object().unwrap();
    let fields: BTreeSet<&str> = entry.keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        BTreeSet::from([
            "first_name",
            "last_name",
            "link",
            "primary_id",
            "status",
            "user_group"
        ])
    );
    assert_eq!(entry["primary_id"], "p 1/é");
    assert_eq!(entry["user_group"]["value"], "STUDENT");
    let link = entry["link"].as_str().unwrap();
    assert_eq!(
        link,
        format!("{}/almaws/v1/users/p%201%2F%C3%A9", running.base_url)
    );
}

#[tokio::test]
async fn limits_offsets_orders_and_queries_alma_cannot_use_are_refused() {
    let running = demo().await;
    for (query, parameter) in [
        ("?limit=101", "limit"),
        ("?limit=-1", "limit"),
        ("?limit=ten", "limit"),
        ("?offset=-5", "offset"),
        ("?order_by=email", "order_by"),
        ("?order_by=last_name,first_name", "order_by"),
        ("?q=Lovelace", "q"),
        ("?q=nickname~Ada", "q"),
        ("?q=last_name~", "q"),
        ("?source_institution_code=DEMO_NETWORK", "source_user_id"),
        ("?source_user_id=nz1", "source_institution_code"),
    ] {
        let response = call(
            &running,
            "DEMO_A",
            Method::GET,
            &format!("/users{query}"),
            None,
        )
        .await;
        let message = alma_error(response, 400, "40166410").await;
        assert!(
            message.starts_with(&format!("The parameter {parameter} is invalid.")),
            "{query}: {message}"
        );
    }
    let ok = list(&running, "DEMO_A", "?limit=100&offset=0&q=&order_by=").await;
    assert_eq!(ok["total_record_count"], 0);
}

#[tokio::test]
async fn each_q_field_finds_its_words() {
    // More calls than the demo's 25 a second.
    let running = start(SandboxConfig {
        calls_per_second: 1_000,
        ..SandboxConfig::demo()
    })
    .await;
    let mut ada = reader("ada-1", "Ada", "Byron-Lovelace");
    ada["middle_name"] = json!("Augusta");
    ada["job_category"] = json!({"value": "Exterieur", "desc": "Lecteur extérieur"});
    ada["birth_date"] = json!("1815-12-10Z");
    ada["user_note"] = json!([{"note_text": "Analytical engine"}]);
    create(&running, "DEMO_A", ada).await;
    let mut grace = reader("grace-2", "Grace", "Hopper");
    grace["job_category"] = json!({"value": "PEB"});
    grace["user_group"] = json!({"value": "STAFF"});
    grace["user_identifier"][0]["value"] = json!("COBOL-59");
    create(&running, "DEMO_A", grace).await;
    create(&running, "DEMO_A", reader("alan-3", "Alan", "Turing")).await;

    for (q, expected) in [
        ("primary_id~ada-1", vec!["ada-1"]),
        ("primary_id~ada", vec!["ada-1"]),
        ("primary_id~ad", vec![]),
        ("first_name~grace", vec!["grace-2"]),
        ("last_name~lovelace", vec!["ada-1"]),
        ("last_name~BYRON lovelace", vec!["ada-1"]),
        ("middle_name~Augusta", vec!["ada-1"]),
        ("email~alan-3@example.org", vec!["alan-3"]),
        ("email~example", vec!["ada-1", "alan-3", "grace-2"]),
        ("phone_number~00", vec!["ada-1", "alan-3", "grace-2"]),
        ("job_category~Exterieur", vec!["ada-1"]),
        ("job_category~extérieur", vec!["ada-1"]),
        ("job_category~PEB", vec!["grace-2"]),
        ("user_group~staff", vec!["grace-2"]),
        ("identifiers~COBOL-59", vec!["grace-2"]),
        ("identifiers~B-alan-3", vec!["alan-3"]),
        ("birth_date~1815-12-10", vec!["ada-1"]),
        ("general_info~analytical", vec!["ada-1"]),
        ("general_info~example", vec![]),
        ("ALL~example Hopper", vec!["grace-2"]),
        ("ALL~cobol", vec!["grace-2"]),
        ("first_name~Ada AND last_name~Lovelace", vec!["ada-1"]),
        ("first_name~Ada AND last_name~Hopper", vec![]),
    ] {
        let body = list(
            &running,
            "DEMO_A",
            &format!("?order_by=primary_id&q={}", encode(q)),
        )
        .await;
        assert_eq!(ids(&body), expected, "{q}");
        assert_eq!(body["total_record_count"], expected.len(), "{q}");
    }
}

#[tokio::test]
async fn orders_end_with_the_primary_id() {
    let running = demo().await;
    for (id, first, last) in [
        ("d", "Ada", "Lovelace"),
        ("c", "Alan", "lovelace"),
        ("b", "Ada", "Hopper"),
        ("a", "Zoe", "Turing"),
        ("e", "Ada", "Lovelace"),
    ] {
        create(&running, "DEMO_B", reader(id, first, last)).await;
    }
    for (query, expected) in [
        ("", ["b", "d", "e", "c", "a"]),
        ("?order_by=last_name", ["b", "c", "d", "e", "a"]),
        ("?order_by=first_name", ["b", "d", "e", "c", "a"]),
        ("?order_by=primary_id", ["a", "b", "c", "d", "e"]),
        ("?q=email~example", ["b", "d", "e", "c", "a"]),
    ] {
        let body = list(&running, "DEMO_B", query).await;
        assert_eq!(ids(&body), expected, "{query}");
    }
    let second_page = list(&running, "DEMO_B", "?order_by=last_name&limit=2&offset=2").await;
    assert_eq!(ids(&second_page), ["d", "e"]);
    assert_eq!(second_page["total_record_count"], 5);
}

#[tokio::test]
async fn a_list_follows_changes() {
    let running = demo().await;
    create(&running, "DEMO_A", reader("p1", "Ada", "Lovelace")).await;
    let before = list(&running, "DEMO_A", "?q=last_name~Lovelace").await;
    assert_eq!(ids(&before), ["p1"]);
    let renamed = reader("p1", "Ada", "Byron");
    let response = call(&running, "DEMO_A", Method::PUT, "/users/p1", Some(renamed)).await;
    assert_eq!(response.status(), 200);
    let after = list(&running, "DEMO_A", "?q=last_name~Lovelace").await;
    assert_eq!(after, json!({"total_record_count": 0}));
    let now = list(&running, "DEMO_A", "?q=last_name~Byron").await;
    assert_eq!(ids(&now), ["p1"]);
}

#[tokio::test]
async fn the_linked_lookup_answers_the_copies_and_alma_s_errors() {
    let running = demo().await;
    create(&running, "DEMO_NETWORK", reader("nz1", "Emmy", "Noether")).await;
    create(&running, "DEMO_A", reader("local", "Ada", "Lovelace")).await;
    let copy = call(&running, "DEMO_A", Method::GET, "/users/nz1", None).await;
    assert_eq!(copy.status(), 200);

    let found = list(
        &running,
        "DEMO_A",
        "?source_institution_code=DEMO_NETWORK&source_user_id=nz1",
    )
    .await;
    assert_eq!(found["total_record_count"], 1);
    assert_eq!(ids(&found), ["nz1"]);
    // Found by any unique identifier of the source user too.
    let by_barcode = list(
        &running,
        "DEMO_A",
        "?source_institution_code=DEMO_NETWORK&source_user_id=B-nz1",
    )
    .await;
    assert_eq!(ids(&by_barcode), ["nz1"]);

    let lookup = |institution: &'static str, query: &'static str| {
        let running = &running;
        async move {
            call(
                running,
                institution,
                Method::GET,
                &format!("/users?{query}"),
                None,
            )
            .await
        }
    };
    let none = lookup(
        "DEMO_B",
        "source_institution_code=DEMO_NETWORK&source_user_id=nz1",
    )
    .await;
    assert_eq!(
        alma_error(none, 400, "4019990").await,
        "Local copied user information not found."
    );
    assert!(
        running.sandbox.user("DEMO_B", "nz1").is_none(),
        "the lookup copies nothing"
    );
    let ghost = lookup(
        "DEMO_A",
        "source_institution_code=DEMO_NETWORK&source_user_id=ghost",
    )
    .await;
    alma_error(ghost, 400, "401861").await;
    let foreign = lookup(
        "DEMO_A",
        "source_institution_code=ELSEWHERE&source_user_id=nz1",
    )
    .await;
    alma_error(foreign, 400, "401651").await;
    let itself = lookup(
        "DEMO_A",
        "source_institution_code=DEMO_A&source_user_id=local",
    )
    .await;
    alma_error(itself, 400, "401651").await;
}

#[tokio::test]
async fn the_list_is_keyed_counted_throttled_and_faulted_like_every_api_call() {
    let running = demo().await;
    let url = format!("{}/almaws/v1/users", running.base_url);
    let unkeyed = Client::new().get(&url).send().await.unwrap();
    assert_eq!(unkeyed.status(), 400);
    assert_eq!(unkeyed.headers()["content-type"], "application/xml");

    let response = call(&running, "DEMO_A", Method::GET, "/users", None).await;
    assert!(response.headers().contains_key("x-exl-api-remaining"));
    let counted = running.sandbox.stats();
    assert!(counted.iter().any(|c| c.institution == "DEMO_A"
        && c.method == "GET"
        && c.status == 200
        && c.count == 1));

    let throttled = Faults {
        throttle_rate: 1.0,
        ..Faults::default()
    };
    running.sandbox.set_faults(Some("DEMO_A"), throttled);
    let response = call(&running, "DEMO_A", Method::GET, "/users", None).await;
    alma_error(response, 429, "PER_SECOND_THRESHOLD").await;
    let failing = Faults {
        error_rate: 1.0,
        ..Faults::default()
    };
    running.sandbox.set_faults(Some("DEMO_A"), failing);
    let response = call(&running, "DEMO_A", Method::GET, "/users", None).await;
    alma_error(response, 500, "60101").await;
}

/// `q` as a query value (`~` kept, spaces as `%20`).
fn encode(q: &str) -> String {
    q.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
