//! `admin-console`: the staff console under `/console` (login, search of one
//! patron in every institution, patron page, audited actions, dead letters).
//! Wiring only: settings, secrets and clients once per cold start, then the
//! shared axum router. It must never hold a console rule: those live in the
//! domain crate, and the HTML in `patron-hub-http`.

use lambda_http::Error;
use patron_hub_http::console::router;
use patron_hub_lambda::wiring::{admin_console, AwsClients};
use patron_hub_lambda::{client_address, http_function, logs, Environment};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logs::init();
    let aws = AwsClients::load().await;
    let api = admin_console(&Environment::process(), &aws).await?;
    let router = router(api).fallback(patron_hub_http::error::not_found);
    http_function::run(client_address::from_function_url(router)).await
}
