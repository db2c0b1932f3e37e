//! `bench cold-start`: each Lambda function's release binary started as Lambda
//! starts it (the Runtime API on loopback, `patron-hub-lambda-harness`), AWS
//! on moto (`AWS_ENDPOINT_URL`), Alma the demo sandbox: time from process
//! spawn to its first answered event, split into initialisation (spawn to the
//! first `invocation/next`) and the handling of that event, and the peak
//! resident set right after.

use super::fanout::round;
use crate::CliError;
use patron_hub_alma_sandbox::{spawn, SandboxConfig};
use patron_hub_domain::registration::hash_key;
use patron_hub_domain::webhook::sign;
use patron_hub_lambda_harness::{peak_rss_kb, Answer, RuntimeApi};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Options of `bench cold-start`.
#[derive(Debug, clap::Args)]
pub struct ColdStartArgs {
    /// Where the function binaries are (`cargo build --release` puts them in
    /// target/release).
    #[arg(long, default_value = "target/release")]
    pub binaries: PathBuf,
    /// How many cold starts of each function (the figures are medians).
    #[arg(long, default_value_t = 7)]
    pub starts: usize,
}

/// The webhook secret of the signed sample delivery.
const WEBHOOK_SECRET: &str = "demo-webhook-secret";
/// How many calls measure moto's round trip.
const ROUND_TRIPS: usize = 15;
/// How long one start may take to answer before the run fails.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// Every function and the sample event it answers first (under `events/`).
const FUNCTIONS: [(&str, &str); 8] = [
    ("alma-webhook", "alma-webhook/user-created-external.json"),
    ("institution-worker", "institution-worker/sqs-batch.json"),
    ("accounts-api", "accounts-api/me-unauthenticated.json"),
    (
        "registration-api",
        "registration-api/registration-status.json",
    ),
    ("members-api", "members-api/search-people.json"),
    ("admin-console", "admin-console/login-page.json"),
    (
        "membership-rollover",
        "membership-rollover/scheduled-dry-run.json",
    ),
    (
        "network-reconcile",
        "network-reconcile/scheduled-reconcile.json",
    ),
];

/// Runs the cold-start benchmark and prints its figures.
pub async fn run(args: ColdStartArgs) -> Result<(), CliError> {
    let moto = std::env::var("AWS_ENDPOINT_URL").map_err(|_| {
        "AWS_ENDPOINT_URL is not set: the cold-start benchmark needs moto (see README.md, \
         \"Cold start\"), with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION"
    })?;
    let sandbox = spawn(SandboxConfig::demo(), "127.0.0.1:0").await?;
    let env = provision(&moto, &sandbox.base_url).await?;
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");

    println!(
        "function             answer  init ms  handling ms  first answer ms  peak RSS MB  (medians)"
    );
    let mut figures = serde_json::Map::new();
    for (function, sample) in FUNCTIONS {
        let binary = args.binaries.join(function);
        if !binary.is_file() {
            return Err(format!(
                "{} is missing: build the functions first (cargo build --release)",
                binary.display()
            )
            .into());
        }
        let event = first_event(&events.join(sample))?;
        let mut starts = Vec::with_capacity(args.starts);
        for _ in 0..args.starts {
            starts.push(cold_start(&binary, function, &env, &event).await?);
        }
        let millis = |part: fn(&Start) -> Duration| {
            median(
                &mut starts
                    .iter()
                    .map(|start| part(start).as_secs_f64() * 1000.0)
                    .collect::<Vec<_>>(),
            )
        };
        let (init, handling) = (millis(|s| s.init), millis(|s| s.handling));
        let ms = millis(|s| s.init + s.handling);
        let mb = median(
            &mut starts
                .iter()
                .map(|s| s.peak_kb as f64 / 1024.0)
                .collect::<Vec<_>>(),
        );
        let answer = starts.last().map(|s| s.status.as_str()).unwrap_or("");
        println!("{function:<20} {answer:<7} {init:>7.1} {handling:>12.1} {ms:>16.1} {mb:>12.1}");
        figures.insert(
            function.to_owned(),
            json!({"answer": answer, "init_ms": round(init), "handling_ms": round(handling),
                   "first_answer_ms": round(ms), "peak_rss_mb": round(mb),
                   "starts": args.starts}),
        );
    }
    let table = env
        .iter()
        .find_map(|(name, value)| (name == "PATRON_HUB_TABLE").then_some(value.as_str()))
        .unwrap_or_default();
    let round_trip = moto_round_trip(&moto, table).await?;
    println!(
        "moto round trip {round_trip:.1} ms (median of {ROUND_TRIPS}): each function's handling \
         includes its first event's calls to moto and the sandbox"
    );
    println!(
        "{}",
        json!({"bench": "cold-start", "functions": figures,
               "moto_round_trip_ms": round(round_trip)})
    );
    Ok(())
}

