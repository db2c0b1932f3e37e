//! The librarian routes over real HTTP: changes, signed webhooks to a listener,
//! and the sandbox's knobs.

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use common::{demo, patron};
use patron_hub_alma_sandbox::RunningSandbox;
use patron_hub_domain::webhook::WebhookSecrets;
use reqwest::Client;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// The bodies a listener received with a valid signature, and how many it refused.
#[derive(Clone, Default)]
struct Received {
    verified: Arc<Mutex<Vec<Value>>>,
    refused: Arc<Mutex<usize>>,
}

/// A listener checking `X-Exl-Signature` with the demo secret; its URL.
async fn listener(received: Received) -> String {
    async fn receive(
        State(received): State<Received>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let secrets = WebhookSecrets::new(["demo-webhook-secret"]);
        let signature = headers.get("x-exl-signature").and_then(|v| v.to_str().ok());
        let is_json = headers
            .get("content-type")
            .is_some_and(|v| v == "application/json");
        match (
            secrets.verify(&body, signature),
            serde_json::from_slice(&body),
        ) {
            (Ok(()), Ok(value)) if is_json => {
                received.verified.lock().unwrap().push(value);
                StatusCode::OK
            }
            _ => {
                *received.refused.lock().unwrap() += 1;
                StatusCode::UNAUTHORIZED
            }
        }
    }
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/alma", socket.local_addr().unwrap());
    let app = Router::new()
        .route("/webhooks/alma", post(receive))
        .with_state(received);
    tokio::spawn(async move { axum::serve(socket, app).await });
    url
}

fn url(running: &RunningSandbox, path: &str) -> String {
    format!("{}/sandbox{path}", running.base_url)
}

