//! `institution-worker`: one per institution, triggered by that institution's
//! SQS job queue with partial batch responses. Wiring only: settings, clients
//! and the Alma pacer once per cold start, then the shared batch handler.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use patron_hub_lambda::sqs_batch::handle_batch;
use patron_hub_lambda::wiring::{institution_worker, AwsClients};
use patron_hub_lambda::{emf, logs, Environment};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logs::init();
    emf::install();
    let aws = AwsClients::load().await;
    let worker = institution_worker(&Environment::process(), &aws).await?;
    let worker = &worker;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let response = handle_batch(event.payload, worker).await;
        emf::flush();
        Ok::<SqsBatchResponse, Error>(response)
    }))
    .await
}
