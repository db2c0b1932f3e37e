//! The shared storage and queue contract, run against DynamoDB, SQS and
//! EventBridge as moto serves them (`./scripts/test` starts moto and sets
//! `AWS_ENDPOINT_URL`). Every case gets its own table, queues and event bus,
//! created through the real SDK; events travel from the bus to a queue
//! subscribed to it, as they do in AWS.

mod support;

use patron_hub_contract::Backend;
use patron_hub_domain::SystemClock;
use patron_hub_store_aws::{BusSubscription, EventBridgePublisher};
use std::sync::Arc;

/// A fresh store on a new table and new queues, and a new event bus.
async fn backend() -> Backend {
    let fixture = support::Fixture::new().await;
    let store = Arc::new(fixture.store(fixture.queues.clone(), Arc::new(SystemClock)));
    let (events, event_log) = event_bus(&fixture.sqs).await;
    Backend {
        inbox: store.clone(),
        queue: store.clone(),
        ledger: store.clone(),
        accounts: store.clone(),
        tokens: store.clone(),
        sessions: store.clone(),
        attempts: store.clone(),
        requests: store.clone(),
        registry: store.clone(),
        staging: store.clone(),
        events: Arc::new(events),
        event_log: Arc::new(event_log),
        reconciliation: store.clone(),
        operations: store,
    }
}

/// A new bus with a publisher on it and a subscription reading it back
/// through a new queue.
async fn event_bus(sqs: &aws_sdk_sqs::Client) -> (EventBridgePublisher, BusSubscription) {
    let config = patron_hub_store_aws::sdk_config_loader().load().await;
    let eventbridge = aws_sdk_eventbridge::Client::new(&config);
    let name = format!("ph-bus-{}", uuid::Uuid::new_v4().simple());
    patron_hub_store_aws::create_event_bus(&eventbridge, &name)
        .await
        .expect("create the event bus on moto");
    let queue_url = patron_hub_store_aws::subscribe_queue(&eventbridge, sqs, &name, &name)
        .await
        .expect("subscribe a queue to the bus on moto");
    (
        EventBridgePublisher::new(eventbridge, &name),
        BusSubscription::new(sqs.clone(), queue_url),
    )
}

patron_hub_contract::contract_tests!(backend);
