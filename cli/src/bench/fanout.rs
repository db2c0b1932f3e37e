//! `bench fanout`: how close distribution runs to Alma's rate limit. The floor is
//! the Alma calls each institution needs divided by its configured calls per
//! second, institutions in parallel; the goal is a wall time within 1.15× of it
//! with no 429 from Alma.

use super::BenchNode;
use crate::config::{demo, Runtime};
use crate::CliError;
use futures::stream::{self, StreamExt};
use patron_hub_alma_sandbox::{spawn, SandboxConfig};
use patron_hub_domain::ports::JobQueue;
use patron_hub_domain::InstitutionCode;
use serde_json::json;
use std::time::{Duration, Instant};

/// Options of `bench fanout`.
#[derive(Debug, clap::Args)]
pub struct FanoutArgs {
    /// How many external patrons the librarian creates in DEMO_A.
    #[arg(long, default_value_t = 1000)]
    pub patrons: usize,
    /// Calls per second patron-hub allows itself per institution.
    #[arg(long, default_value_t = 20)]
    pub calls_per_second: u32,
    /// The sandbox's per-institution threshold (Alma's is about 25).
    #[arg(long, default_value_t = 25)]
    pub threshold: u32,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 900)]
    pub timeout_seconds: u64,
}

/// Runs the fan-out benchmark and prints its figures.
pub async fn run(args: FanoutArgs) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut sandbox_config = SandboxConfig::demo();
    sandbox_config.calls_per_second = args.threshold;
    sandbox_config.webhook_listener =
        Some(format!("http://{}/webhooks/alma", listener.local_addr()?));
    let sandbox = spawn(sandbox_config, "127.0.0.1:0").await?;
    let mut runtime = Runtime::demo(&sandbox.base_url);
    for institution in &mut runtime.alma {
        institution.calls_per_second = args.calls_per_second;
    }
    let bench = BenchNode::start(runtime, listener).await?;
    let _workers = bench.node.spawn_workers();
    let origin = demo::INSTITUTIONS[0];
    let targets: Vec<InstitutionCode> = bench
        .node
        .runtime
        .network
        .members
        .iter()
        .filter(|m| m.as_str() != origin)
        .cloned()
        .collect();
    sandbox.sandbox.reset_stats();

    let started = Instant::now();
    let client = reqwest::Client::new();
    let create_url = format!("{}/sandbox/{origin}/users", sandbox.base_url);
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let failures = stream::iter(0..args.patrons)
        .map(|i| {
            let request = client
                .post(&create_url)
                .json(&external_patron(&format!("bench-{}-{i}", &run_id[..8])));
            async move {
                request
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false)
            }
        })
        .buffer_unordered(8)
        .filter(|ok| std::future::ready(!ok))
        .count()
        .await;
    if failures > 0 {
        return Err(format!("{failures} patrons could not be created in the sandbox").into());
    }

    let deadline = started + Duration::from_secs(args.timeout_seconds);
    let (applied, dead_lettered) = loop {
        let mut applied = 0;
        let mut dead = 0;
        for target in &targets {
            applied += sandbox.sandbox.users(target.as_str()).len();
            dead += bench.node.store.dead_letters(target).await?.len();
        }
        if applied + dead >= args.patrons * targets.len() {
            break (applied, dead);
        }
        if Instant::now() > deadline {
            return Err(
                format!("timed out with {applied} applied and {dead} dead-lettered").into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let wall = started.elapsed().as_secs_f64();

    let stats = sandbox.sandbox.stats();
    let calls_of = |institution: &str| -> u64 {
        stats
            .iter()
            .filter(|c| c.institution == institution)
            .map(|c| c.count)
            .sum()
    };
    let throttled: u64 = stats
        .iter()
        .filter(|c| c.status == 429)
        .map(|c| c.count)
        .sum();
    let alma_calls: u64 = targets.iter().map(|t| calls_of(t.as_str())).sum();
    let busiest = targets
        .iter()
        .map(|t| calls_of(t.as_str()))
        .max()
        .unwrap_or(0);
    let floor = busiest as f64 / f64::from(args.calls_per_second);
    println!(
        "{}",
        json!({
            "benchmark": "fanout",
            "patrons": args.patrons,
            "institutions": targets.len(),
            "calls_per_second": args.calls_per_second,
            "alma_calls": alma_calls,
            "wall_seconds": round(wall),
            "floor_seconds": round(floor),
            "ratio": round(wall / floor.max(f64::EPSILON)),
            "throttled_429": throttled,
            "jobs_applied": applied,
            "jobs_dead_lettered": dead_lettered,
        })
    );
    Ok(())
}

/// An external reader (distributed between institutions) as a librarian enters it.
pub(super) fn external_patron(primary_id: &str) -> serde_json::Value {
    json!({
        "primary_id": primary_id,
        "first_name": "Bench",
        "last_name": "Patron",
        "status": {"value": "ACTIVE"},
        "record_type": {"value": "PUBLIC"},
        "account_type": {"value": "INTERNAL"},
        "job_category": {"value": "Exterieur", "desc": "Lecteur extérieur"},
        "user_group": {"value": "EXT"},
        "expiry_date": "2030-12-31Z",
        "contact_info": {"email": [{"email_address": format!("{primary_id}@example.org"), "preferred": true}]}
    })
}

/// Three decimals are plenty for seconds and ratios.
pub(super) fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}
