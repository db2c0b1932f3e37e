//! `bench webhook`: requests per second and latency of the webhook receiver
//! (signature check, parse, route, one SQLite transaction) over loopback.

use super::timing::timed_requests;
use super::BenchNode;
use crate::config::{demo, Runtime};
use crate::CliError;
use patron_hub_domain::webhook::sign;
use serde_json::json;

/// Options of `bench webhook`.
#[derive(Debug, clap::Args)]
pub struct WebhookArgs {
    /// How many signed deliveries to send.
    #[arg(long, default_value_t = 2000)]
    pub requests: usize,
    /// How many are in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
}

/// Runs the webhook benchmark and prints its figures.
pub async fn run(args: WebhookArgs) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    // No worker runs and no Alma call is made: only the receiver is measured.
    let bench = BenchNode::start(Runtime::demo("http://127.0.0.1:9"), listener).await?;
    let url = bench.webhook_url();
    let client = reqwest::Client::new();
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let deliveries: Vec<(String, String)> = (0..args.requests)
        .map(|i| {
            let body =
                user_created(&format!("{run_id}-{i}"), &format!("webhook-bench-{i}")).to_string();
            let signature = sign(demo::WEBHOOK_SECRET, body.as_bytes());
            (body, signature)
        })
        .collect();

    let requests = deliveries
        .into_iter()
        .map(|(body, signature)| {
            client
                .post(&url)
                .header("X-Exl-Signature", signature)
                .header("Content-Type", "application/json")
                .body(body)
        })
        .collect();
    let mut figures = timed_requests(requests, args.concurrency, |status, text| {
        status.is_success() && text.contains("\"accepted\"")
    })
    .await?;
    figures["benchmark"] = json!("webhook");
    println!("{figures}");
    Ok(())
}

/// A USER_CREATED delivery of an external reader from DEMO_A: the path that
/// records the event and queues two jobs.
fn user_created(event_id: &str, primary_id: &str) -> serde_json::Value {
    json!({
        "id": event_id,
        "action": "USER",
        "institution": {"value": demo::INSTITUTIONS[0], "desc": "Demo A"},
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "event": {"value": "USER_CREATED", "desc": "User created"},
        "webhook_user": {"cause": "UI", "method": "CREATE", "user": {
            "primary_id": primary_id, "last_name": "Bench", "first_name": "Webhook",
            "job_category": {"value": "Exterieur"}, "status": {"value": "ACTIVE"}
        }}
    })
}
