//! `bench password-reset`: whether a forgotten-password request answers as
//! fast for an existing account (a token stored, a mail written) as for an
//! unknown address, over loopback: both kinds are sent at the same time, each
//! to its own addresses, and their median latencies compared.

use super::bench_account;
use super::fanout::round;
use super::timing::timed_requests;
use super::BenchNode;
use crate::config::Runtime;
use crate::CliError;
use patron_hub_domain::accounts::AccountStore;
use serde_json::json;

/// Options of `bench password-reset`.
#[derive(Debug, clap::Args)]
pub struct PasswordResetArgs {
    /// Requests of each kind (existing account, unknown address).
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// How many of each kind are in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

/// Creates the accounts, times both kinds of request and prints the figures.
pub async fn run(args: PasswordResetArgs) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    // No Alma call is made: only the accounts route is measured.
    let bench = BenchNode::start(Runtime::demo("http://127.0.0.1:9"), listener).await?;
    for n in 0..args.requests {
        bench.node.store.create(&bench_account(n, None)).await?;
    }
    let client = reqwest::Client::new();
    let url = format!("http://{}/password-reset", bench.address);
    // `bench-{n}` are the accounts, `nobody-{n}` nobody's addresses.
    let requests = |kind: &str| {
        (0..args.requests)
            .map(|n| {
                client
                    .post(&url)
                    .json(&json!({"email": format!("{kind}-{n}@bench.example.org")}))
            })
            .collect::<Vec<_>>()
    };
    let accepted = |status: reqwest::StatusCode, _: &str| status.as_u16() == 202;
    let (existing, unknown) = tokio::join!(
        timed_requests(requests("bench"), args.concurrency, accepted),
        timed_requests(requests("nobody"), args.concurrency, accepted),
    );
    let (existing, unknown) = (existing?, unknown?);
    let median = |figures: &serde_json::Value| figures["p50_ms"].as_f64().unwrap_or(f64::NAN);
    let ratio = median(&existing) / median(&unknown);
    let floor = bench.node.accounts.settings().reset_answer_floor;
    println!(
        "{}",
        json!({
            "benchmark": "password-reset",
            "answer_floor_ms": floor.as_millis(),
            "existing_accounts": existing,
            "unknown_addresses": unknown,
            "median_ratio_existing_to_unknown": round(ratio),
            "goal": "medians within 10 % of each other",
        })
    );
    Ok(())
}
