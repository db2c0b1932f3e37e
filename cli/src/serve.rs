//! `patron-hub serve`: every route on one port, the workers as tasks, and with no
//! configuration the Alma sandbox with the demo network.

use crate::config::{demo, Runtime, Settings};
use crate::http_server;
use crate::node::LocalNode;
use crate::prometheus::{self, StoreSampledMetrics};
use crate::served_network::ServedNetwork;
use crate::CliError;
use axum::middleware::from_fn_with_state;
use patron_hub_alma_sandbox::{spawn, RunningSandbox, SandboxConfig};
use patron_hub_http::client_address::remember_client_address;
use patron_hub_http::metrics_scrape;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Options of `serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address of patron-hub's HTTP routes.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Address of the Alma sandbox (demo mode only, i.e. without --config).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub sandbox_listen: SocketAddr,
    /// Folder of the SQLite file, the queues and the mail outbox.
    #[arg(long, default_value = "./.patron-hub")]
    pub data: PathBuf,
    /// Configuration file of a real network; without it, the demo network on the sandbox.
    #[arg(long, env = "PATRON_HUB_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    // The sandbox, when there is one, lives as long as this function.
    let (runtime, _sandbox, served) = match &args.config {
        Some(path) => (
            Settings::load(path)?.resolve(|name| std::env::var(name).ok())?,
            None,
            ServedNetwork::Config {
                path: std::path::absolute(path)?,
            },
        ),
        None => {
            let sandbox = start_demo_sandbox(&args).await?;
            let served = ServedNetwork::Demo {
                sandbox_url: sandbox.base_url.clone(),
            };
            (Runtime::demo(&sandbox.base_url), Some(sandbox), served)
        }
    };
    let node = LocalNode::build(runtime, &args.data, &format!("http://{}", args.listen))?;
    // Operator commands pointed at this data folder find the same network.
    served.record(&args.data)?;
    if node.runtime.demo {
        announce_demo_admin(&node).await?;
    }
    let mut workers = node.spawn_workers();
    workers.push(node.spawn_daily_rollover());
    workers.push(node.spawn_budget_watch());
    workers.extend(node.spawn_nightly_reconcile(&args.data)?);
    println!("patron-hub listening on http://{}", args.listen);
    println!("  Alma webhooks: http://{}/webhooks/alma", args.listen);
    println!("  metrics:       http://{}/metrics", args.listen);
    println!("  data folder:   {}", args.data.display());
    let metrics = StoreSampledMetrics {
        handle: prometheus::install()?,
        store: node.store.clone(),
        institutions: node.runtime.network.institutions(),
    };
    let router = node
        .router()
        .merge(metrics_scrape::router(
            Arc::new(metrics),
            node.runtime.metrics_token.clone(),
        ))
        .layer(from_fn_with_state(
            node.runtime.client_address,
            remember_client_address,
        ));
    http_server::serve(listener, router, node.runtime.server, shutdown_signal()).await;
    for worker in workers {
        // Jobs in flight stay leased in the queue and are taken again after a restart.
        worker.abort();
    }
    Ok(())
}

/// Starts the sandbox with the demo network, its webhooks aimed at this server,
/// and prints the demo values.
async fn start_demo_sandbox(args: &ServeArgs) -> Result<RunningSandbox, CliError> {
    let mut config = SandboxConfig::demo();
    config.webhook_listener = Some(format!("http://{}/webhooks/alma", args.listen));
    let sandbox = spawn(config, &args.sandbox_listen.to_string()).await?;
    println!("Demo network on the Alma sandbox at {}", sandbox.base_url);
    println!("  network zone:  {}", demo::NETWORK_ZONE);
    println!("  institutions:  {}", demo::INSTITUTIONS.join(", "));
    println!(
        "  API keys:      {}<CODE> (e.g. {}DEMO_B)",
        demo::API_KEY_PREFIX,
        demo::API_KEY_PREFIX
    );
    println!("  webhook secret: {}", demo::WEBHOOK_SECRET);
    println!(
        "  librarian UI:  POST {}/sandbox/DEMO_A/users",
        sandbox.base_url
    );
    Ok(sandbox)
}

/// Makes sure the demo super administrator `admin` exists, with the password
/// from `PATRON_HUB_DEMO_ADMIN_PASSWORD` or a random one printed once.
async fn announce_demo_admin(node: &LocalNode) -> Result<(), CliError> {
    let password = std::env::var("PATRON_HUB_DEMO_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    match node.accounts.ensure_demo_admin(password).await? {
        Some(generated) => {
            println!("  super administrator: admin, password {generated} (printed once)")
        }
        None => println!("  super administrator: admin"),
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
