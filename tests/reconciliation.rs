//! End-to-end tests of the go-live backfill and the reconcile: the real
//! `patron-hub backfill` and `patron-hub reconcile` commands beside a running
//! `serve` on the same data folder (they find its network there), against the
//! sandbox over HTTP. Changes made through Alma's API fire no webhook, as in
//! Alma; lost webhooks are injected with `webhook_drop_rate`.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

/// Creates a user in `institution` through Alma's API (no webhook).
async fn create_through_the_api(s: &DemoServer, institution: &str, user: &Value) {
    let created = s
        .http
        .post(format!("{}/almaws/v1/users", s.sandbox))
        .header("Authorization", format!("apikey demo-key-{institution}"))
        .json(user)
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "{}",
        created.text().await.unwrap()
    );
}

/// Replaces a user in `institution` through Alma's API (no webhook).
async fn update_through_the_api(s: &DemoServer, institution: &str, user: &Value) {
    let id = user["primary_id"].as_str().unwrap();
    let updated = s
        .http
        .put(format!("{}/almaws/v1/users/{id}", s.sandbox))
        .header("Authorization", format!("apikey demo-key-{institution}"))
        .json(user)
        .send()
        .await
        .unwrap();
    assert!(
        updated.status().is_success(),
        "{}",
        updated.text().await.unwrap()
    );
}

