//! `patron-hub backfill` and `patron-hub reconcile`: read the network as it
//! is into the patron registry, or find and repair the distributed readers
//! that differ between members. Both run beside a running `serve` on the
//! same data folder, resume where a killed run stopped, and take half of each
//! institution's Alma budget while they run (`serve`'s workers see the run's
//! fresh checkpoint and keep to the other half).

use crate::node::{database_path, reconciliation, run_client};
use crate::served_network::runtime_for;
use crate::CliError;
use patron_hub_domain::alma::{AlmaUsers, PageSize, SearchField, UserQuery, UserSearch};
use patron_hub_domain::reconciliation::{
    Begun, Difference, ReconcileError, Reconciliation, ReconciliationStore, Run, RunKind,
};
use patron_hub_domain::{InstitutionCode, SystemClock};
use patron_hub_store_sqlite::SqliteStore;
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Options shared by both commands.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Only this institution (backfill: read only it; reconcile: repair only it).
    #[arg(long)]
    pub institution: Option<InstitutionCode>,
    /// The data folder of the `serve` this runs beside.
    #[arg(long, default_value = "./.patron-hub")]
    pub data: PathBuf,
    /// The network's configuration; without it, the one the `serve` using
    /// the data folder recorded.
    #[arg(long, env = "PATRON_HUB_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Options of `reconcile`.
#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Find the differences without writing anything anywhere (Alma, queues,
    /// registry) but the drift report.
    #[arg(long)]
    pub dry_run: bool,
    /// Where to write the drift report: `.csv` for CSV, anything else JSON
    /// (default: `<data>/reports/<run id>.json`).
    #[arg(long)]
    pub report: Option<PathBuf>,
}

/// Runs `patron-hub backfill`: resumes an unfinished backfill, else starts one.
pub async fn backfill(args: RunArgs) -> Result<(), CliError> {
    let job = Job::open(&args)?;
    // An operator's command takes over an unfinished backfill of the same
    // institutions even while its checkpoint is fresh: the process that
    // moved it was most likely the one just stopped.
    let run = match job
        .reconciliation
        .begin(RunKind::Backfill, false, args.institution.clone())
        .await?
    {
        Begun::Started(run) => run,
        Begun::Resumed(run) | Begun::AlreadyRunning(run) => {
            eprintln!("resuming backfill {} at {:?}", run.id, run.position);
            run
        }
    };
    let started = Instant::now();
    let expected = job.expected_users(&run, &[]).await?;
    let run = job.drive(run, expected).await?;
    let line = json!({
        "institutions": run.institutions.len(),
        "users_read": run.counts.users_read,
        "registry_entries_written": run.counts.registry_entries_written,
        "alma_calls": run.counts.alma_calls,
        "seconds": seconds(started),
        "run": run.id,
    });
    println!("{line}");
    Ok(())
}

/// Runs `patron-hub reconcile`: a new run, to the end, then its drift report.
pub async fn reconcile(args: ReconcileArgs) -> Result<(), CliError> {
    let job = Job::open(&args.run)?;
    let run = job
        .reconciliation
        .start(
            RunKind::Reconcile,
            args.dry_run,
            args.run.institution.clone(),
        )
        .await?;
    let started = Instant::now();
    let expected = job.expected_users(&run, &job.categories).await?;
    let run = job.drive(run, expected).await?;
    let report = args.report.clone().unwrap_or_else(|| {
        args.run
            .data
            .join("reports")
            .join(format!("{}.json", run.id))
    });
    write_report(&job.store, &run, &report).await?;
    eprintln!("drift report: {}", report.display());
    let line = json!({
        "checked": run.counts.checked,
        "missing": run.counts.missing,
        "stale": run.counts.stale,
        "unlinked": run.counts.unlinked,
        "jobs_queued": run.counts.jobs_queued,
        "dry_run": run.dry_run,
        "alma_calls": run.counts.alma_calls,
        "seconds": seconds(started),
        "run": run.id,
    });
    println!("{line}");
    Ok(())
}

/// A run's parts: the use case, and what the progress line and report read.
struct Job {
    reconciliation: Reconciliation,
    store: SqliteStore,
    alma: Arc<dyn AlmaUsers>,
    categories: Vec<String>,
}

impl Job {
    /// The network of `args`, the store of its data folder, and an Alma
    /// client at `RUN_SHARE` of each institution's calls per second.
    fn open(args: &RunArgs) -> Result<Self, CliError> {
        let runtime = runtime_for(&args.data, args.config.as_deref())?;
        let store = SqliteStore::open(&database_path(&args.data), Arc::new(SystemClock))?;
        let alma: Arc<dyn AlmaUsers> = Arc::new(run_client(&runtime)?);
        Ok(Self {
            reconciliation: reconciliation(&runtime, &store, alma.clone()),
            store,
            alma,
            categories: runtime.routing.distributed_job_categories.clone(),
        })
    }

