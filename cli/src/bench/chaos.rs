//! `bench chaos`: does every accepted change reach every institution, once and
//! in its newest version, while `serve` is SIGKILLed every 20–40 s and Alma
//! misbehaves? The sandbox runs in its own process (it survives the kills),
//! with Alma's faults injected; librarians make changes there, and the
//! sandbox delivers their webhooks as Alma does (again after any non-2xx
//! answer or refused connection, and sometimes twice on purpose). After a
//! drain, every expected effect is checked in every institution.

use super::process::Child;
use crate::config::demo;
use crate::node::database_path;
use crate::CliError;
use futures::stream::{self, StreamExt, TryStreamExt};
use patron_hub_domain::distribution::OutcomeStatus;
use patron_hub_domain::ports::{DistributionLedger, JobQueue};
use patron_hub_domain::{InstitutionCode, PrimaryId, SystemClock};
use patron_hub_store_sqlite::SqliteStore;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Options of `bench chaos`.
#[derive(Debug, clap::Args)]
pub struct ChaosArgs {
    /// Librarian changes to make, each with its webhook.
    #[arg(long, default_value_t = 2000)]
    pub events: usize,
    /// Calls per second patron-hub allows itself per institution (raised
    /// from the production 20 so that a long run takes minutes, not hours).
    #[arg(long, default_value_t = 60)]
    pub calls_per_second: u32,
    /// The sandbox's per-institution threshold (raised with the rate above).
    #[arg(long, default_value_t = 75)]
    pub threshold: u32,
    /// Librarian changes made per second (spread over time, as in a library).
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Librarian changes in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Shortest time between two SIGKILLs of `serve`, in seconds.
    #[arg(long, default_value_t = 20)]
    pub kill_min_seconds: u64,
    /// Longest time between two SIGKILLs of `serve`, in seconds.
    #[arg(long, default_value_t = 40)]
    pub kill_max_seconds: u64,
    /// Seed of the plan of changes and kills (random by default).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout_seconds: u64,
}

/// The share of changes that update a reader made earlier (the rest create one).
const UPDATE_SHARE: f64 = 0.2;
/// The share of creations made in the network zone (linked into every member).
const ZONE_SHARE: f64 = 0.1;

/// Alma's misbehaviour during the run: the figures, plus answers lost
/// after a write was applied (which is what makes retries dangerous).
fn faults() -> Value {
    json!({
        "latency_ms": 50, "error_rate": 0.05, "drop_rate": 0.02, "throttle_rate": 0.01,
        "lost_reply_rate": 0.01, "webhook_duplicate_rate": 0.05
    })
}

/// One patron the run creates, and the last version of it asked for.
struct Patron {
    id: String,
    origin: &'static str,
    zone: bool,
    /// Versions completed so far at the origin: 1 after the creation.
    done: watch::Sender<u32>,
}

/// One librarian change.
#[derive(Debug, Clone, Copy)]
enum Change {
    Create { patron: usize },
    Update { patron: usize, version: u32 },
}

/// The changes to make, and the patrons they make.
struct Plan {
    patrons: Vec<Patron>,
    changes: Vec<Change>,
}

impl Plan {
    fn draw(events: usize, run: &str, rng: &mut StdRng) -> Self {
        let (mut patrons, mut changes): (Vec<Patron>, _) = (Vec::new(), Vec::with_capacity(events));
        let mut versions: Vec<u32> = Vec::new();
        for _ in 0..events {
            let members: Vec<usize> = (0..patrons.len()).filter(|&p| !patrons[p].zone).collect();
            if !members.is_empty() && rng.gen_bool(UPDATE_SHARE) {
                let patron = members[rng.gen_range(0..members.len())];
                versions[patron] += 1;
                changes.push(Change::Update {
                    patron,
                    version: versions[patron],
                });
                continue;
            }
            let zone = rng.gen_bool(ZONE_SHARE);
            let origin = match zone {
                true => demo::NETWORK_ZONE,
                false => demo::INSTITUTIONS[rng.gen_range(0..demo::INSTITUTIONS.len())],
            };
            changes.push(Change::Create {
                patron: patrons.len(),
            });
            patrons.push(Patron {
                id: format!("chaos-{run}-{}", patrons.len()),
                origin,
                zone,
                done: watch::channel(0).0,
            });
            versions.push(1);
        }
        Self { patrons, changes }
    }

