//! Fires prepared HTTP requests with a fixed number in flight and sums up
//! their latencies: what every request/latency benchmark prints.

use super::fanout::round;
use crate::CliError;
use futures::stream::{self, StreamExt};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Sends every request, `concurrency` at a time; each answer must pass
/// `accept(status, body)`, else the run fails with the first refusal.
/// Returns the figures as JSON fields (requests per second, p50, p99, max).
pub async fn timed_requests(
    requests: Vec<RequestBuilder>,
    concurrency: usize,
    accept: impl Fn(StatusCode, &str) -> bool + Sync,
) -> Result<Value, CliError> {
    let count = requests.len();
    let accept = &accept;
    let started = Instant::now();
    let results: Vec<Result<Duration, String>> = stream::iter(requests)
        .map(|request| async move {
            let sent = Instant::now();
            let response = request.send().await.map_err(|e| e.to_string())?;
            let status = response.status();
            let text = response.text().await.map_err(|e| e.to_string())?;
            if accept(status, &text) {
                Ok(sent.elapsed())
            } else {
                Err(format!("{status}: {text}"))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let wall = started.elapsed().as_secs_f64();
    let mut latencies: Vec<f64> = Vec::with_capacity(count);
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(latency) => latencies.push(latency.as_secs_f64() * 1000.0),
            Err(error) => errors.push(error),
        }
    }
    if let Some(first) = errors.first() {
        return Err(format!("{} requests failed; first: {first}", errors.len()).into());
    }
    if latencies.is_empty() {
        return Err("no request was sent".into());
    }
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| percentile(&latencies, p);
    Ok(json!({
        "requests": count,
        "concurrency": concurrency,
        "wall_seconds": round(wall),
        "requests_per_second": round(count as f64 / wall),
        "p50_ms": round(percentile(0.50)),
        "p99_ms": round(percentile(0.99)),
        "max_ms": round(latencies[latencies.len() - 1]),
    }))
}

/// The nearest-rank `p` percentile (0 < p <= 1) of sorted, non-empty values.
pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (sorted.len() as f64 * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
