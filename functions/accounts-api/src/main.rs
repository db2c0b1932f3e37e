//! `accounts-api`: registration, activation, password reset, sessions, profile
//! and administration of login accounts. Wiring only: settings and clients once
//! per cold start, then the shared axum router.

use lambda_http::Error;
use patron_hub_http::accounts::router;
use patron_hub_lambda::wiring::{account_service_confirming_registrations, AwsClients};
use patron_hub_lambda::{client_address, http_function, logs, Environment};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    logs::init();
    let aws = AwsClients::load().await;
    let service =
        Arc::new(account_service_confirming_registrations(&Environment::process(), &aws).await?);
    let router = router(service).fallback(patron_hub_http::error::not_found);
    http_function::run(client_address::from_function_url(router)).await
}