#[tokio::test]
async fn each_librarian_change_sends_a_signed_webhook() {
    let running = demo().await;
    let received = Received::default();
    let client = Client::new();
    let set = client
        .put(url(&running, "/webhook-listener"))
        .json(&json!({"url": listener(received.clone()).await}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);

    let created = client
        .post(url(&running, "/DEMO_A/users"))
        .json(&patron("w1", "Webhook"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["user"]["primary_id"], "w1");
    assert_eq!(created["webhook"]["status"], 200);

    let updated = client
        .put(url(&running, "/DEMO_A/users/w1"))
        .json(&json!({"job_category": {"value": "PEB"}, "first_name": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), 200);
    let updated: Value = updated.json().await.unwrap();
    assert_eq!(updated["user"]["job_category"]["value"], "PEB");
    assert_eq!(
        updated["user"]["last_name"], "Webhook",
        "a librarian edit is a merge"
    );
    assert!(
        updated["user"].get("first_name").is_none(),
        "null removes a field"
    );

    let deleted = client
        .delete(url(&running, "/DEMO_A/users/w1"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    let deleted: Value = deleted.json().await.unwrap();
    assert!(running.sandbox.user("DEMO_A", "w1").is_none());

    let bodies = received.verified.lock().unwrap().clone();
    assert_eq!(*received.refused.lock().unwrap(), 0);
    let expected = [
        ("USER_CREATED", "CREATE", &created),
        ("USER_UPDATED", "UPDATE", &updated),
        ("USER_DELETED", "DELETE", &deleted),
    ];
    assert_eq!(bodies.len(), expected.len());
    for (body, (event, method, answer)) in bodies.iter().zip(expected) {
        assert_eq!(body["id"], answer["webhook"]["event_id"]);
        assert_eq!(body["id"].as_str().unwrap().len(), 19);
        assert_eq!(body["action"], "USER");
        assert_eq!(body["institution"]["value"], "DEMO_A");
        assert_eq!(body["event"]["value"], event);
        assert_eq!(body["webhook_user"]["cause"], "UI");
        assert_eq!(body["webhook_user"]["method"], method);
        assert_eq!(body["webhook_user"]["user"], answer["user"]);
        let user = &body["webhook_user"]["user"];
        for date in ["created_date", "last_modified_date"] {
            assert!(
                user[date].as_str().is_some_and(|d| d.ends_with('Z')),
                "{date}: {user}"
            );
        }
        let time = body["time"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(time).is_ok() && time.ends_with('Z'),
            "{time}"
        );
    }

    // The deliveries keep the exact bytes and signatures sent.
    let deliveries = running.sandbox.deliveries();
    assert_eq!(deliveries.len(), 3);
    let secrets = WebhookSecrets::new(["demo-webhook-secret"]);
    for (delivery, body) in deliveries.iter().zip(&bodies) {
        assert_eq!(delivery.status, Some(200));
        assert!(secrets
            .verify(delivery.body.as_bytes(), Some(&delivery.signature))
            .is_ok());
        assert_eq!(
            &serde_json::from_str::<Value>(&delivery.body).unwrap(),
            body
        );
    }
    let over_http: Value = client
        .get(url(&running, "/webhooks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http, serde_json::to_value(&deliveries).unwrap());
    let ids: std::collections::HashSet<_> = deliveries.iter().map(|d| &d.event_id).collect();
    assert_eq!(ids.len(), 3, "event ids are unique");
}

/// Alma stamps `last_modified_date` on every change; `created_date` and the
/// link of a copy are Alma's own: a librarian cannot edit them.
#[tokio::test]
async fn a_librarian_edit_stamps_last_modified_date_and_keeps_system_fields() {
    let running = demo().await;
    let client = Client::new();
    let created: Value = client
        .post(url(&running, "/DEMO_A/users"))
        .json(&patron("s1", "Stamp"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created = &created["user"];
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let forged = json!({
        "last_name": "Stamped",
        "created_date": "1999-01-01T00:00:00.000Z",
        "last_modified_date": "1999-01-01T00:00:00.000Z",
        "linking_id": "1234",
        "source_link_id": "someone",
    });
    let edited: Value = client
        .put(url(&running, "/DEMO_A/users/s1"))
        .json(&forged)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let edited = &edited["user"];
    assert_eq!(edited["last_name"], "Stamped");
    assert_eq!(edited["created_date"], created["created_date"]);
    let (before, after) = (
        created["last_modified_date"].as_str().unwrap(),
        edited["last_modified_date"].as_str().unwrap(),
    );
    assert!(after > before, "{before} then {after}");
    assert!(edited.get("linking_id").is_none(), "{edited}");
    assert!(edited.get("source_link_id").is_none(), "{edited}");
}

#[tokio::test]
async fn a_zone_user_created_by_a_librarian_comes_from_the_zone() {
    let running = demo().await;
    let received = Received::default();
    running
        .sandbox
        .set_webhook_listener(Some(listener(received.clone()).await));
    let created = Client::new()
        .post(url(&running, "/DEMO_NETWORK/users"))
        .json(&patron("nz", "Zone"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let bodies = received.verified.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["institution"]["value"], "DEMO_NETWORK");
}

#[tokio::test]
async fn without_a_listener_or_with_a_dead_one_the_status_is_null() {
    let running = demo().await;
    let client = Client::new();
    let created: Value = client
        .post(url(&running, "/DEMO_B/users"))
        .json(&patron("n1", "Nobody"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["webhook"]["status"], Value::Null);

    // A port nobody listens on: bind one, then free it.
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/", socket.local_addr().unwrap());
    drop(socket);
    running.sandbox.set_webhook_listener(Some(dead));
    let updated: Value = client
        .put(url(&running, "/DEMO_B/users/n1"))
        .json(&json!({"last_name": "Still nobody"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(updated["webhook"]["status"], Value::Null);
    let deliveries = running.sandbox.deliveries();
    assert_eq!(deliveries.len(), 2);
    assert!(deliveries.iter().all(|d| d.status.is_none()));
}

#[tokio::test]
async fn librarian_errors_use_code_and_message() {
    let running = demo().await;
    let client = Client::new();
    for id in ["e0", "e1"] {
        client
            .post(url(&running, "/DEMO_A/users"))
            .json(&patron(id, "Exists"))
            .send()
            .await
            .unwrap();
    }
    let put_groups = client
        .put(url(&running, "/DEMO_A/user-groups"))
        .json(&json!({"groups": ["STAFF"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(put_groups.status(), 204);

    let cases = [
        (
            client.get(url(&running, "/DEMO_A/users/ghost")),
            404,
            "USER_NOT_FOUND",
        ),
        (
            client
                .put(url(&running, "/DEMO_A/users/ghost"))
                .json(&json!({})),
            404,
            "USER_NOT_FOUND",
        ),
        (
            client.delete(url(&running, "/DEMO_A/users/ghost")),
            404,
            "USER_NOT_FOUND",
        ),
        (
            client.get(url(&running, "/NOWHERE/users")),
            404,
            "UNKNOWN_INSTITUTION",
        ),
        (
            client
                .post(url(&running, "/DEMO_A/users"))
                .json(&json!({"primary_id": "x"})),
            422,
            "MANDATORY_FIELD_MISSING",
        ),
        (
            client
                .post(url(&running, "/DEMO_A/users"))
                .json(&patron("e2", "Student")),
            422,
            "ILLEGAL_USER_GROUP",
        ),
        (
            client
                .put(url(&running, "/DEMO_A/users/e1"))
                .json(&json!({"user_group": {"value": "STAFF"}, "primary_id": "B-e0"})),
            409,
            "IDENTIFIER_EXISTS",
        ),
        (
            client
                .put(url(&running, "/DEMO_A/user-groups"))
                .body("nope"),
            400,
            "INVALID_BODY",
        ),
    ];
    for (request, status, code) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{code}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], code);
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    let sent = running.sandbox.deliveries();
    assert_eq!(
        sent.len(),
        2,
        "only the two creations sent a webhook, no refused change"
    );
}

#[tokio::test]
async fn librarian_reads_list_and_show_users_without_counting() {
    let running = demo().await;
    let client = Client::new();
    for id in ["r1", "r2"] {
        client
            .post(url(&running, "/DEMO_C/users"))
            .json(&patron(id, "Reader"))
            .send()
            .await
            .unwrap();
    }
    let listed: Vec<Value> = client
        .get(url(&running, "/DEMO_C/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<_> = listed
        .iter()
        .map(|u| u["primary_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["r1", "r2"]);
    let shown: Value = client
        .get(url(&running, "/DEMO_C/users/r2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown, running.sandbox.user("DEMO_C", "r2").unwrap());
    assert_eq!(running.sandbox.users("DEMO_C"), listed);
    assert!(running.sandbox.stats().is_empty());
}
