//! End-to-end tests of patron registration over real HTTP against `patron-hub
//! serve` and its Alma sandbox: a discovery layer's Tier 1 and Tier 2 forms,
//! the registration-status query at each step, on-site completion by staff,
//! distribution to the other institutions, renewal, and refusals.

mod support;

use chrono::{Days, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use support::*;

const ADMIN_PASSWORD: &str = "correct horse battery staple 42";
const CLIENT_KEY: (&str, &str) = ("x-api-key", "demo-client-key");

async fn server() -> DemoServer {
    DemoServer::start_with(&[("PATRON_HUB_DEMO_ADMIN_PASSWORD", ADMIN_PASSWORD)]).await
}

/// A call made by the discovery layer, with its client key.
async fn client(s: &DemoServer, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let (status, body, _) = call_with(s, method, path, &[CLIENT_KEY], body).await;
    (status, body)
}

async fn status_by_email(s: &DemoServer, email: &str) -> (u16, Value) {
    client(
        s,
        Method::GET,
        &format!("/patron-registration-status?emailId={email}"),
        None,
    )
    .await
}

/// Waits until the status query by e-mail answers `status` with `code` (or a 200).
async fn status_eventually(s: &DemoServer, email: &str, status: u16, code: &str) -> Value {
    eventually(
        &format!("status of {email} to be {status} {code}"),
        Duration::from_secs(20),
        || async {
            let (got, body) = status_by_email(s, email).await;
            (got == status && (status == 200 || body["code"] == code)).then_some(body)
        },
    )
    .await
}

fn tier1(email: &str) -> Value {
    json!({
        "generalInfo": {"firstName": "Rosalind", "lastName": "Franklin"},
        "contactInfo": {"email": email},
        "preferredEmailCommunication": ["Support"]
    })
}

fn tier2() -> Value {
    json!({
        "status": "TIER-2",
        "generalInfo": {"middleName": "Elsie"},
        "addressInfo": {"addressLine0": "12 rue des Écoles", "city": "Bordeaux", "zip": "33000", "country": "FR"},
        "contactInfo": {"mobilePhone": "+33 6 00 00 00 00"},
        "preferredEmailCommunication": []
    })
}

async fn staff_token(s: &DemoServer) -> String {
    let (status, session) = login(s, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, 201, "{session}");
    session["token"].as_str().unwrap().to_owned()
}

async fn complete(
    s: &DemoServer,
    token: &str,
    id: &str,
    home: &str,
    barcode: &str,
) -> (u16, Value) {
    let body = json!({"homeInstitution": home, "barcode": barcode, "userGroup": "EXT"});
    let (status, body, _) = call(
        s,
        Method::POST,
        &format!("/patron/{id}/complete"),
        Some(token),
        Some(body),
    )
    .await;
    (status, body)
}

fn has_identifier(user: &Value, value: &str) -> bool {
    user["user_identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|identifier| identifier["value"] == value)
}

#[tokio::test]
async fn a_patron_registers_online_and_is_completed_on_site_in_every_institution() {
    let s = server().await;
    let email = "rosalind.franklin@example.org";

    // Before anything: unknown.
    assert_eq!(
        status_eventually(&s, email, 404, "USER_NOT_FOUND").await["code"],
        "USER_NOT_FOUND"
    );

    // Tier 1: a staging record with a server-made id; a second POST updates it.
    let (status, created) = client(&s, Method::POST, "/patron", Some(tier1(email))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["externalSystemId"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "TIER-1");
    assert_eq!(created["isEmailVerified"], false);
    let (status, again) = client(&s, Method::POST, "/patron", Some(tier1(email))).await;
    assert_eq!(
        (status, again["externalSystemId"].as_str()),
        (200, Some(id.as_str()))
    );

    // The patron's Tier 1 account: activating it verifies the staging record's e-mail.
    let password = "a long enough pass phrase";
    let registration = json!({"email": email, "first_name": "Rosalind", "last_name": "Franklin", "password": password});
    let (status, _, _) = call(
        &s,
        Method::POST,
        "/accounts/registrations",
        None,
        Some(registration),
    )
    .await;
    assert_eq!(status, 202);
    let token = mailed_token(&s, email, "/accounts/activate");
    let activation = json!({"token": token, "password": password});
    let (status, _, _) = call(
        &s,
        Method::POST,
        "/accounts/activation",
        None,
        Some(activation),
    )
    .await;
    assert_eq!(status, 200);
    let (_, record) = client(&s, Method::GET, &format!("/patron/{id}"), None).await;
    assert_eq!(record["isEmailVerified"], true, "{record}");

    // Tier 2 pre-registration: a partial merge.
    let (status, merged) = client(&s, Method::PUT, &format!("/patron/{id}"), Some(tier2())).await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["status"], "TIER-2");
    assert_eq!(merged["generalInfo"]["firstName"], "Rosalind");
    assert_eq!(merged["generalInfo"]["middleName"], "Elsie");
    assert_eq!(merged["preferredEmailCommunication"], json!(["Support"]));
    assert_eq!(merged["contactInfo"]["email"], email);
    assert_eq!(
        status_by_email(&s, email).await.0,
        404,
        "still only a staging record"
    );

    // On site: staff complete it in DEMO_B.
    let staff = staff_token(&s).await;
    let (status, done) = complete(&s, &staff, &id, "DEMO_B", "CARD-0001").await;
    assert_eq!(status, 201, "{done}");
    assert_eq!(done["renewal"], false);
    let primary_id = done["primaryId"].as_str().unwrap().to_owned();
    let home = sandbox_user(&s.http, &s.sandbox, "DEMO_B", &primary_id)
        .await
        .expect("created in the home institution at once");
    assert!(has_identifier(&home, "CARD-0001"), "{home}");
    assert!(has_identifier(&home, &id), "{home}");
    assert_eq!(home["job_category"]["value"], "Exterieur");
    assert_eq!(home["contact_info"]["address"][0]["city"], "Bordeaux");
    let expected_expiry = Utc::now().date_naive() + Days::new(365);
    assert_eq!(
        home["expiry_date"].as_str().unwrap(),
        format!("{}Z", expected_expiry.format("%Y-%m-%d"))
    );
    for institution in ["DEMO_A", "DEMO_C"] {
        let copy = s.user_eventually(institution, &primary_id).await;
        assert!(has_identifier(&copy, "CARD-0001"));
    }

    // The staging record is gone; the registry knows the patron in all three.
    let (status, gone) = client(&s, Method::GET, &format!("/patron/{id}"), None).await;
    assert_eq!(
        (status, gone["code"].as_str()),
        (404, Some("STAGING_USER_NOT_FOUND"))
    );
    let patron = eventually(
        "the registry to hold all three",
        Duration::from_secs(20),
        || async {
            let (status, body) = status_by_email(&s, email).await;
            (status == 200 && body["institutions"].as_array()?.len() == 3).then_some(body)
        },
    )
    .await;
    assert_eq!(patron["primaryId"], primary_id.as_str());
    assert_eq!(patron["active"], true);
    let (status, by_id) = client(
        &s,
        Method::GET,
        &format!("/patron/registration-status?externalSystemId={id}"),
        None,
    )
    .await;
    assert_eq!(
        (status, by_id["primaryId"].as_str()),
        (200, Some(primary_id.as_str()))
    );

    // The event for the discovery layer, and no second registration.
    let (status, events) = client(&s, Method::GET, "/events?type=patron.registered", None).await;
    assert_eq!(status, 200, "{events}");
    let items = events["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["detail"]["externalSystemId"], id.as_str());
    let (status, refused) = client(&s, Method::POST, "/patron", Some(tier1(email))).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("PATRON_ALREADY_EXISTS"))
    );
}

#[tokio::test]
async fn the_status_query_follows_the_webhooks_of_every_institution() {
    let s = server().await;
    let email = "ada.lovelace@example.org";
    let patron = |id: &str, record_type: &str, expiry: &str| {
        json!({
            "primary_id": id, "first_name": "Ada", "last_name": "Lovelace",
            "record_type": {"value": record_type}, "status": {"value": "ACTIVE"},
            "user_group": {"value": "STAFF"}, "job_category": {"value": "Local"},
            "expiry_date": expiry,
            "contact_info": {"email": [{"email_address": email, "preferred": true}]}
        })
    };
    // A local (not distributed) patron of DEMO_C is known to the registry all the same.
    s.librarian(
        Method::POST,
        "DEMO_C/users",
        Some(patron("ada-1", "PUBLIC", "2031-01-01Z")),
    )
    .await;
    let found = status_eventually(&s, email, 200, "").await;
    assert_eq!(found["institutions"], json!(["DEMO_C"]));

    // Her staff record in DEMO_A, same e-mail, is ignored.
    s.librarian(
        Method::POST,
        "DEMO_A/users",
        Some(patron("ada-staff", "STAFF", "2031-01-01Z")),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status_by_email(&s, email).await.0, 200);

    // Expired, then inactive, then two patron records.
    s.librarian(
        Method::PUT,
        "DEMO_C/users/ada-1",
        Some(json!({"expiry_date": "2020-01-01Z"})),
    )
    .await;
    let expired = status_eventually(&s, email, 404, "ACCOUNT_EXPIRED").await;
    assert_eq!(expired["message"], "Patron account has expired");
    s.librarian(
        Method::PUT,
        "DEMO_C/users/ada-1",
        Some(json!({"expiry_date": "2031-01-01Z", "status": {"value": "INACTIVE"}})),
    )
    .await;
    status_eventually(&s, email, 404, "USER_ACCOUNT_INACTIVE").await;
    s.librarian(
        Method::POST,
        "DEMO_B/users",
        Some(patron("ada-2", "PUBLIC", "2031-01-01Z")),
    )
    .await;
    status_eventually(&s, email, 400, "MULTIPLE_USER_WITH_EMAIL").await;

    // Exactly one identifier, and a key.
    let (status, body) = client(&s, Method::GET, "/patron-registration-status", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("INVALID_IDENTIFIERS"))
    );
    let both = format!("/patron-registration-status?emailId={email}&externalSystemId=x");
    assert_eq!(client(&s, Method::GET, &both, None).await.0, 400);
    let (status, _, _) = call(
        &s,
        Method::GET,
        &format!("/patron-registration-status?emailId={email}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn completing_for_an_expired_patron_renews_it_everywhere() {
    let s = server().await;
    let mut reader = external_reader("renew-me");
    reader["expiry_date"] = json!("2021-06-30Z");
    let email = "renew-me@example.org";
    s.librarian(Method::POST, "DEMO_A/users", Some(reader))
        .await;
    for institution in ["DEMO_B", "DEMO_C"] {
        s.user_eventually(institution, "renew-me").await;
    }
    status_eventually(&s, email, 404, "ACCOUNT_EXPIRED").await;

    // An expired patron may pre-register again; completion renews instead of duplicating.
    let (status, staged) = client(&s, Method::POST, "/patron", Some(tier1(email))).await;
    assert_eq!(status, 201, "{staged}");
    let id = staged["externalSystemId"].as_str().unwrap();
    let staff = staff_token(&s).await;
    let (status, done) = complete(&s, &staff, id, "DEMO_B", "CARD-RENEW").await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (done["renewal"].as_bool(), done["primaryId"].as_str()),
        (Some(true), Some("renew-me"))
    );
    let expiry = format!("{}Z", done["expiryDate"].as_str().unwrap());
    for institution in ["DEMO_A", "DEMO_B", "DEMO_C"] {
        eventually(
            &format!("renewal in {institution}"),
            Duration::from_secs(20),
            || async {
                let user = sandbox_user(&s.http, &s.sandbox, institution, "renew-me").await?;
                (user["expiry_date"] == expiry.as_str()).then_some(())
            },
        )
        .await;
        let users = sandbox_json(&s.http, &s.sandbox, &format!("{institution}/users")).await;
        assert_eq!(
            users.as_array().unwrap().len(),
            1,
            "no duplicate in {institution}"
        );
    }
    status_eventually(&s, email, 200, "").await;
}

#[tokio::test]
async fn a_completion_alma_refuses_keeps_the_staging_record() {
    let s = server().await;
    // The card number is already another reader's barcode in DEMO_A.
    s.librarian(
        Method::POST,
        "DEMO_A/users",
        Some(external_reader("card-holder")),
    )
    .await;
    let (_, staged) = client(&s, Method::POST, "/patron", Some(tier1("late@example.org"))).await;
    let id = staged["externalSystemId"].as_str().unwrap();
    let staff = staff_token(&s).await;
    let (status, refused) = complete(&s, &staff, id, "DEMO_A", "B-card-holder").await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("ALMA_REJECTED")),
        "{refused}"
    );
    assert!(
        refused["message"].as_str().unwrap().contains("401851"),
        "{refused}"
    );
    let (status, kept) = client(&s, Method::GET, &format!("/patron/{id}"), None).await;
    assert_eq!((status, kept["externalSystemId"].as_str()), (200, Some(id)));

    // Bad desk input is named; a client key without the staff scope is not staff.
    let body = json!({"homeInstitution": "DEMO_NETWORK", "barcode": "X", "userGroup": "EXT"});
    let (status, invalid, _) = call(
        &s,
        Method::POST,
        &format!("/patron/{id}/complete"),
        Some(&staff),
        Some(body),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        invalid["message"]
            .as_str()
            .unwrap()
            .contains("homeInstitution"),
        "{invalid}"
    );
    let (status, _, _) = call(
        &s,
        Method::POST,
        &format!("/patron/{id}/complete"),
        None,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 401);
}
