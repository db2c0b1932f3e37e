//! A fresh table and fresh institution queues on moto, made through the real SDK.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use patron_hub_domain::{Clock, InstitutionCode};
use patron_hub_store_aws::AwsStore;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One test's own table and queues.
pub struct Fixture {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub table: String,
    /// The queue URL of every institution of the contract suite.
    pub queues: BTreeMap<InstitutionCode, String>,
}

impl Fixture {
    /// Creates a table with TTL on `expires_at` and a queue per institution of
    /// the contract suite, all named with a uuid.
    pub async fn new() -> Self {
        if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
            panic!(
                "AWS_ENDPOINT_URL is not set: the AWS store tests need moto. Run ./scripts/test, \
                 or start `python3 -m moto.server -H 127.0.0.1 -p 5055` and set \
                 AWS_ENDPOINT_URL=http://127.0.0.1:5055 AWS_ACCESS_KEY_ID=test \
                 AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-1"
            );
        }
        let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
        let sqs = aws_sdk_sqs::Client::new(&config);
        let run = uuid::Uuid::new_v4().simple().to_string();
        let table = format!("patron-hub-{run}");
        create_table(&dynamodb, &table).await;
        let prefix = format!("ph-{}-", &run[..12]);
        let institutions = patron_hub_contract::institutions();
        for institution in &institutions {
            sqs.create_queue()
                .queue_name(format!("{prefix}{institution}"))
                .send()
                .await
                .expect("create an institution queue");
        }
        let queues = patron_hub_store_aws::resolve_queue_urls(&sqs, &prefix, &institutions)
            .await
            .expect("resolve the queue URLs");
        assert_eq!(queues.len(), institutions.len());
        Self {
            dynamodb,
            sqs,
            table,
            queues,
        }
    }

    /// A store on this table that knows the given queues.
    pub fn store(
        &self,
        queues: BTreeMap<InstitutionCode, String>,
        clock: Arc<dyn Clock>,
    ) -> AwsStore {
        AwsStore::new(
            self.dynamodb.clone(),
            self.sqs.clone(),
            self.table.clone(),
            queues,
            clock,
        )
    }
}

/// The table as `infra/` declares it: string `pk`/`sk`, on demand, TTL on `expires_at`.
async fn create_table(dynamodb: &aws_sdk_dynamodb::Client, table: &str) {
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("a complete attribute definition")
    };
    let key = |name: &str, key_type: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .expect("a complete key element")
    };
    dynamodb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .send()
        .await
        .expect("create the table");
    dynamodb
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(true)
                .build()
                .expect("a complete TTL specification"),
        )
        .send()
        .await
        .expect("enable TTL");
}
