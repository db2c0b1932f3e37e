//! The `alma-webhook` function's receiver on its AWS path: a signed sample
//! delivery is queued for the other institutions AND recorded in the patron
//! registry in the DynamoDB table on moto, so that the registration-status
//! query knows the patron.

use patron_hub_domain::registration::{ExternalSystemId, PatronRegistry};
use patron_hub_domain::webhook::{sign, Reception};
use patron_hub_domain::{InstitutionCode, PrimaryId, SystemClock};
use patron_hub_lambda::wiring::{webhook_receiver, AwsClients};
use patron_hub_lambda::Environment;
use patron_hub_store_aws::AwsStore;
use std::path::Path;
use std::sync::Arc;

const SECRET: &str = "demo-webhook-secret";

#[tokio::test]
async fn a_delivery_is_queued_and_recorded_in_the_registry() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: these tests need moto (run ./scripts/test)"
    );
    let aws = AwsClients::load().await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (table, prefix) = (format!("hook-{run}"), format!("jobs-{}-", &run[..10]));
    let members: Vec<InstitutionCode> = ["DEMO_A", "DEMO_B", "DEMO_C"]
        .iter()
        .map(|code| InstitutionCode::parse(code).unwrap())
        .collect();
    patron_hub_store_aws::provision(&aws.dynamodb, &aws.sqs, &table, &prefix, &members)
        .await
        .unwrap();
    let env = Environment::from_pairs(&[
        ("PATRON_HUB_TABLE", &table),
        ("PATRON_HUB_QUEUE_PREFIX", &prefix),
        ("PATRON_HUB_NETWORK_ZONE", "DEMO_NETWORK"),
        ("PATRON_HUB_INSTITUTIONS", "DEMO_A,DEMO_B,DEMO_C"),
        ("PATRON_HUB_WEBHOOK_SECRETS", SECRET),
        ("REGISTRATION_SETTINGS", r#"{"external_id_type":"BARCODE"}"#),
    ]);
    let receiver = webhook_receiver(&env, &aws).await.unwrap();
    let body = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../events/alma-webhook/bodies/user-created-external.json"),
    )
    .unwrap();

    let reception = receiver
        .receive(&body, Some(&sign(SECRET, &body)))
        .await
        .unwrap();
    assert!(
        matches!(&reception, Reception::Accepted { jobs, .. } if jobs.len() == 2),
        "{reception:?}"
    );

    let registry = AwsStore::new(
        aws.dynamodb.clone(),
        aws.sqs.clone(),
        table,
        Default::default(),
        Arc::new(SystemClock),
    );
    let entry = registry
        .get(&PrimaryId::parse("EXT-2025-0042").unwrap())
        .await
        .unwrap()
        .expect("the delivery was recorded in the registry");
    let holders: Vec<&str> = entry.holdings.keys().map(|code| code.as_str()).collect();
    assert_eq!(holders, ["DEMO_A"]);
    let found = registry.find_by_email(&entry.emails[0]).await.unwrap();
    assert_eq!(found, std::slice::from_ref(&entry));
    // The identifier type comes from REGISTRATION_SETTINGS (the default,
    // OTHER_ID_1, is not in the sample).
    assert_eq!(entry.external_system_id.as_deref(), Some("33000100042170"));
    let by_external = registry
        .find_by_external_id(&ExternalSystemId::parse("33000100042170").unwrap())
        .await
        .unwrap();
    assert_eq!(by_external, [entry]);
}

/// Deployed, the receiver builds its queues' URLs from
/// `PATRON_HUB_QUEUE_URL_PREFIX` and asks SQS nothing at start-up: given no
/// queue names at all, its jobs still land on the right queues.
#[tokio::test]
async fn queue_urls_are_built_from_their_prefix() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: these tests need moto (run ./scripts/test)"
    );
    let aws = AwsClients::load().await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (table, prefix) = (format!("hook-{run}"), format!("urls-{}-", &run[..10]));
    let members: Vec<InstitutionCode> = ["DEMO_A", "DEMO_B", "DEMO_C"]
        .iter()
        .map(|code| InstitutionCode::parse(code).unwrap())
        .collect();
    let queues =
        patron_hub_store_aws::provision(&aws.dynamodb, &aws.sqs, &table, &prefix, &members)
            .await
            .unwrap();
    let url_prefix = queues[&members[0]].strip_suffix("DEMO_A").unwrap();
    let env = Environment::from_pairs(&[
        ("PATRON_HUB_TABLE", &table),
        ("PATRON_HUB_QUEUE_URL_PREFIX", url_prefix),
        ("PATRON_HUB_NETWORK_ZONE", "DEMO_NETWORK"),
        ("PATRON_HUB_INSTITUTIONS", "DEMO_A,DEMO_B,DEMO_C"),
        ("PATRON_HUB_WEBHOOK_SECRETS", SECRET),
        ("REGISTRATION_SETTINGS", r#"{"external_id_type":"BARCODE"}"#),
    ]);
    let receiver = webhook_receiver(&env, &aws).await.unwrap();
    let body = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../events/alma-webhook/bodies/user-created-external.json"),
    )
    .unwrap();

    let reception = receiver
        .receive(&body, Some(&sign(SECRET, &body)))
        .await
        .unwrap();
    assert!(
        matches!(&reception, Reception::Accepted { jobs, .. } if jobs.len() == 2),
        "{reception:?}"
    );
    for (code, expected) in [("DEMO_A", 0), ("DEMO_B", 1), ("DEMO_C", 1)] {
        let waiting = aws
            .sqs
            .get_queue_attributes()
            .queue_url(&queues[&InstitutionCode::parse(code).unwrap()])
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap();
        let count = waiting
            .attributes()
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            })
            .map(String::as_str);
        assert_eq!(count, Some(expected.to_string().as_str()), "{code}'s queue");
    }
}
