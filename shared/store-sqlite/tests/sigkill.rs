//! A SIGKILL of the process loses no committed job: a child process enqueues jobs
//! and reports each committed one; the test kills it mid-stream and reopens the file.

use patron_hub_domain::ports::JobQueue;
use patron_hub_domain::{InstitutionCode, Job, JobAction, PrimaryId, SystemClock};
use patron_hub_store_sqlite::SqliteStore;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// Tells the child test which database to write.
const CHILD_DATABASE: &str = "PATRON_HUB_SQLITE_SIGKILL_CHILD_DATABASE";
/// Marks the child's "committed" lines among the test harness's own output.
const COMMITTED: &str = "committed ";

fn institution() -> InstitutionCode {
    InstitutionCode::parse("DEMO_A").unwrap()
}

fn job(n: u32) -> Job {
    Job {
        event_id: format!("evt-{n}"),
        institution: institution(),
        origin: InstitutionCode::parse("DEMO_NETWORK").unwrap(),
        action: JobAction::Link,
        primary_id: PrimaryId::parse(&format!("patron-{n}")).unwrap(),
        event_time: chrono::Utc::now(),
        user: None,
    }
}

/// The most jobs the child enqueues, should nobody kill it.
const CHILD_LIMIT: u32 = 100_000;

/// The child process, killed (SIGKILL on Unix) when dropped, even if the test fails.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        // It may have exited already: then there is nothing to kill.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The child: enqueues jobs one commit at a time until it is killed.
#[tokio::test]
#[ignore = "run as a child process by sigkill_loses_no_committed_job"]
async fn child_enqueues_until_killed() {
    let Some(path) = std::env::var_os(CHILD_DATABASE) else {
        return;
    };
    let store = SqliteStore::open(Path::new(&path), Arc::new(SystemClock)).unwrap();
    let mut out = std::io::stdout();
    for n in 0..CHILD_LIMIT {
        store.enqueue(&[job(n)]).await.unwrap();
        writeln!(out, "{COMMITTED}evt-{n}").unwrap();
        out.flush().unwrap();
    }
}

#[tokio::test]
async fn sigkill_loses_no_committed_job() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("patron-hub.sqlite3");
    let mut child = Killed(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "child_enqueues_until_killed",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_DATABASE, &path)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut committed = HashSet::new();
    let lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    for line in lines {
        if let Some(event_id) = line.unwrap().strip_prefix(COMMITTED) {
            committed.insert(event_id.to_owned());
            if committed.len() == 40 {
                break;
            }
        }
    }
    drop(child);
    assert_eq!(
        committed.len(),
        40,
        "the child stopped before committing 40 jobs"
    );

    let store = SqliteStore::open(&path, Arc::new(SystemClock)).unwrap();
    let mut found = HashSet::new();
    loop {
        let batch = store
            .receive(&institution(), 100, Duration::from_secs(60))
            .await
            .unwrap();
        if batch.is_empty() {
            break;
        }
        found.extend(batch.into_iter().map(|d| d.job.event_id));
    }
    let lost: Vec<_> = committed.difference(&found).collect();
    assert!(lost.is_empty(), "committed jobs lost by SIGKILL: {lost:?}");
}
