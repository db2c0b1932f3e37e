//! The `network-reconcile` function on its AWS path: the wiring of
//! `network_reconcile` over a DynamoDB table, the job queues, the function's
//! queue of pages and the API-key secrets on moto, with the Alma sandbox as
//! every institution's Alma. Each run is begun by a sample of
//! `events/network-reconcile/` and then moved the way Lambda would move it:
//! the pages' queue is read, each batch handed to the handler, its successes
//! deleted, until the queue is empty.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use patron_hub_alma_sandbox::{RunningSandbox, SandboxConfig, Seed};
use patron_hub_domain::reconciliation::{ReconciliationStore, Run, RunKind};
use patron_hub_domain::registration::PatronRegistry;
use patron_hub_domain::{InstitutionCode, PrimaryId, SystemClock};
use patron_hub_lambda::network_reconcile::{handle_invocation, NetworkReconcile, PageMessage};
use patron_hub_lambda::sqs_batch::handle_batch;
use patron_hub_lambda::wiring::{
    institution_worker, network_reconcile, AwsClients, InstitutionWorker,
};
use patron_hub_lambda::Environment;
use patron_hub_store_aws::AwsStore;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

const ZONE: &str = "DEMO_NETWORK";
const MEMBERS: [&str; 3] = ["DEMO_A", "DEMO_B", "DEMO_C"];
/// External readers made through Alma's API in DEMO_A only (no webhook).
const READERS: u32 = 130;

