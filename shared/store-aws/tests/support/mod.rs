//! A fresh table and fresh institution queues on moto, made through the real SDK.

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
        let config = patron_hub_store_aws::sdk_config_loader().load().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
        let sqs = aws_sdk_sqs::Client::new(&config);
        let run = uuid::Uuid::new_v4().simple().to_string();
        let table = format!("patron-hub-{run}");
        let prefix = format!("ph-{}-", &run[..12]);
        let institutions = patron_hub_contract::institutions();
        let queues =
            patron_hub_store_aws::provision(&dynamodb, &sqs, &table, &prefix, &institutions)
                .await
                .expect("create the table and queues on moto");
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
