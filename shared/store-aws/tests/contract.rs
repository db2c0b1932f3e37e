//! The shared storage and queue contract, run against DynamoDB and SQS as moto
//! serves them (`./scripts/test` starts moto and sets `AWS_ENDPOINT_URL`). Every
//! case gets its own table and queues, created through the real SDK.

mod support;

use patron_hub_contract::Backend;
use patron_hub_domain::SystemClock;
use std::sync::Arc;

/// A fresh store on a new table and new queues.
async fn backend() -> Backend {
    let fixture = support::Fixture::new().await;
    let store = Arc::new(fixture.store(fixture.queues.clone(), Arc::new(SystemClock)));
    Backend {
        inbox: store.clone(),
        queue: store.clone(),
        ledger: store.clone(),
        accounts: store.clone(),
        tokens: store.clone(),
        sessions: store.clone(),
        attempts: store,
    }
}

patron_hub_contract::contract_tests!(backend);
