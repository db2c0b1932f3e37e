//! The webhook router in-process (`tower::ServiceExt::oneshot`) over a real
//! SQLite store: every answer Alma can get, and the sample Lambda events of
//! `events/alma-webhook/` exactly as a function URL delivers them.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use patron_hub_domain::routing::RoutingRules;
use patron_hub_domain::webhook::{sign, WebhookReceiver, WebhookSecrets};
use patron_hub_domain::{Clock, InstitutionCode, Network, SystemClock};
use patron_hub_http::webhook::{function_router, DEFAULT_MAX_BODY};
use patron_hub_store_sqlite::SqliteStore;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

const SECRET: &str = "demo-webhook-secret";

fn network() -> Network {
    let code = |c: &str| InstitutionCode::parse(c).unwrap();
    Network {
        zone: code("DEMO_NETWORK"),
        members: vec![code("DEMO_A"), code("DEMO_B"), code("DEMO_C")],
    }
}

struct Listener {
    router: Router,
    _dir: tempfile::TempDir,
}

fn listener() -> Listener {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = SqliteStore::open(&dir.path().join("hub.sqlite"), clock.clone()).unwrap();
    let receiver = WebhookReceiver::new(
        WebhookSecrets::new([SECRET]),
        network(),
        RoutingRules::default(),
        Arc::new(store),
        clock,
    );
    Listener {
        router: function_router(Arc::new(receiver), DEFAULT_MAX_BODY),
        _dir: dir,
    }
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
    (status, body)
}

fn post(body: &str, signature: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/webhooks/alma").header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header("X-Exl-Signature", signature);
    }
    request.body(Body::from(body.to_owned())).unwrap()
}

fn signed(body: &str) -> Request<Body> {
    post(body, Some(&sign(SECRET, body.as_bytes())))
}

fn delivery(id: &str, institution: &str, event: &str, category: &str) -> String {
    json!({
        "id": id, "action": "USER", "institution": {"value": institution, "desc": institution},
        "time": "2026-11-27T09:00:00.000Z", "event": {"value": event, "desc": event},
        "webhook_user": {"cause": "UI", "method": "CREATE", "user": {
            "primary_id": "p-1", "last_name": "Lecteur", "job_category": {"value": category}}}
    })
    .to_string()
}

