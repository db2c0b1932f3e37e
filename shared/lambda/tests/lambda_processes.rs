//! The `alma-webhook` and `institution-worker` binaries run as Lambda runs
//! them: each a process polling the Runtime API on loopback (the harness of
//! `patron-hub-lambda-harness`), AWS on moto, Alma the in-process sandbox. A
//! signed function-URL event is answered, its job lands on the moto queue,
//! that queue's batch is handed to the worker process, and the sandbox shows
//! the reader; the `registration-api` binary counts its Alma calls the same
//! way (EMF lines, the operations series). The binaries are the ones `cargo build --workspace` put next
//! to this test (`./scripts/test` builds them first).

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use patron_hub_alma_sandbox::{spawn, SandboxConfig};
use patron_hub_domain::webhook::sign;
use patron_hub_domain::InstitutionCode;
use patron_hub_lambda::wiring::AwsClients;
use patron_hub_lambda_harness::{Answer, RuntimeApi};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

const SECRET: &str = "demo-webhook-secret";
/// A debug binary's start and first answer, with moto's first calls.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// The function binary `name` of this test's build (target/<profile>/name).
fn binary(name: &str) -> PathBuf {
    let test = std::env::current_exe().unwrap();
    let profile_dir = test.parent().and_then(Path::parent).unwrap();
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the functions first (`cargo build --workspace`; ./scripts/test does)",
        path.display()
    );
    path
}

/// A function process, killed when the test is done with it.
struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `name` under `api` with the function's settings `env` (AWS's come
/// from this test's environment: moto), its stdout (logs and EMF lines) in `out`.
fn start(api: &RuntimeApi, name: &str, env: &[(&str, &str)], out: &Path) -> Function {
    let mut command = api.command(&binary(name), name);
    command
        .envs(env.iter().copied())
        .stdout(Stdio::from(std::fs::File::create(out).unwrap()))
        .stderr(Stdio::inherit());
    Function(command.spawn().unwrap())
}

/// The value of metric `name` on the EMF lines of `out` whose labels include
/// `labels`, after checking each such line declares it in namespace PatronHub
/// with its labels as dimensions.
fn emf_values(out: &Path, name: &str, labels: &[(&str, &str)]) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(out).unwrap();
    let mut values = Vec::new();
    for line in text.lines() {
        let Ok(line) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(value) = line.get(name) else {
            continue;
        };
        if !labels.iter().all(|(key, label)| line[*key] == *label) {
            continue;
        }
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "PatronHub", "{line}");
        assert_eq!(declared["Metrics"][0]["Name"], name, "{line}");
        for (key, _) in labels {
            assert!(
                declared["Dimensions"][0]
                    .as_array()
                    .unwrap()
                    .contains(&(*key).into()),
                "{line}"
            );
        }
        values.push(value.clone());
    }
    values
}

