//! The `admin-console` function on its AWS path: its sample function-URL
//! events go through the router built by `admin_console`, over a DynamoDB
//! table, job queues and secrets (every Alma API key, the network zone's
//! included, and the CSRF key) on moto, with the Alma sandbox as every
//! institution's Alma. The samples' session cookie is stored as a session of
//! a network staff member, and the CSRF key is the demo key their forms were
//! signed with (`infra/events.py`).

use axum::body::Body;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::Request;
use chrono::Utc;
use http_body_util::BodyExt;
use patron_hub_domain::accounts::{
    Account, AccountId, AccountState, AccountStore, Email, Language, NetworkRole, PersonName,
    SecretToken, SessionRecord, SessionStore, UserName,
};
use patron_hub_domain::distribution::{work_batch, FailureReason};
use patron_hub_domain::ports::JobQueue;
use patron_hub_domain::{InstitutionCode, Job, JobAction, PrimaryId, SystemClock};
use patron_hub_lambda::wiring::{admin_console, AwsClients, WiringError};
use patron_hub_lambda::Environment;
use patron_hub_store_aws::AwsStore;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

const ZONE: &str = "DEMO_NETWORK";
const MEMBERS: [&str; 3] = ["DEMO_A", "DEMO_B", "DEMO_C"];
/// Where the sandbox holds the samples' patron; DEMO_C does not know them.
const HOLDERS: [&str; 2] = ["DEMO_A", "DEMO_B"];
/// The session cookie's name over HTTPS.
const SESSION_COOKIE: &str = "__Host-patron_hub_session";

/// The demo CSRF key the samples' forms were signed with, as `infra/events.py`
/// defines it: the hex SHA-256 of a fixed phrase.
fn demo_csrf_key() -> String {
    Sha256::digest(b"patron-hub demo console CSRF key")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A sample event of `events/admin-console/`, as JSON and as the request the
/// Lambda runtime would hand the router, its path replaced by `path` if given.
fn sample(name: &str, path: Option<&str>) -> (Value, Request<Body>) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/admin-console")
        .join(name);
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    if let Some(path) = path {
        event["rawPath"] = json!(path);
        event["requestContext"]["http"]["path"] = json!(path);
    }
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let (parts, body) = request.into_parts();
    (event, Request::from_parts(parts, Body::from(body.to_vec())))
}

