//! What other systems see on the bus: every domain event arrives, through a rule
//! matching patron-hub's source, as EventBridge's envelope with source
//! `patron-hub`, detail-type the event's type and detail the event itself; and
//! a subscription does not read events of other sources.

use chrono::{DateTime, Utc};
use patron_hub_domain::registration::{DomainEvent, EventLog, EventPublisher};
use patron_hub_store_aws::{BusSubscription, EventBridgePublisher, EVENT_SOURCE};
use serde_json::{json, Value};

struct Bus {
    eventbridge: aws_sdk_eventbridge::Client,
    sqs: aws_sdk_sqs::Client,
    name: String,
    queue_url: String,
}

async fn bus() -> Bus {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: these tests need moto (run ./scripts/test)"
    );
    let config = patron_hub_store_aws::sdk_config_loader().load().await;
    let eventbridge = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let name = format!("ph-bus-{}", uuid::Uuid::new_v4().simple());
    patron_hub_store_aws::create_event_bus(&eventbridge, &name)
        .await
        .unwrap();
    let queue_url = patron_hub_store_aws::subscribe_queue(&eventbridge, &sqs, &name, &name)
        .await
        .unwrap();
    Bus {
        eventbridge,
        sqs,
        name,
        queue_url,
    }
}

fn registered(id: &str) -> DomainEvent {
    DomainEvent {
        id: id.to_owned(),
        kind: "patron.registered".to_owned(),
        time: DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap(),
        detail: json!({"primaryId": "p-1", "homeInstitution": "A"}),
    }
}

#[tokio::test]
async fn a_published_event_arrives_in_eventbridge_s_envelope() {
    let bus = bus().await;
    let event = registered("patron.registered:x-1");
    EventBridgePublisher::new(bus.eventbridge.clone(), &bus.name)
        .publish(&event)
        .await
        .unwrap();
    let received = bus
        .sqs
        .receive_message()
        .queue_url(&bus.queue_url)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    let [message] = received.messages() else {
        panic!("expected one message, got {:?}", received.messages());
    };
    let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
    assert_eq!(envelope["source"], EVENT_SOURCE);
    assert_eq!(envelope["detail-type"], "patron.registered");
    assert_eq!(
        serde_json::from_value::<DomainEvent>(envelope["detail"].clone()).unwrap(),
        event
    );
}

#[tokio::test]
async fn a_subscription_reads_only_patron_hub_s_events() {
    let bus = bus().await;
    let foreign = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name(&bus.name)
        .source("someone-else")
        .detail_type("patron.registered")
        .detail(serde_json::to_string(&registered("foreign")).unwrap())
        .build();
    let put = bus
        .eventbridge
        .put_events()
        .entries(foreign)
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_entry_count(), 0);
    EventBridgePublisher::new(bus.eventbridge.clone(), &bus.name)
        .publish(&registered("ours"))
        .await
        .unwrap();
    let log = BusSubscription::new(bus.sqs.clone(), &bus.queue_url);
    let ids: Vec<String> = log
        .recent("patron.registered", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.id)
        .collect();
    assert_eq!(ids, ["ours"]);
}

#[tokio::test]
async fn publishing_on_a_bus_that_does_not_exist_fails() {
    let bus = bus().await;
    let missing = EventBridgePublisher::new(bus.eventbridge.clone(), "ph-no-such-bus");
    assert!(missing.publish(&registered("lost")).await.is_err());
}
