//! The `network-reconcile` function's handler. A run (backfill or reconcile)
//! is begun by EventBridge Scheduler (the nightly reconcile), by an event on
//! the bus (`Backfill requested`, `Reconcile requested`) or by hand; then it
//! moves one page per invocation: each page's message on the function's own
//! SQS queue carries the run and the checkpoint version it expects, and the
//! page done queues the next. No invocation comes near Lambda's 15 minutes,
//! whatever the size of an institution.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::Diagnostic;
use patron_hub_domain::reconciliation::{Begun, ReconcileError, Reconciliation, Run, RunKind};
use patron_hub_domain::InstitutionCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// How long a page that failed for a while (Alma throttled or unavailable,
/// the table unavailable) waits on the queue before it is tried again.
const RETRY_AFTER_SECONDS: i32 = 60;

/// The event detail-type that begins a backfill.
pub const BACKFILL_REQUESTED: &str = "Backfill requested";
/// The event detail-type that begins a reconcile.
pub const RECONCILE_REQUESTED: &str = "Reconcile requested";

/// A run to begin, as the schedule, an event or an operator asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// `backfill` or `reconcile`.
    pub start: RunKind,
    /// Find differences without writing anything but the run's own records
    /// (a reconcile only: a backfill has nothing to leave out).
    #[serde(default)]
    pub dry_run: bool,
    /// One institution: a backfill reads only it, a reconcile repairs only it.
    #[serde(default)]
    pub institution: Option<InstitutionCode>,
}

/// The detail of a `Backfill requested` or `Reconcile requested` event.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestDetail {
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    institution: Option<InstitutionCode>,
}

/// The body of one page's message: the run, and the checkpoint version the
/// page starts from. A message whose version is not the run's any more is a
/// duplicate (SQS delivers at least once) and is dropped, so one run never
/// has two chains of pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageMessage {
    /// The run's id.
    pub run: String,
    /// Backfill or reconcile.
    pub kind: RunKind,
    /// The run's version when the message was sent.
    pub version: u64,
}

impl PageMessage {
    /// The message of `run`'s next page.
    pub fn next(run: &Run) -> Self {
        Self {
            run: run.id.clone(),
            kind: run.kind,
            version: run.version,
        }
    }
}

/// What an invocation carries.
#[derive(Debug)]
pub enum Invocation {
    /// Begin (or resume) a run.
    Begin(RunRequest),
    /// Pages of running runs, from the function's queue.
    Pages(SqsEvent),
}

impl Invocation {
    /// Reads a payload: an SQS batch (`Records`), an EventBridge event
    /// (`detail-type`), or a request `{"start": "backfill"|"reconcile",
    /// "dry_run": bool, "institution": "CODE"}` (the schedule's input, or an
    /// operator's `aws lambda invoke`).
    pub fn parse(payload: Value) -> Result<Self, NetworkReconcileFailure> {
        let invalid = |reason: String| NetworkReconcileFailure::InvalidRequest(reason);
        let Value::Object(object) = &payload else {
            return Err(invalid("the payload is not a JSON object".to_owned()));
        };
        if object.contains_key("Records") {
            return serde_json::from_value(payload)
                .map(Invocation::Pages)
                .map_err(|e| invalid(format!("not an SQS batch: {e}")));
        }
        if let Some(detail_type) = object.get("detail-type") {
            let start = match detail_type.as_str() {
                Some(BACKFILL_REQUESTED) => RunKind::Backfill,
                Some(RECONCILE_REQUESTED) => RunKind::Reconcile,
                _ => return Err(invalid(format!("unknown event {detail_type}"))),
            };
            let detail: RequestDetail = match object.get("detail") {
                None | Some(Value::Null) => RequestDetail::default(),
                Some(detail) => serde_json::from_value(detail.clone())
                    .map_err(|e| invalid(format!("event detail: {e}")))?,
            };
            return RunRequest {
                start,
                dry_run: detail.dry_run,
                institution: detail.institution,
            }
            .checked();
        }
        serde_json::from_value::<RunRequest>(payload)
            .map_err(|e| invalid(e.to_string()))?
            .checked()
    }
}

impl RunRequest {
    fn checked(self) -> Result<Invocation, NetworkReconcileFailure> {
        if self.start == RunKind::Backfill && self.dry_run {
            return Err(NetworkReconcileFailure::InvalidRequest(
                "a backfill has no dry run: it writes only the patron registry".to_owned(),
            ));
        }
        Ok(Invocation::Begin(self))
    }
}

