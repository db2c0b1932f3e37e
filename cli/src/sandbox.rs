//! `patron-hub sandbox`: the Alma sandbox as a process of its own, so that a
//! server configured like a real network (and restarted, or killed) can be
//! pointed at it.

use crate::CliError;
use patron_hub_alma_sandbox::{spawn, Redelivery, SandboxConfig};
use std::net::SocketAddr;
use std::time::Duration;

/// Options of `sandbox`.
#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// Where the librarian routes send their webhooks.
    #[arg(long)]
    pub webhook_listener: Option<String>,
    /// Each institution's per-second threshold.
    #[arg(long, default_value_t = 25)]
    pub calls_per_second: u32,
    /// Delivery attempts of a webhook the listener does not take, the first
    /// included (Alma makes 4); 0: until it is taken.
    #[arg(long, default_value_t = 4)]
    pub webhook_attempts: u32,
    /// Milliseconds before the first redelivery; each later one waits twice
    /// as long, up to eight times this.
    #[arg(long, default_value_t = 1000)]
    pub webhook_retry_ms: u64,
}

/// Runs the demo network's sandbox until Ctrl-C.
pub async fn run(args: SandboxArgs) -> Result<(), CliError> {
    let mut config = SandboxConfig::demo();
    config.webhook_listener = args.webhook_listener;
    config.calls_per_second = args.calls_per_second;
    config.webhook_redelivery = Redelivery {
        attempts: args.webhook_attempts,
        first_delay: Duration::from_millis(args.webhook_retry_ms),
    };
    let sandbox = spawn(config, &args.listen.to_string()).await?;
    println!("Alma sandbox listening on {}", sandbox.base_url);
    tokio::signal::ctrl_c().await?;
    Ok(())
}
