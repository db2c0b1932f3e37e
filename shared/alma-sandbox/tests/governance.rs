//! The per-second threshold, injected faults and call counters, over real HTTP.

mod common;

use common::{alma_error, call, create, demo, patron, start};
use patron_hub_alma_sandbox::{CallCount, Faults, SandboxConfig};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn count(calls: &[CallCount], institution: &str, method: &str, status: u16) -> u64 {
    calls
        .iter()
        .filter(|c| c.institution == institution && c.method == method && c.status == status)
        .map(|c| c.count)
        .sum()
}

#[tokio::test]
async fn a_burst_over_the_threshold_is_refused_with_per_second_threshold() {
    let running = demo().await;
    let started = Instant::now();
    let mut statuses = Vec::new();
    let mut throttled = None;
    for _ in 0..40 {
        let response = call(&running, "DEMO_A", Method::GET, "/users/x", None).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 && throttled.is_none() {
            throttled = Some(response);
        }
    }
    let elapsed = started.elapsed();
    let admitted = statuses.iter().filter(|&&s| s != 429).count();
    if elapsed < Duration::from_millis(900) {
        assert_eq!(admitted, 25, "{statuses:?}");
    } else {
        assert!(admitted < 40, "{statuses:?}");
    }
    let message = alma_error(
        throttled.expect("some calls throttled"),
        429,
        "PER_SECOND_THRESHOLD",
    )
    .await;
    assert_eq!(message, "HTTP requests are more than allowed per second");

    // Another institution has its own window.
    let other = call(&running, "DEMO_B", Method::GET, "/users/x", None).await;
    assert_eq!(other.status(), 400);

    let calls = running.sandbox.stats();
    assert_eq!(count(&calls, "DEMO_A", "GET", 429), (40 - admitted) as u64);
    assert_eq!(count(&calls, "DEMO_A", "GET", 400), admitted as u64);
}

#[tokio::test]
async fn a_paced_flow_under_the_threshold_is_never_refused() {
    let running = demo().await;
    let mut ticker = tokio::time::interval(Duration::from_millis(50));
    // A stalled machine must not turn missed ticks into a burst.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for _ in 0..30 {
        ticker.tick().await;
        let response = call(&running, "DEMO_C", Method::GET, "/users/x", None).await;
        assert_ne!(response.status(), 429);
    }
    assert_eq!(count(&running.sandbox.stats(), "DEMO_C", "GET", 429), 0);
}

