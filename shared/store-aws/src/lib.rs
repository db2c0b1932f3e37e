//! The AWS adapters of the storage and queue ports: [`AwsStore`] implements the
//! domain's `WebhookInbox`, `JobQueue` and `DistributionLedger` with one
//! DynamoDB table and one SQS standard queue per institution, and the accounts
//! ports `AccountStore`, `TokenStore`, `SessionStore`, `LoginAttempts` and
//! `RequestCounters` and
//! the registration ports `PatronRegistry` and `StagingRecords` and the
//! organization ports `OrganizationStore` and `MembershipStore`, the staff
//! console's `AuditLog` and the `ReconciliationStore` of backfills and
//! reconciles on the same table. [`EventBridgePublisher`] puts domain
//! events on an EventBridge bus and [`BusSubscription`] reads them back from a
//! queue subscribed to it.
//!
//! It owns the table's item layout and the message format. It must never hold
//! business rules (they are the domain's), build AWS clients itself (the Lambda
//! binaries build them once at start-up, from [`sdk_config_loader`]'s
//! configuration), Scan the table, or put credentials,
//! tokens or patron data in an error or a log line.
//!
//! # The table (single-table design)
//! String keys `pk`/`sk`; TTL attribute `expires_at` (epoch seconds). TTL
//! deletion is lazy, so every read that depends on an expiry compares the time
//! itself.
//!
//! | item | `pk` | `sk` | other attributes |
//! | --- | --- | --- | --- |
//! | event receipt | `EVENT#{event_id}` | `RECEIPT` | `state` (pending/queued), `holder`, `lease_until`, `keep_until`, `received_at`, `institution`, `expires_at` = keep_until |
//! | job claim | `CLAIM#{institution}#{event_id}` | `CLAIM` | `state` (in_progress/applied/skipped/dead_lettered), `lease_until`, `expires_at` (30 days) |
//! | patron position | `PATRON#{primary_id}` | `POSITION#{institution}` | `event_time`, `event_id` |
//! | patron lane | `PATRON#{primary_id}` | `LANE#{institution}` | `holder` (event id of the job applying), `lease_until`, `expires_at` = lease_until |
//! | job outcome | `PATRON#{primary_id}` | `OUTCOME#{finished_at}#{institution}#{event_id}` | `outcome` (JSON) |
//! | dead letter | `DEADLETTER#{institution}` | `{dead_at}_{uuid}` (its id) | `job` (JSON), `reason_code`, `reason_message`, `attempts`, `dead_at` |
//! | account | `ACCOUNT#{id}` | `ACCOUNT` | `account` (JSON), `version`, `import_id` (if imported) |
//! | user-name marker | `USERNAME#{lower-cased user name}` | `MARKER` | `account_id`, `import_id` (if imported); moved by a rename |
//! | e-mail marker | `EMAIL#{email}` | `MARKER` | `account_id`, `import_id` (if imported); never deleted |
//! | account directory entry | `ACCOUNTS` | `{lower-cased user name}#{id}` | `account_id`, `search` (lower-cased user name, e-mail, names), `import_id` (if imported) |
//! | token | `TOKEN#{sha256}` | `TOKEN` | `token` (JSON), `valid_until`, `expires_at` = its expiry |
//! | account's token index | `ACCOUNT#{id}` | `TOKEN#{sha256}` | `expires_at` = the token's, `due` (its expiry entry's sort key) |
//! | token expiry entry | `DUE#TOKEN_EXPIRY` | `{expires_at}#{sha256}` | `account_id`, `hash`, `expires_at` = the token's |
//! | account expiry entry | `DUE#ACCOUNT_EXPIRY` | `{yyyy-mm-dd}#{id}` | `account_id`, `import_id` (if imported); only while the account is not inactive and has an expiry date |
//! | session | `SESSION#{sha256}` | `SESSION` | `account_id`, `created_at`, `last_used_at`, `expires_at` = absolute timeout |
//! | account's session index | `ACCOUNT#{id}` | `SESSION#{sha256}` | `expires_at` = the session's, `due` (its start entry's sort key) |
//! | session start entry | `DUE#SESSION_START` | `{created_at}#{sha256}` | `account_id`, `hash`, `expires_at` = the session's |
//! | failed login | `LOGIN#{sha256 of the identifier}` | `FAILED#{at}#{uuid}` | `expires_at` = one window later, `due` (its expiry entry's sort key) |
//! | counter expiry entry | `DUE#COUNTER_EXPIRY#{first hex digit of the sha256}` | `{expires_at}#FAILED#{at}#{uuid}` | `counter_pk`, `counter_sk` (the failure's key), `expires_at` = the failure's |
//! | counted request | `REQUESTS#{sha256 of the counter key}` | `COUNTED#{at}#{uuid}` | `expires_at` = one window later, `due` (its expiry entry's sort key) |
//! | request expiry entry | `DUE#REQUEST_EXPIRY#{first hex digit of the sha256}` | `{expires_at}#COUNTED#{at}#{uuid}` | `counter_pk`, `counter_sk` (the request's key), `expires_at` = the request's |
//! | registry entry | `PATRON#{primary_id}` | `REGISTRY` | `entry` (JSON), `version` |
//! | registry e-mail key | `PATRON_EMAIL#{normalised email}` | `{primary_id}` | `entry` (JSON copy), `version` |
//! | registry external-id key | `PATRON_EXT#{externalSystemId}` | `{primary_id}` | `entry` (JSON copy), `version` |
//! | staging record | `STAGING#{externalSystemId}` | `STAGING` | `record` (JSON), `version` |
//! | staging e-mail marker | `STAGING_EMAIL#{email}` | `MARKER` | `external_system_id`, `record` (JSON copy), `version` |
//! | staging update entry | `DUE#STAGING_UPDATED` | `{updated_date}#{externalSystemId}` | `record_pk`, `marker_pk`, `external_system_id`, `version` |
//! | organization | `ORGANIZATION#{id}` | `ORGANIZATION` | `organization` (JSON), `version` |
//! | rollover entry | `DUE#ORGANIZATION_ROLLOVER` | `{due date}#{id}` | `organization` (JSON copy), `version`; only while it has a membership window |
//! | membership | `MEMBERSHIP#{id}` | `MEMBERSHIP` | `membership` (JSON), `version` |
//! | organization's membership copy | `ORGANIZATION_MEMBERSHIPS#{organization}` | `{date_start}#{membership id}` | `membership` (JSON copy), `version` |
//! | person's membership copy | `PERSON_MEMBERSHIPS#{account id}` | `{date_start}#{membership id}` | `membership` (JSON copy), `version` |
//! | fee entry | `ORGANIZATION_FEES#{organization}` | `{charged_at}#{membership id}` | `fee` (JSON) |
//! | periods guard | `MEMBERSHIP_PERIODS#{account id}#{organization}` | `GUARD` | `version` |
//! | AGENT marker | `AGENT#{account id}` | `MARKER` | `organization`, `membership`, `date_end` (`yyyy-mm-dd`) |
//! | console audit entry | `AUDIT#{id}` | `ENTRY` | `entry` (JSON) |
//! | patron's audit copy | `PATRON#{primary_id}` | `AUDIT#{at}#{id}` | `entry` (JSON copy); one per primary id the entry is listed under |
//! | backfill or reconcile run | `RUN#{id}` | `RUN` | `run` (JSON), `version`, `expires_at` = 400 days after its start |
//! | run listing entry | `RUNS#{kind}` | `{started_at}#{id}` | `run_id`, `expires_at` = its run's; written with the run's first save |
//! | version a reconcile read | `RUNVERSIONS#{run id}` | `{primary_id}␁{institution}` | `read` (JSON), `expires_at` = 7 days after it was kept |
//! | difference a reconcile found | `RUNDRIFT#{run id}` | `{primary_id}␁{institution}␁{kind}` | `difference` (JSON), `expires_at` = 400 days after it was kept |
//!
//! Times compared in conditions are numbers of nanoseconds since the epoch;
//! times in sort keys are fixed-width RFC 3339 text, which sorts like time,
//! and days are `yyyy-mm-dd` text, which sorts like days. `␁` is the control
//! character U+0001: primary ids hold `#` and any other printable character
//! but never a control character, so it ends a primary id in a sort key,
//! and keys sort as (primary id, institution, ...) tuples do (`keys::version_sk`).
//! A run's versions and differences are one partition each, written 25 to a
//! BatchWriteItem and paged by Query (`reconciliation`).
//! Writes of several items of one account are one TransactWriteItems (at most
//! 6 items); a bulk import writes 25 accounts (100 items) per transaction and
//! rolls back what it wrote if one fails (`import`). Search reads the
//! `ACCOUNTS` partition with a filter (`directory`, cost documented there).
//! A registry save or removal is one transaction of the entry with its lookup
//! keys (`registry`); a staging write one of the record with its e-mail marker
//! (`staging`); a job claim one of the claim with the patron's lane, checking
//! the patron's position (`ledger`). Lookup keys carry a full copy of what they find, so every
//! registration lookup is one Query or GetItem.
//!
//! The `DUE#…` partitions are indexes by date (`due`): each holds one entry
//! per record that can fall due, written, moved and deleted in the same
//! transaction as the record (a token's by the same write as the token, and
//! with it by consume and revoke_all), so that the daily rollover reads only
//! what is due, with one Query of a key range. Each is one partition: about a
//! thousand writes a second at most, far above these records' rates — but for
//! the counter and request expiry indexes, written at the pace of logins and
//! limited requests, which are spread over sixteen each (`counters`).
//! Organizations and memberships are written one transaction at a time with
//! their copies, guard and marker (`memberships`, `membership_items`), so that
//! each listing is one Query and the overlap and AGENT rules hold under
//! concurrency.
//!
//! # The queues
//! One standard queue per institution, named `{prefix}{CODE}`; the message body
//! is the job as JSON. Dead letters decided by the worker (Alma refused the
//! change, retries exhausted) are kept in the table with their reason, for the
//! console and `patron-hub dead-letters`. Messages that exceed the queue's
//! `maxReceiveCount` without being settled (a crash loop, a body that is not a
//! job) land instead in the SQS dead-letter queue configured in `infra/`, whose
//! depth alarms.

