//! `patron-hub rollover [--date D] [--dry-run]`: the daily membership rollover
//! on demand (`serve` runs it every day by itself): club windows move forward
//! a year when due, expired accounts become inactive, stale staging records
//! and expired tokens are purged. Prints the summary as JSON.

use crate::config::{Runtime, Settings};
use crate::node::LocalNode;
use crate::CliError;
use chrono::{NaiveDate, Utc};
use std::path::PathBuf;

/// Options of `rollover`.
#[derive(Debug, clap::Args)]
pub struct RolloverArgs {
    /// The day to run for (YYYY-MM-DD); today (UTC) by default.
    #[arg(long)]
    pub date: Option<NaiveDate>,
    /// Count what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The data folder of the server.
    #[arg(long, default_value = "./.patron-hub")]
    pub data: PathBuf,
    /// The server's configuration; the demo network without it.
    #[arg(long, env = "PATRON_HUB_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Runs the rollover once and prints its summary.
pub async fn run(args: RolloverArgs) -> Result<(), CliError> {
    let runtime = match &args.config {
        Some(path) => Settings::load(path)?.resolve(|name| std::env::var(name).ok())?,
        None => Runtime::demo("http://unused"),
    };
    let node = LocalNode::build(runtime, &args.data, "http://unused")?;
    let date = args.date.unwrap_or_else(|| Utc::now().date_naive());
    let summary = node.rollover().run(date, args.dry_run).await?;
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}