#[tokio::test]
async fn the_threshold_is_configurable() {
    let running = start(SandboxConfig {
        calls_per_second: 2,
        ..SandboxConfig::demo()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            call(&running, "DEMO_A", Method::GET, "/users/x", None)
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [400, 400, 429]);
}

#[tokio::test]
async fn an_error_rate_of_one_answers_500_without_applying_the_call() {
    let running = demo().await;
    running.sandbox.set_faults(
        Some("DEMO_B"),
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    );
    let response = call(
        &running,
        "DEMO_B",
        Method::POST,
        "/users",
        Some(patron("f1", "Fault")),
    )
    .await;
    let message = alma_error(response, 500, "60101").await;
    assert_eq!(message, "General error");
    assert!(running.sandbox.user("DEMO_B", "f1").is_none());
    // Other institutions are not affected.
    create(&running, "DEMO_A", patron("f1", "Fault")).await;

    running.sandbox.clear_faults();
    create(&running, "DEMO_B", patron("f1", "Fault")).await;
    assert_eq!(count(&running.sandbox.stats(), "DEMO_B", "POST", 500), 1);
}

#[tokio::test]
async fn a_throttle_rate_of_one_answers_per_second_threshold() {
    let running = demo().await;
    running.sandbox.set_faults(
        Some("DEMO_C"),
        Faults {
            throttle_rate: 1.0,
            ..Faults::default()
        },
    );
    let response = call(
        &running,
        "DEMO_C",
        Method::POST,
        "/users",
        Some(patron("t1", "Throttled")),
    )
    .await;
    alma_error(response, 429, "PER_SECOND_THRESHOLD").await;
    assert!(running.sandbox.user("DEMO_C", "t1").is_none());
    running.sandbox.clear_faults();
    create(&running, "DEMO_C", patron("t1", "Throttled")).await;
    assert_eq!(count(&running.sandbox.stats(), "DEMO_C", "POST", 429), 1);
}

#[tokio::test]
async fn a_drop_rate_of_one_breaks_the_connection() {
    let running = demo().await;
    running.sandbox.set_faults(
        None,
        Faults {
            drop_rate: 1.0,
            ..Faults::default()
        },
    );
    let url = format!("{}/almaws/v1/users", running.base_url);
    let outcome = Client::new()
        .post(url)
        .header("Authorization", "apikey demo-key-DEMO_C")
        .json(&patron("dropped", "Drop"))
        .send()
        .await;
    let failed = match outcome {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(failed, "the client must see a connection or body error");
    assert!(running.sandbox.user("DEMO_C", "dropped").is_none());
    assert_eq!(count(&running.sandbox.stats(), "DEMO_C", "POST", 0), 1);
}

#[tokio::test]
async fn latency_delays_only_the_chosen_institution() {
    let running = demo().await;
    let latency = Duration::from_millis(300);
    running.sandbox.set_faults(
        Some("DEMO_A"),
        Faults {
            latency_ms: 300,
            ..Faults::default()
        },
    );
    let started = Instant::now();
    call(&running, "DEMO_A", Method::GET, "/users/x", None).await;
    assert!(started.elapsed() >= latency);
    let started = Instant::now();
    call(&running, "DEMO_B", Method::GET, "/users/x", None).await;
    assert!(started.elapsed() < latency);
}

#[tokio::test]
async fn faults_are_set_and_cleared_over_http_and_spare_the_sandbox_routes() {
    let running = demo().await;
    let client = Client::new();
    let faults_url = format!("{}/sandbox/faults", running.base_url);
    let set = client
        .put(&faults_url)
        .json(&json!({"institution": "DEMO_B", "error_rate": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    let response = call(&running, "DEMO_B", Method::GET, "/users/x", None).await;
    alma_error(response, 500, "60101").await;

    // The librarian routes are never faulty.
    let listed = client
        .get(format!("{}/sandbox/DEMO_B/users", running.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);

    for (body, status) in [
        (json!({"institution": null, "drop_rate": 2.0}), 422),
        (json!({"institution": "NOWHERE"}), 404),
    ] {
        let refused = client.put(&faults_url).json(&body).send().await.unwrap();
        assert_eq!(refused.status(), status);
        let error: Value = refused.json().await.unwrap();
        assert!(error["code"].is_string() && error["message"].is_string());
    }

    let cleared = client.delete(&faults_url).send().await.unwrap();
    assert_eq!(cleared.status(), 204);
    let response = call(&running, "DEMO_B", Method::GET, "/users/x", None).await;
    alma_error(response, 400, "401861").await;
}

#[tokio::test]
async fn stats_count_every_api_call_and_reset() {
    let running = demo().await;
    create(&running, "DEMO_A", patron("s1", "Stat")).await;
    call(&running, "DEMO_A", Method::GET, "/users/s1", None).await;
    call(&running, "DEMO_A", Method::GET, "/users/s1", None).await;
    call(&running, "DEMO_A", Method::GET, "/users/ghost", None).await;
    call(&running, "DEMO_A", Method::DELETE, "/users/s1", None).await;
    Client::new()
        .get(format!("{}/almaws/v1/users/s1", running.base_url))
        .send()
        .await
        .unwrap();
    // Sandbox routes are not counted.
    let client = Client::new();
    client
        .get(format!("{}/sandbox/DEMO_A/users", running.base_url))
        .send()
        .await
        .unwrap();

    let calls = running.sandbox.stats();
    let summary: Vec<_> = calls
        .iter()
        .map(|c| (c.institution.as_str(), c.method.as_str(), c.status, c.count))
        .collect();
    assert_eq!(
        summary,
        [
            ("", "GET", 400, 1),
            ("DEMO_A", "DELETE", 204, 1),
            ("DEMO_A", "GET", 200, 2),
            ("DEMO_A", "GET", 400, 1),
            ("DEMO_A", "POST", 200, 1),
        ]
    );

    let over_http: Value = client
        .get(format!("{}/sandbox/stats", running.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http["calls"], serde_json::to_value(&calls).unwrap());

    let reset = client
        .delete(format!("{}/sandbox/stats", running.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    assert!(running.sandbox.stats().is_empty());
}
