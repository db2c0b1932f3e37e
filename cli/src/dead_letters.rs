//! `patron-hub dead-letters list|replay`: the operator's view of jobs that were
//! given up, and the way to run them again once the cause is fixed.

use crate::config::{Runtime, Settings};
use crate::node::database_path;
use crate::CliError;
use patron_hub_domain::ports::JobQueue;
use patron_hub_domain::{InstitutionCode, SystemClock};
use patron_hub_store_sqlite::SqliteStore;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the dead letters are.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// The data folder of the server.
    #[arg(long, default_value = "./.patron-hub")]
    pub data: PathBuf,
    /// The server's configuration (for its institutions); the demo network without it.
    #[arg(long, env = "PATRON_HUB_CONFIG")]
    pub config: Option<PathBuf>,
    /// Only this institution.
    #[arg(long)]
    pub institution: Option<InstitutionCode>,
}

/// The dead-letter commands.
#[derive(Debug, clap::Subcommand)]
pub enum DeadLettersCommand {
    /// Print every dead letter as one JSON line.
    List(StoreArgs),
    /// Put dead letters back on their queues.
    Replay {
        #[command(flatten)]
        store: StoreArgs,
        /// The dead letter to replay (with --institution).
        #[arg(long, conflicts_with = "all")]
        id: Option<String>,
        /// Replay every dead letter (of --institution, or of all).
        #[arg(long)]
        all: bool,
    },
}

/// Runs a dead-letter command against the local store.
pub async fn run(command: DeadLettersCommand) -> Result<(), CliError> {
    match command {
        DeadLettersCommand::List(args) => {
            let (store, institutions) = open(&args)?;
            for institution in institutions {
                for letter in store.dead_letters(&institution).await? {
                    let line = json!({
                        "id": letter.id, "institution": institution, "event_id": letter.job.event_id,
                        "action": letter.job.action, "primary_id": letter.job.primary_id,
                        "code": letter.reason.code, "message": letter.reason.message,
                        "attempts": letter.attempts, "dead_at": letter.dead_at,
                    });
                    println!("{line}");
                }
            }
            Ok(())
        }
        DeadLettersCommand::Replay {
            store: args,
            id,
            all,
        } => {
            let (store, institutions) = open(&args)?;
            let mut replayed = 0;
            match (id, all) {
                (Some(id), false) => {
                    let [institution] = institutions.as_slice() else {
                        return Err("--id needs --institution".into());
                    };
                    if !store.replay(institution, &id).await? {
                        return Err(format!("no dead letter {id} in {institution}").into());
                    }
                    replayed += 1;
                }
                (None, true) => {
                    for institution in &institutions {
                        for letter in store.dead_letters(institution).await? {
                            replayed += usize::from(store.replay(institution, &letter.id).await?);
                        }
                    }
                }
                _ => return Err("say --id ID --institution CODE, or --all".into()),
            }
            println!("{}", json!({ "replayed": replayed }));
            Ok(())
        }
    }
}

fn open(args: &StoreArgs) -> Result<(SqliteStore, Vec<InstitutionCode>), CliError> {
    // The network zone has a queue too (the console's actions on its records).
    let everywhere = match &args.config {
        Some(path) => Settings::load(path)?.network(),
        None => Runtime::demo("http://unused").network,
    }
    .institutions();
    let institutions = match &args.institution {
        Some(one) if everywhere.contains(one) => vec![one.clone()],
        Some(one) => return Err(format!("{one} is not an institution of this network").into()),
        None => everywhere,
    };
    let store = SqliteStore::open(&database_path(&args.data), Arc::new(SystemClock))?;
    Ok((store, institutions))
}
