//! Creates the table and the institution job queues the way
//! `infra/template.yaml` declares them: for local AWS emulators and the tests of
//! every crate that runs against one. In AWS, CloudFormation owns these.

use crate::error;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use patron_hub_domain::{InstitutionCode, StoreError};
use std::collections::BTreeMap;

/// Creates `table` (string `pk`/`sk`, on demand, TTL on `expires_at`) and one
/// queue `{queue_prefix}{CODE}` per institution; returns the queue URLs.
pub async fn provision(
    dynamodb: &aws_sdk_dynamodb::Client,
    sqs: &aws_sdk_sqs::Client,
    table: &str,
    queue_prefix: &str,
    institutions: &[InstitutionCode],
) -> Result<BTreeMap<InstitutionCode, String>, StoreError> {
    create_table(dynamodb, table).await?;
    for institution in institutions {
        sqs.create_queue()
            .queue_name(format!("{queue_prefix}{institution}"))
            .send()
            .await
            .map_err(|e| error::unavailable("CreateQueue", e))?;
    }
    crate::resolve_queue_urls(sqs, queue_prefix, institutions).await
}

async fn create_table(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), StoreError> {
    let incomplete =
        |e: aws_sdk_dynamodb::error::BuildError| StoreError::Unavailable(e.to_string());
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(incomplete)
    };
    let key = |name: &str, key_type: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .map_err(incomplete)
    };
    dynamodb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk")?)
        .attribute_definitions(attribute("sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .send()
        .await
        .map_err(|e| error::unavailable("CreateTable", e))?;
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name("expires_at")
        .enabled(true)
        .build()
        .map_err(incomplete)?;
    dynamodb
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|e| error::unavailable("UpdateTimeToLive", e))?;
    Ok(())
}