#[tokio::test]
async fn the_challenge_is_echoed_and_a_plain_get_answers() {
    let l = listener();
    let (status, body) = send(
        &l.router,
        Request::get("/webhooks/alma?challenge=abc%20123")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"challenge": "abc 123"}))
    );
    let (status, _) = send(
        &l.router,
        Request::get("/webhooks/alma").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let long = "x".repeat(1025);
    let (status, body) = send(
        &l.router,
        Request::get(format!("/?challenge={long}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "INVALID_PARAMETER");
}

#[tokio::test]
async fn an_accepted_delivery_lists_its_jobs_and_a_redelivery_is_a_duplicate() {
    let l = listener();
    let body = delivery("evt-1", "DEMO_B", "USER_CREATED", "PEB");
    let (status, answer) = send(&l.router, signed(&body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer,
        json!({"status": "accepted", "event_id": "evt-1", "jobs": [
            {"institution": "DEMO_A", "action": "upsert", "primary_id": "p-1"},
            {"institution": "DEMO_C", "action": "upsert", "primary_id": "p-1"}]})
    );
    let (status, answer) = send(&l.router, signed(&body)).await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::OK,
            json!({"status": "duplicate", "event_id": "evt-1"})
        )
    );
}

#[tokio::test]
async fn bad_signatures_get_401_and_record_nothing() {
    let l = listener();
    let body = delivery("evt-2", "DEMO_A", "USER_UPDATED", "Exterieur");
    for signature in [
        None,
        Some("garbage"),
        Some(sign("wrong-secret", body.as_bytes())).as_deref(),
    ] {
        let (status, answer) = send(&l.router, post(&body, signature)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer["code"], "INVALID_SIGNATURE");
    }
    let mut tampered = body.clone();
    tampered.push(' ');
    let (status, _) = send(
        &l.router,
        post(&tampered, Some(&sign(SECRET, body.as_bytes()))),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Nothing was recorded: the genuine delivery is new.
    let (_, answer) = send(&l.router, signed(&body)).await;
    assert_eq!(answer["status"], "accepted");
}

#[tokio::test]
async fn bad_input_gets_a_precise_4xx_never_a_5xx() {
    let l = listener();
    let (status, answer) = send(&l.router, signed("not json")).await;
    assert_eq!(
        (status, answer["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("INVALID_JSON"))
    );
    let (status, answer) = send(&l.router, signed(r#"{"action":"USER"}"#)).await;
    assert_eq!(
        (status, answer["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("MISSING_EVENT_ID"))
    );
    let huge = format!(r#"{{"id":"big","pad":"{}"}}"#, "x".repeat(DEFAULT_MAX_BODY));
    let (status, answer) = send(&l.router, signed(&huge)).await;
    assert_eq!(
        (status, answer["code"].clone()),
        (StatusCode::PAYLOAD_TOO_LARGE, json!("PAYLOAD_TOO_LARGE"))
    );
    let (status, answer) = send(
        &l.router,
        Request::put("/webhooks/alma").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status, answer["code"].clone()),
        (StatusCode::METHOD_NOT_ALLOWED, json!("METHOD_NOT_ALLOWED"))
    );
    let (status, answer) = send(
        &l.router,
        Request::get("/nowhere").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status, answer["code"].clone()),
        (StatusCode::NOT_FOUND, json!("NOT_FOUND"))
    );
}

#[tokio::test]
async fn what_is_not_distributed_is_ignored_with_a_reason() {
    let l = listener();
    for (id, institution, event, category) in [
        ("i-1", "DEMO_A", "USER_CREATED", "Etudiant"),
        ("i-2", "DEMO_NETWORK", "USER_UPDATED", "Etudiant"),
        ("i-3", "DEMO_A", "USER_DELETED", "PEB"),
        ("i-4", "ELSEWHERE", "USER_CREATED", "PEB"),
    ] {
        let (status, answer) = send(
            &l.router,
            signed(&delivery(id, institution, event, category)),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["status"], "ignored", "{id}: {answer}");
        assert!(!answer["reason"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_storage_outage_answers_503_so_that_alma_retries() {
    // The real DynamoDB/SQS adapter, aimed at a port where nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = patron_hub_store_aws::sdk_config_loader()
        .endpoint_url(format!("http://{closed}"))
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let queues = network()
        .members
        .into_iter()
        .map(|m| (m.clone(), format!("http://{closed}/queue/{m}")))
        .collect();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = patron_hub_store_aws::AwsStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        aws_sdk_sqs::Client::new(&config),
        "patron-hub".to_owned(),
        queues,
        clock.clone(),
    );
    let receiver = WebhookReceiver::new(
        WebhookSecrets::new([SECRET]),
        network(),
        RoutingRules::default(),
        Arc::new(store),
        clock,
    );
    let router = function_router(Arc::new(receiver), DEFAULT_MAX_BODY);
    let (status, answer) = send(
        &router,
        signed(&delivery("evt-503", "DEMO_A", "USER_CREATED", "PEB")),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer["code"], "SERVICE_UNAVAILABLE");
}

/// A sample function-URL event of `events/alma-webhook/`, as Lambda hands it over.
fn sample_event(name: &str) -> Request<Body> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/alma-webhook")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let request = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (parts, body) = request.into_parts();
    Request::from_parts(parts, Body::from(body.to_vec()))
}

#[tokio::test]
async fn the_sample_lambda_events_get_the_documented_answers() {
    let l = listener();
    let (status, answer) = send(&l.router, sample_event("challenge.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["challenge"], "5f0c2e8a-patron-hub-handshake");
    let (status, answer) = send(&l.router, sample_event("user-created-external.json")).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (StatusCode::OK, json!("accepted"))
    );
    assert_eq!(answer["jobs"].as_array().unwrap().len(), 2);
    let (_, answer) = send(&l.router, sample_event("user-created-external.json")).await;
    assert_eq!(answer["status"], "duplicate");
    let (_, answer) = send(&l.router, sample_event("user-updated-external.json")).await;
    assert_eq!(answer["status"], "accepted");
    let (_, answer) = send(&l.router, sample_event("network-user-created.json")).await;
    assert_eq!(answer["status"], "accepted");
    assert!(answer["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|j| j["action"] == "link"));
    let (status, answer) = send(&l.router, sample_event("bad-signature.json")).await;
    assert_eq!(
        (status, answer["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("INVALID_SIGNATURE"))
    );
}