mod account_items;
mod accounts;
mod audit;
mod batch;
mod bus_setup;
mod counters;
mod dead_letter;
mod directory;
mod due;
mod error;
mod import;
mod inbox;
mod item;
mod keys;
mod ledger;
mod login_attempts;
mod mailer;
mod membership_items;
mod memberships;
mod operations;
mod organizations;
mod provision;
mod publisher;
mod queue;
mod reconciliation;
mod registry;
mod request_counters;
mod sdk;
mod send;
mod sessions;
mod staging;
mod subscription;
mod tokens;
mod transact;

pub use bus_setup::{create_event_bus, subscribe_queue};
pub use mailer::SesMailer;
pub use provision::provision;
pub use publisher::{EventBridgePublisher, EVENT_SOURCE};
pub use queue::sent_at;
pub use sdk::sdk_config_loader;
pub use subscription::BusSubscription;

use patron_hub_domain::{Clock, InstitutionCode, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The DynamoDB and SQS backend of the inbox, the job queue and the ledger.
/// Cheap to clone: clients and configuration are shared.
#[derive(Clone)]
pub struct AwsStore {
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    table: Arc<str>,
    queues: Arc<BTreeMap<InstitutionCode, String>>,
    clock: Arc<dyn Clock>,
    session_lifetime: std::time::Duration,
}

impl AwsStore {
    /// A store on `table` and the institution queues at `queues` (queue URLs),
    /// with clients built once by the caller.
    pub fn new(
        dynamodb: aws_sdk_dynamodb::Client,
        sqs: aws_sdk_sqs::Client,
        table: String,
        queues: BTreeMap<InstitutionCode, String>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            dynamodb,
            sqs,
            table: table.into(),
            queues: Arc::new(queues),
            clock,
            session_lifetime: sessions::DEFAULT_SESSION_LIFETIME,
        }
    }
}