/// Why an invocation was refused or did not complete.
#[derive(Debug, thiserror::Error)]
pub enum NetworkReconcileFailure {
    /// The payload is none of the three shapes.
    #[error("invalid network-reconcile request: {0} (expected {{\"start\": \"backfill\"|\"reconcile\", \"dry_run\": bool, \"institution\": \"CODE\"}}, an event `{BACKFILL_REQUESTED}` or `{RECONCILE_REQUESTED}`, or an SQS batch of pages)")]
    InvalidRequest(String),
    /// The run could not be begun.
    #[error("run not begun: {0}")]
    Reconcile(#[from] ReconcileError),
    /// The run was begun but its first page could not be queued.
    #[error("run {run} begun but its first page could not be queued: {reason}")]
    PageNotQueued {
        /// The run.
        run: String,
        /// Why.
        reason: String,
    },
}

impl From<NetworkReconcileFailure> for Diagnostic {
    fn from(failure: NetworkReconcileFailure) -> Self {
        let error_type = match failure {
            NetworkReconcileFailure::InvalidRequest(_) => "InvalidNetworkReconcileRequest",
            NetworkReconcileFailure::Reconcile(_) => "RunNotBegun",
            NetworkReconcileFailure::PageNotQueued { .. } => "PageNotQueued",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: failure.to_string(),
        }
    }
}

/// The function's own queue of pages.
pub struct PageQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl PageQueue {
    /// The queue at `url`.
    pub fn new(sqs: aws_sdk_sqs::Client, url: String) -> Self {
        Self { sqs, url }
    }

    /// Queues `run`'s next page.
    async fn send_next(&self, run: &Run) -> Result<(), String> {
        let body = serde_json::to_string(&PageMessage::next(run)).map_err(|e| e.to_string())?;
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())
    }

    /// Keeps a failed page's message hidden [`RETRY_AFTER_SECONDS`] rather
    /// than the queue's whole visibility timeout.
    async fn retry_later(&self, receipt_handle: &str) {
        let changed = self
            .sqs
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(RETRY_AFTER_SECONDS)
            .send()
            .await;
        if let Err(error) = changed {
            let error = aws_sdk_sqs::error::DisplayErrorContext(&error);
            tracing::warn!(%error, "page kept for the queue's whole visibility timeout");
        }
    }
}

/// What the function runs on.
pub struct NetworkReconcile {
    /// The use cases.
    pub reconciliation: Reconciliation,
    /// Its queue of pages.
    pub pages: PageQueue,
}

/// Handles one invocation: begins a run and queues its first page, or moves
/// each page of a batch. The result is the run begun, or the batch's
/// messages to deliver again (`ReportBatchItemFailures`).
pub async fn handle_invocation(
    function: &NetworkReconcile,
    payload: Value,
) -> Result<Value, NetworkReconcileFailure> {
    let invocation = Invocation::parse(payload).inspect_err(|failure| {
        tracing::error!(%failure, "network-reconcile refused its payload");
    })?;
    match invocation {
        Invocation::Begin(request) => begin(function, request).await,
        Invocation::Pages(batch) => Ok(json!(pages(function, batch).await)),
    }
}

async fn begin(
    function: &NetworkReconcile,
    request: RunRequest,
) -> Result<Value, NetworkReconcileFailure> {
    let begun = function
        .reconciliation
        .begin(request.start, request.dry_run, request.institution)
        .await?;
    // A running run has its chain of pages already.
    let (run, begun, needs_page) = match &begun {
        Begun::Started(run) => (run, "started", true),
        Begun::Resumed(run) => (run, "resumed", true),
        Begun::AlreadyRunning(run) => (run, "already_running", false),
    };
    if needs_page && !run.is_finished() {
        function.pages.send_next(run).await.map_err(|reason| {
            NetworkReconcileFailure::PageNotQueued {
                run: run.id.clone(),
                reason,
            }
        })?;
    }
    tracing::info!(run = %run.id, kind = run.kind.as_str(), dry_run = run.dry_run, begun, "run begun");
    Ok(json!({
        "run": run.id,
        "kind": run.kind,
        "dry_run": run.dry_run,
        "begun": begun,
    }))
}

async fn pages(function: &NetworkReconcile, batch: SqsEvent) -> SqsBatchResponse {
    let mut failures = Vec::new();
    for record in batch.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        if let Err(retry) = page(function, &record).await {
            if retry {
                if let Some(handle) = &record.receipt_handle {
                    function.pages.retry_later(handle).await;
                }
            }
            failures.push(BatchItemFailure {
                item_identifier: message_id,
            });
        }
    }
    SqsBatchResponse {
        batch_item_failures: failures,
    }
}

