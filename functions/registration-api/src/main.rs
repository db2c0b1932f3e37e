//! `registration-api`: staging records (`POST /patron`, `PUT /patron/{id}`),
//! the registration-status query and on-site completion. Wiring only:
//! settings, client keys and clients once per cold start, then the shared
//! axum router. It must never hold a registration rule: those live in the
//! domain crate.

use lambda_http::Error;
use patron_hub_http::registration::router;
use patron_hub_lambda::wiring::{registration_api, AwsClients};
use patron_hub_lambda::{http_function, logs, Environment};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logs::init();
    let aws = AwsClients::load().await;
    let api = registration_api(&Environment::process(), &aws).await?;
    http_function::run(router(api).fallback(patron_hub_http::error::not_found)).await
}