    /// The newest version of each patron.
    fn newest(&self) -> Vec<u32> {
        let mut newest = vec![1; self.patrons.len()];
        for change in &self.changes {
            if let Change::Update { patron, version } = change {
                newest[*patron] = newest[*patron].max(*version);
            }
        }
        newest
    }
}

/// The sandbox process, `serve` (killed and restarted), and what they share.
struct Network {
    sandbox: Child,
    serve: tokio::sync::Mutex<Option<Child>>,
    sandbox_url: String,
    serve_url: String,
    listen: String,
    config: PathBuf,
    data: PathBuf,
    logs: PathBuf,
    http: reqwest::Client,
}

impl Network {
    async fn start(args: &ChaosArgs, folder: &Path) -> Result<Self, CliError> {
        let (port, sandbox_port) = (free_port()?, free_port()?);
        let listen = format!("127.0.0.1:{port}");
        let sandbox_url = format!("http://127.0.0.1:{sandbox_port}");
        let sandbox = Child::start(
            "sandbox",
            &[
                "sandbox",
                "--listen",
                &format!("127.0.0.1:{sandbox_port}"),
                "--webhook-listener",
                &format!("http://{listen}/webhooks/alma"),
                "--calls-per-second",
                &args.threshold.to_string(),
                // Alma delivers again for hours: here, until taken.
                "--webhook-attempts",
                "0",
                "--webhook-retry-ms",
                "250",
            ],
            &[],
            folder,
        )?;
        let config = folder.join("patron-hub.toml");
        std::fs::write(&config, config_text(&sandbox_url, args.calls_per_second))?;
        let network = Self {
            sandbox,
            serve: tokio::sync::Mutex::new(None),
            serve_url: format!("http://{listen}"),
            sandbox_url,
            listen,
            config,
            data: folder.join("data"),
            logs: folder.to_owned(),
            http: reqwest::Client::new(),
        };
        network
            .wait_ready(&format!("{}/sandbox/stats", network.sandbox_url))
            .await?;
        let faults = network
            .http
            .put(format!("{}/sandbox/faults", network.sandbox_url))
            .json(&faults())
            .send()
            .await?;
        if !faults.status().is_success() {
            return Err(format!("the sandbox refused the faults: {}", faults.status()).into());
        }
        network.start_serve().await?;
        Ok(network)
    }

    /// Starts `serve` on the data folder and waits until it answers.
    async fn start_serve(&self) -> Result<(), CliError> {
        let keys: Vec<(String, String)> = std::iter::once(demo::NETWORK_ZONE)
            .chain(demo::INSTITUTIONS)
            .map(|code| {
                (
                    format!("KEY_{code}"),
                    format!("{}{code}", demo::API_KEY_PREFIX),
                )
            })
            .collect();
        let mut envs: Vec<(&str, &str)> =
            keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        envs.push(("CHAOS_WEBHOOK_SECRETS", demo::WEBHOOK_SECRET));
        let serve = Child::start(
            "serve",
            &[
                "serve",
                "--listen",
                &self.listen,
                "--config",
                &self.config.to_string_lossy(),
                "--data",
                &self.data.to_string_lossy(),
            ],
            &envs,
            &self.logs,
        )?;
        *self.serve.lock().await = Some(serve);
        self.wait_ready(&format!("{}/healthz", self.serve_url))
            .await
    }

