//! `patron-hub create-admin`: the first super administrator of a network, who
//! sets a password through a one-time link (no password ever travels on the
//! command line or in a mail).

use crate::config::{Runtime, Settings};
use crate::node::LocalNode;
use crate::CliError;
use patron_hub_domain::accounts::{Email, UserName};
use std::path::PathBuf;

/// Options of `create-admin`.
#[derive(Debug, clap::Args)]
pub struct CreateAdminArgs {
    /// The administrator's e-mail.
    #[arg(long)]
    pub email: String,
    /// The administrator's user name.
    #[arg(long)]
    pub user_name: String,
    /// The data folder of the server.
    #[arg(long, default_value = "./.patron-hub")]
    pub data: PathBuf,
    /// The server's configuration; the demo network without it.
    #[arg(long, env = "PATRON_HUB_CONFIG")]
    pub config: Option<PathBuf>,
    /// The address links start with when the configuration does not say.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub public_base_url: String,
}

/// Creates the administrator and prints the set-password link.
pub async fn run(args: CreateAdminArgs) -> Result<(), CliError> {
    let email = Email::parse(&args.email)?;
    let user_name = UserName::parse(&args.user_name)?;
    let runtime = match &args.config {
        Some(path) => Settings::load(path)?.resolve(|name| std::env::var(name).ok())?,
        None => Runtime::demo("http://unused"),
    };
    let node = LocalNode::build(runtime, &args.data, &args.public_base_url)?;
    let (account, link) = node.accounts.create_super_admin(email, user_name).await?;
    println!("super administrator {} created", account.user_name);
    println!(
        "set the password within {} hours at: {link}",
        node.accounts.settings().activation_ttl.num_hours()
    );
    Ok(())
}
