//! The `patron-hub` command: the local server (`serve`), the Alma sandbox on its
//! own (`sandbox`), operator commands (`dead-letters`, `backfill`,
//! `reconcile`, …) and the benchmarks (`bench`). Wiring only: every rule lives in the domain crate.

mod admin;
mod bench;
mod client_key;
mod config;
mod dead_letters;
mod http_server;
mod import_users;
mod node;
mod prometheus;
mod reconcile;
mod rollover;
mod sandbox;
mod serve;
mod served_network;
mod status;

use clap::{Parser, Subcommand};

/// Any failure of a command, printed once by `main`.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(
    name = "patron-hub",
    version,
    about = "Keeps library patron accounts consistent across an Alma network"
)]
struct Cli {
    /// Log format: `text` for people, `json` for log collectors.
    #[arg(
        long,
        global = true,
        default_value = "text",
        env = "PATRON_HUB_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run every route, the workers, and (without --config) the demo Alma sandbox.
    Serve(serve::ServeArgs),
    /// Run only the Alma sandbox, for tests and experiments.
    Sandbox(sandbox::SandboxArgs),
    /// Create a super administrator and print a one-time set-password link.
    CreateAdmin(admin::CreateAdminArgs),
    /// Create accounts from an .xlsx file, all or nothing, each sent an invitation.
    ImportUsers(import_users::ImportUsersArgs),
    /// Make an API key for a client system of the registration API.
    ClientKey(client_key::ClientKeyArgs),
    /// List or replay the jobs that were given up.
    #[command(subcommand)]
    DeadLetters(dead_letters::DeadLettersCommand),
    /// Run the daily membership rollover now (or for --date), or only count with --dry-run.
    Rollover(rollover::RolloverArgs),
    /// Read every user of every institution into the patron registry, as
    /// webhooks would have (resumes a backfill that was stopped).
    Backfill(reconcile::RunArgs),
    /// Find the distributed readers missing, stale or unlinked in a member,
    /// and repair them through ordinary distribution jobs.
    Reconcile(reconcile::ReconcileArgs),
    /// Each institution's queue depth and dead letters, and the latest
    /// backfill and reconcile (`--json` for one JSON object).
    Status(status::StatusArgs),
    /// Measure throughput and latency against the sandbox.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Sandbox(args) => sandbox::run(args).await,
        Command::CreateAdmin(args) => admin::run(args).await,
        Command::ClientKey(args) => client_key::run(args).await,
        Command::DeadLetters(command) => dead_letters::run(command).await,
        Command::ImportUsers(args) => import_users::run(args).await,
        Command::Rollover(args) => rollover::run(args).await,
        Command::Backfill(args) => reconcile::backfill(args).await,
        Command::Reconcile(args) => reconcile::reconcile(args).await,
        Command::Status(args) => status::run(args).await,
        Command::Bench(command) => bench::run(command).await,
    };
    if let Err(error) = result {
        eprintln!("patron-hub: {error}");
        std::process::exit(1);
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
