//! The AWS Lambda Runtime API (`2018-06-01`) on loopback, so that the real
//! function binaries run as Lambda runs them: a process started with
//! `AWS_LAMBDA_RUNTIME_API` set to [`RuntimeApi::address`] polls
//! `invocation/next`, gets the events handed to [`RuntimeApi::queue`], and
//! posts its answer (or error) back. Used by the Lambda-process test and by
//! `patron-hub bench cold-start`.
//!
//! It owns nothing of the functions: no AWS, no events of its own. It must
//! never be linked into a function binary.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};

/// The base path of every Runtime API route.
const BASE: &str = "/2018-06-01/runtime";

/// What a function process answered to one event.
#[derive(Debug)]
pub enum Answer {
    /// `invocation/{id}/response`: the handler's result (for a function URL,
    /// the API Gateway v2 response document).
    Response(serde_json::Value),
    /// `invocation/{id}/error` or `init/error`: Lambda's error document.
    Error(serde_json::Value),
}

/// One answer and when it arrived.
#[derive(Debug)]
pub struct Answered {
    /// The answer.
    pub answer: Answer,
    /// The moment the harness received it.
    pub at: Instant,
    /// The moment the process took the event from `invocation/next` (its
    /// initialisation was over); `None` for an `init/error`.
    pub handed_out: Option<Instant>,
}

/// A Runtime API server on a free loopback port; stops when dropped.
pub struct RuntimeApi {
    address: SocketAddr,
    state: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    inner: Mutex<Inner>,
    /// Wakes the pollers of `invocation/next` when an event is queued.
    queued: Notify,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    events: VecDeque<(String, Bytes)>,
    waiting: HashMap<String, oneshot::Sender<Answered>>,
    /// When each event still waiting for its answer was handed out.
    handed_out: HashMap<String, Instant>,
    /// An `init/error` not yet claimed by an invocation.
    init_error: Option<Answered>,
}

impl RuntimeApi {
    /// Serves the Runtime API on `127.0.0.1` at a free port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let state = Arc::new(Shared::default());
        let router = Router::new()
            .route(&format!("{BASE}/invocation/next"), get(next))
            .route(
                &format!("{BASE}/invocation/{{id}}/response"),
                post(response),
            )
            .route(&format!("{BASE}/invocation/{{id}}/error"), post(error))
            .route(&format!("{BASE}/init/error"), post(init_error))
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self {
            address,
            state,
            server,
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API` for a function process.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// A command for the function binary `program` with the variables the
    /// Lambda runtime client needs (this API's address, the function's name,
    /// memory and version); the caller adds the function's own settings.
    pub fn command(&self, program: &std::path::Path, function_name: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("AWS_LAMBDA_RUNTIME_API", self.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
        command
    }

    /// Queues `event` for the next `invocation/next` poll (before or after
    /// the process starts); its answer is awaited with [`Invocation::answered`].
    pub fn queue(&self, event: &serde_json::Value) -> Invocation {
        let (sender, receiver) = oneshot::channel();
        {
            let mut inner = self.state.inner.lock().expect("runtime API state");
            if let Some(failed) = inner.init_error.take() {
                let _ = sender.send(failed);
                return Invocation(receiver);
            }
            inner.next_id += 1;
            let id = format!("harness-{}", inner.next_id);
            inner.waiting.insert(id.clone(), sender);
            inner.events.push_back((id, Bytes::from(event.to_string())));
        }
        self.state.queued.notify_waiters();
        Invocation(receiver)
    }
}

/// An event handed to the function, its answer still to come.
pub struct Invocation(oneshot::Receiver<Answered>);

impl Invocation {
    /// The process's answer (an `init/error` counts as one), or `None` when
    /// none came within `timeout`.
    pub async fn answered(self, timeout: Duration) -> Option<Answered> {
        tokio::time::timeout(timeout, self.0).await.ok()?.ok()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `GET invocation/next`: long-polls until an event is queued.
async fn next(State(state): State<Arc<Shared>>) -> Response {
    loop {
        let notified = state.queued.notified();
        let popped = {
            let mut inner = state.inner.lock().expect("runtime API state");
            let popped = inner.events.pop_front();
            if let Some((id, _)) = &popped {
                inner.handed_out.insert(id.clone(), Instant::now());
            }
            popped
        };
        if let Some((id, body)) = popped {
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                + Duration::from_secs(30);
            let mut headers = HeaderMap::new();
            let header = |text: String| HeaderValue::from_str(&text).expect("an ASCII header");
            headers.insert("lambda-runtime-aws-request-id", header(id));
            headers.insert(
                "lambda-runtime-deadline-ms",
                header(deadline.as_millis().to_string()),
            );
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                header("arn:aws:lambda:eu-west-1:123456789012:function:harness".to_owned()),
            );
            headers.insert(
                "lambda-runtime-trace-id",
                header("Root=1-00000000-000000000000000000000000".to_owned()),
            );
            return (StatusCode::OK, headers, body).into_response();
        }
        notified.await;
    }
}

/// `POST invocation/{id}/response`.
async fn response(
    State(state): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(&state, &id, Answer::Response(document(&body)))
}

/// `POST invocation/{id}/error`.
async fn error(
    State(state): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(&state, &id, Answer::Error(document(&body)))
}

/// `POST init/error`: the function could not start; the pending invocation
/// (or the next one) gets it as its answer.
async fn init_error(State(state): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let failed = Answered {
        answer: Answer::Error(document(&body)),
        at: Instant::now(),
        handed_out: None,
    };
    let mut inner = state.inner.lock().expect("runtime API state");
    let waiting = inner.events.pop_front().map(|(id, _)| id);
    match waiting.and_then(|id| inner.waiting.remove(&id)) {
        Some(sender) => {
            let _ = sender.send(failed);
        }
        None => inner.init_error = Some(failed),
    }
    StatusCode::ACCEPTED
}

fn answer(state: &Shared, id: &str, answer: Answer) -> StatusCode {
    let at = Instant::now();
    let mut inner = state.inner.lock().expect("runtime API state");
    let handed_out = inner.handed_out.remove(id);
    match inner.waiting.remove(id) {
        Some(sender) => {
            let _ = sender.send(Answered {
                answer,
                at,
                handed_out,
            });
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

/// The posted body as JSON, or as a JSON string when it is not JSON.
fn document(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// The peak resident set of process `pid` so far, in kB (`VmHWM` of
/// `/proc/<pid>/status`); `None` where there is no such file (not Linux, or
/// the process is gone).
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}