    /// SIGKILLs `serve` and starts it again on the same data folder.
    async fn kill_and_restart(&self) -> Result<(), CliError> {
        if let Some(mut serve) = self.serve.lock().await.take() {
            serve.kill();
        }
        self.start_serve().await
    }

    async fn wait_ready(&self, url: &str) -> Result<(), CliError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(answer) = self.http.get(url).send().await {
                if answer.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("{url} did not answer within 60 s").into())
    }

    /// A librarian change in the sandbox (its webhook goes out from there).
    async fn librarian(&self, patron: &Patron, change: Change) -> Result<(), CliError> {
        let base = format!("{}/sandbox/{}/users", self.sandbox_url, patron.origin);
        let request = match change {
            Change::Create { .. } => self.http.post(base).json(&reader(patron)),
            Change::Update { version, .. } => self
                .http
                .put(format!("{base}/{}", patron.id))
                .json(&json!({"last_name": format!("V{version}")})),
        };
        let answer = request.send().await?;
        if !answer.status().is_success() {
            let status = answer.status();
            return Err(format!("librarian {change:?}: {status} {}", answer.text().await?).into());
        }
        Ok(())
    }

    async fn sandbox_json(&self, path: &str) -> Result<Value, CliError> {
        let answer = self
            .http
            .get(format!("{}/sandbox/{path}", self.sandbox_url))
            .send()
            .await?;
        Ok(answer.error_for_status()?.json().await?)
    }
}

/// The configuration `serve` runs with: the demo network on the sandbox process.
fn config_text(sandbox: &str, calls_per_second: u32) -> String {
    let institution = |code: &str| {
        format!(
            "[[institutions]]\ncode = \"{code}\"\napi_base_url = \"{sandbox}\"\napi_key_env = \"KEY_{code}\"\ncalls_per_second = {calls_per_second}\n"
        )
    };
    format!(
        "alma_timeout_seconds = 5\n\n[network_zone]\ncode = \"{zone}\"\napi_base_url = \"{sandbox}\"\napi_key_env = \"KEY_{zone}\"\ncalls_per_second = {calls_per_second}\n\n{members}\n[webhook]\nsecrets_env = \"CHAOS_WEBHOOK_SECRETS\"\n",
        zone = demo::NETWORK_ZONE,
        members = demo::INSTITUTIONS.map(institution).join("\n"),
    )
}

/// The first version of a patron: an external reader, or a network-zone student.
fn reader(patron: &Patron) -> Value {
    let (category, group) = match patron.zone {
        true => ("Etudiant", "STUDENT"),
        false => ("Exterieur", "EXT"),
    };
    json!({
        "primary_id": patron.id, "first_name": "Chaos", "last_name": "V1",
        "job_category": {"value": category}, "user_group": {"value": group},
        "status": {"value": "ACTIVE"}, "expiry_date": "2031-06-30Z",
        "contact_info": {"email": [{"email_address": format!("{}@example.org", patron.id), "preferred": true}]}
    })
}

