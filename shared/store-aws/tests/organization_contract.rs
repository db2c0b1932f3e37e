//! The shared organization and membership contract, run against DynamoDB as
//! moto serves it (`./scripts/test` starts moto and sets `AWS_ENDPOINT_URL`).
//! Every case gets its own table, so no organization of another case is ever
//! due for rollover in it.

mod support;

use patron_hub_contract::OrganizationBackend;
use patron_hub_domain::SystemClock;
use std::sync::Arc;

/// A fresh store on a new table: organizations, memberships and accounts.
async fn backend() -> OrganizationBackend {
    let fixture = support::Fixture::new().await;
    let store = Arc::new(fixture.store(fixture.queues.clone(), Arc::new(SystemClock)));
    OrganizationBackend {
        organizations: store.clone(),
        memberships: store.clone(),
        accounts: store,
    }
}

patron_hub_contract::organization_contract_tests!(backend);
