//! The `accounts-api` function on its AWS path: its sample function-URL events
//! go through the real router, accounts live in a DynamoDB table on moto, and
//! the activation link is read back from moto's SES store and followed; it
//! also marks the staging record of the proven e-mail as verified.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use patron_hub_domain::registration::{ExternalSystemId, StagingInput, StagingRecords};
use patron_hub_domain::{Clock, SystemClock};
use patron_hub_lambda::wiring::{account_service_confirming_registrations, AwsClients};
use patron_hub_lambda::Environment;
use patron_hub_mail::{find_link, ses_sent_messages};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

const SENDER: &str = "no-reply@patron-hub.example.org";

fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL is not set: these tests need moto. Run ./scripts/test, or start \
             `python3 -m moto.server -H 127.0.0.1 -p 5055` and set AWS_ENDPOINT_URL=http://127.0.0.1:5055 \
             AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-1"
        )
    })
}

fn sample(name: &str) -> Request<Body> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/accounts-api")
        .join(name);
    let request = lambda_http::request::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (parts, body) = request.into_parts();
    Request::from_parts(parts, Body::from(body.to_vec()))
}

async fn send(router: &axum::Router, request: Request<Body>) -> (u16, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_links_ses_carried_activate_the_account_and_reset_its_password() {
    let endpoint = endpoint();
    let aws = AwsClients::load().await;
    let table = format!("accounts-{}", uuid::Uuid::new_v4().simple());
    patron_hub_store_aws::provision(&aws.dynamodb, &aws.sqs, &table, "unused-", &[])
        .await
        .unwrap();
    aws.ses
        .create_email_identity()
        .email_identity(SENDER)
        .send()
        .await
        .unwrap();
    let env = Environment::from_pairs(&[
        ("PATRON_HUB_TABLE", &table),
        ("PATRON_HUB_PUBLIC_BASE_URL", "https://patrons.example.org"),
        ("PATRON_HUB_MAIL_FROM", SENDER),
    ]);
    let service = account_service_confirming_registrations(&env, &aws)
        .await
        .unwrap();
    let router = patron_hub_http::accounts::router(Arc::new(service));
    // The same person pre-registered in the discovery layer first.
    let staging = patron_hub_store_aws::AwsStore::new(
        aws.dynamodb.clone(),
        aws.sqs.clone(),
        table.clone(),
        Default::default(),
        Arc::new(SystemClock),
    );
    let input: StagingInput = serde_json::from_value(json!({
        "generalInfo": {"firstName": "Zoé", "lastName": "Martin"},
        "contactInfo": {"email": "zoe.martin@example.org"}
    }))
    .unwrap();
    let pre_registration = input
        .create(ExternalSystemId::generate(), SystemClock.now())
        .unwrap();
    staging.create(&pre_registration).await.unwrap();

    let (status, me) = send(&router, sample("me-unauthenticated.json")).await;
    assert_eq!(
        (status, me["code"].clone()),
        (401, json!("UNAUTHENTICATED"))
    );
    let (status, _) = send(&router, sample("registration.json")).await;
    assert_eq!(status, 202);
    let (status, _) = send(&router, sample("login.json")).await;
    assert_eq!(status, 401, "a pending account cannot log in");

    let link = newest_link(&endpoint, "https://patrons.example.org/accounts/activate").await;
    let token = link.split("token=").nth(1).unwrap();
    let activation = Request::post("/accounts/activation")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"token": token, "password": "a long enough pass phrase"}).to_string(),
        ))
        .unwrap();
    assert_eq!(send(&router, activation).await.0, 200);
    let verified = staging
        .get(&pre_registration.external_system_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        verified.is_email_verified,
        "the activation proved the e-mail"
    );

    let (status, session) = send(&router, sample("login.json")).await;
    assert_eq!(status, 201, "{session}");
    assert_eq!(session["account"]["state"], "active");
    let (status, _) = send(&router, sample("password-reset.json")).await;
    assert_eq!(status, 202);

    // The reset link, read back from SES, sets a new password and ends the session.
    let old_session = session["token"].as_str().unwrap().to_owned();
    let reset = newest_link(
        &endpoint,
        "https://patrons.example.org/password-reset/confirm",
    )
    .await;
    let confirm = Request::post("/password-reset/confirm")
        .header("content-type", "application/json")
        .body(Body::from(json!({"token": reset.split("token=").nth(1).unwrap(), "password": "a brand new pass phrase"}).to_string()))
        .unwrap();
    assert_eq!(send(&router, confirm).await.0, 200);
    let me = Request::get("/accounts/me")
        .header("authorization", format!("Bearer {old_session}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&router, me).await.0, 401, "a reset ends every session");
    assert_eq!(
        send(&router, sample("login.json")).await.0,
        401,
        "the old password is gone"
    );
    let login = Request::post("/sessions")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"identifier": "zoe.martin@example.org", "password": "a brand new pass phrase"})
                .to_string(),
        ))
        .unwrap();
    assert_eq!(send(&router, login).await.0, 201);
}

/// The newest link starting with `prefix` that moto's SES carried to the sample patron.
async fn newest_link(endpoint: &str, prefix: &str) -> String {
    ses_sent_messages(endpoint)
        .await
        .unwrap()
        .iter()
        .rev()
        .filter(|m| m.to.iter().any(|to| to.contains("zoe.martin@example.org")))
        .find_map(|m| find_link(&m.body, prefix))
        .unwrap_or_else(|| panic!("SES carried no {prefix} link"))
}
