//! `bench rollover`: how long the daily rollover takes on SQLite when the
//! store holds many organizations and accounts of which a few are due — it
//! must read only what is due, so its time follows the due count, not the size.

use super::bench_account;
use super::fanout::round;
use crate::config::Runtime;
use crate::node::LocalNode;
use crate::CliError;
use chrono::{Days, NaiveDate, Utc};
use patron_hub_domain::accounts::OrganizationId;
use patron_hub_domain::accounts::{Account, AccountStore};
use patron_hub_domain::organizations::{
    Membership, MembershipId, MembershipPolicy, Organization, OrganizationStore, Role,
};
use serde_json::json;
use std::time::Instant;

/// Options of `bench rollover`.
#[derive(Debug, clap::Args)]
pub struct RolloverArgs {
    /// Organizations in the store (each with its founder's membership).
    #[arg(long, default_value_t = 100_000)]
    pub organizations: usize,
    /// Accounts in the store.
    #[arg(long, default_value_t = 100_000)]
    pub accounts: usize,
    /// Per cent of each that is due.
    #[arg(long, default_value_t = 1.0)]
    pub due_percent: f64,
}

/// Seeds the store, runs the rollover twice for one date and prints the figures.
pub async fn run(args: RolloverArgs) -> Result<(), CliError> {
    let data = tempfile::tempdir()?;
    let node = LocalNode::build(
        Runtime::demo("http://127.0.0.1:9"),
        data.path(),
        "http://unused",
    )?;
    let today = Utc::now().date_naive();
    let every = (100.0 / args.due_percent.clamp(0.001, 100.0))
        .round()
        .max(1.0) as usize;

    let seeding = Instant::now();
    let founder = bench_account(0, None);
    let accounts: &dyn AccountStore = &node.store;
    let organizations: &dyn OrganizationStore = &node.store;
    accounts.create(&founder).await?;
    for n in 1..args.accounts {
        let expiry = (n % every == 0).then(|| today - Days::new(1));
        accounts.create(&bench_account(n, expiry)).await?;
    }
    for n in 0..args.organizations {
        let start = if n % every == 0 {
            today - Days::new(400)
        } else {
            today - Days::new(30)
        };
        let (organization, membership) = club(n, start, &founder);
        organizations.create(&organization, &membership).await?;
    }
    let seed_seconds = seeding.elapsed().as_secs_f64();

    let rollover = node.rollover();
    let started = Instant::now();
    let first = rollover.run(today, false).await?;
    let first_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let second = rollover.run(today, false).await?;
    let second_seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "benchmark": "rollover",
            "organizations": args.organizations,
            "accounts": args.accounts,
            "due_percent": args.due_percent,
            "seed_seconds": round(seed_seconds),
            "rollover_seconds": round(first_seconds),
            "organizations_rolled": first.organizations_rolled,
            "accounts_deactivated": first.accounts_deactivated,
            "second_run_seconds": round(second_seconds),
            "second_run_changes": second.organizations_rolled + second.accounts_deactivated,
        })
    );
    Ok(())
}

fn club(n: usize, start: NaiveDate, founder: &Account) -> (Organization, Membership) {
    let id = OrganizationId(uuid::Uuid::new_v4());
    let now = Utc::now();
    let organization = Organization {
        id,
        name: format!("Club {n}"),
        parent: None,
        policy: MembershipPolicy {
            require_memberships: true,
            membership_start: Some(start),
            membership_end: Some(start + Days::new(395)),
            membership_duration: Some(396),
            membership_fee_paid: 500,
            membership_fee_unpaid: 300,
        },
        titles: Vec::new(),
        rolled_on: None,
        created_at: now,
        version: 1,
    };
    let membership = Membership {
        id: MembershipId::new(),
        person: founder.id,
        organization: id,
        roles: [Role::Admin].into(),
        titles: Vec::new(),
        date_start: start,
        date_end: start + Days::new(395),
        fee: 0,
        created_at: now,
        version: 1,
    };
    (organization, membership)
}