/// One cold start's figures.
struct Start {
    /// From spawn to the first `invocation/next` (the event was already waiting).
    init: Duration,
    /// From then to the answer.
    handling: Duration,
    /// Peak resident set right after the answer, in kB.
    peak_kb: u64,
    /// The answer's status code, or `ok` for an event that has none.
    status: String,
}

/// Starts `binary` once with `event` already waiting.
async fn cold_start(
    binary: &Path,
    function: &str,
    env: &[(String, String)],
    event: &Value,
) -> Result<Start, CliError> {
    let api = RuntimeApi::start().await?;
    let invocation = api.queue(event);
    let mut command = api.command(binary, function);
    command
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let spawned = Instant::now();
    let mut child = command.spawn()?;
    let answered = invocation.answered(ANSWER_TIMEOUT).await;
    let peak = peak_rss_kb(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let answered = answered.ok_or(format!(
        "{function} did not answer within {ANSWER_TIMEOUT:?}"
    ))?;
    let status = match &answered.answer {
        Answer::Response(document) => match document.get("statusCode") {
            Some(code) => code.to_string(),
            None => "ok".to_owned(),
        },
        Answer::Error(document) => return Err(format!("{function} failed: {document}").into()),
    };
    let peak_kb = peak.ok_or("no /proc/<pid>/status: peak RSS is read on Linux only")?;
    let handed_out = answered.handed_out.unwrap_or(answered.at);
    Ok(Start {
        init: handed_out.duration_since(spawned),
        handling: answered.at.duration_since(handed_out),
        peak_kb,
        status,
    })
}

/// The sample event at `path`; the webhook's delivery signed again with the
/// benchmark's secret.
fn first_event(path: &Path) -> Result<Value, CliError> {
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    if let Some(body) = event["headers"]["x-exl-signature"]
        .is_string()
        .then(|| event["body"].as_str().map(str::to_owned))
        .flatten()
    {
        event["headers"]["x-exl-signature"] = sign(WEBHOOK_SECRET, body.as_bytes()).into();
    }
    Ok(event)
}

/// A fresh table and a job queue per institution on moto (through its
/// JSON protocol, as the SDK speaks it), and the settings every function
/// reads, pointing at them and at the sandbox: one set for all functions
/// (each reads its own; `institution-worker` is DEMO_B's).
async fn provision(moto: &str, sandbox: &str) -> Result<Vec<(String, String)>, CliError> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (table, prefix) = (format!("cold-{run}"), format!("cold-{}-", &run[..10]));
    let client = reqwest::Client::new();
    let call = |service: &'static str, target: String, body: Value| {
        moto_call(&client, moto, service, target, body)
    };
    let key = |name: &str, kind: &str| json!({"AttributeName": name, "KeyType": kind});
    let created = call(
        "dynamodb",
        "DynamoDB_20120810.CreateTable".to_owned(),
        json!({
            "TableName": table,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"}
            ],
            "KeySchema": [key("pk", "HASH"), key("sk", "RANGE")],
        }),
    )
    .await?;
    if !created.status().is_success() {
        return Err(format!("moto CreateTable: {}", created.text().await?).into());
    }
    let codes = ["DEMO_NETWORK", "DEMO_A", "DEMO_B", "DEMO_C"];
    let mut url_prefix = None;
    for code in codes {
        let answer = call(
            "sqs",
            "AmazonSQS.CreateQueue".to_owned(),
            json!({"QueueName": format!("{prefix}{code}")}),
        )
        .await?;
        let answer: Value = answer.json().await?;
        let url = answer["QueueUrl"]
            .as_str()
            .ok_or(format!("moto CreateQueue: {answer}"))?;
        url_prefix = url.strip_suffix(code).map(str::to_owned);
    }
    let url_prefix = url_prefix.ok_or("moto's queue URLs do not end with their names")?;
    // The network reconcile's queue of pages: its first event begins a run.
    let pages = call(
        "sqs",
        "AmazonSQS.CreateQueue".to_owned(),
        json!({"QueueName": format!("{prefix}reconcile-pages")}),
    )
    .await?;
    let pages: Value = pages.json().await?;
    let pages = pages["QueueUrl"]
        .as_str()
        .ok_or(format!("moto CreateQueue: {pages}"))?
        .to_owned();
    let keys: serde_json::Map<String, Value> = codes
        .iter()
        .map(|code| (code.to_string(), json!(format!("demo-key-{code}"))))
        .collect();
    let client_keys =
        json!([{"name": "discovery", "sha256": hash_key("demo-client-key"), "scope": "staff"}]);
    Ok([
        ("PATRON_HUB_TABLE", table),
        ("PATRON_HUB_QUEUE_URL_PREFIX", url_prefix),
        ("RECONCILE_PAGES_QUEUE_URL", pages),
        ("PATRON_HUB_NETWORK_ZONE", "DEMO_NETWORK".to_owned()),
        ("PATRON_HUB_INSTITUTIONS", codes.join(",")),
        ("PATRON_HUB_INSTITUTION", "DEMO_B".to_owned()),
        ("PATRON_HUB_WEBHOOK_SECRETS", WEBHOOK_SECRET.to_owned()),
        (
            "REGISTRATION_SETTINGS",
            r#"{"external_id_type":"BARCODE"}"#.to_owned(),
        ),
        ("ALMA_API_BASE_URL", sandbox.to_owned()),
        ("ALMA_API_KEY", "demo-key-DEMO_B".to_owned()),
        ("ALMA_API_KEYS", Value::Object(keys).to_string()),
        (
            "PATRON_HUB_PUBLIC_BASE_URL",
            "http://localhost:3000".to_owned(),
        ),
        ("PATRON_HUB_MAIL_FROM", "patron-hub@example.org".to_owned()),
        ("CONSOLE_CSRF_KEY", "0123456789abcdef".repeat(4)),
        ("EVENT_BUS_NAME", format!("cold-{run}")),
        ("CLIENT_KEYS", client_keys.to_string()),
    ]
    .map(|(k, v)| (k.to_owned(), v))
    .to_vec())
}