fn free_port() -> Result<u16, CliError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Runs the chaos benchmark and prints its figures (the eight first,
/// then the jobs applied, the most tries one took, and the run's settings);
/// fails when an effect was lost, duplicated or stale, or a job was dead-lettered.
pub async fn run(args: ChaosArgs) -> Result<(), CliError> {
    let folder = tempfile::tempdir()?;
    let seed = args.seed.unwrap_or_else(rand::random);
    let mut rng = StdRng::seed_from_u64(seed);
    let run_id = format!("{:08x}", rng.gen::<u32>());
    let plan = Plan::draw(args.events, &run_id, &mut rng);
    let network = Network::start(&args, folder.path()).await?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.timeout_seconds);

    let calm = AtomicBool::new(false);
    let kills = AtomicU64::new(0);
    let killer = async {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x6b696c6c);
        let span = args.kill_min_seconds..=args.kill_max_seconds.max(args.kill_min_seconds);
        while !calm.load(Ordering::SeqCst) {
            let pause = Duration::from_secs(rng.gen_range(span.clone()));
            let until = Instant::now() + pause;
            while Instant::now() < until && !calm.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if calm.load(Ordering::SeqCst) {
                break;
            }
            network.kill_and_restart().await?;
            kills.fetch_add(1, Ordering::SeqCst);
        }
        Ok::<(), CliError>(())
    };
    let store = SqliteStore::open(&database_path(&network.data), Arc::new(SystemClock))?;
    // The kills go on while changes are made and while the workers apply
    // them; only the last stretch of the drain is calm.
    let work = async {
        let result = async {
            make_changes(&network, &plan, &args).await?;
            let webhooks = wait_for_webhooks(&network, deadline).await?;
            drain(&store, Duration::ZERO, deadline).await?;
            Ok::<_, CliError>(webhooks)
        }
        .await;
        calm.store(true, Ordering::SeqCst);
        result
    };
    let (killed, made) = tokio::join!(killer, work);
    killed?;
    let webhooks = made?;
    drain(&store, Duration::from_secs(3), deadline).await?;
    if let Some(mut serve) = network.serve.lock().await.take() {
        serve.kill();
    }
    let found = check(&network, &plan, &store).await?;
    let figures = json!({
        "events_sent": plan.changes.len(),
        "deliveries": webhooks["attempts"],
        "kills": kills.load(Ordering::SeqCst),
        "lost": found.lost,
        "duplicated": found.duplicated,
        "stale": found.stale,
        "dead_letters": found.dead_letters,
        "jobs_applied": found.applied,
        "most_tries_of_a_job": found.most_tries,
        "wall_seconds": super::fanout::round(started.elapsed().as_secs_f64()),
        "seed": seed,
        "calls_per_second": args.calls_per_second,
        "sandbox_threshold": args.threshold,
        "faults": faults(),
    });
    drop(network.sandbox);
    println!("{figures}");
    match found.lost + found.duplicated + found.stale + found.dead_letters {
        0 => Ok(()),
        _ => Err(format!(
            "chaos: {} lost, {} duplicated, {} stale, {} dead letters (logs kept in {})",
            found.lost,
            found.duplicated,
            found.stale,
            found.dead_letters,
            folder.keep().display()
        )
        .into()),
    }
}

/// Makes every change at `rate` per second, `concurrency` at a time; an
/// update waits for the patron's previous version, so each patron's changes
/// keep their order.
async fn make_changes(network: &Network, plan: &Plan, args: &ChaosArgs) -> Result<(), CliError> {
    let start = tokio::time::Instant::now();
    let spacing = Duration::from_secs_f64(1.0 / args.rate.max(0.001));
    stream::iter(plan.changes.iter().copied().enumerate())
        .map(|(index, change)| async move {
            tokio::time::sleep_until(start + spacing.mul_f64(index as f64)).await;
            let (patron, version) = match change {
                Change::Create { patron } => (patron, 1),
                Change::Update { patron, version } => (patron, version),
            };
            let patron = &plan.patrons[patron];
            let mut done = patron.done.subscribe();
            done.wait_for(|done| *done + 1 == version).await?;
            network.librarian(patron, change).await?;
            // Alma's event times are milliseconds: two changes of one patron
            // never share one.
            tokio::time::sleep(Duration::from_millis(2)).await;
            patron.done.send_replace(version);
            Ok::<(), CliError>(())
        })
        .buffer_unordered(args.concurrency.max(1))
        .try_collect()
        .await
}

