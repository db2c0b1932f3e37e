//! Seeding an institution with many users (`POST /sandbox/{institution}/seed`
//! and `Sandbox::seed`): all or nothing, no webhook, no call counted, and fast
//! enough for benchmarks. The times are printed, never asserted.

mod common;

use common::{call, demo, start};
use patron_hub_alma_sandbox::{RunningSandbox, SandboxConfig, Seed};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::time::Instant;

async fn seed(running: &RunningSandbox, institution: &str, body: Value) -> (u16, Value) {
    let response = Client::new()
        .post(format!("{}/sandbox/{institution}/seed", running.base_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn total(running: &RunningSandbox, institution: &str, query: &str) -> Value {
    let response = call(
        running,
        institution,
        Method::GET,
        &format!("/users{query}"),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["total_record_count"].clone()
}

#[tokio::test]
async fn a_seed_makes_valid_searchable_users_without_webhooks_or_counted_calls() {
    let running = demo().await;
    running
        .sandbox
        .set_webhook_listener(Some("http://127.0.0.1:9/unreachable".into()));
    let (status, body) = seed(
        &running,
        "DEMO_A",
        json!({"count": 250, "prefix": "ext-", "job_category": "PEB", "user_group": "EXT"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        body,
        json!({"institution": "DEMO_A", "created": 250,
               "first_primary_id": "ext-0000001", "last_primary_id": "ext-0000250"})
    );
    assert!(running.sandbox.stats().is_empty(), "nothing counted");
    assert!(running.sandbox.deliveries().is_empty(), "no webhook");

    let user = running.sandbox.user("DEMO_A", "ext-0000042").unwrap();
    assert_eq!(user["job_category"]["value"], "PEB");
    assert_eq!(user["user_group"]["value"], "EXT");
    assert_eq!(user["user_identifier"][0]["value"], "ext-B0000042");
    assert_eq!(
        user["contact_info"]["email"][0]["email_address"],
        "ext-0000042@example.org"
    );
    assert_eq!(user["created_date"], user["last_modified_date"]);
    assert!(user["expiry_date"].as_str().unwrap().ends_with('Z'));

    assert_eq!(total(&running, "DEMO_A", "?q=job_category~PEB").await, 250);
    let by_barcode = call(&running, "DEMO_A", Method::GET, "/users/ext-B0000007", None).await;
    assert_eq!(by_barcode.status(), 200);

    // A following seed continues the numbers.
    let (status, body) = seed(
        &running,
        "DEMO_A",
        json!({"count": 10, "prefix": "ext-", "first": 251}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(total(&running, "DEMO_A", "").await, 260);
}

#[tokio::test]
async fn a_refused_seed_stores_nothing() {
    let mut config = SandboxConfig::demo();
    config
        .user_groups
        .insert("DEMO_B".into(), vec!["STAFF".into()]);
    let running = start(config).await;
    running.sandbox.seed("DEMO_A", &Seed::new(5)).unwrap();

    for (institution, body, status, code) in [
        ("DEMO_A", json!({"count": 10}), 409, "IDENTIFIER_EXISTS"),
        ("DEMO_A", json!({"count": 0}), 422, "INVALID_SEED"),
        ("DEMO_A", json!({"count": 200_001}), 422, "INVALID_SEED"),
        (
            "DEMO_A",
            json!({"count": 3, "prefix": "a b"}),
            422,
            "INVALID_SEED",
        ),
        (
            "DEMO_A",
            json!({"count": 3, "first": u32::MAX}),
            422,
            "INVALID_SEED",
        ),
        ("DEMO_A", json!({"count": "many"}), 400, "INVALID_BODY"),
        (
            "DEMO_A",
            json!({"count": 3, "colour": "red"}),
            400,
            "INVALID_BODY",
        ),
        (
            "DEMO_B",
            json!({"count": 3, "user_group": "GUEST"}),
            422,
            "ILLEGAL_USER_GROUP",
        ),
        ("NOWHERE", json!({"count": 3}), 404, "UNKNOWN_INSTITUTION"),
    ] {
        let (answered, error) = seed(&running, institution, body.clone()).await;
        assert_eq!(
            (answered, error["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    assert_eq!(running.sandbox.users("DEMO_A").len(), 5);
    assert!(running.sandbox.users("DEMO_B").is_empty());
}

/// Seeds 50,000 users, then 100,000 in another institution, and reads pages
/// of both: prints the times (a debug build is several times slower than a
/// release one).
#[tokio::test]
async fn seeding_and_listing_at_scale_prints_its_times() {
    let running = start(SandboxConfig {
        calls_per_second: 1_000,
        ..SandboxConfig::demo()
    })
    .await;
    let mut seeds = Seed::new(50_000);
    seeds.job_category = Some("PEB".into());
    let started = Instant::now();
    running.sandbox.seed("DEMO_A", &seeds).unwrap();
    println!("seeding 50,000 users: {:?}", started.elapsed());

    let started = Instant::now();
    running.sandbox.seed("DEMO_B", &Seed::new(100_000)).unwrap();
    println!("seeding 100,000 users: {:?}", started.elapsed());

    for (institution, query) in [
        ("DEMO_B", "?limit=100"),
        ("DEMO_B", "?limit=100&offset=99900"),
        ("DEMO_B", "?limit=100&offset=50000&order_by=primary_id"),
        ("DEMO_A", "?limit=100&offset=100&q=job_category~PEB"),
        ("DEMO_A", "?limit=100&offset=200&q=job_category~PEB"),
        ("DEMO_B", "?limit=100&q=last_name~Lovelace"),
    ] {
        let started = Instant::now();
        let count = total(&running, institution, query).await;
        println!(
            "GET /users{query} in {institution} ({count} selected): {:?}",
            started.elapsed()
        );
    }
    let started = Instant::now();
    let one = call(
        &running,
        "DEMO_B",
        Method::GET,
        "/users/seed-B0077777",
        None,
    )
    .await;
    assert_eq!(one.status(), 200);
    println!(
        "GET /users/{{barcode}} among 100,000: {:?}",
        started.elapsed()
    );
}
