//! The Alma Users API routes over real HTTP: success and error bodies.

mod common;

use common::{alma_error, call, create, demo, patron};
use patron_hub_alma_sandbox::{spawn, SandboxConfig};
use reqwest::{Client, Method};
use serde_json::{json, Value};

const XML_KEY_ERROR: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    r#"<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans">"#,
    "<errorsExist>true</errorsExist><errorList><error><errorCode>UNAUTHORIZED</errorCode>",
    "<errorMessage>API-key not defined or not configured to allow this API.</errorMessage>",
    "</error></errorList></web_service_result>"
);

#[tokio::test]
async fn a_missing_or_unknown_key_gets_the_xml_error_and_a_query_key_works() {
    let running = demo().await;
    let url = format!("{}/almaws/v1/users/nobody", running.base_url);
    let client = Client::new();
    for request in [
        client.get(&url),
        client.get(&url).header("Authorization", "apikey wrong-key"),
        client.get(format!("{url}?apikey=demo-key-NOWHERE")),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()["content-type"], "application/xml");
        assert_eq!(response.text().await.unwrap(), XML_KEY_ERROR);
    }
    let by_query = client
        .get(format!(
            "{url}?apikey=demo-key-DEMO_A&view=full&expand=loans"
        ))
        .send()
        .await
        .unwrap();
    let message = alma_error(by_query, 400, "401861").await;
    assert_eq!(message, "User with identifier nobody was not found.");
}

