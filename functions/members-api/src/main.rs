//! `members-api`: `/people` and `/organizations` (organizations, members and
//! roles, renewals, statistics, member exports). Wiring only: settings and
//! clients once per cold start, then the shared axum router. It must never
//! hold a membership rule: those live in the domain crate.

use lambda_http::{run, Error};
use patron_hub_http::members::router;
use patron_hub_lambda::wiring::{members_api, AwsClients};
use patron_hub_lambda::{logs, Environment};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logs::init();
    let aws = AwsClients::load().await;
    let api = members_api(&Environment::process(), &aws).await?;
    run(router(api).fallback(patron_hub_http::error::not_found)).await
}
