//! `bench import`: a bulk import of N accounts from a real `.xlsx` file into a
//! fresh SQLite store, invitations included (goal: 5,000 rows in under 60 s).

use super::fanout::round;
use crate::config::Runtime;
use crate::node::LocalNode;
use crate::CliError;
use patron_hub_domain::accounts::{AccountStore, UserName, DEMO_ADMIN_USER_NAME};
use patron_hub_http::accounts::spreadsheet::{import_rows, COLUMNS};
use rust_xlsxwriter::Workbook;
use serde_json::json;
use std::time::Instant;

/// Options of `bench import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// How many accounts the file holds.
    #[arg(long, default_value_t = 5000)]
    pub rows: usize,
}

/// Runs the import benchmark and prints its figures.
pub async fn run(args: ImportArgs) -> Result<(), CliError> {
    let data = tempfile::tempdir()?;
    let node = LocalNode::build(
        Runtime::demo("http://unused"),
        data.path(),
        "http://127.0.0.1:8080",
    )?;
    node.accounts
        .ensure_demo_admin(Some("bench administrator passphrase".to_owned()))
        .await?;
    let admin =
        AccountStore::find_by_user_name(&node.store, &UserName::parse(DEMO_ADMIN_USER_NAME)?)
            .await?
            .ok_or("the demo administrator is missing")?;
    let file = spreadsheet(args.rows)?;

    let started = Instant::now();
    let rows = import_rows(&file).map_err(|problems| problems.join("; "))?;
    let read = started.elapsed().as_secs_f64();
    let accounts = node.accounts.import(&admin, rows).await?;
    let wall = started.elapsed().as_secs_f64();
    let mails = std::fs::read_dir(data.path().join("outbox"))?.count();
    println!(
        "{}",
        json!({
            "benchmark": "import",
            "rows": args.rows,
            "file_bytes": file.len(),
            "accounts_created": accounts.len(),
            "invitations_in_outbox": mails,
            "read_seconds": round(read),
            "wall_seconds": round(wall),
        })
    );
    Ok(())
}

/// A realistic import file of `rows` accounts.
fn spreadsheet(rows: usize) -> Result<Vec<u8>, CliError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for (column, name) in COLUMNS.iter().enumerate() {
        sheet.write_string(0, column as u16, *name)?;
    }
    for i in 0..rows {
        let line = i as u32 + 1;
        let values = [
            format!("user.{i:05}"),
            format!("Nom{i}"),
            format!("Prénom{i}"),
            format!("user.{i:05}@univ.example.org"),
            "Enseignant, Secrétariat".to_owned(),
            ["INFO", "GEA", "TC"][i % 3].to_owned(),
        ];
        for (column, value) in values.iter().enumerate() {
            sheet.write_string(line, column as u16, value)?;
        }
    }
    Ok(workbook.save_to_buffer()?)
}
