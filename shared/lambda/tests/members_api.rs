//! The `members-api` function on its AWS path: its sample function-URL events
//! go through the router built by `members_api`, over a DynamoDB table on
//! moto. The samples' bearer token is stored as a session of the super
//! administrator they name; other people and memberships are seeded through
//! the ports. The account service of the wiring reads memberships from the
//! same table, so an organization's administrators administer its accounts.

use axum::body::Body;
use axum::http::Request;
use chrono::Utc;
use http_body_util::BodyExt;
use patron_hub_domain::accounts::{
    Account, AccountError, AccountId, AccountState, AccountStore, Email, Language, NetworkRole,
    OrganizationId, PersonName, SecretToken, SessionRecord, SessionStore, UserName,
};
use patron_hub_domain::organizations::{
    Membership, MembershipId, MembershipPolicy, Organization, OrganizationStore, Role,
};
use patron_hub_domain::SystemClock;
use patron_hub_lambda::wiring::{account_service, members_api, AwsClients};
use patron_hub_lambda::Environment;
use patron_hub_store_aws::AwsStore;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;
use uuid::Uuid;

fn require_moto() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: these tests need moto. Run ./scripts/test, or start \
         `python3 -m moto.server -H 127.0.0.1 -p 5055` and set AWS_ENDPOINT_URL=http://127.0.0.1:5055 \
         AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-1"
    );
}

/// A sample event of `events/members-api`, as JSON and as the request the
/// Lambda runtime would hand the router.
fn sample(name: &str) -> (Value, Request<Body>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/members-api")
        .join(name);
    let text = std::fs::read_to_string(path).unwrap();
    let request = lambda_http::request::from_str(&text).unwrap();
    let (parts, body) = request.into_parts();
    (
        serde_json::from_str(&text).unwrap(),
        Request::from_parts(parts, Body::from(body.to_vec())),
    )
}

