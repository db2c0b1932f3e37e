//! Shared helpers of the end-to-end tests: start the real `patron-hub` binary
//! (server, sandbox) on free loopback ports and talk to it over HTTP.

#![allow(dead_code)] // each test file uses a different part of the helpers

mod api;
pub mod browser;

#[allow(unused_imports)] // not every test file calls the JSON API
pub use api::*;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test, built by cargo for this test.
pub const BINARY: &str = env!("CARGO_BIN_EXE_patron-hub");
/// The demo webhook secret.
pub const SECRET: &str = "demo-webhook-secret";

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when the test ends, whatever happens. When the test
/// failed, its log is printed, so a CI failure shows what the server saw.
pub struct Process {
    child: Child,
    pub name: &'static str,
    log: PathBuf,
}

impl Process {
    /// Starts the binary with `args` and `envs`, output to files under `logs`.
    pub fn start(name: &'static str, args: &[&str], envs: &[(&str, &str)], logs: &Path) -> Self {
        let log = logs.join(format!("{name}.log"));
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new(BINARY)
            .args(args)
            .envs(envs.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap();
        Self { child, name, log }
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(80).collect();
            eprintln!("--- last lines of the {} log ---", self.name);
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// Polls `check` until it returns Some, or panics after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `url` answers 200.
pub async fn wait_ready(http: &reqwest::Client, url: &str) {
    eventually(
        &format!("{url} to answer"),
        Duration::from_secs(30),
        || async {
            let response = http.get(url).send().await.ok()?;
            response.status().is_success().then_some(())
        },
    )
    .await;
}

/// `serve` in demo mode (its own sandbox) on fresh ports and a fresh data folder.
pub struct DemoServer {
    pub process: Process,
    pub base: String,
    pub sandbox: String,
    pub data: PathBuf,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl DemoServer {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Demo mode with extra environment variables.
    pub async fn start_with(envs: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (port, sandbox_port) = (free_port(), free_port());
        let data = dir.path().join("data");
        let listen = format!("127.0.0.1:{port}");
        let sandbox_listen = format!("127.0.0.1:{sandbox_port}");
        let process = Process::start(
            "serve",
            &[
                "serve",
                "--listen",
                &listen,
                "--sandbox-listen",
                &sandbox_listen,
                "--data",
                data.to_str().unwrap(),
            ],
            envs,
            dir.path(),
        );
        let http = reqwest::Client::new();
        let server = Self {
            process,
            base: format!("http://{listen}"),
            sandbox: format!("http://{sandbox_listen}"),
            data,
            http,
            _dir: dir,
        };
        wait_ready(&server.http, &format!("{}/healthz", server.base)).await;
        wait_ready(&server.http, &format!("{}/sandbox/stats", server.sandbox)).await;
        server
    }
}

impl DemoServer {
    /// A librarian action in this server's sandbox.
    pub async fn librarian(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        librarian(&self.http, &self.sandbox, method, path, body).await
    }

    /// Sets the sandbox's faults (`PUT /sandbox/faults`, e.g.
    /// `{"institution": "DEMO_B", "error_rate": 1.0}`).
    pub async fn faults(&self, faults: Value) {
        let answer = self
            .http
            .put(format!("{}/sandbox/faults", self.sandbox))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "faults {faults}: {answer:?}");
    }

    /// Waits until `primary_id` exists in `institution`, and returns it.
    pub async fn user_eventually(&self, institution: &str, primary_id: &str) -> Value {
        eventually(
            &format!("{primary_id} in {institution}"),
            Duration::from_secs(30),
            || sandbox_user(&self.http, &self.sandbox, institution, primary_id),
        )
        .await
    }
}

/// A librarian action in the sandbox's staff UI (fires a webhook).
pub async fn librarian(
    http: &reqwest::Client,
    sandbox: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut request = http.request(method, format!("{sandbox}/sandbox/{path}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let value: Value = response.json().await.unwrap();
    assert!(
        status.is_success(),
        "librarian action {path} failed: {status} {value}"
    );
    value
}

/// A user as the sandbox shows it in one institution, if present.
pub async fn sandbox_user(
    http: &reqwest::Client,
    sandbox: &str,
    institution: &str,
    primary_id: &str,
) -> Option<Value> {
    let response = http
        .get(format!(
            "{sandbox}/sandbox/{institution}/users/{primary_id}"
        ))
        .send()
        .await
        .unwrap();
    if response.status().is_success() {
        Some(response.json().await.unwrap())
    } else {
        None
    }
}

/// A JSON answer of one of the sandbox's own routes (`/sandbox/{path}`).
pub async fn sandbox_json(http: &reqwest::Client, sandbox: &str, path: &str) -> Value {
    http.get(format!("{sandbox}/sandbox/{path}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The sandbox's API call counts, summed for one institution, method and status.
pub async fn calls(
    http: &reqwest::Client,
    sandbox: &str,
    institution: &str,
    method: &str,
    status: u16,
) -> u64 {
    let stats = sandbox_json(http, sandbox, "stats").await;
    stats["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["institution"] == institution && c["method"] == method && c["status"] == status
        })
        .map(|c| c["count"].as_u64().unwrap())
        .sum()
}

/// An external reader (job_category Exterieur) as a librarian would enter it.
pub fn external_reader(primary_id: &str) -> Value {
    json!({
        "primary_id": primary_id,
        "first_name": "Camille",
        "last_name": "Lecteur",
        "status": {"value": "ACTIVE"},
        "record_type": {"value": "PUBLIC"},
        "account_type": {"value": "INTERNAL"},
        "job_category": {"value": "Exterieur", "desc": "Lecteur extérieur"},
        "user_group": {"value": "EXT"},
        "expiry_date": "2030-06-30Z",
        "contact_info": {"email": [{"email_address": format!("{primary_id}@example.org"), "preferred": true}]},
        "user_identifier": [{"id_type": {"value": "BARCODE"}, "value": format!("B-{primary_id}")}]
    })
}

/// Runs `patron-hub dead-letters list` on a data folder and parses its lines.
pub fn dead_letters(data: &Path, extra: &[&str]) -> Vec<Value> {
    let output = Command::new(BINARY)
        .args(["dead-letters", "list", "--data", data.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}
