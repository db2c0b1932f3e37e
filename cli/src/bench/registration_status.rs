//! `bench registration-status`: requests per second and latency of the
//! registration-status query over loopback, against a registry of many
//! patrons in SQLite — the query must stay one indexed read however big the
//! registry grows.

use super::fanout::round;
use super::timing::timed_requests;
use super::BenchNode;
use crate::config::{demo, Runtime};
use crate::CliError;
use chrono::{Days, Utc};
use patron_hub_domain::registration::{
    PatronRegistry, PatronSnapshot, RegistryChange, RegistryEntry,
};
use patron_hub_domain::{AlmaUser, InstitutionCode};
use rand::Rng;
use serde_json::json;
use std::time::Instant;

/// Options of `bench registration-status`.
#[derive(Debug, clap::Args)]
pub struct RegistrationStatusArgs {
    /// How many patrons the registry holds.
    #[arg(long, default_value_t = 100_000)]
    pub patrons: usize,
    /// How many status queries to send.
    #[arg(long, default_value_t = 10_000)]
    pub queries: usize,
    /// How many are in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
}

/// Seeds the registry, then times the queries and prints the figures.
pub async fn run(args: RegistrationStatusArgs) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    // No Alma call is made: only the registry and the route are measured.
    let bench = BenchNode::start(Runtime::demo("http://127.0.0.1:9"), listener).await?;
    let seeding = Instant::now();
    seed(&bench.node.store, args.patrons).await?;
    let seed_seconds = seeding.elapsed().as_secs_f64();

    // One query in ten names an unknown e-mail, and one patron in ten has
    // expired: the 404 answers are measured too.
    let client = reqwest::Client::new();
    let base = format!("http://{}", bench.address);
    let mut rng = rand::thread_rng();
    let requests = (0..args.queries)
        .map(|_| {
            let n = rng.gen_range(0..args.patrons + args.patrons / 10 + 1);
            client
                .get(format!("{base}/patron-registration-status"))
                .query(&[("emailId", email(n))])
                .header("X-Api-Key", demo::CLIENT_KEY)
        })
        .collect();
    let mut figures = timed_requests(requests, args.concurrency, |status, text| {
        status.as_u16() == 200
            || (status.as_u16() == 404
                && (text.contains("USER_NOT_FOUND") || text.contains("ACCOUNT_EXPIRED")))
    })
    .await?;
    figures["benchmark"] = json!("registration-status");
    figures["patrons"] = json!(args.patrons);
    figures["seed_seconds"] = json!(round(seed_seconds));
    println!("{figures}");
    Ok(())
}

fn email(n: usize) -> String {
    format!("patron-{n}@bench.example.org")
}

/// Stores `count` patrons through the registry port, as webhooks would.
async fn seed(registry: &dyn PatronRegistry, count: usize) -> Result<(), CliError> {
    let institution = InstitutionCode::parse(demo::INSTITUTIONS[0])?;
    let now = Utc::now();
    let valid = (now.date_naive() + Days::new(365)).format("%Y-%m-%dZ");
    for n in 0..count {
        let expiry = if n % 10 == 0 {
            "2020-01-01Z".to_owned()
        } else {
            valid.to_string()
        };
        let user: AlmaUser = serde_json::from_value(json!({
            "primary_id": format!("bench-{n}"), "first_name": "Bench", "last_name": "Patron",
            "record_type": {"value": "PUBLIC"}, "status": {"value": "ACTIVE"},
            "user_group": {"value": "EXT"}, "expiry_date": expiry,
            "contact_info": {"email": [{"email_address": email(n)}]}
        }))?;
        let snapshot = PatronSnapshot::from_alma(&user, "OTHER_ID_1").ok_or("no primary id")?;
        if let RegistryChange::Save(entry) =
            RegistryEntry::observe(None, &institution, &snapshot, now)
        {
            registry.save(None, &entry).await?;
        }
    }
    Ok(())
}
