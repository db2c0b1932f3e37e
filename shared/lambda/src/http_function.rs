//! How every HTTP function runs its router: under `lambda_http`, with the
//! EMF recorder installed and flushed after each answer, so that what a
//! request records (Alma calls, webhook answers) reaches CloudWatch.

use crate::emf;
use axum::Router;
use lambda_http::Error;

/// Installs the EMF recorder and serves `router` as the function's handler,
/// writing the invocation's EMF lines after each answer.
pub async fn run(router: Router) -> Result<(), Error> {
    emf::install();
    lambda_http::run(emf::flushing(router)).await
}
