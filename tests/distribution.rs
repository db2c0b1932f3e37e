//! End-to-end tests of Alma distribution over real HTTP: the real `patron-hub`
//! binary, the real SQLite store and queue, and the Alma sandbox, with webhooks
//! sent by the sandbox's librarian routes exactly as Alma sends them.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use support::*;

const SETTLE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn an_external_reader_created_in_one_institution_reaches_the_others() {
    let s = DemoServer::start().await;
    let created = s
        .librarian(Method::POST, "DEMO_A/users", Some(external_reader("ext-1")))
        .await;
    assert_eq!(
        created["webhook"]["status"], 200,
        "the webhook was accepted: {created}"
    );
    for institution in ["DEMO_B", "DEMO_C"] {
        let user = s.user_eventually(institution, "ext-1").await;
        assert_eq!(user["last_name"], "Lecteur");
        assert_eq!(user["job_category"]["value"], "Exterieur");
    }
    assert!(
        sandbox_user(&s.http, &s.sandbox, "DEMO_NETWORK", "ext-1")
            .await
            .is_none(),
        "never copied to the network zone"
    );
}

#[tokio::test]
async fn an_update_reaches_the_others_and_keeps_their_local_fields() {
    let s = DemoServer::start().await;
    s.librarian(Method::POST, "DEMO_A/users", Some(external_reader("ext-2")))
        .await;
    for institution in ["DEMO_B", "DEMO_C"] {
        s.user_eventually(institution, "ext-2").await;
    }
    // DEMO_C adds a note of its own (a local field), which is itself distributed minus the note.
    let note = json!({"user_note": [{"note_text": "caution deposited at DEMO_C", "note_type": {"value": "CIRCULATION"}}]});
    s.librarian(Method::PUT, "DEMO_C/users/ext-2", Some(note))
        .await;
    // Then DEMO_B changes the reader's name.
    s.librarian(
        Method::PUT,
        "DEMO_B/users/ext-2",
        Some(json!({"last_name": "Renamed"})),
    )
    .await;
    for institution in ["DEMO_A", "DEMO_C"] {
        eventually(&format!("rename reaches {institution}"), SETTLE, || async {
            let user = sandbox_user(&s.http, &s.sandbox, institution, "ext-2").await?;
            (user["last_name"] == "Renamed").then_some(())
        })
        .await;
    }
    let c = sandbox_user(&s.http, &s.sandbox, "DEMO_C", "ext-2")
        .await
        .unwrap();
    assert_eq!(
        c["user_note"][0]["note_text"], "caution deposited at DEMO_C",
        "DEMO_C kept its note: {c}"
    );
    let a = sandbox_user(&s.http, &s.sandbox, "DEMO_A", "ext-2")
        .await
        .unwrap();
    assert!(
        a.get("user_note").is_none() || a["user_note"].as_array().is_some_and(|n| n.is_empty()),
        "the note stayed local: {a}"
    );
}

#[tokio::test]
async fn a_network_zone_creation_is_linked_into_every_member() {
    let s = DemoServer::start().await;
    let mut student = external_reader("nz-1");
    student["job_category"] = json!({"value": "Etudiant"});
    s.librarian(Method::POST, "DEMO_NETWORK/users", Some(student))
        .await;
    for institution in ["DEMO_A", "DEMO_B", "DEMO_C"] {
        let copy = s.user_eventually(institution, "nz-1").await;
        assert_eq!(
            copy["source_institution_code"]["value"], "DEMO_NETWORK",
            "a linked copy: {copy}"
        );
    }
}