/// Moves one page. `Err(true)`: try it again soon; `Err(false)`: leave it to
/// the queue's redrive (a failure that waiting will not cure goes to the
/// dead-letter queue, which raises an alarm).
async fn page(function: &NetworkReconcile, record: &SqsMessage) -> Result<(), bool> {
    let Some(message) = record
        .body
        .as_deref()
        .and_then(|body| serde_json::from_str::<PageMessage>(body).ok())
    else {
        tracing::error!(message_id = ?record.message_id, "unreadable page message");
        return Err(false);
    };
    let run = match function
        .reconciliation
        .run(&message.run, message.kind)
        .await
    {
        Ok(run) => run,
        Err(ReconcileError::NoSuchRun(run)) => {
            tracing::error!(%run, "page of an unknown run dropped");
            return Ok(());
        }
        Err(error) => {
            tracing::warn!(run = %message.run, %error, "run unreadable; page kept");
            return Err(true);
        }
    };
    if run.version != message.version || run.is_finished() {
        tracing::info!(run = %run.id, message = message.version, stored = run.version, "page already done; duplicate dropped");
        return Ok(());
    }
    let next = match function.reconciliation.step(&run).await {
        Ok(next) => next,
        Err(ReconcileError::Overtaken) => {
            tracing::info!(run = %run.id, "page done by another invocation");
            return Ok(());
        }
        Err(error) => {
            let transient = error.is_transient();
            tracing::warn!(run = %run.id, %error, transient, "page failed; kept on the queue");
            return Err(transient);
        }
    };
    if next.is_finished() {
        tracing::info!(run = %next.id, kind = next.kind.as_str(), dry_run = next.dry_run, counts = ?next.counts, "run finished");
        return Ok(());
    }
    tracing::info!(run = %next.id, position = ?next.position, "page done");
    if let Err(reason) = function.pages.send_next(&next).await {
        // The checkpoint is stored: the next begin of the same request
        // (the nightly schedule, or an event) resumes the run from it.
        tracing::error!(run = %next.id, %reason, "next page not queued; the run waits for its next begin");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn begin(payload: Value) -> RunRequest {
        match Invocation::parse(payload).unwrap() {
            Invocation::Begin(request) => request,
            Invocation::Pages(_) => panic!("not a begin"),
        }
    }

    #[test]
    fn reads_the_schedules_and_an_operators_requests() {
        let request = begin(json!({"start": "reconcile"}));
        assert_eq!(request.start, RunKind::Reconcile);
        assert!(!request.dry_run);
        assert_eq!(request.institution, None);
        let request =
            begin(json!({"start": "reconcile", "dry_run": true, "institution": "DEMO_A"}));
        assert!(request.dry_run);
        assert_eq!(request.institution.unwrap().as_str(), "DEMO_A");
        assert_eq!(begin(json!({"start": "backfill"})).start, RunKind::Backfill);
    }

    #[test]
    fn reads_the_events_on_the_bus() {
        let event = |detail_type: &str, detail: Value| {
            json!({
                "version": "0", "id": "c1b0f2b6", "source": "patron-hub.operator",
                "account": "123456789012", "time": "2026-12-07T22:00:00Z",
                "region": "eu-west-1", "resources": [],
                "detail-type": detail_type, "detail": detail,
            })
        };
        let request = begin(event(BACKFILL_REQUESTED, json!({"institution": "DEMO_B"})));
        assert_eq!(request.start, RunKind::Backfill);
        assert_eq!(request.institution.unwrap().as_str(), "DEMO_B");
        let request = begin(event(RECONCILE_REQUESTED, json!({"dry_run": true})));
        assert_eq!(request.start, RunKind::Reconcile);
        assert!(request.dry_run);
        assert_eq!(
            begin(event(BACKFILL_REQUESTED, json!({}))).institution,
            None
        );
        assert!(Invocation::parse(event("Patron registered", json!({}))).is_err());
        assert!(
            Invocation::parse(event(BACKFILL_REQUESTED, json!({"institutions": "X"}))).is_err()
        );
    }

    #[test]
    fn reads_a_batch_of_pages() {
        let page = PageMessage {
            run: "20261207T033000.000Z-reconcile".to_owned(),
            kind: RunKind::Reconcile,
            version: 4,
        };
        let payload = json!({"Records": [{
            "messageId": "m-1", "receiptHandle": "r-1",
            "body": serde_json::to_string(&page).unwrap(),
            "attributes": {}, "messageAttributes": {},
            "eventSource": "aws:sqs",
        }]});
        let Invocation::Pages(batch) = Invocation::parse(payload).unwrap() else {
            panic!("not a batch");
        };
        let body = batch.records[0].body.as_deref().unwrap();
        assert_eq!(serde_json::from_str::<PageMessage>(body).unwrap(), page);
    }

    #[test]
    fn refuses_what_is_not_a_request() {
        for payload in [
            Value::Null,
            json!([]),
            json!("reconcile"),
            json!({}),
            json!({"start": "rollover"}),
            json!({"start": "reconcile", "dryRun": true}),
            json!({"start": "backfill", "dry_run": true}),
            json!({"start": "reconcile", "institution": "not a code"}),
        ] {
            let refused = Invocation::parse(payload.clone());
            assert!(
                matches!(refused, Err(NetworkReconcileFailure::InvalidRequest(_))),
                "{payload} must be refused"
            );
        }
    }

    #[test]
    fn failures_become_typed_diagnostics() {
        let diagnostic = Diagnostic::from(NetworkReconcileFailure::InvalidRequest("x".into()));
        assert_eq!(diagnostic.error_type, "InvalidNetworkReconcileRequest");
        let diagnostic = Diagnostic::from(NetworkReconcileFailure::PageNotQueued {
            run: "r".into(),
            reason: "throttled".into(),
        });
        assert_eq!(diagnostic.error_type, "PageNotQueued");
        assert!(diagnostic.error_message.contains("throttled"));
    }
}
