//! `patron-hub import-users FILE.xlsx`: the bulk import from the command line,
//! with a progress bar, all or nothing, invitations instead of passwords.

use crate::config::{Runtime, Settings};
use crate::node::LocalNode;
use crate::CliError;
use patron_hub_domain::accounts::{
    AccountError, AccountStore, ImportProgress, NetworkRole, UserName,
};
use patron_hub_http::accounts::spreadsheet::import_rows_within;
use std::io::Write;
use std::path::PathBuf;

/// Options of `import-users`.
#[derive(Debug, clap::Args)]
pub struct ImportUsersArgs {
    /// The `.xlsx` file (columns user_name, nom, prenom, email, roles, dept).
    pub file: PathBuf,
    /// The super administrator the import is made as.
    #[arg(long = "as", default_value = "admin")]
    pub as_admin: String,
    /// The data folder of the server.
    #[arg(long, default_value = "./.patron-hub")]
    pub data: PathBuf,
    /// The server's configuration; the demo network without it.
    #[arg(long, env = "PATRON_HUB_CONFIG")]
    pub config: Option<PathBuf>,
    /// The address invitation links start with when the configuration does not say.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub public_base_url: String,
}

/// Imports the file, or prints every `Line N: ...` error and creates nothing.
pub async fn run(args: ImportUsersArgs) -> Result<(), CliError> {
    let runtime = match &args.config {
        Some(path) => Settings::load(path)?.resolve(|name| std::env::var(name).ok())?,
        None => Runtime::demo("http://unused"),
    };
    let node = LocalNode::build(runtime, &args.data, &args.public_base_url)?;
    let admin = AccountStore::find_by_user_name(&node.store, &UserName::parse(&args.as_admin)?)
        .await?
        .filter(|a| a.has_role(NetworkRole::SuperAdmin))
        .ok_or_else(|| format!("{} is not a super administrator", args.as_admin))?;
    let bytes = std::fs::read(&args.file)?;
    let rows = match import_rows_within(&bytes, node.accounts.settings().import_limits) {
        Ok(rows) => rows,
        Err(problems) => return Err(rejected(&problems)),
    };
    eprintln!("{} rows read from {}", rows.len(), args.file.display());
    match node.accounts.import_reporting(&admin, rows, &draw).await {
        Ok(accounts) => {
            eprintln!();
            println!(
                "{} accounts created; each was sent an invitation",
                accounts.len()
            );
            Ok(())
        }
        Err(AccountError::ImportRejected(problems)) => Err(rejected(&problems)),
        Err(error) => Err(error.into()),
    }
}

fn rejected(problems: &[String]) -> CliError {
    for problem in problems {
        eprintln!("{problem}");
    }
    format!(
        "import rejected with {} error(s); nothing was created",
        problems.len()
    )
    .into()
}

/// A one-line progress bar on standard error.
fn draw(progress: ImportProgress) {
    let line = match progress {
        ImportProgress::Validated { rows } => format!("validated {rows} rows"),
        ImportProgress::Created { accounts } => format!("created {accounts} accounts"),
        ImportProgress::Invited { done, total } => {
            let filled = (done * 30).checked_div(total).unwrap_or(30);
            format!(
                "invitations [{}{}] {done}/{total}",
                "#".repeat(filled),
                "-".repeat(30 - filled)
            )
        }
    };
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r{line:<60}");
    let _ = err.flush();
}