async fn send(router: &axum::Router, request: Request<Body>) -> (u16, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn account(id: AccountId, user_name: &str, email: &str, last_name: &str) -> Account {
    Account {
        id,
        user_name: UserName::parse(user_name).unwrap(),
        email: Email::parse(email).unwrap(),
        first_name: PersonName::parse("first_name", "Sample").unwrap(),
        last_name: PersonName::parse("last_name", last_name).unwrap(),
        department: None,
        department_roles: Vec::new(),
        paid: false,
        state: AccountState::Active,
        expires_on: None,
        network_roles: BTreeSet::new(),
        // Never checked here: the samples authenticate with a stored session.
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FtcGxl$c2FtcGxl".to_owned()),
        language: Language::default(),
        created_at: Utc::now(),
        last_seen_at: None,
        password_changed_at: None,
        version: 1,
    }
}

/// A table on moto with the sample's super administrator logged in (the
/// samples' bearer token is their session), and the function's environment.
struct Deployment {
    store: AwsStore,
    env: Environment,
    admin: AccountId,
}

impl Deployment {
    async fn new(aws: &AwsClients) -> Self {
        require_moto();
        let table = format!("members-{}", Uuid::new_v4().simple());
        patron_hub_store_aws::provision(&aws.dynamodb, &aws.sqs, &table, "unused-", &[])
            .await
            .unwrap();
        let store = AwsStore::new(
            aws.dynamodb.clone(),
            aws.sqs.clone(),
            table.clone(),
            Default::default(),
            Arc::new(SystemClock),
        );
        // The samples name their caller: the person of `/people/{id}/memberships`
        // holds the session of the bearer token.
        let (event, _) = sample("person-memberships.json");
        let admin = event["rawPath"]
            .as_str()
            .unwrap()
            .split('/')
            .nth(2)
            .unwrap();
        let admin = AccountId(admin.parse().unwrap());
        let token = event["headers"]["authorization"]
            .as_str()
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap();
        let mut super_admin = account(admin, "admin", "admin@patron-hub.invalid", "Admin");
        super_admin.network_roles.insert(NetworkRole::SuperAdmin);
        AccountStore::create(&store, &super_admin).await.unwrap();
        let now = Utc::now();
        SessionStore::create(
            &store,
            &SessionRecord {
                hash: SecretToken::presented(token).hash(),
                account_id: admin,
                created_at: now,
                last_used_at: now,
            },
        )
        .await
        .unwrap();
        let env = Environment::from_pairs(&[
            ("PATRON_HUB_TABLE", &table),
            ("PATRON_HUB_PUBLIC_BASE_URL", "https://patrons.example.org"),
            ("PATRON_HUB_MAIL_FROM", "no-reply@patron-hub.example.org"),
        ]);
        Self { store, env, admin }
    }
}

#[tokio::test]
async fn the_samples_search_people_create_a_club_and_list_the_founders_memberships() {
    let aws = AwsClients::load().await;
    let deployment = Deployment::new(&aws).await;
    let zoe = account(
        AccountId(Uuid::new_v4()),
        "zmartin",
        "Zoe.Martin@example.org",
        "Martin",
    );
    let lea = account(
        AccountId(Uuid::new_v4()),
        "ldurand",
        "lea.durand@example.org",
        "Durand",
    );
    for person in [&zoe, &lea] {
        AccountStore::create(&deployment.store, person)
            .await
            .unwrap();
    }
    let api = members_api(&deployment.env, &aws).await.unwrap();
    let router = patron_hub_http::members::router(api).fallback(patron_hub_http::error::not_found);

    // search[email]=martin: only Zoé, whatever the case of her address.
    let (status, people) = send(&router, sample("search-people.json").1).await;
    assert_eq!(status, 200, "{people}");
    assert_eq!(people["total"], 1, "{people}");
    assert_eq!(people["_embedded"]["items"][0]["id"], json!(zoe.id));
    assert!(people["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .contains("martin"));

    let (status, club) = send(&router, sample("create-organization.json").1).await;
    assert_eq!(status, 201, "{club}");
    assert_eq!(club["name"], "Club de lecture");
    assert_eq!(club["membership_fee_unpaid"], 300);
    let club_id = club["id"].as_str().unwrap().to_owned();
    let (status, read_back) = send(
        &router,
        bearer(Request::get(format!("/organizations/{club_id}"))),
    )
    .await;
    assert_eq!(
        (status, &read_back["name"]),
        (200, &json!("Club de lecture"))
    );

    // The founder holds ORGANIZATION:ADMIN from today, in seed 001's shape.
    let (status, memberships) = send(&router, sample("person-memberships.json").1).await;
    assert_eq!(status, 200, "{memberships}");
    assert_eq!(memberships["total"], 1, "{memberships}");
    let founder = &memberships["_embedded"]["items"][0];
    assert_eq!(founder["roles"], json!(["ORGANIZATION:ADMIN"]));
    assert_eq!(founder["dateStart"], json!(Utc::now().date_naive()));
    assert_eq!(
        founder["_links"]["organization"]["iriTemplate"]["mapping"]["organization"],
        json!(club_id)
    );
    assert_ne!(
        founder["id"],
        json!(deployment.admin),
        "a membership has its own id"
    );

    // Without the session: 401; an unknown path: 404, both as JSON errors.
    let (anonymous, _) = sample("person-memberships.json");
    let path = anonymous["rawPath"].as_str().unwrap();
    let (status, error) = send(&router, Request::get(path).body(Body::empty()).unwrap()).await;
    assert_eq!((status, &error["code"]), (401, &json!("UNAUTHENTICATED")));
    let (status, error) = send(&router, bearer(Request::get("/organisations"))).await;
    assert_eq!((status, error["code"].is_string()), (404, true));
}

/// `request` with the samples' session.
fn bearer(request: axum::http::request::Builder) -> Request<Body> {
    let (event, _) = sample("person-memberships.json");
    let authorization = event["headers"]["authorization"].as_str().unwrap();
    request
        .header("authorization", authorization)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn an_organizations_administrators_administer_its_accounts_on_dynamodb() {
    let aws = AwsClients::load().await;
    let deployment = Deployment::new(&aws).await;
    let head = account(
        AccountId(Uuid::new_v4()),
        "chead",
        "claire.head@example.org",
        "Head",
    );
    let outsider = account(
        AccountId(Uuid::new_v4()),
        "ooutsider",
        "oscar.outsider@example.org",
        "Outsider",
    );
    let today = Utc::now().date_naive();
    let department = Organization {
        id: OrganizationId(Uuid::new_v4()),
        name: "Département d'histoire".to_owned(),
        parent: None,
        policy: MembershipPolicy::default(),
        titles: Vec::new(),
        rolled_on: None,
        created_at: Utc::now(),
        version: 1,
    };
    let headship = Membership {
        id: MembershipId::new(),
        person: head.id,
        organization: department.id,
        roles: BTreeSet::from([Role::Admin]),
        titles: Vec::new(),
        date_start: today,
        date_end: MembershipPolicy::default().end_for(today),
        fee: 0,
        created_at: Utc::now(),
        version: 1,
    };
    let mut student = account(
        AccountId(Uuid::new_v4()),
        "sstudent",
        "sam.student@example.org",
        "Student",
    );
    student.department = Some(department.id);
    for person in [&head, &outsider, &student] {
        AccountStore::create(&deployment.store, person)
            .await
            .unwrap();
    }
    OrganizationStore::create(&deployment.store, &department, &headship)
        .await
        .unwrap();

    let accounts = account_service(&deployment.env, &aws).await.unwrap();
    let seen = accounts.get_account(&head, student.id).await.unwrap();
    assert_eq!(seen.id, student.id);
    assert!(matches!(
        accounts.get_account(&outsider, student.id).await,
        Err(AccountError::Forbidden)
    ));
}

/// Issue 11, point 2, on the function URL's path: the sample creation sent by
/// a browser with the session cookie (which a function URL event carries in
/// its `cookies` list) works from the public origin
/// (`PATRON_HUB_PUBLIC_BASE_URL`, whatever host the function URL has) and is
/// refused from a sibling subdomain, exactly as on `serve`.
#[tokio::test]
async fn a_cookie_change_is_judged_by_the_public_origin_on_the_function_url() {
    let aws = AwsClients::load().await;
    let deployment = Deployment::new(&aws).await;
    let api = members_api(&deployment.env, &aws).await.unwrap();
    let router = patron_hub_http::members::router(api);
    let (event, _) = sample("create-organization.json");
    let by_cookie = |origin: &str| {
        let mut event = event.clone();
        let headers = event["headers"].as_object_mut().unwrap();
        let token = headers.remove("authorization").unwrap();
        let token = token
            .as_str()
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap()
            .to_owned();
        headers.insert("origin".to_owned(), json!(origin));
        event["cookies"] = json!(["theme=dark", format!("__Host-patron_hub_session={token}")]);
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        let (parts, body) = request.into_parts();
        Request::from_parts(parts, Body::from(body.to_vec()))
    };
    let (status, refused) = send(&router, by_cookie("https://evil.example.org")).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("CROSS_ORIGIN")),
        "{refused}"
    );
    let (status, refused) = send(&router, by_cookie("https://shop.patrons.example.org")).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("CROSS_ORIGIN"))
    );
    let (status, created) = send(&router, by_cookie("https://patrons.example.org")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], "Club de lecture");
}
