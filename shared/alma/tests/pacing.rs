//! The pacing benchmark against the sandbox (threshold 25/s per institution):
//! a client paced at 20/s never gets a 429 and still runs at the rate, with one
//! worker or many, and each institution has a pace of its own.

use patron_hub_alma::{AlmaClient, AlmaInstitution};
use patron_hub_alma_sandbox::{spawn, RunningSandbox, SandboxConfig};
use patron_hub_domain::alma::{AlmaError, AlmaUsers};
use patron_hub_domain::{InstitutionCode, PrimaryId};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

const RATE: u32 = 20;

async fn paced_network() -> (RunningSandbox, Arc<AlmaClient>) {
    let running = spawn(SandboxConfig::demo(), "127.0.0.1:0").await.unwrap();
    let institutions = ["DEMO_A", "DEMO_B"]
        .into_iter()
        .map(|code| AlmaInstitution {
            code: InstitutionCode::parse(code).unwrap(),
            base_url: running.base_url.clone(),
            api_key: format!("demo-key-{code}"),
            calls_per_second: RATE,
        })
        .collect();
    let alma = AlmaClient::new(institutions, Duration::from_secs(5)).unwrap();
    (running, Arc::new(alma))
}

/// `calls` lookups of absent patrons in `institution`, by `workers` concurrent workers.
async fn lookups(alma: &Arc<AlmaClient>, institution: &str, calls: usize, workers: usize) {
    let mut running = JoinSet::new();
    for worker in 0..workers {
        let alma = Arc::clone(alma);
        let code = InstitutionCode::parse(institution).unwrap();
        running.spawn(async move {
            for n in (worker..calls).step_by(workers) {
                let id = PrimaryId::parse(&format!("absent-{n}")).unwrap();
                let result = alma.get_user(&code, &id).await;
                assert!(
                    matches!(result, Err(AlmaError::NotFound { .. })),
                    "{result:?}"
                );
            }
        });
    }
    for finished in running.join_all().await {
        let () = finished;
    }
}

/// Asserts that `institution` got `calls` answers, none of them 429, in a time
/// within [(calls-1)/rate, 1.15 × calls/rate].
fn assert_paced(running: &RunningSandbox, institution: &str, calls: u64, elapsed: Duration) {
    let stats = running.sandbox.stats();
    let of = |status: u16| -> u64 {
        stats
            .iter()
            .filter(|call| call.institution == institution && call.status == status)
            .map(|call| call.count)
            .sum()
    };
    assert_eq!(of(429), 0, "throttled calls in {institution}: {stats:?}");
    assert_eq!(of(400), calls, "{stats:?}");
    println!("{institution}: {calls} calls at {RATE}/s in {elapsed:?}");
    let floor = Duration::from_secs(calls - 1) / RATE;
    let ceiling = Duration::from_secs(calls).mul_f64(1.15) / RATE;
    assert!(
        elapsed >= floor,
        "{calls} calls in {elapsed:?}: faster than {RATE}/s"
    );
    assert!(
        elapsed <= ceiling,
        "{calls} calls in {elapsed:?}: slower than {ceiling:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_calls_from_eight_workers_run_at_the_rate_without_429() {
    let (running, alma) = paced_network().await;
    let started = Instant::now();
    lookups(&alma, "DEMO_A", 60, 8).await;
    assert_paced(&running, "DEMO_A", 60, started.elapsed());
}

#[tokio::test]
async fn a_single_worker_streams_at_the_rate_without_429() {
    let (running, alma) = paced_network().await;
    let started = Instant::now();
    lookups(&alma, "DEMO_B", 60, 1).await;
    assert_paced(&running, "DEMO_B", 60, started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_institution_has_its_own_pace() {
    let (running, alma) = paced_network().await;
    let started = Instant::now();
    tokio::join!(
        lookups(&alma, "DEMO_A", 30, 4),
        lookups(&alma, "DEMO_B", 30, 4)
    );
    let elapsed = started.elapsed();
    assert_paced(&running, "DEMO_A", 30, elapsed);
    assert_paced(&running, "DEMO_B", 30, elapsed);
}
