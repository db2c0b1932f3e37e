//! `bench webhook`: requests per second and latency of the webhook receiver
//! (signature check, parse, route, one SQLite transaction) over loopback.

use super::fanout::round;
use super::BenchNode;
use crate::config::{demo, Runtime};
use crate::CliError;
use futures::stream::{self, StreamExt};
use patron_hub_domain::webhook::sign;
use serde_json::json;
use std::time::{Duration, Instant};

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

    let started = Instant::now();
    let results: Vec<Result<Duration, String>> = stream::iter(deliveries)
        .map(|(body, signature)| {
            let request = client
                .post(&url)
                .header("X-Exl-Signature", signature)
                .header("Content-Type", "application/json")
                .body(body);
            async move {
                let sent = Instant::now();
                let response = request.send().await.map_err(|e| e.to_string())?;
                let status = response.status();
                let text = response.text().await.map_err(|e| e.to_string())?;
                if status.is_success() && text.contains("\"accepted\"") {
                    Ok(sent.elapsed())
                } else {
                    Err(format!("{status}: {text}"))
                }
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    let wall = started.elapsed().as_secs_f64();

    let mut latencies: Vec<f64> = Vec::with_capacity(results.len());
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(latency) => latencies.push(latency.as_secs_f64() * 1000.0),
            Err(error) => errors.push(error),
        }
    }
    if let Some(first) = errors.first() {
        return Err(format!("{} deliveries failed; first: {first}", errors.len()).into());
    }
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| {
        latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1]
    };
    println!(
        "{}",
        json!({
            "benchmark": "webhook",
            "requests": args.requests,
            "concurrency": args.concurrency,
            "wall_seconds": round(wall),
            "requests_per_second": round(args.requests as f64 / wall),
            "p50_ms": round(percentile(0.50)),
            "p99_ms": round(percentile(0.99)),
            "max_ms": round(latencies[latencies.len() - 1]),
        })
    );
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
