//! End-to-end tests of the operations view: the real `patron-hub serve` on
//! the demo network (SQLite, the Alma sandbox), its `GET /metrics` moving as
//! a webhook is accepted and applied, and `patron-hub status`.

mod support;

use reqwest::Method;
use std::time::Duration;
use support::*;

const SETTLE: Duration = Duration::from_secs(30);

/// The `/metrics` text of the server.
async fn scrape(s: &DemoServer) -> String {
    let response = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "a loopback scraper is served");
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

/// The sum of every sample of `name` whose labels include each of `labels`
/// (`key="value"`), 0 when there is none.
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(series, _)| {
            let metric = series.split('{').next().unwrap_or_default();
            metric == name && labels.iter().all(|label| series.contains(label))
        })
        .filter_map(|(_, value)| value.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn the_metrics_move_as_a_webhook_is_applied() {
    let s = DemoServer::start().await;
    let before = scrape(&s).await;
    assert_eq!(
        sample(
            &before,
            "patron_hub_queue_depth",
            &["institution=\"DEMO_B\""]
        ),
        0.0,
        "the queue gauges are sampled at the scrape: {before}"
    );
    assert!(
        before.contains("patron_hub_queue_depth{institution=\"DEMO_B\"}"),
        "{before}"
    );
    assert!(
        before.contains("patron_hub_oldest_job_age_seconds{institution=\"DEMO_B\"}"),
        "{before}"
    );
    assert!(
        before.contains("patron_hub_dead_letters{institution=\"DEMO_B\"}"),
        "{before}"
    );
    let applied = |text: &str| sample(text, "patron_hub_jobs_total", &["outcome=\"applied\""]);
    let alma_calls = |text: &str| {
        sample(
            text,
            "patron_hub_alma_calls_total",
            &["institution=\"DEMO_B\""],
        )
    };
    let webhooks_ok = |text: &str| {
        sample(
            text,
            "patron_hub_webhook_requests_total",
            &["status=\"200\""],
        )
    };

    let created = s
        .librarian(Method::POST, "DEMO_A/users", Some(external_reader("ops-1")))
        .await;
    assert_eq!(created["webhook"]["status"], 200, "{created}");
    s.user_eventually("DEMO_B", "ops-1").await;
    s.user_eventually("DEMO_C", "ops-1").await;

    let after = eventually("both jobs counted as applied", SETTLE, || async {
        let text = scrape(&s).await;
        (applied(&text) >= applied(&before) + 2.0).then_some(text)
    })
    .await;
    assert_eq!(
        sample(
            &after,
            "patron_hub_jobs_total",
            &["institution=\"DEMO_B\"", "outcome=\"applied\""]
        ),
        1.0,
        "{after}"
    );
    assert!(alma_calls(&after) > alma_calls(&before), "{after}");
    assert_eq!(webhooks_ok(&after), webhooks_ok(&before) + 1.0, "{after}");
    assert!(
        sample(&after, "patron_hub_job_lag_seconds_count", &[]) >= 2.0,
        "each applied job's lag is measured: {after}"
    );
    assert!(
        sample(&after, "patron_hub_alma_call_seconds_count", &[]) >= alma_calls(&after),
        "{after}"
    );
}

#[tokio::test]
async fn status_and_the_gauges_show_a_job_that_waits() {
    let s = DemoServer::start().await;
    // DEMO_B answers every call with a 500: its job stays on the queue.
    s.faults(serde_json::json!({"institution": "DEMO_B", "error_rate": 1.0}))
        .await;
    s.librarian(Method::POST, "DEMO_A/users", Some(external_reader("ops-2")))
        .await;
    s.user_eventually("DEMO_C", "ops-2").await;
    let status = eventually("DEMO_B's job to wait over a second", SETTLE, || async {
        let output = std::process::Command::new(BINARY)
            .args(["status", "--json", "--data", s.data.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let status: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        let b = status["institutions"]
            .as_array()?
            .iter()
            .find(|row| row["institution"] == "DEMO_B")?
            .clone();
        (b["oldest_job_age_seconds"].as_u64()? >= 1).then_some(status)
    })
    .await;
    let rows = status["institutions"].as_array().unwrap();
    let row = |code: &str| rows.iter().find(|row| row["institution"] == code).unwrap();
    assert_eq!(row("DEMO_B")["queue_depth"], 1, "{status}");
    assert_eq!(row("DEMO_C")["queue_depth"], 0, "{status}");
    assert_eq!(row("DEMO_C")["oldest_job_age_seconds"], 0, "{status}");
    assert_eq!(row("DEMO_B")["dead_letters"], 0, "{status}");
    assert!(status.get("reconcile").is_some(), "{status}");
    let text = scrape(&s).await;
    assert!(
        sample(
            &text,
            "patron_hub_oldest_job_age_seconds",
            &["institution=\"DEMO_B\""]
        ) >= 1.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, "patron_hub_queue_depth", &["institution=\"DEMO_B\""]),
        1.0
    );
    assert!(
        sample(
            &text,
            "patron_hub_jobs_total",
            &["institution=\"DEMO_B\"", "outcome=\"retried\""]
        ) >= 1.0,
        "{text}"
    );
    assert!(
        sample(
            &text,
            "patron_hub_alma_calls_total",
            &["institution=\"DEMO_B\"", "status=\"500\""]
        ) >= 1.0,
        "{text}"
    );
}