fn sample(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/network-reconcile")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The network on moto and the sandbox, and the function wired over them.
struct Deployment {
    sandbox: RunningSandbox,
    aws: AwsClients,
    store: AwsStore,
    queues: BTreeMap<InstitutionCode, String>,
    pages_url: String,
    function: NetworkReconcile,
    /// The table and the job queues' name prefix, for the workers.
    table: String,
    prefix: String,
}

impl Deployment {
    async fn new() -> Self {
        assert!(
            std::env::var_os("AWS_ENDPOINT_URL").is_some(),
            "AWS_ENDPOINT_URL is not set: these tests need moto. Run ./scripts/test, or start \
             `python3 scripts/moto-server -H 127.0.0.1 -p 5055` and set AWS_ENDPOINT_URL=http://127.0.0.1:5055 \
             AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-1"
        );
        let sandbox = patron_hub_alma_sandbox::spawn(SandboxConfig::demo(), "127.0.0.1:0")
            .await
            .unwrap();
        let seed = Seed {
            prefix: "ext-".to_owned(),
            job_category: Some("Exterieur".to_owned()),
            ..Seed::new(READERS)
        };
        sandbox.sandbox.seed("DEMO_A", &seed).unwrap();
        let aws = AwsClients::load().await;
        let run = uuid::Uuid::new_v4().simple().to_string();
        let (table, prefix) = (format!("reconcile-{run}"), format!("jobs-{}-", &run[..10]));
        let institutions: Vec<InstitutionCode> = std::iter::once(ZONE)
            .chain(MEMBERS)
            .map(|code| InstitutionCode::parse(code).unwrap())
            .collect();
        let queues = patron_hub_store_aws::provision(
            &aws.dynamodb,
            &aws.sqs,
            &table,
            &prefix,
            &institutions,
        )
        .await
        .unwrap();
        let pages_url = aws
            .sqs
            .create_queue()
            .queue_name(format!("pages-{run}"))
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned();
        let secret_prefix = format!("alma-api-key-{run}/");
        for code in &institutions {
            aws.secrets
                .create_secret()
                .name(format!("{secret_prefix}{code}"))
                .secret_string(format!("demo-key-{code}"))
                .send()
                .await
                .unwrap();
        }
        let env = Environment::from_pairs(&[
            ("PATRON_HUB_TABLE", &table),
            ("PATRON_HUB_QUEUE_PREFIX", &prefix),
            ("PATRON_HUB_NETWORK_ZONE", ZONE),
            (
                "PATRON_HUB_INSTITUTIONS",
                "DEMO_NETWORK,DEMO_A,DEMO_B,DEMO_C",
            ),
            ("ALMA_API_BASE_URL", &sandbox.base_url),
            ("ALMA_API_KEY_SECRET_PREFIX", &secret_prefix),
            ("ALMA_CALLS_PER_SECOND", "25"),
            ("RECONCILE_PAGES_QUEUE_URL", &pages_url),
        ]);
        let function = network_reconcile(&env, &aws).await.unwrap();
        let store = AwsStore::new(
            aws.dynamodb.clone(),
            aws.sqs.clone(),
            table.clone(),
            queues.clone(),
            Arc::new(SystemClock),
        );
        Self {
            sandbox,
            aws,
            store,
            queues,
            pages_url,
            function,
            table,
            prefix,
        }
    }

    /// Up to ten messages of `queue`, as the SQS event source hands them over.
    async fn receive(&self, queue: &str) -> SqsEvent {
        let received = self
            .aws
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .visibility_timeout(120)
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
                event_source: Some("aws:sqs".to_owned()),
                ..SqsMessage::default()
            })
            .collect();
        SqsEvent { records }
    }

    /// Hands `batch` to the function; deletes what it did not report failed.
    async fn deliver(&self, batch: &SqsEvent) -> SqsBatchResponse {
        let answer = handle_invocation(&self.function, serde_json::to_value(batch).unwrap())
            .await
            .unwrap();
        let response: SqsBatchResponse = serde_json::from_value(answer).unwrap();
        for record in &batch.records {
            let failed = response
                .batch_item_failures
                .iter()
                .any(|f| Some(&f.item_identifier) == record.message_id.as_ref());
            if !failed {
                self.aws
                    .sqs
                    .delete_message()
                    .queue_url(&self.pages_url)
                    .receipt_handle(record.receipt_handle.as_deref().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
        response
    }

    /// Moves the pages until the queue is empty; how many pages that took.
    async fn drain_pages(&self) -> usize {
        let mut pages = 0;
        loop {
            let batch = self.receive(&self.pages_url).await;
            if batch.records.is_empty() {
                return pages;
            }
            assert_eq!(batch.records.len(), 1, "one chain of pages per run");
            let response = self.deliver(&batch).await;
            assert!(response.batch_item_failures.is_empty(), "{response:?}");
            pages += 1;
            assert!(pages < 100, "the run does not end");
        }
    }

    /// Begins the run of `sample`'s payload.
    async fn begin(&self, sample_name: &str) -> Value {
        handle_invocation(&self.function, sample(sample_name))
            .await
            .unwrap()
    }

    async fn newest_run(&self, kind: RunKind) -> Run {
        self.store.recent_runs(kind, 1).await.unwrap().remove(0)
    }

    /// The Alma calls other than GET so far.
    fn alma_writes(&self) -> u64 {
        self.sandbox
            .sandbox
            .stats()
            .iter()
            .filter(|c| c.method != "GET")
            .map(|c| c.count)
            .sum()
    }

    /// The `institution-worker` function of `institution`, over this deployment.
    async fn worker(&self, institution: &str) -> InstitutionWorker {
        let key = format!("demo-key-{institution}");
        let env = Environment::from_pairs(&[
            ("PATRON_HUB_INSTITUTION", institution),
            ("PATRON_HUB_TABLE", &self.table),
            ("PATRON_HUB_NETWORK_ZONE", ZONE),
            ("PATRON_HUB_QUEUE_PREFIX", &self.prefix),
            ("ALMA_API_BASE_URL", &self.sandbox.base_url),
            ("ALMA_API_KEY", &key),
            ("ALMA_CALLS_PER_SECOND", "25"),
        ]);
        institution_worker(&env, &self.aws).await.unwrap()
    }

    /// Works `institution`'s queue with the `institution-worker` function's
    /// handler until it is empty; the primary ids of the jobs it applied
    /// (SQS may deliver one twice: the worker applies it once).
    async fn apply_jobs(&self, institution: &str) -> BTreeSet<String> {
        let worker = self.worker(institution).await;
        let queue = &self.queues[&InstitutionCode::parse(institution).unwrap()];
        let mut applied = BTreeSet::new();
        loop {
            let batch = self.receive(queue).await;
            if batch.records.is_empty() {
                break;
            }
            for record in &batch.records {
                let job: Value = serde_json::from_str(record.body.as_deref().unwrap()).unwrap();
                applied.insert(job["primary_id"].as_str().unwrap().to_owned());
            }
            let response = handle_batch(batch, &worker).await;
            assert!(response.batch_item_failures.is_empty(), "{response:?}");
        }
        applied
    }

    /// The primary ids of the jobs on `institution`'s queue.
    async fn queued_patrons(&self, institution: &str) -> Vec<String> {
        let queue = &self.queues[&InstitutionCode::parse(institution).unwrap()];
        let mut patrons = Vec::new();
        loop {
            let batch = self.receive(queue).await;
            if batch.records.is_empty() {
                break;
            }
            for record in batch.records {
                let job: Value = serde_json::from_str(record.body.as_deref().unwrap()).unwrap();
                patrons.push(job["primary_id"].as_str().unwrap().to_owned());
            }
        }
        patrons.sort();
        patrons
    }
}

#[tokio::test]
async fn a_dry_run_finds_the_readers_only_one_member_has_and_writes_nothing() {
    let deployment = Deployment::new().await;
    deployment.sandbox.sandbox.reset_stats();
    let begun = deployment.begin("reconcile-dry-run.json").await;
    assert_eq!(begun["begun"], "started");
    assert_eq!(begun["dry_run"], true);

    let pages = deployment.drain_pages().await;
    let run = deployment.newest_run(RunKind::Reconcile).await;
    assert!(run.is_finished(), "{run:?}");
    assert_eq!(run.id, begun["run"]);
    // DEMO_A's readers in two pages, DEMO_B, DEMO_C and the zone in one
    // each, and two comparing pages.
    assert!(pages >= 6, "{pages} pages");
    assert_eq!(run.counts.missing, u64::from(READERS) * 2);
    assert_eq!((run.counts.stale, run.counts.jobs_queued), (0, 0));
    assert_eq!(
        deployment.alma_writes(),
        0,
        "a dry run writes nothing in Alma"
    );
    assert!(deployment.queued_patrons("DEMO_B").await.is_empty());
}

#[tokio::test]
async fn a_scheduled_reconcile_repairs_through_the_workers_and_the_next_finds_nothing() {
    let deployment = Deployment::new().await;
    let begun = deployment.begin("scheduled-reconcile.json").await;
    assert_eq!(begun["begun"], "started");
    // The schedule firing again while the run goes on leaves it alone.
    let again = deployment.begin("scheduled-reconcile.json").await;
    assert_eq!(again["begun"], "already_running");
    assert_eq!(again["run"], begun["run"]);

    deployment.drain_pages().await;
    let run = deployment.newest_run(RunKind::Reconcile).await;
    assert!(run.is_finished());
    assert_eq!(run.counts.jobs_queued, u64::from(READERS) * 2);
    assert!(deployment.queued_patrons("DEMO_A").await.is_empty());
    // The institutions' workers apply the repairs: the readers are there.
    let expected: BTreeSet<String> = (1..=READERS).map(|n| format!("ext-{n:07}")).collect();
    assert_eq!(deployment.apply_jobs("DEMO_B").await, expected);
    assert_eq!(deployment.apply_jobs("DEMO_C").await, expected);
    let copy = deployment
        .sandbox
        .sandbox
        .user("DEMO_C", "ext-0000042")
        .unwrap();
    assert_eq!(copy["job_category"]["value"], "Exterieur");

    // The next night's run finds nothing and queues nothing.
    let next = deployment.begin("scheduled-reconcile.json").await;
    assert_eq!(next["begun"], "started");
    assert_ne!(next["run"], begun["run"]);
    deployment.drain_pages().await;
    let run = deployment.newest_run(RunKind::Reconcile).await;
    assert_eq!(run.counts.checked, u64::from(READERS));
    let found = (run.counts.missing, run.counts.stale, run.counts.unlinked);
    let differences = deployment
        .store
        .differences(&run.id, None, 10)
        .await
        .unwrap();
    assert_eq!(
        (found, run.counts.jobs_queued),
        ((0, 0, 0), 0),
        "{differences:?}"
    );
}

#[tokio::test]
async fn a_duplicated_page_message_does_not_start_a_second_chain() {
    let deployment = Deployment::new().await;
    deployment.begin("scheduled-reconcile.json").await;
    let first = deployment.receive(&deployment.pages_url).await;
    let message: PageMessage =
        serde_json::from_str(first.records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(message.version, 1);
    deployment.deliver(&first).await;
    // SQS delivers the first page again: it is dropped, and one message
    // (the second page's) stays on the queue.
    let duplicate = SqsEvent {
        records: vec![SqsMessage {
            message_id: Some("duplicate".to_owned()),
            receipt_handle: first.records[0].receipt_handle.clone(),
            body: first.records[0].body.clone(),
            ..SqsMessage::default()
        }],
    };
    let answer = handle_invocation(
        &deployment.function,
        serde_json::to_value(&duplicate).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]));
    let next = deployment.receive(&deployment.pages_url).await;
    assert_eq!(next.records.len(), 1);
    let message: PageMessage =
        serde_json::from_str(next.records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(message.version, 2);
}

#[tokio::test]
async fn a_backfill_begun_by_an_event_fills_the_registry() {
    let deployment = Deployment::new().await;
    let patron = PrimaryId::parse("ext-0000042").unwrap();
    assert!(deployment.store.get(&patron).await.unwrap().is_none());
    let begun = deployment.begin("backfill-requested.json").await;
    assert_eq!(begun["kind"], "backfill");
    deployment.drain_pages().await;
    let run = deployment.newest_run(RunKind::Backfill).await;
    assert!(run.is_finished());
    assert_eq!(run.only.as_ref().map(|c| c.as_str()), Some("DEMO_A"));
    assert_eq!(run.counts.users_read, u64::from(READERS));
    let entry = deployment.store.get(&patron).await.unwrap().unwrap();
    assert!(
        format!("{entry:?}").contains("DEMO_A"),
        "the registry knows where the patron is: {entry:?}"
    );
}

#[tokio::test]
async fn the_workers_keep_to_half_the_alma_budget_while_a_run_reads_their_institution() {
    let deployment = Deployment::new().await;
    let before = deployment.worker("DEMO_B").await;
    before.budget.refresh().await;
    assert_eq!(before.budget.share(), 1.0, "no run: the whole budget");
    deployment.begin("scheduled-reconcile.json").await;
    let during = deployment.worker("DEMO_B").await;
    during.budget.refresh().await;
    assert_eq!(during.budget.share(), 0.5, "the run takes the other half");
}
