//! Creates the event bus and queues subscribed to it the way `infra/` declares
//! them: for local AWS emulators and the tests of every crate that runs against
//! one. In AWS, CloudFormation owns these.

use crate::error::unavailable;
use crate::publisher::EVENT_SOURCE;
use aws_sdk_eventbridge::types::{RuleState, Target};
use aws_sdk_sqs::types::QueueAttributeName;
use patron_hub_domain::StoreError;

/// Creates the custom EventBridge bus named `bus`.
pub async fn create_event_bus(
    eventbridge: &aws_sdk_eventbridge::Client,
    bus: &str,
) -> Result<(), StoreError> {
    eventbridge
        .create_event_bus()
        .name(bus)
        .send()
        .await
        .map_err(|e| unavailable("CreateEventBus", e))?;
    Ok(())
}

/// Creates the queue `name` and a rule of the same name on `bus` that sends it
/// every event whose source is patron-hub's, with the queue policy letting
/// EventBridge send to it; returns the queue URL (for a [`crate::BusSubscription`]).
/// `name` must be a valid rule name too: at most 64 of `[A-Za-z0-9._-]`.
pub async fn subscribe_queue(
    eventbridge: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
    bus: &str,
    name: &str,
) -> Result<String, StoreError> {
    let queue_url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| unavailable("CreateQueue", e))?
        .queue_url()
        .map(str::to_owned)
        .ok_or_else(|| StoreError::Unavailable(format!("queue {name} has no URL")))?;
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| unavailable("GetQueueAttributes", e))?
        .attributes()
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| StoreError::Unavailable(format!("queue {name} has no ARN")))?;
    let rule_arn = eventbridge
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .event_pattern(serde_json::json!({ "source": [EVENT_SOURCE] }).to_string())
        .state(RuleState::Enabled)
        .send()
        .await
        .map_err(|e| unavailable("PutRule", e))?
        .rule_arn()
        .map(str::to_owned)
        .ok_or_else(|| StoreError::Unavailable(format!("rule {name} has no ARN")))?;
    sqs.set_queue_attributes()
        .queue_url(&queue_url)
        .attributes(
            QueueAttributeName::Policy,
            send_policy(&queue_arn, &rule_arn),
        )
        .send()
        .await
        .map_err(|e| unavailable("SetQueueAttributes", e))?;
    let target = Target::builder()
        .id("queue")
        .arn(&queue_arn)
        .build()
        .map_err(|e| StoreError::Unavailable(format!("incomplete EventBridge target: {e}")))?;
    let output = eventbridge
        .put_targets()
        .rule(name)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .map_err(|e| unavailable("PutTargets", e))?;
    if output.failed_entry_count() > 0 {
        return Err(StoreError::Unavailable(format!(
            "rule {name} refused its queue as target"
        )));
    }
    Ok(queue_url)
}

/// The queue policy letting the rule (and only it) send to the queue.
fn send_policy(queue_arn: &str, rule_arn: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "events.amazonaws.com" },
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": { "ArnEquals": { "aws:SourceArn": rule_arn } }
        }]
    })
    .to_string()
}
