//! The `registration-api` function on its AWS path: its sample function-URL
//! events go through the real router built by `registration_api`, over a
//! DynamoDB table, job queues, Alma API keys in Secrets Manager and an
//! EventBridge bus on moto, with the Alma sandbox as every institution's Alma.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use patron_hub_alma_sandbox::{spawn, SandboxConfig};
use patron_hub_domain::registration::{hash_key, EventLog, PATRON_REGISTERED};
use patron_hub_domain::InstitutionCode;
use patron_hub_lambda::wiring::{registration_api, AwsClients};
use patron_hub_lambda::Environment;
use patron_hub_store_aws::BusSubscription;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use tower::ServiceExt;

const MEMBERS: [&str; 3] = ["DEMO_A", "DEMO_B", "DEMO_C"];

/// A deployment on moto: the function's environment and a subscription to its bus.
struct Deployment {
    env: Vec<(String, String)>,
    queues: BTreeMap<InstitutionCode, String>,
    subscription: BusSubscription,
}

impl Deployment {
    async fn new(aws: &AwsClients, sandbox_url: &str) -> Self {
        assert!(
            std::env::var_os("AWS_ENDPOINT_URL").is_some(),
            "AWS_ENDPOINT_URL is not set: these tests need moto. Run ./scripts/test, or start \
             `python3 -m moto.server -H 127.0.0.1 -p 5055` and set AWS_ENDPOINT_URL=http://127.0.0.1:5055 \
             AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-1"
        );
        let run = uuid::Uuid::new_v4().simple().to_string();
        let (table, prefix, bus) = (
            format!("reg-{run}"),
            format!("jobs-{}-", &run[..10]),
            format!("bus-{run}"),
        );
        let members: Vec<InstitutionCode> = MEMBERS
            .iter()
            .map(|code| InstitutionCode::parse(code).unwrap())
            .collect();
        let queues =
            patron_hub_store_aws::provision(&aws.dynamodb, &aws.sqs, &table, &prefix, &members)
                .await
                .unwrap();
        patron_hub_store_aws::create_event_bus(&aws.eventbridge, &bus)
            .await
            .unwrap();
        let subscription_url =
            patron_hub_store_aws::subscribe_queue(&aws.eventbridge, &aws.sqs, &bus, &bus)
                .await
                .unwrap();
        // Named as infra/ names them: the key of CODE is the secret <prefix><CODE>.
        let secret_prefix = format!("alma-api-key-{run}/");
        for code in MEMBERS {
            aws.secrets
                .create_secret()
                .name(format!("{secret_prefix}{code}"))
                .secret_string(format!("demo-key-{code}"))
                .send()
                .await
                .unwrap();
        }
        let client_keys = json!([{
            "name": "discovery", "sha256": hash_key("demo-client-key"), "scope": "staff"
        }]);
        let env = [
            ("PATRON_HUB_TABLE", table),
            ("PATRON_HUB_QUEUE_PREFIX", prefix),
            ("PATRON_HUB_NETWORK_ZONE", "DEMO_NETWORK".to_owned()),
            ("PATRON_HUB_INSTITUTIONS", MEMBERS.join(",")),
            ("ALMA_API_BASE_URL", sandbox_url.to_owned()),
            ("ALMA_API_KEY_SECRET_PREFIX", secret_prefix),
            ("EVENT_BUS_NAME", bus),
            ("CLIENT_KEYS", client_keys.to_string()),
            (
                "PATRON_HUB_PUBLIC_BASE_URL",
                "https://patrons.example.org".to_owned(),
            ),
            (
                "PATRON_HUB_MAIL_FROM",
                "no-reply@patron-hub.example.org".to_owned(),
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .to_vec();
        Self {
            env,
            queues,
            subscription: BusSubscription::new(aws.sqs.clone(), subscription_url),
        }
    }

    fn environment(&self) -> Environment {
        let pairs: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Environment::from_pairs(&pairs)
    }
}

/// A sample event of `events/registration-api/`, its path replaced by `path` if given.
fn sample(name: &str, path: Option<&str>) -> Request<Body> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/registration-api")
        .join(name);
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    if let Some(path) = path {
        event["rawPath"] = json!(path);
        event["requestContext"]["http"]["path"] = json!(path);
    }
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
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
async fn a_staging_record_completed_at_the_desk_becomes_a_distributed_and_announced_patron() {
    let sandbox = spawn(SandboxConfig::demo(), "127.0.0.1:0").await.unwrap();
    let aws = AwsClients::load().await;
    let deployment = Deployment::new(&aws, &sandbox.base_url).await;
    let api = registration_api(&deployment.environment(), &aws)
        .await
        .unwrap();
    assert!(api.events.is_none(), "on AWS, events are read from the bus");
    let router = patron_hub_http::registration::router(api);

    let (status, record) = send(&router, sample("create-staging-record.json", None)).await;
    assert_eq!(status, 201, "{record}");
    let id = record["externalSystemId"].as_str().unwrap().to_owned();
    let (status, updated) = send(
        &router,
        sample("update-staging-record.json", Some(&format!("/patron/{id}"))),
    )
    .await;
    assert_eq!((status, updated["status"].clone()), (200, json!("TIER-2")));
    let (status, unknown) = send(&router, sample("registration-status.json", None)).await;
    assert_eq!(
        (status, unknown["code"].clone()),
        (404, json!("USER_NOT_FOUND"))
    );

    let (status, completed) = send(
        &router,
        sample(
            "complete-registration.json",
            Some(&format!("/patron/{id}/complete")),
        ),
    )
    .await;
    assert_eq!(status, 201, "{completed}");
    assert_eq!(completed["homeInstitution"], "DEMO_A");
    assert_eq!(completed["renewal"], false);
    let primary_id = completed["primaryId"].as_str().unwrap().to_owned();
    assert!(sandbox.sandbox.user("DEMO_A", &primary_id).is_some());

    // The registry answers the status query at once.
    let (status, patron) = send(&router, sample("registration-status.json", None)).await;
    assert_eq!(status, 200, "{patron}");
    assert_eq!(patron["primaryId"], json!(primary_id));
    assert_eq!(patron["institutions"], json!(["DEMO_A"]));

    // The other members' workers have a job each.
    for code in ["DEMO_B", "DEMO_C"] {
        let queue = &deployment.queues[&InstitutionCode::parse(code).unwrap()];
        let received = aws
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let jobs: Vec<Value> = received
            .messages()
            .iter()
            .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
            .collect();
        assert_eq!(jobs.len(), 1, "{code}: {jobs:?}");
        assert_eq!(jobs[0]["primary_id"], json!(primary_id), "{code}");
    }

    // patron.registered went out on the bus.
    let events = deployment
        .subscription
        .recent(PATRON_REGISTERED, 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].detail["primaryId"], json!(primary_id));
    assert_eq!(events[0].detail["externalSystemId"], json!(id));

    // The staging record is gone.
    let (status, gone) = send(
        &router,
        sample("update-staging-record.json", Some(&format!("/patron/{id}"))),
    )
    .await;
    assert_eq!(
        (status, gone["code"].clone()),
        (404, json!("STAGING_USER_NOT_FOUND"))
    );
}

#[tokio::test]
async fn a_missing_institution_key_or_a_plain_client_key_stops_the_function() {
    let sandbox = spawn(SandboxConfig::demo(), "127.0.0.1:0").await.unwrap();
    let aws = AwsClients::load().await;
    let deployment = Deployment::new(&aws, &sandbox.base_url).await;
    let mut env = deployment.env.clone();
    for (name, value) in &mut env {
        if name == "CLIENT_KEYS" {
            *value = r#"[{"name":"discovery","sha256":"demo-client-key","scope":"staff"}]"#.into();
        }
    }
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let error = registration_api(&Environment::from_pairs(&pairs), &aws)
        .await
        .err()
        .expect("a plain client key is refused");
    assert!(error.to_string().contains("CLIENT_KEYS"), "{error}");

    let mut env = deployment.env.clone();
    env.retain(|(name, _)| name != "ALMA_API_KEY_SECRET_PREFIX");
    env.push((
        "ALMA_API_KEYS".into(),
        r#"{"DEMO_A":"demo-key-DEMO_A"}"#.into(),
    ));
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let error = registration_api(&Environment::from_pairs(&pairs), &aws)
        .await
        .err()
        .expect("every member needs an Alma key");
    let error = error.to_string();
    assert!(
        error.contains("ALMA_API_KEYS") && error.contains("DEMO_B"),
        "{error}"
    );

    let mut env = deployment.env.clone();
    for (name, value) in &mut env {
        if name == "ALMA_API_KEY_SECRET_PREFIX" {
            *value = "no-such-secrets/".into();
        }
    }
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let error = registration_api(&Environment::from_pairs(&pairs), &aws)
        .await
        .err()
        .expect("a key secret that does not exist is an error");
    assert!(
        error.to_string().contains("ALMA_API_KEY_SECRET_PREFIX"),
        "{error}"
    );
}
