//! The shared staff-console contract (the audit log), run against DynamoDB as
//! moto serves it (`./scripts/test` starts moto and sets `AWS_ENDPOINT_URL`).
//! Every case gets its own table.

mod support;

use patron_hub_contract::ConsoleBackend;
use patron_hub_domain::SystemClock;
use std::sync::Arc;

/// A fresh store on a new table: the audit log.
async fn backend() -> ConsoleBackend {
    let fixture = support::Fixture::new().await;
    let store = fixture.store(fixture.queues.clone(), Arc::new(SystemClock));
    ConsoleBackend {
        audit: Arc::new(store),
    }
}

patron_hub_contract::console_contract_tests!(backend);
