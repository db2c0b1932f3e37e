//! `alma-webhook`: the Lambda function URL Alma's webhook integration profile
//! calls. Wiring only: settings and clients once per cold start, then the shared
//! axum router (challenge handshake and signed deliveries).

use lambda_http::Error;
use patron_hub_http::webhook::{function_router, DEFAULT_MAX_BODY};
use patron_hub_lambda::wiring::{webhook_receiver, AwsClients};
use patron_hub_lambda::{http_function, logs, Environment};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    logs::init();
    let aws = AwsClients::load().await;
    let receiver = Arc::new(webhook_receiver(&Environment::process(), &aws).await?);
    http_function::run(function_router(receiver, DEFAULT_MAX_BODY)).await
}
