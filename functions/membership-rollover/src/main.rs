//! `membership-rollover`: invoked once a day by EventBridge Scheduler (or by
//! hand with `{"date": "YYYY-MM-DD", "dry_run": true}`). Wiring only: settings
//! and clients once per cold start, then the shared handler, which runs the
//! domain's rollover and returns its summary.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use patron_hub_domain::SystemClock;
use patron_hub_lambda::rollover::handle_rollover;
use patron_hub_lambda::wiring::{membership_rollover, AwsClients};
use patron_hub_lambda::{logs, Environment};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    logs::init();
    let aws = AwsClients::load().await;
    let rollover = membership_rollover(&Environment::process(), &aws).await?;
    let rollover = &rollover;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_rollover(rollover, &SystemClock, event.payload).await
    }))
    .await
}