#[tokio::test]
async fn duplicate_deliveries_have_exactly_one_effect_per_institution() {
    let s = DemoServer::start().await;
    s.librarian(Method::POST, "DEMO_A/users", Some(external_reader("dup-1")))
        .await;
    let deliveries: Value = sandbox_json(&s.http, &s.sandbox, "webhooks").await;
    let delivery = deliveries.as_array().unwrap().last().unwrap().clone();
    let (body, signature) = (
        delivery["body"].as_str().unwrap().to_owned(),
        delivery["signature"].as_str().unwrap().to_owned(),
    );
    // Alma redelivers the same message, four more times, two of them at once.
    let send = || {
        s.http
            .post(format!("{}/webhooks/alma", s.base))
            .header("X-Exl-Signature", signature.clone())
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send()
    };
    let (first, second) = tokio::join!(send(), send());
    let mut answers = vec![
        first.unwrap(),
        second.unwrap(),
        send().await.unwrap(),
        send().await.unwrap(),
    ];
    for answer in answers.drain(..) {
        assert_eq!(answer.status(), 200);
        let answer: Value = answer.json().await.unwrap();
        assert_eq!(answer["status"], "duplicate", "{answer}");
    }
    for institution in ["DEMO_B", "DEMO_C"] {
        s.user_eventually(institution, "dup-1").await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for institution in ["DEMO_B", "DEMO_C"] {
        assert_eq!(
            calls(&s.http, &s.sandbox, institution, "POST", 200).await,
            1,
            "one creation in {institution}"
        );
        assert_eq!(
            calls(&s.http, &s.sandbox, institution, "PUT", 200).await,
            0,
            "no second write in {institution}"
        );
    }
}

#[tokio::test]
async fn a_bad_signature_gets_401_and_records_nothing() {
    let s = DemoServer::start().await;
    let body = json!({
        "id": "bad-sig-1", "action": "USER", "institution": {"value": "DEMO_A"},
        "time": "2026-11-27T10:00:00.000Z", "event": {"value": "USER_CREATED"},
        "webhook_user": {"cause": "UI", "user": external_reader("forged-1")}
    })
    .to_string();
    let post = |signature: String| {
        s.http
            .post(format!("{}/webhooks/alma", s.base))
            .header("X-Exl-Signature", signature)
            .body(body.clone())
            .send()
    };
    let forged = post(patron_hub_domain::webhook::sign(
        "not-the-secret",
        body.as_bytes(),
    ))
    .await
    .unwrap();
    assert_eq!(forged.status(), 401);
    let error: Value = forged.json().await.unwrap();
    assert_eq!(error["code"], "INVALID_SIGNATURE");
    let unsigned = s
        .http
        .post(format!("{}/webhooks/alma", s.base))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        calls(&s.http, &s.sandbox, "DEMO_B", "POST", 200).await
            + calls(&s.http, &s.sandbox, "DEMO_B", "GET", 400).await,
        0,
        "no job ran"
    );
    // Nothing was recorded: the genuine delivery of the same id is new, not a duplicate.
    let genuine: Value = post(patron_hub_domain::webhook::sign(SECRET, body.as_bytes()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(genuine["status"], "accepted", "{genuine}");
}

#[tokio::test]
async fn an_alma_validation_error_ends_as_a_dead_letter_with_almas_code() {
    let s = DemoServer::start().await;
    // DEMO_C does not know the user group EXT.
    let groups = s
        .http
        .put(format!("{}/sandbox/DEMO_C/user-groups", s.sandbox))
        .json(&json!({"groups": ["STAFF", "STUDENT"]}))
        .send()
        .await
        .unwrap();
    assert!(groups.status().is_success());
    s.librarian(
        Method::POST,
        "DEMO_A/users",
        Some(external_reader("invalid-1")),
    )
    .await;
    s.user_eventually("DEMO_B", "invalid-1").await;
    let letters = eventually("a dead letter in DEMO_C", SETTLE, || async {
        let letters = dead_letters(&s.data, &["--institution", "DEMO_C"]);
        (!letters.is_empty()).then_some(letters)
    })
    .await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["code"], "401852", "{}", letters[0]);
    assert_eq!(letters[0]["primary_id"], "invalid-1");
    assert_eq!(letters[0]["attempts"], 1, "a 4xx is not retried");
    assert!(sandbox_user(&s.http, &s.sandbox, "DEMO_C", "invalid-1")
        .await
        .is_none());
    assert!(dead_letters(&s.data, &["--institution", "DEMO_B"]).is_empty());
}

#[tokio::test]
async fn a_primary_id_that_is_another_users_identifier_is_never_overwritten() {
    let s = DemoServer::start().await;
    // In DEMO_B, a student carries "shared-9" as a barcode.
    let student = json!({
        "primary_id": "student-9", "first_name": "Léa", "last_name": "Étudiante",
        "job_category": {"value": "Etudiant"},
        "user_identifier": [{"id_type": {"value": "BARCODE"}, "value": "shared-9"}]
    });
    s.librarian(Method::POST, "DEMO_B/users", Some(student))
        .await;
    // DEMO_A creates an external reader whose primary id is that same value.
    s.librarian(
        Method::POST,
        "DEMO_A/users",
        Some(external_reader("shared-9")),
    )
    .await;
    s.user_eventually("DEMO_C", "shared-9").await;
    let letters = eventually("a dead letter in DEMO_B", SETTLE, || async {
        let letters = dead_letters(&s.data, &["--institution", "DEMO_B"]);
        (!letters.is_empty()).then_some(letters)
    })
    .await;
    assert_eq!(letters[0]["code"], "IDENTIFIER_MISMATCH", "{}", letters[0]);
    let untouched = sandbox_user(&s.http, &s.sandbox, "DEMO_B", "student-9")
        .await
        .unwrap();
    assert_eq!(
        untouched["last_name"], "Étudiante",
        "the student was not overwritten: {untouched}"
    );
}
