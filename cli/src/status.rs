//! `patron-hub status`: for each institution, how many jobs wait on its queue,
//! how long the oldest has waited and how many were given up, with the latest
//! backfill and reconcile; as a
//! table, or as JSON with `--json`. It reads the data folder of a running (or
//! stopped) `serve`, whose network it finds there.

use crate::node::database_path;
use crate::served_network::runtime_for;
use crate::CliError;
use patron_hub_domain::ports::{JobQueue, QueueAge};
use patron_hub_domain::reconciliation::{ReconciliationStore, Run, RunKind};
use patron_hub_domain::SystemClock;
use patron_hub_store_sqlite::SqliteStore;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

/// Options of `status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The data folder of the `serve` to look at.
    #[arg(long, default_value = "./.patron-hub")]
    pub data: PathBuf,
    /// The network's configuration; without it, the one `serve` recorded.
    #[arg(long, env = "PATRON_HUB_CONFIG")]
    pub config: Option<PathBuf>,
    /// One JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Prints the status.
pub async fn run(args: StatusArgs) -> Result<(), CliError> {
    let runtime = runtime_for(&args.data, args.config.as_deref())?;
    let store = SqliteStore::open(&database_path(&args.data), Arc::new(SystemClock))?;
    let mut institutions = Vec::new();
    for institution in runtime.network.institutions() {
        institutions.push(json!({
            "institution": institution,
            "queue_depth": store.depth(&institution).await?,
            "oldest_job_age_seconds": age_seconds(store.oldest_job_age(&institution).await?),
            "dead_letters": store.dead_letters(&institution).await?.len(),
        }));
    }
    let latest = |kind| {
        let store = store.clone();
        async move {
            let run = store.recent_runs(kind, 1).await?.into_iter().next();
            Ok::<_, CliError>(run.as_ref().map(summary).unwrap_or(Value::Null))
        }
    };
    let status = json!({
        "institutions": institutions,
        "backfill": latest(RunKind::Backfill).await?,
        "reconcile": latest(RunKind::Reconcile).await?,
    });
    if args.json {
        println!("{status}");
        return Ok(());
    }
    println!(
        "{:<20} {:>12} {:>16} {:>13}",
        "institution", "queue depth", "oldest job (s)", "dead letters"
    );
    for row in &institutions {
        println!(
            "{:<20} {:>12} {:>16} {:>13}",
            row["institution"].as_str().unwrap_or_default(),
            row["queue_depth"],
            row["oldest_job_age_seconds"],
            row["dead_letters"]
        );
    }
    for kind in ["backfill", "reconcile"] {
        match &status[kind] {
            Value::Null => println!("last {kind}: none"),
            run => println!("last {kind}: {run}"),
        }
    }
    Ok(())
}

/// The oldest job's wait in whole seconds: 0 for an empty queue (the local
/// store always measures it).
fn age_seconds(age: QueueAge) -> Value {
    match age {
        QueueAge::Empty => json!(0),
        QueueAge::Oldest(waited) => json!(waited.as_secs()),
        QueueAge::MeasuredElsewhere => Value::Null,
    }
}

/// What the status shows of a run.
fn summary(run: &Run) -> Value {
    json!({
        "id": run.id,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "dry_run": run.dry_run,
        "users_read": run.counts.users_read,
        "checked": run.counts.checked,
        "missing": run.counts.missing,
        "stale": run.counts.stale,
        "unlinked": run.counts.unlinked,
        "jobs_queued": run.counts.jobs_queued,
        "alma_calls": run.counts.alma_calls,
    })
}