/// Runs a `patron-hub` operator command on the server's data folder and
/// parses its last line of JSON.
fn command(s: &DemoServer, args: &[&str]) -> Value {
    let output = Command::new(BINARY)
        .args(args)
        .args(["--data", s.data.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    serde_json::from_str(stdout.lines().last().expect("a last line")).unwrap()
}

/// The sandbox's count of writes (anything but GET) to every institution.
async fn alma_writes(s: &DemoServer) -> u64 {
    let stats = sandbox_json(&s.http, &s.sandbox, "stats").await;
    stats["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["method"] != "GET")
        .map(|c| c["count"].as_u64().unwrap())
        .sum()
}

/// Waits until every job queued so far is applied (no queue holds a job).
async fn settled(s: &DemoServer) {
    eventually("every queue empty", Duration::from_secs(120), || async {
        let letters = dead_letters(&s.data, &[]);
        assert!(letters.is_empty(), "nothing given up: {letters:?}");
        let empty = Command::new(BINARY)
            .args(["status", "--json", "--data", s.data.to_str().unwrap()])
            .output()
            .ok()
            .and_then(|out| serde_json::from_slice::<Value>(&out.stdout).ok())
            .is_some_and(|status| {
                status["institutions"]
                    .as_array()
                    .is_some_and(|all| all.iter().all(|i| i["queue_depth"] == 0))
            });
        empty.then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_patron_from_before_go_live_is_found_after_a_backfill() {
    let s = DemoServer::start().await;
    create_through_the_api(&s, "DEMO_B", &external_reader("before-1")).await;
    let status_of = |email: &'static str| {
        let (http, base) = (s.http.clone(), s.base.clone());
        async move {
            http.get(format!("{base}/patron-registration-status"))
                .query(&[("emailId", email)])
                .header("X-Api-Key", "demo-client-key")
                .send()
                .await
                .unwrap()
        }
    };
    let before = status_of("before-1@example.org").await;
    assert_eq!(before.status(), 404);
    assert_eq!(
        before.json::<Value>().await.unwrap()["code"],
        "USER_NOT_FOUND"
    );
    let backfill = command(&s, &["backfill"]);
    assert_eq!(backfill["institutions"], 4);
    assert_eq!(backfill["users_read"], 1);
    assert_eq!(backfill["registry_entries_written"], 1);
    let after = status_of("before-1@example.org").await;
    assert_eq!(after.status(), 200);
    assert_eq!(
        after.json::<Value>().await.unwrap()["primaryId"],
        "before-1"
    );
}

#[tokio::test]
async fn a_reader_created_through_the_api_in_one_member_reaches_the_others_after_a_reconcile() {
    let s = DemoServer::start().await;
    create_through_the_api(&s, "DEMO_A", &external_reader("api-reader")).await;
    let writes = alma_writes(&s).await;
    let dry = command(&s, &["reconcile", "--dry-run"]);
    assert_eq!(
        (&dry["missing"], &dry["jobs_queued"], &dry["dry_run"]),
        (&json!(2), &json!(0), &json!(true))
    );
    assert_eq!(
        alma_writes(&s).await,
        writes,
        "a dry run writes nothing to Alma"
    );
    let repair = command(&s, &["reconcile"]);
    assert_eq!(
        (&repair["missing"], &repair["jobs_queued"]),
        (&json!(2), &json!(2))
    );
    for member in ["DEMO_B", "DEMO_C"] {
        let user = s.user_eventually(member, "api-reader").await;
        assert_eq!(user["last_name"], "Lecteur");
    }
    settled(&s).await;
    let again = command(&s, &["reconcile"]);
    assert_eq!(
        (&again["missing"], &again["stale"], &again["jobs_queued"]),
        (&json!(0), &json!(0), &json!(0))
    );
}

#[tokio::test]
async fn an_update_through_the_api_reaches_the_other_members_keeping_their_local_fields() {
    let s = DemoServer::start().await;
    s.librarian(
        Method::POST,
        "DEMO_A/users",
        Some(external_reader("api-update")),
    )
    .await;
    for member in ["DEMO_B", "DEMO_C"] {
        s.user_eventually(member, "api-update").await;
    }
    let note = json!([{"note_text": "caution deposited at DEMO_C", "note_type": {"value": "CIRCULATION"}}]);
    s.librarian(
        Method::PUT,
        "DEMO_C/users/api-update",
        Some(json!({"user_note": note.clone()})),
    )
    .await;
    settled(&s).await;
    let mut renamed = sandbox_user(&s.http, &s.sandbox, "DEMO_B", "api-update")
        .await
        .unwrap();
    renamed["last_name"] = json!("Renamed through the API");
    update_through_the_api(&s, "DEMO_B", &renamed).await;
    let repair = command(&s, &["reconcile"]);
    assert_eq!(
        (&repair["stale"], &repair["jobs_queued"]),
        (&json!(2), &json!(2))
    );
    for member in ["DEMO_A", "DEMO_C"] {
        eventually(
            &format!("the update in {member}"),
            Duration::from_secs(30),
            || async {
                let user = sandbox_user(&s.http, &s.sandbox, member, "api-update").await?;
                (user["last_name"] == "Renamed through the API").then_some(user)
            },
        )
        .await;
    }
    let c = sandbox_user(&s.http, &s.sandbox, "DEMO_C", "api-update")
        .await
        .unwrap();
    assert_eq!(c["user_note"], note, "DEMO_C kept its note");
}

#[tokio::test]
async fn one_reconcile_repairs_every_change_whose_webhook_was_lost() {
    let s = DemoServer::start().await;
    let faults = s
        .http
        .put(format!("{}/sandbox/faults", s.sandbox))
        .json(&json!({"webhook_drop_rate": 0.1}))
        .send()
        .await
        .unwrap();
    assert!(faults.status().is_success());
    let ids: Vec<String> = (0..100).map(|i| format!("lossy-{i}")).collect();
    for id in &ids {
        s.librarian(Method::POST, "DEMO_A/users", Some(external_reader(id)))
            .await;
    }
    for round in 1..=4 {
        for id in &ids {
            s.librarian(
                Method::PUT,
                &format!("DEMO_A/users/{id}"),
                Some(json!({"last_name": format!("Round {round}")})),
            )
            .await;
        }
    }
    let summary = sandbox_json(&s.http, &s.sandbox, "webhooks/summary").await;
    assert_eq!(summary["events"], 500);
    let lost = summary["lost"].as_u64().unwrap();
    assert!(lost > 0, "some webhooks were lost: {summary}");
    settled(&s).await;
    let repair = command(&s, &["reconcile"]);
    assert!(
        repair["jobs_queued"].as_u64().unwrap() > 0,
        "the lost changes are found: {repair}"
    );
    settled(&s).await;
    for member in ["DEMO_B", "DEMO_C"] {
        let users: Vec<Value> = sandbox_json(&s.http, &s.sandbox, &format!("{member}/users"))
            .await
            .as_array()
            .unwrap()
            .clone();
        for id in &ids {
            let user = users
                .iter()
                .find(|u| u["primary_id"] == id.as_str())
                .unwrap_or_else(|| panic!("{id} missing in {member}"));
            assert_eq!(user["last_name"], "Round 4", "{id} in {member}");
        }
    }
    let again = command(&s, &["reconcile"]);
    assert_eq!(
        (
            &again["checked"],
            &again["missing"],
            &again["stale"],
            &again["jobs_queued"]
        ),
        (&json!(100), &json!(0), &json!(0), &json!(0))
    );
}

#[tokio::test]
async fn a_backfill_killed_mid_run_resumes_without_reading_its_finished_pages_again() {
    let s = DemoServer::start().await;
    let seeded = s
        .http
        .post(format!("{}/sandbox/DEMO_C/seed", s.sandbox))
        .json(&json!({"count": 400, "prefix": "seed-", "job_category": "PEB"}))
        .send()
        .await
        .unwrap();
    assert!(seeded.status().is_success());
    let mut first = Command::new(BINARY)
        .args([
            "backfill",
            "--institution",
            "DEMO_C",
            "--data",
            s.data.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // At half of 20 calls a second, a page of 100 users takes about 10 s.
    eventually(
        "the first page's checkpoint",
        Duration::from_secs(60),
        || async {
            let status = Command::new(BINARY)
                .args(["status", "--json", "--data", s.data.to_str().unwrap()])
                .output()
                .ok()?;
            let status: Value = serde_json::from_slice(&status.stdout).ok()?;
            let read = status["backfill"]["users_read"].as_u64()?;
            (read >= 100).then_some(())
        },
    )
    .await;
    first.kill().unwrap();
    first.wait().unwrap();
    let resumed = command(&s, &["backfill", "--institution", "DEMO_C"]);
    assert_eq!(
        resumed["users_read"], 400,
        "every user read once in all: {resumed}"
    );
    assert_eq!(
        resumed["alma_calls"], 404,
        "4 pages and 400 users, no page read twice: {resumed}"
    );
}