fn sample(path: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(path);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn a_signed_delivery_reaches_another_institution_through_both_processes() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: these tests need moto (run ./scripts/test)"
    );
    let aws = AwsClients::load().await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (table, prefix) = (format!("proc-{run}"), format!("proc-{}-", &run[..10]));
    let members: Vec<InstitutionCode> = ["DEMO_A", "DEMO_B", "DEMO_C"]
        .iter()
        .map(|code| InstitutionCode::parse(code).unwrap())
        .collect();
    let queues =
        patron_hub_store_aws::provision(&aws.dynamodb, &aws.sqs, &table, &prefix, &members)
            .await
            .unwrap();
    let url_prefix = queues[&members[0]]
        .strip_suffix("DEMO_A")
        .unwrap()
        .to_owned();
    let sandbox = spawn(SandboxConfig::demo(), "127.0.0.1:0").await.unwrap();

    // The webhook: the sample function-URL delivery, signed with our secret.
    let logs = tempfile::tempdir().unwrap();
    let (webhook_out, worker_out) = (logs.path().join("webhook"), logs.path().join("worker"));
    let api = RuntimeApi::start().await.unwrap();
    let _webhook = start(
        &api,
        "alma-webhook",
        &[
            ("PATRON_HUB_TABLE", &table),
            ("PATRON_HUB_QUEUE_URL_PREFIX", &url_prefix),
            ("PATRON_HUB_NETWORK_ZONE", "DEMO_NETWORK"),
            ("PATRON_HUB_INSTITUTIONS", "DEMO_A,DEMO_B,DEMO_C"),
            ("PATRON_HUB_WEBHOOK_SECRETS", SECRET),
            ("REGISTRATION_SETTINGS", r#"{"external_id_type":"BARCODE"}"#),
        ],
        &webhook_out,
    );
    let mut event = sample("alma-webhook/user-created-external.json");
    let body = event["body"].as_str().unwrap().to_owned();
    event["headers"]["x-exl-signature"] = sign(SECRET, body.as_bytes()).into();
    let answered = api
        .queue(&event)
        .answered(ANSWER_TIMEOUT)
        .await
        .expect("the webhook answered");
    let Answer::Response(response) = answered.answer else {
        panic!("the webhook failed: {:?}", answered.answer);
    };
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(
        emf_values(
            &webhook_out,
            "patron_hub_webhook_requests_total",
            &[("status", "200")]
        ),
        [serde_json::json!(1)],
        "the webhook's invocation wrote its EMF line"
    );

    // Its job for DEMO_B is on DEMO_B's queue: handed to the worker as Lambda's
    // poller would, with real message ids and receipt handles.
    let received = aws
        .sqs
        .receive_message()
        .queue_url(&queues[&members[1]])
        .max_number_of_messages(10)
        .message_system_attribute_names(
            aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
        )
        .message_system_attribute_names(
            aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp,
        )
        .send()
        .await
        .unwrap();
    let records: Vec<SqsMessage> = received
        .messages()
        .iter()
        .map(|m| SqsMessage {
            message_id: m.message_id().map(str::to_owned),
            receipt_handle: m.receipt_handle().map(str::to_owned),
            body: m.body().map(str::to_owned),
            attributes: m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            event_source: Some("aws:sqs".to_owned()),
            ..SqsMessage::default()
        })
        .collect();
    assert_eq!(records.len(), 1, "one job for DEMO_B");
    assert!(sandbox.sandbox.user("DEMO_B", "EXT-2025-0042").is_none());

    let worker_api = RuntimeApi::start().await.unwrap();
    let _worker = start(
        &worker_api,
        "institution-worker",
        &[
            ("PATRON_HUB_INSTITUTION", "DEMO_B"),
            ("PATRON_HUB_TABLE", &table),
            ("PATRON_HUB_NETWORK_ZONE", "DEMO_NETWORK"),
            ("PATRON_HUB_QUEUE_URL_PREFIX", &url_prefix),
            ("ALMA_API_BASE_URL", &sandbox.base_url),
            ("ALMA_API_KEY", "demo-key-DEMO_B"),
            ("ALMA_CALLS_PER_SECOND", "20"),
            ("PATRON_HUB_WORKER_CONCURRENCY", "2"),
            ("REGISTRATION_SETTINGS", r#"{"external_id_type":"BARCODE"}"#),
        ],
        &worker_out,
    );
    let batch = serde_json::to_value(SqsEvent { records }).unwrap();
    let answered = worker_api
        .queue(&batch)
        .answered(ANSWER_TIMEOUT)
        .await
        .expect("the worker answered");
    let Answer::Response(response) = answered.answer else {
        panic!("the worker failed: {:?}", answered.answer);
    };
    assert_eq!(
        response["batchItemFailures"],
        serde_json::json!([]),
        "{response}"
    );
    let reader = sandbox
        .sandbox
        .user("DEMO_B", "EXT-2025-0042")
        .expect("the worker created the reader in DEMO_B");
    assert_eq!(reader["primary_id"], "EXT-2025-0042");
    assert_eq!(
        emf_values(
            &worker_out,
            "patron_hub_jobs_total",
            &[("institution", "DEMO_B"), ("outcome", "applied")]
        ),
        [serde_json::json!(1)],
        "the worker's invocation wrote its EMF line"
    );
    let calls = emf_values(
        &worker_out,
        "patron_hub_alma_calls_total",
        &[("institution", "DEMO_B")],
    );
    assert!(!calls.is_empty(), "the Alma calls are counted");
    let lag = emf_values(&worker_out, "patron_hub_job_lag_seconds", &[]);
    assert_eq!(lag.len(), 1, "one lag, from the message's SentTimestamp");
    assert!(
        lag[0][0].as_f64().is_some_and(|seconds| seconds >= 0.0),
        "{lag:?}"
    );
}

/// The `registration-api` binary, as Lambda runs it, counts its Alma calls
/// as EMF lines (installed by `http_function::run`, like every HTTP
/// function's) and its Alma failures in the operations time series of the
/// table: a registration completed while DEMO_A answers 500.
#[tokio::test]
async fn the_registration_api_writes_its_alma_calls_as_emf_and_in_the_operations_series() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: these tests need moto (run ./scripts/test)"
    );
    let aws = AwsClients::load().await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (table, prefix, bus) = (
        format!("proc-{run}"),
        format!("proc-{}-", &run[..10]),
        format!("bus-{run}"),
    );
    let members: Vec<InstitutionCode> = ["DEMO_A", "DEMO_B", "DEMO_C"]
        .iter()
        .map(|code| InstitutionCode::parse(code).unwrap())
        .collect();
    let queues =
        patron_hub_store_aws::provision(&aws.dynamodb, &aws.sqs, &table, &prefix, &members)
            .await
            .unwrap();
    let url_prefix = queues[&members[0]]
        .strip_suffix("DEMO_A")
        .unwrap()
        .to_owned();
    patron_hub_store_aws::create_event_bus(&aws.eventbridge, &bus)
        .await
        .unwrap();
    let secret_prefix = format!("alma-api-key-{run}/");
    for code in &members {
        aws.secrets
            .create_secret()
            .name(format!("{secret_prefix}{code}"))
            .secret_string(format!("demo-key-{code}"))
            .send()
            .await
            .unwrap();
    }
    let client_keys = serde_json::json!([{
        "name": "discovery",
        "sha256": patron_hub_domain::registration::hash_key("demo-client-key"),
        "scope": "staff"
    }])
    .to_string();
    let sandbox = spawn(SandboxConfig::demo(), "127.0.0.1:0").await.unwrap();
    let logs = tempfile::tempdir().unwrap();
    let out = logs.path().join("registration");
    let api = RuntimeApi::start().await.unwrap();
    let _function = start(
        &api,
        "registration-api",
        &[
            ("PATRON_HUB_TABLE", &table),
            ("PATRON_HUB_QUEUE_URL_PREFIX", &url_prefix),
            ("PATRON_HUB_NETWORK_ZONE", "DEMO_NETWORK"),
            ("PATRON_HUB_INSTITUTIONS", "DEMO_A,DEMO_B,DEMO_C"),
            ("ALMA_API_BASE_URL", &sandbox.base_url),
            ("ALMA_API_KEY_SECRET_PREFIX", &secret_prefix),
            ("EVENT_BUS_NAME", &bus),
            ("CLIENT_KEYS", &client_keys),
            ("PATRON_HUB_PUBLIC_BASE_URL", "https://patrons.example.org"),
            ("PATRON_HUB_MAIL_FROM", "no-reply@patron-hub.example.org"),
        ],
        &out,
    );
    let invoke = |event: serde_json::Value| {
        let api = &api;
        async move {
            let answered = api
                .queue(&event)
                .answered(ANSWER_TIMEOUT)
                .await
                .expect("the registration API answered");
            let Answer::Response(response) = answered.answer else {
                panic!("the registration API failed: {:?}", answered.answer);
            };
            response
        }
    };
    let created = invoke(sample("registration-api/create-staging-record.json")).await;
    assert_eq!(created["statusCode"], 201, "{created}");
    let record: serde_json::Value =
        serde_json::from_str(created["body"].as_str().unwrap()).unwrap();
    let id = record["externalSystemId"].as_str().unwrap();

    sandbox.sandbox.set_faults(
        Some("DEMO_A"),
        patron_hub_alma_sandbox::Faults {
            error_rate: 1.0,
            ..Default::default()
        },
    );
    let mut complete = sample("registration-api/complete-registration.json");
    let path = format!("/patron/{id}/complete");
    complete["rawPath"] = path.clone().into();
    complete["requestContext"]["http"]["path"] = path.into();
    let refused = invoke(complete).await;
    assert_ne!(refused["statusCode"], 201, "{refused}");

    let calls = emf_values(
        &out,
        "patron_hub_alma_calls_total",
        &[("institution", "DEMO_A"), ("status", "500")],
    );
    assert!(!calls.is_empty(), "the invocation wrote its EMF line");
    let items = aws
        .dynamodb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S("OPS#DEMO_A".to_owned()),
        )
        .send()
        .await
        .unwrap();
    let failed = items
        .items()
        .iter()
        .filter_map(|item| item.get("c_alma_5xx")?.as_n().ok()?.parse::<u64>().ok())
        .sum::<u64>();
    assert!(
        failed >= 1,
        "DEMO_A's 500s in the operations series: {items:?}"
    );
}