    /// How many users the run will read, for the progress line: one `limit=0`
    /// call per list (Alma answers only the count).
    async fn expected_users(&self, run: &Run, categories: &[String]) -> Result<u64, CliError> {
        let mut expected = 0;
        let counting = |search: Option<UserSearch>| UserQuery {
            search,
            order_by: None,
            limit: PageSize::new(0).unwrap_or(PageSize::MAX),
            offset: 0,
        };
        for institution in &run.institutions {
            let searches: Vec<Option<UserSearch>> = match categories.is_empty() {
                true => vec![None],
                false => categories
                    .iter()
                    .map(|c| UserSearch::new(SearchField::JobCategory, c))
                    .collect(),
            };
            for search in searches {
                let page = self.alma.list_users(institution, &counting(search)).await?;
                expected += page.total_record_count;
            }
        }
        Ok(expected)
    }

    /// Moves the run to its end, with a progress line on a terminal.
    async fn drive(&self, run: Run, expected: u64) -> Result<Run, CliError> {
        let progress = Progress::new(expected, run.counts.users_read);
        let run = match self
            .reconciliation
            .finish(run, |run| progress.show(run))
            .await
        {
            Ok(run) => run,
            Err(ReconcileError::Overtaken) => {
                return Err("another process moved this run forward: stopping".into())
            }
            Err(error) => return Err(error.into()),
        };
        progress.done();
        Ok(run)
    }
}

/// `serve`'s nightly reconcile: a run to its end, then its drift report
/// under `reports`.
pub async fn nightly(
    reconciliation: &Reconciliation,
    store: &SqliteStore,
    reports: &Path,
) -> Result<Run, CliError> {
    let run = reconciliation
        .start(RunKind::Reconcile, false, None)
        .await?;
    let run = reconciliation.finish(run, |_| ()).await?;
    write_report(store, &run, &reports.join(format!("{}.json", run.id))).await?;
    Ok(run)
}

/// Writes a run's differences to `path`: CSV for a `.csv` path, else JSON
/// (the run with its figures, and the differences).
pub async fn write_report(store: &SqliteStore, run: &Run, path: &Path) -> Result<(), CliError> {
    let mut differences = Vec::new();
    loop {
        let after = differences
            .last()
            .map(|d: &Difference| (&d.primary_id, &d.institution, d.kind));
        let page = store.differences(&run.id, after, 1000).await?;
        if page.is_empty() {
            break;
        }
        differences.extend(page);
    }
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let text = match path.extension().is_some_and(|ext| ext == "csv") {
        true => {
            let mut text =
                "primary_id,institution,kind,newest_in,newest_modified,queued\n".to_owned();
            for d in &differences {
                text.push_str(&format!(
                    "{},{},{},{},{},{}\n",
                    csv_field(d.primary_id.as_str()),
                    d.institution,
                    d.kind.as_str(),
                    d.newest_in,
                    d.newest_modified
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default(),
                    d.queued
                ));
            }
            text
        }
        false => serde_json::to_string_pretty(&json!({"run": run, "differences": differences}))?,
    };
    std::fs::write(path, text)?;
    Ok(())
}

/// A CSV field, quoted when it must be.
fn csv_field(text: &str) -> String {
    match text.contains([',', '"', '\n']) {
        true => format!("\"{}\"", text.replace('"', "\"\"")),
        false => text.to_owned(),
    }
}

fn seconds(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

/// A one-line progress bar with an ETA on standard error, when it is a terminal.
struct Progress {
    expected: u64,
    first: u64,
    started: Instant,
    terminal: bool,
}

impl Progress {
    fn new(expected: u64, already: u64) -> Self {
        Self {
            expected,
            first: already,
            started: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn show(&self, run: &Run) {
        if !self.terminal {
            return;
        }
        let done = run.counts.users_read;
        let rate = (done.saturating_sub(self.first)) as f64
            / self.started.elapsed().as_secs_f64().max(0.001);
        let left = self.expected.saturating_sub(done);
        let eta = match rate > 0.0 {
            true => format!("{:.0} s", left as f64 / rate),
            false => "?".to_owned(),
        };
        let filled = (done * 30).checked_div(self.expected).unwrap_or(30).min(30) as usize;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{} [{}{}] {done}/{} users, {} Alma calls, ETA {eta}   ",
            run.kind.as_str(),
            "#".repeat(filled),
            "-".repeat(30 - filled),
            self.expected,
            run.counts.alma_calls,
        );
        let _ = err.flush();
    }

    fn done(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}
