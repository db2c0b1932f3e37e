//! `network-reconcile`: begun nightly by EventBridge Scheduler (a reconcile),
//! by a `Backfill requested` or `Reconcile requested` event on the bus, or by
//! hand; then invoked by its own SQS queue once per page of the run. Wiring
//! only: settings, clients and the Alma pacer once per cold start, then the
//! shared handler.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use patron_hub_lambda::network_reconcile::handle_invocation;
use patron_hub_lambda::wiring::{network_reconcile, AwsClients};
use patron_hub_lambda::{emf, logs, Environment};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    logs::init();
    emf::install();
    let aws = AwsClients::load().await;
    let function = network_reconcile(&Environment::process(), &aws).await?;
    let function = &function;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let answer = handle_invocation(function, event.payload).await;
        emf::flush();
        answer
    }))
    .await
}
