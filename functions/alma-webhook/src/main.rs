//! `alma-webhook`: the Lambda function URL Alma's webhook integration profile
//! calls. Wiring only: settings and clients once per cold start, then the shared
//! axum router (challenge handshake and signed deliveries).

use axum::Router;
use lambda_http::{run, Error};
use patron_hub_http::webhook::{routes, DEFAULT_MAX_BODY};
use patron_hub_lambda::wiring::{webhook_receiver, AwsClients};
use patron_hub_lambda::{logs, Environment};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    logs::init();
    let aws = AwsClients::load().await;
    let receiver = Arc::new(webhook_receiver(&Environment::process(), &aws).await?);
    let listener = routes(receiver, DEFAULT_MAX_BODY);
    // The function URL's root, and the local server's path for the same listener.
    let app = Router::new()
        .route("/", listener.clone())
        .route("/webhooks/alma", listener)
        .fallback(patron_hub_http::error::not_found);
    run(app).await
}
