//! `bench backfill` and `bench reconcile`: the go-live backfill's wall time
//! against its floor (its Alma calls at the run's share of each
//! institution's calls per second), and the reconcile's precision and recall
//! on injected drift, its repair, and a second run that finds nothing.

use super::fanout::round;
use crate::config::{demo, Runtime};
use crate::node::{reconciliation, run_client, LocalNode};
use crate::CliError;
use patron_hub_alma_sandbox::{spawn, RunningSandbox, SandboxConfig, Seed};
use patron_hub_domain::alma::AlmaUsers;
use patron_hub_domain::ports::JobQueue;
use patron_hub_domain::reconciliation::{
    DriftKind, Reconciliation, ReconciliationStore, Run, RunKind, RUN_SHARE,
};
use patron_hub_domain::{AlmaUser, InstitutionCode, PrimaryId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Options of `bench backfill`.
#[derive(Debug, clap::Args)]
pub struct BackfillArgs {
    /// Users to seed, spread evenly over the three member institutions.
    #[arg(long, default_value_t = 20_000)]
    pub users: u32,
    /// Calls per second of each institution's budget (the run takes half;
    /// raised from the production 20 so that the default run takes minutes).
    #[arg(long, default_value_t = 200)]
    pub calls_per_second: u32,
}

/// Options of `bench reconcile`.
#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// Distributed readers, alike in every member at first.
    #[arg(long, default_value_t = 3_000)]
    pub patrons: u32,
    /// The share of them given a difference (half missing in a member, half
    /// renamed in a member, which makes the two others stale).
    #[arg(long, default_value_t = 5.0)]
    pub drift_percent: f64,
    /// Calls per second of each institution's budget.
    #[arg(long, default_value_t = 200)]
    pub calls_per_second: u32,
    /// Seed of the drift drawn.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// A sandbox with the demo network at `calls_per_second` (its threshold a
/// quarter above), and a node on a fresh data folder.
struct Bench {
    sandbox: RunningSandbox,
    node: LocalNode,
    _data: TempDir,
}

impl Bench {
    async fn start(calls_per_second: u32) -> Result<Self, CliError> {
        let mut config = SandboxConfig::demo();
        config.calls_per_second = calls_per_second + calls_per_second / 4;
        let sandbox = spawn(config, "127.0.0.1:0").await?;
        let mut runtime = Runtime::demo(&sandbox.base_url);
        for institution in &mut runtime.alma {
            institution.calls_per_second = calls_per_second;
        }
        let data = tempfile::tempdir()?;
        let node = LocalNode::build(runtime, data.path(), "http://127.0.0.1:0")?;
        Ok(Self {
            sandbox,
            node,
            _data: data,
        })
    }

    fn reconciliation(&self) -> Result<Reconciliation, CliError> {
        let alma: Arc<dyn AlmaUsers> = Arc::new(run_client(&self.node.runtime)?);
        Ok(reconciliation(&self.node.runtime, &self.node.store, alma))
    }

    /// Seeds `count` users numbered from 1 in every institution of `codes`.
    fn seed(&self, codes: &[&str], count: u32, category: &str) -> Result<(), CliError> {
        for code in codes {
            let seed = Seed {
                prefix: "bench-".to_owned(),
                job_category: Some(category.to_owned()),
                user_group: Some("EXT".to_owned()),
                ..Seed::new(count)
            };
            self.sandbox
                .sandbox
                .seed(code, &seed)
                .map_err(|e| format!("seeding {code}: {e:?}"))?;
        }
        Ok(())
    }

    /// Runs the workers until every queue stays empty.
    async fn drain(&self) -> Result<(), CliError> {
        let workers = self.node.spawn_workers();
        loop {
            let mut depth = 0;
            for institution in self.node.runtime.network.institutions() {
                depth += self.node.store.depth(&institution).await?;
            }
            if depth == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for worker in workers {
            worker.abort();
        }
        Ok(())
    }
}

/// Runs `bench backfill` and prints its figures.
pub async fn backfill(args: BackfillArgs) -> Result<(), CliError> {
    let bench = Bench::start(args.calls_per_second).await?;
    let per_member = args.users / 3;
    for (i, code) in demo::INSTITUTIONS.iter().enumerate() {
        let seed = Seed {
            prefix: format!("bench{i}-"),
            ..Seed::new(per_member + u32::from(i == 0) * (args.users % 3))
        };
        bench
            .sandbox
            .sandbox
            .seed(code, &seed)
            .map_err(|e| format!("seeding {code}: {e:?}"))?;
    }
    let reconciliation = bench.reconciliation()?;
    let started = Instant::now();
    let run = reconciliation.start(RunKind::Backfill, false, None).await?;
    let run = reconciliation.finish(run, |_| ()).await?;
    let wall = started.elapsed().as_secs_f64();
    let pace = f64::from(args.calls_per_second) * RUN_SHARE;
    // Institutions are read one after the other, each at the run's share.
    let floor = run.counts.alma_calls as f64 / pace;
    println!(
        "{}",
        json!({
            "benchmark": "backfill",
            "users": args.users,
            "institutions": run.institutions.len(),
            "users_read": run.counts.users_read,
            "registry_entries_written": run.counts.registry_entries_written,
            "alma_calls": run.counts.alma_calls,
            "calls_per_second_of_the_run": pace,
            "floor_seconds": round(floor),
            "wall_seconds": round(wall),
            "ratio": round(wall / floor.max(f64::EPSILON)),
        })
    );
    Ok(())
}

/// Runs `bench reconcile` and prints its figures.
pub async fn reconcile(args: ReconcileArgs) -> Result<(), CliError> {
    let bench = Bench::start(args.calls_per_second).await?;
    bench.seed(&demo::INSTITUTIONS, args.patrons, "Exterieur")?;
    let reconciliation = bench.reconciliation()?;
    // patron-hub has been running: a first reconcile saw the readers in sync.
    let baseline = finished(&reconciliation, false).await?;
    let expected = inject_drift(&bench, &args).await?;

    let started = Instant::now();
    let dry = finished(&reconciliation, true).await?;
    let dry_seconds = started.elapsed().as_secs_f64();
    let found = differences(&bench, &dry).await?;
    let right = found.intersection(&expected).count() as f64;
    let precision = right / (found.len() as f64).max(1.0);
    let recall = right / (expected.len() as f64).max(1.0);

    let repair = finished(&reconciliation, false).await?;
    bench.drain().await?;
    let mut dead_letters = 0;
    for institution in bench.node.runtime.network.institutions() {
        dead_letters += bench.node.store.dead_letters(&institution).await?.len();
    }
    let second = finished(&reconciliation, false).await?;
    println!(
        "{}",
        json!({
            "benchmark": "reconcile",
            "patrons": args.patrons,
            "drift_percent": args.drift_percent,
            "baseline_jobs_queued": baseline.counts.jobs_queued,
            "injected": expected.len(),
            "found_by_dry_run": found.len(),
            "precision": round(precision),
            "recall": round(recall),
            "dry_run_alma_calls": dry.counts.alma_calls,
            "dry_run_seconds": round(dry_seconds),
            "repair_jobs_queued": repair.counts.jobs_queued,
            "dead_letters_after_repair": dead_letters,
            "second_run_found": second.counts.missing + second.counts.stale + second.counts.unlinked,
            "second_run_jobs_queued": second.counts.jobs_queued,
        })
    );
    Ok(())
}

/// A reconcile run, to its end.
async fn finished(reconciliation: &Reconciliation, dry_run: bool) -> Result<Run, CliError> {
    let run = reconciliation
        .start(RunKind::Reconcile, dry_run, None)
        .await?;
    Ok(reconciliation.finish(run, |_| ()).await?)
}

/// One expected or found difference.
type Found = (String, String, &'static str);

/// Makes `drift_percent` of the patrons differ: half deleted from one
/// member (missing there), half renamed in one member through the API (the
/// two others stale); the differences a reconcile should find.
async fn inject_drift(bench: &Bench, args: &ReconcileArgs) -> Result<BTreeSet<Found>, CliError> {
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut expected = BTreeSet::new();
    let drifting =
        ((f64::from(args.patrons) * args.drift_percent / 100.0).round() as u32).min(args.patrons);
    let mut chosen: Vec<u32> = (1..=args.patrons).collect();
    for i in 0..drifting as usize {
        let j = rng.gen_range(i..chosen.len());
        chosen.swap(i, j);
    }
    for (n, number) in chosen.iter().take(drifting as usize).enumerate() {
        let id = format!("bench-{number:07}");
        let member = demo::INSTITUTIONS[rng.gen_range(0..3)];
        let code = InstitutionCode::parse(member)?;
        let primary_id = PrimaryId::parse(&id)?;
        if n % 2 == 0 {
            bench.node.alma.delete_user(&code, &primary_id).await?;
            expected.insert((id, member.to_owned(), DriftKind::Missing.as_str()));
        } else {
            let mut user: AlmaUser = bench.node.alma.get_user(&code, &primary_id).await?;
            user.0.insert("last_name".to_owned(), json!("Drifted"));
            bench
                .node
                .alma
                .update_user(&code, &primary_id, &user)
                .await?;
            for other in demo::INSTITUTIONS.iter().filter(|other| **other != member) {
                expected.insert((id.clone(), (*other).to_owned(), DriftKind::Stale.as_str()));
            }
        }
    }
    Ok(expected)
}

/// Every difference a run found.
async fn differences(bench: &Bench, run: &Run) -> Result<BTreeSet<Found>, CliError> {
    let mut found = BTreeSet::new();
    let mut after: Option<(PrimaryId, InstitutionCode, DriftKind)> = None;
    loop {
        let page = bench
            .node
            .store
            .differences(&run.id, after.as_ref().map(|(p, i, k)| (p, i, *k)), 1000)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some((last.primary_id.clone(), last.institution.clone(), last.kind));
        found.extend(page.into_iter().map(|d| {
            (
                d.primary_id.as_str().to_owned(),
                d.institution.as_str().to_owned(),
                d.kind.as_str(),
            )
        }));
    }
    Ok(found)
}
