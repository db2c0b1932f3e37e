//! The institution worker's SQS handler on its real event path: the sample
//! batches of `events/institution-worker/` go through a real SQS queue and
//! DynamoDB table on moto (real AWS SDK, real receipt handles), the API key comes
//! from Secrets Manager, and the jobs are applied to the Alma sandbox and
//! recorded in the patron registry.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use patron_hub_alma_sandbox::{spawn, Faults, SandboxConfig};
use patron_hub_domain::registration::PatronRegistry;
use patron_hub_domain::{InstitutionCode, PrimaryId, SystemClock};
use patron_hub_lambda::sqs_batch::handle_batch;
use patron_hub_lambda::wiring::{institution_worker, AwsClients};
use patron_hub_lambda::Environment;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

fn require_emulator() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: these tests need moto. Run ./scripts/test, or start \
         `python3 -m moto.server -H 127.0.0.1 -p 5055` and set AWS_ENDPOINT_URL=http://127.0.0.1:5055 \
         AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-1"
    );
}

fn sample(name: &str) -> SqsEvent {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/institution-worker")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A deployed institution: its table, queue and API-key secret on moto, and
/// the worker function's environment pointing at them and at the sandbox.
struct Deployment {
    aws: AwsClients,
    queue_url: String,
    env: Vec<(String, String)>,
}

impl Deployment {
    async fn new(institution: &str, sandbox_url: &str) -> Self {
        require_emulator();
        let aws = AwsClients::load().await;
        let run = uuid::Uuid::new_v4().simple().to_string();
        let (table, prefix) = (format!("hub-{run}"), format!("jobs-{}-", &run[..10]));
        let code = InstitutionCode::parse(institution).unwrap();
        let queues = patron_hub_store_aws::provision(
            &aws.dynamodb,
            &aws.sqs,
            &table,
            &prefix,
            std::slice::from_ref(&code),
        )
        .await
        .unwrap();
        let secret = aws
            .secrets
            .create_secret()
            .name(format!("alma-key-{run}"))
            .secret_string(format!("demo-key-{institution}"))
            .send()
            .await
            .unwrap();
        let env = [
            ("PATRON_HUB_INSTITUTION", institution.to_owned()),
            ("PATRON_HUB_TABLE", table),
            ("PATRON_HUB_NETWORK_ZONE", "DEMO_NETWORK".to_owned()),
            ("PATRON_HUB_QUEUE_PREFIX", prefix),
            ("ALMA_API_BASE_URL", sandbox_url.to_owned()),
            ("ALMA_API_KEY_SECRET_ARN", secret.arn().unwrap().to_owned()),
            ("ALMA_CALLS_PER_SECOND", "20".to_owned()),
            ("PATRON_HUB_WORKER_CONCURRENCY", "2".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .to_vec();
        Self {
            aws,
            queue_url: queues[&code].clone(),
            env,
        }
    }

    /// The patron registry in the deployment's table.
    fn registry(&self) -> patron_hub_store_aws::AwsStore {
        let table = self
            .env
            .iter()
            .find(|(k, _)| k == "PATRON_HUB_TABLE")
            .map(|(_, v)| v.clone())
            .unwrap();
        patron_hub_store_aws::AwsStore::new(
            self.aws.dynamodb.clone(),
            self.aws.sqs.clone(),
            table,
            Default::default(),
            Arc::new(SystemClock),
        )
    }

    fn environment(&self) -> Environment {
        let pairs: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Environment::from_pairs(&pairs)
    }

    /// Sends each sample record's body to the queue and receives them back as
    /// the Lambda poller would, with real message ids and receipt handles.
    async fn deliver(&self, sample: &SqsEvent) -> (SqsEvent, HashMap<String, String>) {
        let mut sample_ids = HashMap::new();
        for record in &sample.records {
            let sent = self
                .aws
                .sqs
                .send_message()
                .queue_url(&self.queue_url)
                .message_body(record.body.clone().unwrap())
                .send()
                .await
                .unwrap();
            sample_ids.insert(
                sent.message_id().unwrap().to_owned(),
                record.message_id.clone().unwrap(),
            );
        }
        let received = self
            .aws
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
            )
            .send()
            .await
            .unwrap();
        let records = received
            .messages()
            .iter()
            .map(|m| SqsMessage {
                message_id: m.message_id().map(str::to_owned),
                receipt_handle: m.receipt_handle().map(str::to_owned),
                body: m.body().map(str::to_owned),
                attributes: m
                    .attributes()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
                ..SqsMessage::default()
            })
            .collect::<Vec<_>>();
        assert_eq!(
            records.len(),
            sample.records.len(),
            "every sample message came back"
        );
        (SqsEvent { records }, sample_ids)
    }

    async fn messages_left(&self) -> usize {
        let attributes = self
            .aws
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(
                aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            )
            .send()
            .await
            .unwrap();
        attributes
            .attributes()
            .unwrap()
            .values()
            .map(|v| v.parse::<usize>().unwrap())
            .sum()
    }
}

#[tokio::test]
async fn the_sample_batch_is_applied_and_every_message_deleted() {
    let sandbox = spawn(SandboxConfig::demo(), "127.0.0.1:0").await.unwrap();
    // The network-zone patron the sample's link job is about.
    let zone_user = serde_json::json!({"primary_id": "NZ-2025-0007", "last_name": "Etudiante", "first_name": "Zoé"});
    let created = reqwest::Client::new()
        .post(format!("{}/sandbox/DEMO_NETWORK/users", sandbox.base_url))
        .json(&zone_user)
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success());
    let deployment = Deployment::new("DEMO_B", &sandbox.base_url).await;
    let worker = institution_worker(&deployment.environment(), &deployment.aws)
        .await
        .unwrap();

    let (event, _) = deployment.deliver(&sample("sqs-batch.json")).await;
    let response = handle_batch(event, &worker).await;

    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        response.batch_item_failures
    );
    let reader = sandbox
        .sandbox
        .user("DEMO_B", "EXT-2025-0042")
        .expect("the external reader was created");
    assert_eq!(reader["job_category"]["value"], "Exterieur");
    assert!(reader.get("user_role").is_none(), "roles are never copied");
    let copy = sandbox
        .sandbox
        .user("DEMO_B", "NZ-2025-0007")
        .expect("the zone patron was linked");
    assert_eq!(copy["source_institution_code"]["value"], "DEMO_NETWORK");
    assert_eq!(
        deployment.messages_left().await,
        0,
        "settled messages are deleted"
    );
    // Alma fires no webhook for the worker's writes: the registry learns of them here.
    let entry = deployment
        .registry()
        .get(&PrimaryId::parse("EXT-2025-0042").unwrap())
        .await
        .unwrap()
        .expect("the applied job was recorded in the registry");
    let holders: Vec<&str> = entry.holdings.keys().map(|code| code.as_str()).collect();
    assert_eq!(holders, ["DEMO_B"]);
}