/// One call to moto through its JSON protocol, as the SDK speaks it (moto
/// reads the region from the credential scope and checks no signature).
fn moto_call(
    client: &reqwest::Client,
    moto: &str,
    service: &'static str,
    target: String,
    body: Value,
) -> impl std::future::Future<Output = reqwest::Result<reqwest::Response>> {
    client
        .post(moto)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", target)
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=test/20250101/{}/{service}/aws4_request, \
                 SignedHeaders=host, Signature=0",
                std::env::var("AWS_REGION").unwrap_or_else(|_| "eu-west-1".to_owned())
            ),
        )
        .body(body.to_string())
        .send()
}

/// The median time of one small DynamoDB call to moto (`DescribeTable`, on a
/// connection kept open), measured in the same run as the starts: the unit
/// in which the functions' handling times are paid, since each first event
/// makes its own calls to moto (a real region answers such a call in a few
/// milliseconds; moto, a Python server, is slower and varies with the load).
async fn moto_round_trip(moto: &str, table: &str) -> Result<f64, CliError> {
    let client = reqwest::Client::new();
    let mut millis = Vec::with_capacity(ROUND_TRIPS);
    for _ in 0..ROUND_TRIPS {
        let started = Instant::now();
        let answer = moto_call(
            &client,
            moto,
            "dynamodb",
            "DynamoDB_20120810.DescribeTable".to_owned(),
            json!({ "TableName": table }),
        )
        .await?;
        answer.error_for_status()?.bytes().await?;
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(median(&mut millis))
}

/// The median of `values` (sorted in place).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}