/// What the router answered.
struct Reply {
    status: u16,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(router: &axum::Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// The `<li>` items an institution has in the page.
fn institution_items<'p>(page: &'p str, institution: &str) -> Vec<&'p str> {
    let marker = format!(r#"<li data-institution="{institution}">"#);
    page.match_indices(&marker)
        .map(|(start, _)| {
            let end = page[start..].find("</li>").unwrap();
            &page[start..start + end]
        })
        .collect()
}

fn staff_account(id: AccountId) -> Account {
    Account {
        id,
        user_name: UserName::parse("desk").unwrap(),
        email: Email::parse("desk@patron-hub.invalid").unwrap(),
        first_name: PersonName::parse("first_name", "Camille").unwrap(),
        last_name: PersonName::parse("last_name", "Lefebvre").unwrap(),
        department: None,
        department_roles: Vec::new(),
        paid: false,
        state: AccountState::Active,
        expires_on: None,
        network_roles: BTreeSet::from([NetworkRole::NetworkStaff]),
        // Never checked here: the samples carry a stored session.
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FtcGxl$c2FtcGxl".to_owned()),
        language: Language::default(),
        created_at: Utc::now(),
        last_seen_at: None,
        password_changed_at: None,
        version: 1,
    }
}

/// A deployment on moto, named as `infra/` names things: the table, the
/// job queues of the zone and the members, the API key of `CODE` in the secret `<prefix><CODE>`
/// (the zone's too), the CSRF key secret, and the function's environment.
struct Deployment {
    env: Vec<(String, String)>,
    store: AwsStore,
    queues: BTreeMap<InstitutionCode, String>,
}

impl Deployment {
    async fn new(aws: &AwsClients, sandbox_url: &str, csrf_secret: &str) -> Self {
        assert!(
            std::env::var_os("AWS_ENDPOINT_URL").is_some(),
            "AWS_ENDPOINT_URL is not set: these tests need moto. Run ./scripts/test, or start \
             `python3 -m moto.server -H 127.0.0.1 -p 5055` and set AWS_ENDPOINT_URL=http://127.0.0.1:5055 \
             AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-1"
        );
        let run = uuid::Uuid::new_v4().simple().to_string();
        let (table, prefix) = (format!("console-{run}"), format!("jobs-{}-", &run[..10]));
        let institutions: Vec<InstitutionCode> = std::iter::once(ZONE)
            .chain(MEMBERS)
            .map(|code| InstitutionCode::parse(code).unwrap())
            .collect();
        let queues = patron_hub_store_aws::provision(
            &aws.dynamodb,
            &aws.sqs,
            &table,
            &prefix,
            &institutions,
        )
        .await
        .unwrap();
        let secret_prefix = format!("alma-api-key-{run}/");
        for code in std::iter::once(ZONE).chain(MEMBERS) {
            aws.secrets
                .create_secret()
                .name(format!("{secret_prefix}{code}"))
                .secret_string(format!("demo-key-{code}"))
                .send()
                .await
                .unwrap();
        }
        let csrf_arn = aws
            .secrets
            .create_secret()
            .name(format!("console-csrf-key-{run}"))
            .secret_string(csrf_secret)
            .send()
            .await
            .unwrap()
            .arn()
            .unwrap()
            .to_owned();
        let env = [
            ("PATRON_HUB_TABLE", table.clone()),
            ("PATRON_HUB_QUEUE_PREFIX", prefix),
            ("PATRON_HUB_NETWORK_ZONE", ZONE.to_owned()),
            // As the template's InstitutionCodes: the zone has a queue too.
            (
                "PATRON_HUB_INSTITUTIONS",
                format!("{ZONE},{}", MEMBERS.join(",")),
            ),
            ("ALMA_API_BASE_URL", sandbox_url.to_owned()),
            ("ALMA_API_KEY_SECRET_PREFIX", secret_prefix),
            ("CONSOLE_CSRF_KEY_SECRET_ARN", csrf_arn),
            (
                "PATRON_HUB_PUBLIC_BASE_URL",
                "https://patrons.example.org".to_owned(),
            ),
            (
                "PATRON_HUB_MAIL_FROM",
                "no-reply@patron-hub.example.org".to_owned(),
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .to_vec();
        let store = AwsStore::new(
            aws.dynamodb.clone(),
            aws.sqs.clone(),
            table,
            queues.clone(),
            Arc::new(SystemClock),
        );
        Self { env, store, queues }
    }

    /// The environment, with `changes` applied (`None` removes a variable).
    fn environment(&self, changes: &[(&str, Option<&str>)]) -> Environment {
        let mut env = self.env.clone();
        for (name, value) in changes {
            env.retain(|(k, _)| k != name);
            if let Some(value) = value {
                env.push(((*name).to_owned(), (*value).to_owned()));
            }
        }
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Environment::from_pairs(&pairs)
    }

    /// Stores the session the samples' cookie holds, for a network staff member.
    async fn staff_session(&self, cookie: &str) {
        let token = cookie
            .strip_prefix(&format!("{SESSION_COOKIE}="))
            .expect("the samples carry the HTTPS session cookie");
        let staff = staff_account(AccountId::new());
        AccountStore::create(&self.store, &staff).await.unwrap();
        let now = Utc::now();
        SessionStore::create(
            &self.store,
            &SessionRecord {
                hash: SecretToken::presented(token).hash(),
                account_id: staff.id,
                created_at: now,
                last_used_at: now,
            },
        )
        .await
        .unwrap();
    }

    /// The name of the secret holding `institution`'s API key.
    fn key_secret(&self, institution: &str) -> String {
        let prefix = self
            .env
            .iter()
            .find(|(k, _)| k == "ALMA_API_KEY_SECRET_PREFIX")
            .map(|(_, v)| v.as_str())
            .unwrap();
        format!("{prefix}{institution}")
    }

    /// Puts a deletion of a patron on `institution`'s queue and gives it up
    /// with Alma's `code`, as its worker would.
    async fn dead_letter(&self, institution: &str, code: &str) {
        let institution = InstitutionCode::parse(institution).unwrap();
        let job = Job {
            event_id: format!("evt-{institution}"),
            institution: institution.clone(),
            origin: institution.clone(),
            action: JobAction::Delete,
            primary_id: PrimaryId::parse("EXT-2025-0042").unwrap(),
            event_time: Utc::now(),
            user: None,
        };
        self.store.enqueue(&[job]).await.unwrap();
        let lease = std::time::Duration::from_secs(30);
        let delivery = self
            .store
            .receive(&institution, 1, lease)
            .await
            .unwrap()
            .pop()
            .unwrap();
        let reason = FailureReason {
            code: code.to_owned(),
            message: "refused by Alma".to_owned(),
        };
        self.store
            .dead_letter(&delivery, &reason, 1, Utc::now())
            .await
            .unwrap();
    }

    /// Every job waiting on `institution`'s queue, as JSON.
    async fn jobs(&self, aws: &AwsClients, institution: &str) -> Vec<Value> {
        let queue = &self.queues[&InstitutionCode::parse(institution).unwrap()];
        let received = aws
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        received
            .messages()
            .iter()
            .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
            .collect()
    }
}

/// A sandbox, a deployment on moto with the demo CSRF key, and the router of
/// the function built from its environment (the zone first among its
/// institutions).
struct Started {
    sandbox: patron_hub_alma_sandbox::RunningSandbox,
    aws: AwsClients,
    deployment: Deployment,
    router: axum::Router,
}

impl Started {
    async fn new() -> Self {
        let sandbox = patron_hub_alma_sandbox::spawn(
            patron_hub_alma_sandbox::SandboxConfig::demo(),
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let aws = AwsClients::load().await;
        let deployment = Deployment::new(&aws, &sandbox.base_url, &demo_csrf_key()).await;
        let api = admin_console(&deployment.environment(&[]), &aws)
            .await
            .unwrap();
        let zone_first: Vec<&str> = api.institutions.iter().map(|i| i.as_str()).collect();
        assert_eq!(zone_first, [ZONE, "DEMO_A", "DEMO_B", "DEMO_C"]);
        let router =
            patron_hub_http::console::router(api).fallback(patron_hub_http::error::not_found);
        Self {
            sandbox,
            aws,
            deployment,
            router,
        }
    }
}

/// Creates the patron `primary_id` in `institution` as a librarian would.
async fn seed(sandbox_url: &str, institution: &str, primary_id: &str) {
    let patron = json!({
        "primary_id": primary_id,
        "first_name": "Camille",
        "last_name": "Durand",
        "user_group": {"value": "EXT"},
        "status": {"value": "ACTIVE"},
        "expiry_date": "2026-12-31Z",
        "purge_date": "2027-06-30Z",
    });
    let created = reqwest::Client::new()
        .post(format!("{sandbox_url}/sandbox/{institution}/users"))
        .json(&patron)
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_samples_log_in_find_a_patron_everywhere_and_set_their_expiry_over_aws() {
    let Started {
        sandbox,
        aws,
        deployment,
        router,
    } = Started::new().await;

    // The login page, with its pre-session cookie host-only and Secure.
    let (_, request) = sample("login-page.json", None);
    let login = send(&router, request).await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert!(login.body.contains(r#"<label for="user_name">"#));
    assert!(login.body.contains(r#"name="csrf""#));
    let pre_session: Vec<&str> = login
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.starts_with("__Host-patron_hub_console_login="))
        .collect();
    assert_eq!(pre_session.len(), 1, "{:?}", login.headers);
    assert!(pre_session[0].contains("; Secure"), "{}", pre_session[0]);

    // The search of the sample, for a patron two members hold.
    let (event, request) = sample("search.json", None);
    let primary_id = event["queryStringParameters"]["q"].as_str().unwrap();
    for holder in HOLDERS {
        seed(&sandbox.base_url, holder, primary_id).await;
    }
    let cookie = event["cookies"][0].as_str().unwrap();
    deployment.staff_session(cookie).await;
    let search = send(&router, request).await;
    assert_eq!(search.status, 200, "{}", search.body);
    assert!(search.body.contains(&format!(
        r#"<a href="/console/patrons/{primary_id}">{primary_id}</a>"#
    )));
    for holder in HOLDERS {
        let items = institution_items(&search.body, holder);
        assert_eq!(items.len(), 1, "{holder}");
        assert!(items[0].contains("state-present"), "{}", items[0]);
        assert!(items[0].contains("2026-12-31"), "{}", items[0]);
    }
    for elsewhere in [ZONE, "DEMO_C"] {
        let items = institution_items(&search.body, elsewhere);
        assert_eq!(items.len(), 1, "{elsewhere}");
        assert!(items[0].contains("state-absent"), "{}", items[0]);
    }

    // The confirmed expiry form of the sample: a job per holder, audited.
    let (_, request) = sample("set-expiry.json", None);
    let done = send(&router, request).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let patron_page = format!("/console/patrons/{primary_id}");
    assert_eq!(done.headers.get(LOCATION).unwrap(), patron_page.as_str());
    let mut action_ids = BTreeSet::new();
    for holder in HOLDERS {
        let jobs = deployment.jobs(&aws, holder).await;
        assert_eq!(jobs.len(), 1, "{holder}: {jobs:?}");
        assert_eq!(jobs[0]["action"], "patch", "{holder}");
        assert_eq!(jobs[0]["primary_id"], primary_id, "{holder}");
        assert_eq!(jobs[0]["user"]["expiry_date"], "2027-06-30Z", "{holder}");
        assert_eq!(jobs[0]["user"]["purge_date"], "2027-06-30Z", "{holder}");
        action_ids.insert(jobs[0]["event_id"].as_str().unwrap().to_owned());
    }
    assert!(deployment.jobs(&aws, "DEMO_C").await.is_empty());
    assert_eq!(action_ids.len(), 1, "one action, one event id");
    let action_id = action_ids.pop_first().unwrap();

    // The patron page lists the action from the audit log in the table.
    let (_, request) = sample("search.json", Some(&patron_page));
    let page = send(&router, request).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let row = page
        .body
        .find(&format!(r#"<tr id="audit-{action_id}">"#))
        .map(|start| &page.body[start..])
        .expect("the action is in the audit log");
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("desk"), "{row}");
    assert!(row.contains("2027-06-30"), "{row}");
    for holder in HOLDERS {
        assert_eq!(institution_items(row, holder).len(), 1, "{holder}: {row}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_uses_the_configured_csrf_key_and_none_starts_without_one() {
    let sandbox = patron_hub_alma_sandbox::spawn(
        patron_hub_alma_sandbox::SandboxConfig::demo(),
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let aws = AwsClients::load().await;
    let key = demo_csrf_key();
    let deployment = Deployment::new(&aws, &sandbox.base_url, &key).await;
    let expected: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&key[2 * i..2 * i + 2], 16).unwrap())
        .collect();

    // Two cold starts read the same key from the secret; locally it is the variable.
    for _ in 0..2 {
        let api = admin_console(&deployment.environment(&[]), &aws)
            .await
            .unwrap();
        assert_eq!(api.csrf_key.to_vec(), expected);
    }
    let upper = key.to_uppercase();
    let local = deployment.environment(&[
        ("CONSOLE_CSRF_KEY_SECRET_ARN", None),
        ("CONSOLE_CSRF_KEY", Some(&upper)),
    ]);
    let api = admin_console(&local, &aws).await.unwrap();
    assert_eq!(api.csrf_key.to_vec(), expected);

    let refused = |error: WiringError, variable: &str| {
        let text = error.to_string();
        assert!(text.contains(variable), "{text}");
        assert!(!text.contains(&key[..16]), "never the key: {text}");
    };
    let without = deployment.environment(&[("CONSOLE_CSRF_KEY_SECRET_ARN", None)]);
    match admin_console(&without, &aws).await {
        Err(error) => refused(error, "CONSOLE_CSRF_KEY"),
        Ok(_) => panic!("a console without a CSRF key started"),
    }
    let short = deployment.environment(&[
        ("CONSOLE_CSRF_KEY_SECRET_ARN", None),
        ("CONSOLE_CSRF_KEY", Some(&key[..62])),
    ]);
    match admin_console(&short, &aws).await {
        Err(error) => refused(error, "CONSOLE_CSRF_KEY"),
        Ok(_) => panic!("a console with a 31-byte CSRF key started"),
    }
    let not_hex = Deployment::new(&aws, &sandbox.base_url, &format!("{}zz", &key[..62])).await;
    match admin_console(&not_hex.environment(&[]), &aws).await {
        Err(error) => refused(error, "CONSOLE_CSRF_KEY_SECRET_ARN"),
        Ok(_) => panic!("a console with a CSRF key that is not hex started"),
    }
    let missing = deployment.environment(&[(
        "CONSOLE_CSRF_KEY_SECRET_ARN",
        Some("console-csrf-key-that-does-not-exist"),
    )]);
    match admin_console(&missing, &aws).await {
        Err(error) => refused(error, "CONSOLE_CSRF_KEY_SECRET_ARN"),
        Ok(_) => panic!("a console whose CSRF secret does not exist started"),
    }
}

/// The audit row of the patron page of `primary_id` for the action `action_id`.
async fn audit_row(router: &axum::Router, primary_id: &str, action_id: &str) -> String {
    let (_, request) = sample(
        "search.json",
        Some(&format!("/console/patrons/{primary_id}")),
    );
    let page = send(router, request).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let start = page
        .body
        .find(&format!(r#"<tr id="audit-{action_id}">"#))
        .expect("the action is in the audit log");
    let row = &page.body[start..];
    row[..row.find("</tr>").unwrap()].to_owned()
}

/// A network-zone patron: the console queues the expiry for the zone's own
/// record on the zone's queue, and the zone's worker (the `institution-worker`
/// wiring, with the zone's key from Secrets Manager) applies it; Alma passes
/// it down to the linked copies, and a member's own job applies it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_patrons_expiry_is_applied_by_the_zones_own_worker_over_aws() {
    let Started {
        sandbox,
        aws,
        deployment,
        router,
    } = Started::new().await;
    let (event, request) = sample("set-expiry.json", None);
    let primary_id = "EXT-2025-0042";
    assert!(event["rawPath"].as_str().unwrap().contains(primary_id));
    seed(&sandbox.base_url, ZONE, primary_id).await;
    // Linked into every member, as the zone's creation webhook would have.
    for member in MEMBERS {
        let linked = reqwest::get(format!(
            "{}/almaws/v1/users/{primary_id}?apikey=demo-key-{member}&format=json",
            sandbox.base_url
        ))
        .await
        .unwrap();
        assert_eq!(linked.status(), 200, "looking the zone patron up links it");
    }
    deployment
        .staff_session(event["cookies"][0].as_str().unwrap())
        .await;

    let done = send(&router, request).await;
    assert_eq!(done.status, 303, "{}", done.body);

    let lease = std::time::Duration::from_secs(30);
    let mut action_id = String::new();
    for institution in [ZONE, "DEMO_A"] {
        let worker = patron_hub_lambda::wiring::institution_worker(
            &deployment.environment(&[
                ("PATRON_HUB_INSTITUTION", Some(institution)),
                (
                    "ALMA_API_KEY_SECRET_ARN",
                    Some(&deployment.key_secret(institution)),
                ),
                ("ALMA_CALLS_PER_SECOND", Some("20")),
                ("PATRON_HUB_WORKER_CONCURRENCY", Some("2")),
            ]),
            &aws,
        )
        .await
        .unwrap();
        let code = InstitutionCode::parse(institution).unwrap();
        let deliveries = worker.store.receive(&code, 10, lease).await.unwrap();
        assert_eq!(deliveries.len(), 1, "{institution}: one job");
        assert_eq!(deliveries[0].job.action, JobAction::Patch);
        action_id.clone_from(&deliveries[0].job.event_id);
        for settled in work_batch(
            &worker.store,
            &worker.distributor,
            worker.clock.as_ref(),
            &deliveries,
        )
        .await
        {
            settled.unwrap();
        }
        let record = sandbox.sandbox.user(institution, primary_id).unwrap();
        assert_eq!(record["expiry_date"], "2027-06-30Z", "{institution}");
    }
    for other in ["DEMO_B", "DEMO_C"] {
        let jobs = deployment.jobs(&aws, other).await;
        assert_eq!(jobs.len(), 1, "{other}: {jobs:?}");
        assert_eq!(jobs[0]["event_id"], action_id.as_str(), "{other}");
    }
    let row = audit_row(&router, primary_id, &action_id).await;
    for institution in [ZONE, "DEMO_A"] {
        let items = institution_items(&row, institution);
        assert_eq!(items.len(), 1, "{institution}: {row}");
        assert!(items[0].contains("result-done"), "{}", items[0]);
    }
}

/// The dead-letters page and its replay-all form (the samples) over the
/// table and SQS: jobs given up by the zone's worker and a member's are listed
/// with their reasons, and replaying all puts each back on its queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_and_replayed_over_aws() {
    let Started {
        sandbox: _sandbox,
        aws,
        deployment,
        router,
    } = Started::new().await;
    let (event, request) = sample("dead-letters.json", None);
    deployment
        .staff_session(event["cookies"][0].as_str().unwrap())
        .await;
    for (institution, reason) in [(ZONE, "401850"), ("DEMO_B", "401861")] {
        deployment.dead_letter(institution, reason).await;
    }

    let page = send(&router, request).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for (institution, reason) in [(ZONE, "401850"), ("DEMO_B", "401861")] {
        assert!(
            page.body
                .contains(&format!(r#"<th scope="row">{institution}</th>"#)),
            "{institution}: {}",
            page.body
        );
        assert!(page.body.contains(&format!("<code>{reason}</code>")));
    }

    let (_, request) = sample("replay-all.json", None);
    let answer = send(&router, request).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(
        answer.headers.get(LOCATION).unwrap(),
        "/console/dead-letters?replayed=2"
    );
    for institution in [ZONE, "DEMO_B"] {
        let code = InstitutionCode::parse(institution).unwrap();
        assert!(deployment
            .store
            .dead_letters(&code)
            .await
            .unwrap()
            .is_empty());
        let back = deployment.jobs(&aws, institution).await;
        assert_eq!(back.len(), 1, "{institution}: {back:?}");
        assert_eq!(back[0]["event_id"], format!("evt-{institution}"));
    }
}