#[tokio::test]
async fn get_finds_by_primary_id_or_identifier_and_reports_401861() {
    let running = demo().await;
    let created = create(&running, "DEMO_A", patron("p1", "Lovelace")).await;
    assert_eq!(created["primary_id"], "p1");
    assert!(created["created_date"].as_str().unwrap().ends_with('Z'));

    for id in ["p1", "B-p1"] {
        let response = call(
            &running,
            "DEMO_A",
            Method::GET,
            &format!("/users/{id}"),
            None,
        )
        .await;
        assert_eq!(response.status(), 200);
        let remaining: u64 = response.headers()["x-exl-api-remaining"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(remaining > 100_000);
        let user: Value = response.json().await.unwrap();
        assert_eq!(user["last_name"], "Lovelace");
    }
    let typed = call(
        &running,
        "DEMO_A",
        Method::GET,
        "/users/B-p1?user_id_type=BARCODE",
        None,
    )
    .await;
    assert_eq!(typed.status(), 200);

    // Each institution has its own users.
    let elsewhere = call(&running, "DEMO_B", Method::GET, "/users/p1", None).await;
    let message = alma_error(elsewhere, 400, "401861").await;
    assert_eq!(message, "User with identifier p1 was not found.");
}

#[tokio::test]
async fn the_remaining_allowance_decreases() {
    let running = demo().await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let response = call(&running, "DEMO_C", Method::GET, "/users/x", None).await;
        let remaining: u64 = response.headers()["x-exl-api-remaining"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        seen.push(remaining);
    }
    assert!(seen.windows(2).all(|pair| pair[1] < pair[0]), "{seen:?}");
}

#[tokio::test]
async fn post_validates_mandatory_fields_groups_duplicates_and_the_body() {
    let mut config = SandboxConfig::demo();
    config
        .user_groups
        .insert("DEMO_A".into(), vec!["STUDENT".into(), "STAFF".into()]);
    let running = spawn(config, "127.0.0.1:0").await.unwrap();

    let mut no_id = patron("x", "Hopper");
    no_id.as_object_mut().unwrap().remove("primary_id");
    let response = call(&running, "DEMO_A", Method::POST, "/users", Some(no_id)).await;
    let message = alma_error(response, 400, "401664").await;
    assert_eq!(message, "Mandatory field missing: primary_id");

    let response = call(
        &running,
        "DEMO_A",
        Method::POST,
        "/users",
        Some(json!({"primary_id": "x"})),
    )
    .await;
    let message = alma_error(response, 400, "401664").await;
    assert_eq!(message, "Mandatory field missing: last_name");

    let mut guest = patron("g1", "Guest");
    guest["user_group"] = json!({"value": "GUEST"});
    let response = call(
        &running,
        "DEMO_A",
        Method::POST,
        "/users",
        Some(guest.clone()),
    )
    .await;
    assert_eq!(
        alma_error(response, 400, "401852").await,
        "Illegal user group"
    );
    // Another institution accepts any group.
    create(&running, "DEMO_B", guest).await;
    // The group can be freed at run time.
    running.sandbox.set_user_groups("DEMO_A", None);
    let mut guest2 = patron("g2", "Guest");
    guest2["user_group"] = json!({"value": "GUEST"});
    create(&running, "DEMO_A", guest2).await;

    create(&running, "DEMO_A", patron("p1", "Lovelace")).await;
    let response = call(
        &running,
        "DEMO_A",
        Method::POST,
        "/users",
        Some(patron("p1", "Other")),
    )
    .await;
    let message = alma_error(response, 400, "401851").await;
    assert_eq!(
        message,
        "User with identifier of type primary_id already exists"
    );

    let mut same_barcode = patron("p2", "Other");
    same_barcode["user_identifier"][0]["value"] = json!("B-p1");
    let response = call(
        &running,
        "DEMO_A",
        Method::POST,
        "/users",
        Some(same_barcode),
    )
    .await;
    let message = alma_error(response, 400, "401851").await;
    assert_eq!(
        message,
        "User with identifier of type BARCODE already exists"
    );

    let url = format!("{}/almaws/v1/users", running.base_url);
    let response = Client::new()
        .post(url)
        .header("Authorization", "apikey demo-key-DEMO_A")
        .header("Content-Type", "application/json")
        .body("[1, 2")
        .send()
        .await
        .unwrap();
    alma_error(response, 400, "401658").await;

    assert_eq!(
        running.sandbox.users("DEMO_A").len(),
        2,
        "only valid users are stored"
    );
}

#[tokio::test]
async fn put_swaps_all_fields_but_keeps_roles_when_absent() {
    let running = demo().await;
    let mut staff = patron("s1", "Curie");
    staff["email"] = json!({"email": [{"email_address": "m@example.org"}]});
    staff["user_role"] = json!([{"role_type": {"value": "200"}, "scope": {"value": "DEMO_A"}}]);
    create(&running, "DEMO_A", staff).await;

    let replacement = json!({"primary_id": "s1", "last_name": "Skłodowska"});
    let response = call(
        &running,
        "DEMO_A",
        Method::PUT,
        "/users/s1?user_id_type=all_unique&recalculate_roles=true",
        Some(replacement),
    )
    .await;
    assert_eq!(response.status(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["last_name"], "Skłodowska");
    for gone in ["first_name", "email", "user_group", "user_identifier"] {
        assert!(user.get(gone).is_none(), "{gone} should be gone: {user}");
    }
    assert_eq!(user["user_role"][0]["role_type"]["value"], "200");
    assert_eq!(running.sandbox.user("DEMO_A", "s1").unwrap(), user);

    // Roles sent replace the stored ones.
    let with_roles = json!({"primary_id": "s1", "last_name": "Curie", "user_role": [{"role_type": {"value": "50"}}]});
    let response = call(
        &running,
        "DEMO_A",
        Method::PUT,
        "/users/s1",
        Some(with_roles),
    )
    .await;
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["user_role"].as_array().unwrap().len(), 1);
    assert_eq!(user["user_role"][0]["role_type"]["value"], "50");
}

#[tokio::test]
async fn put_renames_validates_and_reports_401861() {
    let running = demo().await;
    create(&running, "DEMO_A", patron("old", "Turing")).await;
    create(&running, "DEMO_A", patron("taken", "Other")).await;

    let response = call(
        &running,
        "DEMO_A",
        Method::PUT,
        "/users/old",
        Some(patron("taken", "Turing")),
    )
    .await;
    alma_error(response, 400, "401851").await;

    let response = call(
        &running,
        "DEMO_A",
        Method::PUT,
        "/users/old",
        Some(json!({"primary_id": "old"})),
    )
    .await;
    alma_error(response, 400, "401664").await;

    let response = call(
        &running,
        "DEMO_A",
        Method::PUT,
        "/users/old",
        Some(patron("new", "Turing")),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(running.sandbox.user("DEMO_A", "old").is_none());
    assert_eq!(
        running.sandbox.user("DEMO_A", "new").unwrap()["last_name"],
        "Turing"
    );

    let response = call(
        &running,
        "DEMO_A",
        Method::PUT,
        "/users/ghost",
        Some(patron("ghost", "X")),
    )
    .await;
    let message = alma_error(response, 400, "401861").await;
    assert_eq!(message, "User with identifier ghost was not found.");
}

#[tokio::test]
async fn looking_up_a_zone_user_in_a_member_copies_and_links_it() {
    let running = demo().await;
    let mut zone_user = patron("nz1", "Noether");
    zone_user["user_role"] = json!([{"role_type": {"value": "200"}}]);
    create(&running, "DEMO_NETWORK", zone_user).await;
    assert!(running.sandbox.user("DEMO_B", "nz1").is_none());

    let response = call(
        &running,
        "DEMO_B",
        Method::GET,
        "/users/nz1?view=brief&expand=loans,requests",
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let copy: Value = response.json().await.unwrap();
    assert_eq!(copy["last_name"], "Noether");
    assert_eq!(copy["source_institution_code"]["value"], "DEMO_NETWORK");
    assert_eq!(copy["source_link_id"], "nz1");
    assert_eq!(copy["account_type"]["value"], "EXTERNAL");
    assert!(!copy["linking_id"].as_str().unwrap().is_empty());
    assert!(copy.get("user_role").is_none(), "roles are not copied");
    assert_eq!(running.sandbox.user("DEMO_B", "nz1").unwrap(), copy);

    // The copy is found again by its linking id, and is not made twice.
    let linking_id = copy["linking_id"].as_str().unwrap();
    let path = format!("/users/{linking_id}?user_id_type=linking_id");
    let again: Value = call(&running, "DEMO_B", Method::GET, &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, copy);
    assert_eq!(running.sandbox.users("DEMO_B").len(), 1);

    // The zone itself does not copy, and an unknown user is still unknown.
    let response = call(&running, "DEMO_NETWORK", Method::GET, "/users/ghost", None).await;
    alma_error(response, 400, "401861").await;
    let response = call(&running, "DEMO_C", Method::GET, "/users/ghost", None).await;
    alma_error(response, 400, "401861").await;
}

/// Alma passes a network-zone user's updates down to the linked copies that
/// exist (no copy is made), except roles, proxies and statistics.
#[tokio::test]
async fn a_zone_update_reaches_the_linked_copies_and_follows_a_rename() {
    let running = demo().await;
    create(&running, "DEMO_NETWORK", patron("nz3", "Germain")).await;
    let linked = call(&running, "DEMO_A", Method::GET, "/users/nz3", None).await;
    assert_eq!(linked.status(), 200);
    let mut copy = running.sandbox.user("DEMO_A", "nz3").unwrap();
    copy["user_role"] = json!([{"role_type": {"value": "200"}}]);
    copy["user_statistic"] = json!([{"statistic_category": {"value": "A-ONLY"}}]);
    let kept = call(&running, "DEMO_A", Method::PUT, "/users/nz3", Some(copy)).await;
    assert_eq!(kept.status(), 200);

    let mut changed = running.sandbox.user("DEMO_NETWORK", "nz3").unwrap();
    changed["primary_id"] = json!("nz3-renamed");
    changed["expiry_date"] = json!("2031-06-30Z");
    changed["user_statistic"] = json!([{"statistic_category": {"value": "ZONE"}}]);
    let response = call(
        &running,
        "DEMO_NETWORK",
        Method::PUT,
        "/users/nz3",
        Some(changed),
    )
    .await;
    assert_eq!(response.status(), 200);

    assert!(running.sandbox.user("DEMO_A", "nz3").is_none());
    let copy = running
        .sandbox
        .user("DEMO_A", "nz3-renamed")
        .expect("renamed");
    assert_eq!(copy["expiry_date"], "2031-06-30Z");
    assert_eq!(copy["source_link_id"], "nz3-renamed");
    assert_eq!(copy["user_role"][0]["role_type"]["value"], "200");
    assert_eq!(
        copy["user_statistic"][0]["statistic_category"]["value"],
        "A-ONLY"
    );
    assert!(
        running.sandbox.user("DEMO_B", "nz3-renamed").is_none(),
        "no copy is made where none existed"
    );
}

#[tokio::test]
async fn linked_post_copies_once_then_answers_60227() {
    let running = demo().await;
    create(&running, "DEMO_NETWORK", patron("nz2", "Hamilton")).await;
    let path = "/users?source_institution_code=DEMO_NETWORK&source_user_id=nz2&social_authentication=false&send_pin_number_letter=false&registration_rules=false";

    let response = call(&running, "DEMO_C", Method::POST, path, Some(json!({}))).await;
    assert_eq!(response.status(), 200);
    let copy: Value = response.json().await.unwrap();
    assert_eq!(copy["primary_id"], "nz2");
    assert_eq!(copy["source_link_id"], "nz2");
    assert_eq!(copy["source_institution_code"]["value"], "DEMO_NETWORK");

    let response = call(&running, "DEMO_C", Method::POST, path, None).await;
    let message = alma_error(response, 400, "60227").await;
    assert_eq!(message, "Linked account for user already exists");

    let missing = "/users?source_institution_code=DEMO_NETWORK&source_user_id=ghost";
    let response = call(&running, "DEMO_C", Method::POST, missing, None).await;
    let message = alma_error(response, 400, "4019990").await;
    assert_eq!(
        message,
        "User with source identifier ghost of institution DEMO_NETWORK was not found"
    );

    let foreign = "/users?source_institution_code=ELSEWHERE&source_user_id=nz2";
    let response = call(&running, "DEMO_A", Method::POST, foreign, None).await;
    alma_error(response, 400, "401651").await;
}

#[tokio::test]
async fn delete_answers_204_then_401890_and_refuses_loans_or_fees() {
    let running = demo().await;
    create(&running, "DEMO_A", patron("d1", "Gone")).await;
    let mut borrower = patron("d2", "Borrower");
    borrower["loans"] = json!({"value": 2});
    create(&running, "DEMO_A", borrower).await;
    let mut debtor = patron("d3", "Debtor");
    debtor["fees"] = json!({"value": "4.5", "currency": "EUR"});
    create(&running, "DEMO_A", debtor).await;

    let response = call(&running, "DEMO_A", Method::DELETE, "/users/d1", None).await;
    assert_eq!(response.status(), 204);
    assert!(response.text().await.unwrap().is_empty());
    assert!(running.sandbox.user("DEMO_A", "d1").is_none());

    let response = call(&running, "DEMO_A", Method::DELETE, "/users/d1", None).await;
    let message = alma_error(response, 400, "401890").await;
    assert_eq!(
        message,
        "User with identifier d1 of type all_unique was not found."
    );

    for refused in ["d2", "d3"] {
        let response = call(
            &running,
            "DEMO_A",
            Method::DELETE,
            &format!("/users/{refused}"),
            None,
        )
        .await;
        let message = alma_error(response, 400, "401850").await;
        assert_eq!(
            message,
            "Failed to delete user: the user has active loans or fees"
        );
        assert!(running.sandbox.user("DEMO_A", refused).is_some());
    }
}

#[tokio::test]
async fn api_changes_send_no_webhook() {
    let running = demo().await;
    // A listener that would fail loudly is not even contacted.
    running
        .sandbox
        .set_webhook_listener(Some("http://127.0.0.1:9/unreachable".into()));
    create(&running, "DEMO_A", patron("quiet", "Api")).await;
    call(
        &running,
        "DEMO_A",
        Method::PUT,
        "/users/quiet",
        Some(patron("quiet", "Api2")),
    )
    .await;
    call(&running, "DEMO_A", Method::DELETE, "/users/quiet", None).await;
    assert!(running.sandbox.deliveries().is_empty());
}

/// Alma's `created_date` and `last_modified_date` (a `dateTime`, UTC, in
/// milliseconds): set on creation, the second on every change, the API's and
/// the zone's pass-down alike; neither can be written by a caller.
#[tokio::test]
async fn every_change_stamps_last_modified_date_and_keeps_created_date() {
    let running = demo().await;
    let created = create(&running, "DEMO_NETWORK", patron("nz9", "Curie")).await;
    assert_eq!(created["last_modified_date"], created["created_date"]);
    let created_date = created["created_date"].as_str().unwrap();
    assert_eq!(created_date.len(), "2024-05-30T09:30:10.123Z".len());
    assert!(chrono::DateTime::parse_from_rfc3339(created_date).is_ok());
    let copy: Value = call(&running, "DEMO_A", Method::GET, "/users/nz9", None)
        .await
        .json()
        .await
        .unwrap();
    for date in ["created_date", "last_modified_date"] {
        assert!(copy[date].is_string(), "{date}: {copy}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let mut changed = created.clone();
    changed["last_name"] = json!("Skłodowska");
    changed["created_date"] = json!("1999-01-01T00:00:00.000Z");
    changed["last_modified_date"] = json!("1999-01-01T00:00:00.000Z");
    let response = call(
        &running,
        "DEMO_NETWORK",
        Method::PUT,
        "/users/nz9",
        Some(changed),
    )
    .await;
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["created_date"], created["created_date"]);
    assert!(updated["last_modified_date"].as_str() > created["last_modified_date"].as_str());
    assert_eq!(
        running.sandbox.user("DEMO_NETWORK", "nz9").unwrap(),
        updated
    );

    let passed_down = running.sandbox.user("DEMO_A", "nz9").unwrap();
    assert_eq!(passed_down["last_name"], "Skłodowska");
    assert_eq!(passed_down["created_date"], copy["created_date"]);
    assert!(passed_down["last_modified_date"].as_str() > copy["last_modified_date"].as_str());
}

/// The directory's identifier index follows every change: a value a user no
/// longer holds is free for another, and is found on its new holder.
#[tokio::test]
async fn identifiers_are_freed_by_delete_replacement_and_rename() {
    let running = demo().await;
    create(&running, "DEMO_A", patron("p1", "First")).await;
    let response = call(&running, "DEMO_A", Method::DELETE, "/users/p1", None).await;
    assert_eq!(response.status(), 204);
    let mut reuse = patron("p2", "Second");
    reuse["user_identifier"][0]["value"] = json!("B-p1");
    create(&running, "DEMO_A", reuse).await;

    let mut replaced = patron("p2", "Second");
    replaced["user_identifier"][0]["value"] = json!("NEW-2");
    let response = call(&running, "DEMO_A", Method::PUT, "/users/p2", Some(replaced)).await;
    assert_eq!(response.status(), 200);
    let mut again = patron("p3", "Third");
    again["user_identifier"][0]["value"] = json!("B-p1");
    create(&running, "DEMO_A", again).await;

    let found: Value = call(&running, "DEMO_A", Method::GET, "/users/NEW-2", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["primary_id"], "p2");
    let typed = call(
        &running,
        "DEMO_A",
        Method::GET,
        "/users/B-p1?user_id_type=BARCODE",
        None,
    )
    .await;
    assert_eq!(typed.json::<Value>().await.unwrap()["primary_id"], "p3");
    let wrong_type = call(
        &running,
        "DEMO_A",
        Method::GET,
        "/users/B-p1?user_id_type=UNIV_ID",
        None,
    )
    .await;
    alma_error(wrong_type, 400, "401861").await;

    let response = call(
        &running,
        "DEMO_A",
        Method::PUT,
        "/users/p3",
        Some(patron("p4", "Third")),
    )
    .await;
    assert_eq!(response.status(), 200);
    let gone = call(&running, "DEMO_A", Method::GET, "/users/p3", None).await;
    alma_error(gone, 400, "401861").await;
    create(&running, "DEMO_A", patron("p3", "Fourth")).await;
    let taken = call(
        &running,
        "DEMO_A",
        Method::POST,
        "/users",
        Some(patron("p4", "Fifth")),
    )
    .await;
    alma_error(taken, 400, "401851").await;
}