#[tokio::test]
async fn unreadable_and_failing_messages_are_reported_and_the_others_are_not() {
    let sandbox = spawn(SandboxConfig::demo(), "127.0.0.1:0").await.unwrap();
    let deployment = Deployment::new("DEMO_C", &sandbox.base_url).await;
    let worker = institution_worker(&deployment.environment(), &deployment.aws)
        .await
        .unwrap();

    // First the poison sample: the good job is applied, the unreadable one reported.
    let (event, sample_ids) = deployment
        .deliver(&sample("sqs-batch-with-poison.json"))
        .await;
    let response = handle_batch(event, &worker).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| sample_ids[&f.item_identifier].as_str())
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].starts_with("poison"), "{failed:?}");
    assert!(sandbox.sandbox.user("DEMO_C", "EXT-2025-0042").is_some());

    // Then an Alma outage: the job stays on the queue, reported for retry.
    sandbox.sandbox.set_faults(
        Some("DEMO_C"),
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    );
    let mut retry = sample("sqs-batch-with-poison.json");
    retry.records.retain(|r| {
        !r.message_id
            .as_deref()
            .unwrap_or_default()
            .starts_with("poison")
    });
    let mut job: serde_json::Value =
        serde_json::from_str(retry.records[0].body.as_deref().unwrap()).unwrap();
    job["event_id"] = serde_json::json!("a-later-event");
    job["event_time"] = serde_json::json!("2030-01-01T00:00:00Z");
    retry.records[0].body = Some(job.to_string());
    let (event, _) = deployment.deliver(&retry).await;
    let message_id = event.records[0].message_id.clone().unwrap();
    let response = handle_batch(event, &worker).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, [message_id.as_str()]);
}
