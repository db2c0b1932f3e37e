//! `patron-hub client-key`: a new API key for a client system of the
//! registration API. The key is printed once; the configuration keeps only
//! its SHA-256 (the snippet to paste is printed with it).

use crate::CliError;
use patron_hub_domain::accounts::SecretToken;
use patron_hub_domain::registration::{ClientKey, ClientScope};

/// Options of `client-key`.
#[derive(Debug, clap::Args)]
pub struct ClientKeyArgs {
    /// Who will use the key (shown in logs), e.g. `discovery`.
    #[arg(long)]
    pub name: String,
    /// `registration` (staging records and status) or `staff` (also on-site completion).
    #[arg(long, default_value = "registration")]
    pub scope: String,
}

/// Prints a fresh 256-bit key and the configuration entry holding its hash.
pub async fn run(args: ClientKeyArgs) -> Result<(), CliError> {
    let scope = match args.scope.as_str() {
        "registration" => ClientScope::Registration,
        "staff" => ClientScope::Staff,
        other => return Err(format!("unknown scope {other:?}: registration or staff").into()),
    };
    let key = SecretToken::generate();
    let entry = ClientKey::from_plain(&args.name, key.expose(), scope);
    println!(
        "Key (give it to the client; it is not stored anywhere):\n  {}\n",
        key.expose()
    );
    println!("Add to patron-hub.toml:\n");
    println!("[[client_keys]]");
    println!("name = {:?}", entry.name);
    println!("sha256 = {:?}", entry.sha256.as_str());
    println!("scope = {:?}", args.scope);
    println!(
        "\nor, for the Lambda functions' CLIENT_KEYS:\n  {}",
        serde_json::to_string(&[entry])?
    );
    Ok(())
}
