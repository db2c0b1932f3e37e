//! `patron-hub bench`: benchmarks that print their figures as a last line of
//! JSON. They run a real local node (SQLite, workers, Alma client) against the
//! real sandbox over loopback; nothing is simulated but Alma itself.

mod chaos;
mod cold_start;
mod console_search;
mod fanout;
mod import;
mod password_reset;
mod process;
mod reconciliation;
mod registration_status;
mod rollover;
mod timing;
mod webhook;

use crate::config::Runtime;
use crate::node::LocalNode;
use crate::CliError;
use chrono::{NaiveDate, Utc};
use patron_hub_domain::accounts::{
    Account, AccountId, AccountState, Email, Language, PersonName, UserName,
};
use std::net::SocketAddr;
use tempfile::TempDir;

/// The benchmarks.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Distribute N external patrons from DEMO_A to DEMO_B and DEMO_C.
    Fanout(fanout::FanoutArgs),
    /// Send N signed webhooks to the receiver and time the answers.
    Webhook(webhook::WebhookArgs),
    /// Import N accounts from an .xlsx file, invitations included.
    Import(import::ImportArgs),
    /// Run the daily rollover over many organizations and accounts, 1 % due.
    Rollover(rollover::RolloverArgs),
    /// Query registration status N times against a registry of many patrons.
    RegistrationStatus(registration_status::RegistrationStatusArgs),
    /// Time N staff console searches over 3 institutions with injected Alma latency.
    ConsoleSearch(console_search::ConsoleSearchArgs),
    /// Compare forgotten-password answers for existing accounts and unknown addresses.
    PasswordReset(password_reset::PasswordResetArgs),
    /// Make N librarian changes while `serve` is SIGKILLed and Alma misbehaves,
    /// then check every effect in every institution.
    Chaos(chaos::ChaosArgs),
    /// Backfill the registry from N users over three institutions: wall time
    /// against the floor of its Alma calls at the run's pace.
    Backfill(reconciliation::BackfillArgs),
    /// Reconcile N readers with injected drift: precision and recall of the
    /// dry run, the repair, and a second run that finds nothing.
    Reconcile(reconciliation::ReconcileArgs),
    /// Start each Lambda function binary as Lambda does (Runtime API on
    /// loopback, AWS on moto): time to its first answer and its peak RSS.
    ColdStart(cold_start::ColdStartArgs),
}

/// Runs one benchmark.
pub async fn run(command: BenchCommand) -> Result<(), CliError> {
    match command {
        BenchCommand::Fanout(args) => fanout::run(args).await,
        BenchCommand::Webhook(args) => webhook::run(args).await,
        BenchCommand::Import(args) => import::run(args).await,
        BenchCommand::RegistrationStatus(args) => registration_status::run(args).await,
        BenchCommand::Rollover(args) => rollover::run(args).await,
        BenchCommand::ConsoleSearch(args) => console_search::run(args).await,
        BenchCommand::PasswordReset(args) => password_reset::run(args).await,
        BenchCommand::Chaos(args) => chaos::run(args).await,
        BenchCommand::Backfill(args) => reconciliation::backfill(args).await,
        BenchCommand::Reconcile(args) => reconciliation::reconcile(args).await,
        BenchCommand::ColdStart(args) => cold_start::run(args).await,
    }
}

/// A node on a fresh data folder, serving its routes on a free loopback port.
struct BenchNode {
    node: LocalNode,
    address: SocketAddr,
    _data: TempDir,
}

impl BenchNode {
    async fn start(runtime: Runtime, listener: tokio::net::TcpListener) -> Result<Self, CliError> {
        let data = tempfile::tempdir()?;
        let address = listener.local_addr()?;
        let node = LocalNode::build(runtime, data.path(), &format!("http://{address}"))?;
        let router = node.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Ok(Self {
            node,
            address,
            _data: data,
        })
    }

    fn webhook_url(&self) -> String {
        format!("http://{}/webhooks/alma", self.address)
    }
}

/// The active account `n` of a benchmark: `bench-{n}`, `bench-{n}@bench.example.org`.
pub(super) fn bench_account(n: usize, expires_on: Option<NaiveDate>) -> Account {
    let name = |text: &str| PersonName::parse("name", text).expect("a valid name");
    Account {
        id: AccountId::new(),
        user_name: UserName::parse(&format!("bench-{n}")).expect("a valid user name"),
        email: Email::parse(&format!("bench-{n}@bench.example.org")).expect("a valid e-mail"),
        first_name: name("Bench"),
        last_name: name("Member"),
        department: None,
        department_roles: Vec::new(),
        paid: false,
        state: AccountState::Active,
        expires_on,
        network_roles: Default::default(),
        password_hash: None,
        language: Language::Fr,
        created_at: Utc::now(),
        last_seen_at: None,
        password_changed_at: None,
        version: 1,
    }
}