/// Waits until the sandbox has delivered every webhook; its summary.
async fn wait_for_webhooks(network: &Network, deadline: Instant) -> Result<Value, CliError> {
    loop {
        let summary = network.sandbox_json("webhooks/summary").await?;
        if summary["pending"] == 0 {
            return Ok(summary);
        }
        if Instant::now() > deadline {
            return Err(format!("webhooks still pending at the deadline: {summary}").into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until every institution's queue has stayed empty for `calm`.
async fn drain(store: &SqliteStore, calm: Duration, deadline: Instant) -> Result<(), CliError> {
    let institutions: Vec<InstitutionCode> = std::iter::once(demo::NETWORK_ZONE)
        .chain(demo::INSTITUTIONS)
        .map(InstitutionCode::parse)
        .collect::<Result<_, _>>()?;
    let mut empty_since: Option<Instant> = None;
    loop {
        let mut depth = 0;
        for institution in &institutions {
            depth += store.depth(institution).await?;
        }
        match (depth, empty_since) {
            (0, Some(since)) if since.elapsed() >= calm => return Ok(()),
            (0, None) => empty_since = Some(Instant::now()),
            (0, Some(_)) => {}
            _ => empty_since = None,
        }
        if Instant::now() > deadline {
            return Err(format!("{depth} jobs still queued at the deadline").into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// What the checks found.
struct Found {
    lost: usize,
    duplicated: usize,
    stale: usize,
    dead_letters: usize,
    /// Jobs applied, and the most tries one of them took.
    applied: usize,
    most_tries: u32,
}

/// Checks every expected effect: each patron present in every institution it
/// belongs in (a member's reader in every member, a zone patron in the zone
/// and every member), created there once and applied once per event, with
/// its newest version; and counts the dead letters.
async fn check(network: &Network, plan: &Plan, store: &SqliteStore) -> Result<Found, CliError> {
    let newest = plan.newest();
    let mut held: HashMap<&str, HashMap<String, Value>> = HashMap::new();
    for institution in std::iter::once(demo::NETWORK_ZONE).chain(demo::INSTITUTIONS) {
        let users = network
            .sandbox_json(&format!("{institution}/users"))
            .await?;
        let by_id = users
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|user| {
                Some((
                    user["primary_id"].as_str()?.to_owned(),
                    user["last_name"].clone(),
                ))
            })
            .collect();
        held.insert(institution, by_id);
    }
    let (mut lost, mut stale) = (0, 0);
    for (patron, newest) in plan.patrons.iter().zip(newest) {
        let expected = format!("V{newest}");
        let homes: Vec<&str> = match patron.zone {
            true => std::iter::once(demo::NETWORK_ZONE)
                .chain(demo::INSTITUTIONS)
                .collect(),
            false => demo::INSTITUTIONS.to_vec(),
        };
        for home in homes {
            match held[home].get(&patron.id) {
                None => lost += 1,
                Some(name) if *name != expected => stale += 1,
                Some(_) => {}
            }
        }
    }
    let ours: HashSet<&str> = plan.patrons.iter().map(|p| p.id.as_str()).collect();
    let stats = network.sandbox_json("stats").await?;
    let repeated_creations = stats["repeated_creations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["primary_id"].as_str().is_some_and(|id| ours.contains(id)))
        .count();
    let (mut applied_twice, mut all_applied, mut most_tries) = (0, 0, 0);
    for patron in &plan.patrons {
        let mut applied: BTreeMap<(String, String), u32> = BTreeMap::new();
        for outcome in store.outcomes(&PrimaryId::parse(&patron.id)?).await? {
            if outcome.status == OutcomeStatus::Applied {
                most_tries = most_tries.max(outcome.attempts);
                *applied
                    .entry((outcome.event_id, outcome.institution.to_string()))
                    .or_default() += 1;
            }
        }
        all_applied += applied.len();
        applied_twice += applied.values().filter(|count| **count > 1).count();
    }
    let mut dead_letters = 0;
    for institution in std::iter::once(demo::NETWORK_ZONE).chain(demo::INSTITUTIONS) {
        dead_letters += store
            .dead_letters(&InstitutionCode::parse(institution)?)
            .await?
            .len();
    }
    Ok(Found {
        lost,
        duplicated: repeated_creations + applied_twice,
        stale,
        dead_letters,
        applied: all_applied,
        most_tries,
    })
}
