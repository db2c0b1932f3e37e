//! End-to-end reliability tests: a server configured like a real network (config
//! file, secrets in environment variables) against a separate sandbox process,
//! with Alma faults injected and the server killed mid-run.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use support::*;

const INSTITUTIONS: [&str; 3] = ["DEMO_A", "DEMO_B", "DEMO_C"];

/// A sandbox process and a configured server that can be killed and restarted.
struct Network {
    sandbox_process: Process,
    serve: Option<Process>,
    sandbox: String,
    base: String,
    listen: String,
    config: PathBuf,
    data: PathBuf,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Network {
    /// Starts the sandbox (threshold 25/s) and a server allowing itself `calls_per_second`.
    async fn start(calls_per_second: u32, lease_seconds: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (port, sandbox_port) = (free_port(), free_port());
        let listen = format!("127.0.0.1:{port}");
        let sandbox = format!("http://127.0.0.1:{sandbox_port}");
        let sandbox_process = Process::start(
            "sandbox",
            &[
                "sandbox",
                "--listen",
                &format!("127.0.0.1:{sandbox_port}"),
                "--webhook-listener",
                &format!("http://{listen}/webhooks/alma"),
            ],
            &[],
            dir.path(),
        );
        let institution = |code: &str| {
            format!("[[institutions]]\ncode = \"{code}\"\napi_base_url = \"{sandbox}\"\napi_key_env = \"KEY_{code}\"\ncalls_per_second = {calls_per_second}\n")
        };
        let config = format!(
            "alma_timeout_seconds = 2\n\n[network_zone]\ncode = \"DEMO_NETWORK\"\napi_base_url = \"{sandbox}\"\napi_key_env = \"KEY_DEMO_NETWORK\"\n\n{}\n[webhook]\nsecrets_env = \"TEST_WEBHOOK_SECRETS\"\n\n[worker]\nmax_attempts = 15\nlease_seconds = {lease_seconds}\nbackoff = {{ base = 50, cap = 400 }}\n",
            INSTITUTIONS.map(institution).join("\n")
        );
        let config_path = dir.path().join("patron-hub.toml");
        std::fs::write(&config_path, config).unwrap();
        let http = reqwest::Client::new();
        wait_ready(&http, &format!("{sandbox}/sandbox/stats")).await;
        let mut network = Self {
            sandbox_process,
            serve: None,
            sandbox,
            base: format!("http://{listen}"),
            listen,
            config: config_path,
            data: dir.path().join("data"),
            dir,
            http,
        };
        network.start_server().await;
        network
    }

    async fn start_server(&mut self) {
        let keys: Vec<(String, String)> = ["DEMO_NETWORK"]
            .iter()
            .chain(INSTITUTIONS.iter())
            .map(|c| (format!("KEY_{c}"), format!("demo-key-{c}")))
            .collect();
        let mut envs: Vec<(&str, &str)> =
            keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // A rotation in progress: the new secret and the demo (previous) one are both accepted.
        envs.push((
            "TEST_WEBHOOK_SECRETS",
            "a-newer-secret\ndemo-webhook-secret",
        ));
        let process = Process::start(
            "serve",
            &[
                "serve",
                "--listen",
                &self.listen,
                "--config",
                self.config.to_str().unwrap(),
                "--data",
                self.data.to_str().unwrap(),
            ],
            &envs,
            self.dir.path(),
        );
        self.serve = Some(process);
        wait_ready(&self.http, &format!("{}/healthz", self.base)).await;
    }

    /// How many of `ids` exist in `institution` (one listing, not one call per id).
    async fn applied_in(&self, institution: &str, ids: &[String]) -> usize {
        let users: Vec<Value> =
            sandbox_json(&self.http, &self.sandbox, &format!("{institution}/users"))
                .await
                .as_array()
                .expect("the sandbox lists users")
                .clone();
        ids.iter()
            .filter(|id| users.iter().any(|u| u["primary_id"] == id.as_str()))
            .count()
    }

    async fn create_readers(&self, prefix: &str, count: usize) -> Vec<String> {
        let ids: Vec<String> = (0..count).map(|i| format!("{prefix}-{i}")).collect();
        for id in &ids {
            let created = librarian(
                &self.http,
                &self.sandbox,
                Method::POST,
                "DEMO_A/users",
                Some(external_reader(id)),
            )
            .await;
            assert_eq!(created["webhook"]["status"], 200, "accepted: {created}");
        }
        ids
    }
}

#[tokio::test]
async fn throttling_errors_and_dropped_connections_are_retried_until_applied() {
    let net = Network::start(20, 5).await;
    let faults = [
        json!({"institution": "DEMO_B", "error_rate": 0.15, "drop_rate": 0.1, "throttle_rate": 0.1}),
        json!({"institution": "DEMO_C", "throttle_rate": 0.15}),
    ];
    for fault in faults {
        let set = net
            .http
            .put(format!("{}/sandbox/faults", net.sandbox))
            .json(&fault)
            .send()
            .await
            .unwrap();
        assert!(set.status().is_success());
    }
    let ids = net.create_readers("flaky", 30).await;
    eventually(
        "every reader in DEMO_B and DEMO_C",
        Duration::from_secs(90),
        || async {
            (net.applied_in("DEMO_B", &ids).await == ids.len()
                && net.applied_in("DEMO_C", &ids).await == ids.len())
            .then_some(())
        },
    )
    .await;
    let stats: Value = sandbox_json(&net.http, &net.sandbox, "stats").await;
    let count = |institution: &str, status: u16| -> u64 {
        stats["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["institution"] == institution && c["status"] == status)
            .map(|c| c["count"].as_u64().unwrap())
            .sum()
    };
    assert!(count("DEMO_C", 429) > 0, "429 were injected: {stats}");
    assert!(count("DEMO_B", 500) > 0, "5xx were injected: {stats}");
    assert!(count("DEMO_B", 0) > 0, "connections were dropped: {stats}");
    assert!(
        dead_letters(&net.data, &["--config", net.config.to_str().unwrap()]).is_empty(),
        "nothing given up"
    );
    drop(net.sandbox_process);
}

#[tokio::test]
async fn killing_the_server_mid_run_loses_no_accepted_job() {
    // 4 calls/s: 20 readers need 40 calls per institution, about 10 s of work.
    let mut net = Network::start(4, 2).await;
    let ids = net.create_readers("survivor", 20).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    net.serve.as_mut().unwrap().kill();
    let before = net.applied_in("DEMO_B", &ids).await;
    assert!(before < ids.len(), "killed mid-run ({before} applied)");
    net.start_server().await;
    eventually(
        "every reader in DEMO_B and DEMO_C after the restart",
        Duration::from_secs(90),
        || async {
            (net.applied_in("DEMO_B", &ids).await == ids.len()
                && net.applied_in("DEMO_C", &ids).await == ids.len())
            .then_some(())
        },
    )
    .await;
    for institution in ["DEMO_B", "DEMO_C"] {
        assert_eq!(
            calls(&net.http, &net.sandbox, institution, "POST", 200).await,
            ids.len() as u64,
            "each reader created once in {institution}"
        );
    }
    assert!(dead_letters(&net.data, &["--config", net.config.to_str().unwrap()]).is_empty());
}