/// The URL of each institution's queue, `{url_prefix}{CODE}`: how deployed
/// functions find their queues at start-up without one `GetQueueUrl` per
/// institution (a queue's URL is its account's SQS endpoint + its name).
pub fn queue_urls(
    url_prefix: &str,
    institutions: &[InstitutionCode],
) -> BTreeMap<InstitutionCode, String> {
    institutions
        .iter()
        .map(|code| (code.clone(), format!("{url_prefix}{code}")))
        .collect()
}

/// Finds the URL of each institution's queue `{prefix}{CODE}` by asking SQS,
/// one call per institution: for local runs, where the queue URLs' prefix is
/// not given (deployed functions use [`queue_urls`]).
pub async fn resolve_queue_urls(
    sqs: &aws_sdk_sqs::Client,
    prefix: &str,
    institutions: &[InstitutionCode],
) -> Result<BTreeMap<InstitutionCode, String>, StoreError> {
    let mut queues = BTreeMap::new();
    for institution in institutions {
        let output = sqs
            .get_queue_url()
            .queue_name(format!("{prefix}{institution}"))
            .send()
            .await
            .map_err(|e| error::unavailable("GetQueueUrl", e))?;
        let url = output
            .queue_url()
            .ok_or_else(|| error::no_queue(institution))?;
        queues.insert(institution.clone(), url.to_owned());
    }
    Ok(queues)
}

impl AwsStore {
    /// Writes an item whatever is stored under its key (no condition): the
    /// one unconditional PutItem every adapter shares.
    pub(crate) async fn put_unconditionally(
        &self,
        item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
        operation: &'static str,
    ) -> Result<(), StoreError> {
        self.dynamodb
            .put_item()
            .table_name(&*self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| error::unavailable(operation, e))?;
        Ok(())
    }
}

impl std::fmt::Debug for AwsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsStore")
            .field("table", &self.table)
            .field("queues", &self.queues)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_url_is_the_prefix_followed_by_the_code() {
        let codes = ["DEMO_A", "DEMO_B"].map(|c| InstitutionCode::parse(c).unwrap());
        let urls = queue_urls(
            "https://sqs.eu-west-1.amazonaws.com/123456789012/patron-hub-jobs-",
            &codes,
        );
        assert_eq!(
            urls.values().map(String::as_str).collect::<Vec<_>>(),
            [
                "https://sqs.eu-west-1.amazonaws.com/123456789012/patron-hub-jobs-DEMO_A",
                "https://sqs.eu-west-1.amazonaws.com/123456789012/patron-hub-jobs-DEMO_B",
            ]
        );
        assert_eq!(urls.keys().cloned().collect::<Vec<_>>(), codes);
    }
}
