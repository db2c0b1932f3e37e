//! `bench console-search`: how long a staff search takes when every
//! institution answers slowly. The console asks every institution at once, so
//! a search should take about as long as the slowest institution, not the sum
//! of them: the goal is a median search under 1.5 × the slowest institution's
//! own lookup time. Searches go over HTTP with a staff session, as a browser's
//! do, against a patron present in three institutions of the sandbox.

use super::fanout::{external_patron, round};
use super::timing::percentile;
use super::BenchNode;
use crate::config::{demo, Runtime};
use crate::CliError;
use patron_hub_alma::AlmaClient;
use patron_hub_alma_sandbox::{spawn, Faults, SandboxConfig};
use patron_hub_domain::alma::{AlmaError, AlmaUsers};
use patron_hub_domain::{InstitutionCode, PrimaryId};
use patron_hub_http::accounts::SESSION_COOKIE;
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// The ratio of a median search to the slowest institution that is the goal.
const GOAL_RATIO: f64 = 1.5;

/// Options of `bench console-search`.
#[derive(Debug, clap::Args)]
pub struct ConsoleSearchArgs {
    /// How many searches to time, one after the other.
    #[arg(long, default_value_t = 100)]
    pub searches: usize,
    /// Latency the sandbox adds to every Alma answer, in every institution.
    #[arg(long, default_value_t = 200)]
    pub latency_ms: u64,
    /// Lookups timed in each institution on its own, to know the slowest one.
    #[arg(long, default_value_t = 10)]
    pub probes: usize,
    /// Give up waiting for the patron's distribution after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout_seconds: u64,
}

/// Sets up the slow network and the patron, then times the searches and
/// prints the figures.
pub async fn run(args: ConsoleSearchArgs) -> Result<(), CliError> {
    if args.searches == 0 || args.probes == 0 {
        return Err("--searches and --probes must be at least 1".into());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut sandbox_config = SandboxConfig::demo();
    sandbox_config.webhook_listener =
        Some(format!("http://{}/webhooks/alma", listener.local_addr()?));
    let sandbox = spawn(sandbox_config, "127.0.0.1:0").await?;
    let bench = BenchNode::start(Runtime::demo(&sandbox.base_url), listener).await?;
    let _workers = bench.node.spawn_workers();

    // A librarian creates an external reader in DEMO_A; distribution copies it
    // to DEMO_B and DEMO_C (before any latency is injected).
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let primary_id = format!("console-bench-{}", &run_id[..8]);
    let http = reqwest::Client::new();
    let origin = demo::INSTITUTIONS[0];
    let created = http
        .post(format!("{}/sandbox/{origin}/users", sandbox.base_url))
        .json(&external_patron(&primary_id))
        .send()
        .await?;
    if !created.status().is_success() {
        return Err(format!("the sandbox refused the patron: {}", created.status()).into());
    }
    let deadline = Instant::now() + Duration::from_secs(args.timeout_seconds);
    while demo::INSTITUTIONS
        .iter()
        .any(|code| sandbox.sandbox.user(code, &primary_id).is_none())
    {
        if Instant::now() > deadline {
            return Err("the patron did not reach every member institution in time".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A staff session, as the console's login form would open.
    let password = format!("bench {run_id}");
    bench
        .node
        .accounts
        .ensure_demo_admin(Some(password.clone()))
        .await?;
    let (session, _) = bench.node.accounts.login("admin", &password).await?;
    let cookie = format!("{SESSION_COOKIE}={}", session.expose());

    sandbox.sandbox.set_faults(
        None,
        Faults {
            latency_ms: args.latency_ms,
            ..Faults::default()
        },
    );
    let runtime = &bench.node.runtime;
    let alma =
        AlmaClient::new(runtime.alma.clone(), runtime.alma_timeout).map_err(|e| e.to_string())?;
    let id = PrimaryId::parse(&primary_id)?;
    let mut per_institution = Map::new();
    let mut slowest_ms: f64 = 0.0;
    for institution in bench.node.console.institutions() {
        let median = lookup_median_ms(&alma, &institution, &id, args.probes).await?;
        slowest_ms = slowest_ms.max(median);
        per_institution.insert(institution.as_str().to_owned(), json!(round(median)));
    }

    let url = format!("http://{}/console/search", bench.address);
    let search = || async {
        let started = Instant::now();
        let response = http
            .get(&url)
            .query(&[("q", primary_id.as_str())])
            .header("cookie", &cookie)
            .send()
            .await?;
        let status = response.status();
        let page = response.text().await?;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        let present = page.matches(r#"class="state-present""#).count();
        if status.as_u16() != 200 || present != demo::INSTITUTIONS.len() {
            return Err::<f64, CliError>(
                format!("search answered {status} with the patron in {present} institutions")
                    .into(),
            );
        }
        Ok(elapsed)
    };
    search().await?; // warms the connections up; not timed
    let mut times = Vec::with_capacity(args.searches);
    for _ in 0..args.searches {
        times.push(search().await?);
    }
    times.sort_by(f64::total_cmp);
    let median = percentile(&times, 0.50);
    println!(
        "{}",
        json!({
            "benchmark": "console-search",
            "searches": args.searches,
            "institutions_asked": per_institution.len(),
            "patron_present_in": demo::INSTITUTIONS.len(),
            "injected_latency_ms": args.latency_ms,
            "institution_lookup_median_ms": Value::Object(per_institution),
            "slowest_institution_ms": round(slowest_ms),
            "search_median_ms": round(median),
            "search_p95_ms": round(percentile(&times, 0.95)),
            "search_max_ms": round(times[times.len() - 1]),
            "ratio_median_to_slowest_institution": round(median / slowest_ms.max(f64::EPSILON)),
            "goal_ratio": GOAL_RATIO,
        })
    );
    Ok(())
}

/// The median time of `probes` lookups of `id` in one institution on its own
/// (found or not found both count: the zone does not hold the patron).
async fn lookup_median_ms(
    alma: &AlmaClient,
    institution: &InstitutionCode,
    id: &PrimaryId,
    probes: usize,
) -> Result<f64, CliError> {
    let mut times = Vec::with_capacity(probes);
    for _ in 0..probes {
        let started = Instant::now();
        match alma.get_user(institution, id).await {
            Ok(_) | Err(AlmaError::NotFound { .. }) => {}
            Err(error) => return Err(format!("{institution}: {error}").into()),
        }
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(percentile(&times, 0.50))
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.50), 10.0);
        assert_eq!(percentile(&values, 0.95), 19.0);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
    }
}
