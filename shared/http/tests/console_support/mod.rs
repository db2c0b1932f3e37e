//! What the console router tests share: the router over real parts (the
//! SQLite store behind every port, the Alma sandbox on a free loopback port
//! reached through the real Alma client, the account service with the outbox
//! mailer, a distributor to work the queues), a browser-like way to call it
//! (cookies, forms, the CSRF token read from the page), and sample patrons.

use crate::common::{account_with_roles, super_admin_session, PASSWORD};
use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chrono::Utc;
use http_body_util::BodyExt;
use patron_hub_alma::{AlmaClient, AlmaInstitution};
use patron_hub_alma_sandbox::{spawn, RunningSandbox, SandboxConfig};
use patron_hub_domain::accounts::{AccountPorts, AccountService, AccountSettings};
use patron_hub_domain::alma::AlmaUsers;
use patron_hub_domain::console::{Console, ConsolePorts};
use patron_hub_domain::distribution::{work_once, Distributor, WorkerSettings};
use patron_hub_domain::ports::{Delivery, JobQueue};
use patron_hub_domain::reconciliation::{ReconcileSettings, Reconciliation, ReconciliationPorts};
use patron_hub_domain::registration::RegistrySync;
use patron_hub_domain::{AlmaUser, InstitutionCode, Network, SystemClock};
use patron_hub_http::console::{router, ConsoleApi};
use patron_hub_mail::OutboxMailer;
use patron_hub_store_sqlite::SqliteStore;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

/// The demo network's zone.
pub const ZONE: &str = "DEMO_NETWORK";
/// The demo network's members.
pub const MEMBERS: [&str; 3] = ["DEMO_A", "DEMO_B", "DEMO_C"];
/// How long the console waits for one institution.
pub const TIMEOUT: Duration = Duration::from_millis(1500);

/// An institution code.
pub fn code(text: &str) -> InstitutionCode {
    InstitutionCode::parse(text).unwrap()
}

fn all_institutions() -> Vec<InstitutionCode> {
    std::iter::once(ZONE).chain(MEMBERS).map(code).collect()
}

/// The console router and everything behind it. Fields drop in order: the
/// store's folder goes last.
pub struct Desk {
    /// The router under test.
    pub router: Router,
    /// The one SQLite store behind every port.
    pub store: SqliteStore,
    /// The Alma sandbox, to seed patrons, inject faults and read records.
    pub sandbox: RunningSandbox,
    /// The real Alma client, as the console and the workers use it.
    pub alma: Arc<AlmaClient>,
    /// The accounts behind console sessions.
    pub accounts: Arc<AccountService>,
    sync: Arc<RegistrySync>,
    distributor: Distributor,
    /// Backfills and reconciles over the same store and sandbox.
    pub reconciliation: Arc<Reconciliation>,
    admin_token: String,
    _folder: tempfile::TempDir,
}

impl Desk {
    /// A console served as `http://localhost:8080`.
    pub async fn start() -> Self {
        Self::at("http://localhost:8080").await
    }

    /// A console whose public address is `base_url`.
    pub async fn at(base_url: &str) -> Self {
        let folder = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(&folder.path().join("hub.sqlite"), Arc::new(SystemClock)).unwrap();
        let sandbox = spawn(SandboxConfig::demo(), "127.0.0.1:0").await.unwrap();
        let institutions = all_institutions()
            .into_iter()
            .map(|code| AlmaInstitution {
                api_key: format!("demo-key-{code}"),
                code,
                base_url: sandbox.base_url.clone(),
                calls_per_second: 20,
            })
            .collect();
        let alma = Arc::new(AlmaClient::new(institutions, Duration::from_secs(20)).unwrap());
        let sync = Arc::new(RegistrySync::new(Arc::new(store.clone()), "OTHER_ID_1"));
        let network = Network {
            zone: code(ZONE),
            members: MEMBERS.into_iter().map(code).collect(),
        };
        let console = Console::new(
            ConsolePorts {
                alma: alma.clone(),
                registry: Arc::new(store.clone()),
                ledger: Arc::new(store.clone()),
                inbox: Arc::new(store.clone()),
                audit: Arc::new(store.clone()),
                clock: Arc::new(SystemClock),
            },
            network.clone(),
            TIMEOUT,
        );
        let reconciliation = Arc::new(Reconciliation::new(
            ReconciliationPorts {
                alma: alma.clone(),
                store: Arc::new(store.clone()),
                registry: sync.clone(),
                ledger: Arc::new(store.clone()),
                queue: Arc::new(store.clone()),
                clock: Arc::new(SystemClock),
            },
            network,
            ReconcileSettings {
                categories: vec!["Exterieur".to_owned(), "PEB".to_owned()],
                local_fields: WorkerSettings::default().local_fields,
            },
        ));
        let distributor = Distributor::new(
            alma.clone(),
            Arc::new(store.clone()),
            Arc::new(SystemClock),
            code(ZONE),
            WorkerSettings::default(),
        )
        .with_registry(sync.clone());
        let mailer = OutboxMailer::new(
            folder.path().join("outbox"),
            "patron-hub <no-reply@patrons.test>".to_owned(),
        )
        .unwrap();
        let accounts = Arc::new(AccountService::new(
            AccountPorts {
                accounts: Arc::new(store.clone()),
                tokens: Arc::new(store.clone()),
                sessions: Arc::new(store.clone()),
                attempts: Arc::new(store.clone()),
                requests: Arc::new(store.clone()),
                mailer: Arc::new(mailer),
                clock: Arc::new(SystemClock),
            },
            AccountSettings {
                public_base_url: base_url.to_owned(),
                ..AccountSettings::default()
            },
        ));
        let router = router(ConsoleApi {
            console: Arc::new(console),
            accounts: accounts.clone(),
            queue: Arc::new(store.clone()),
            institutions: all_institutions(),
            csrf_key: Arc::new([42; 32]),
            runs: Arc::new(store.clone()),
            reconciliation: reconciliation.clone(),
            operations: Arc::new(store.clone()),
            clock: Arc::new(SystemClock),
        });
        let admin_token = super_admin_session(&accounts).await.1;
        Self {
            router,
            store,
            sandbox,
            alma,
            accounts,
            sync,
            distributor,
            reconciliation,
            admin_token,
            _folder: folder,
        }
    }

    /// Sends a request to the router.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    /// `GET uri` with the session cookie `cookie` (`name=value`), if any.
    pub async fn get(&self, uri: &str, cookie: Option<&str>) -> Reply {
        self.send(get(uri, cookie)).await
    }

    /// `POST uri` with `fields` as a form, as a browser on the console's own page sends it.
    pub async fn post(&self, uri: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Reply {
        self.send(post(uri, cookie, fields)).await
    }

    /// A new active account with `roles`, password [`PASSWORD`].
    pub async fn account(&self, user_name: &str, roles: &[&str]) {
        account_with_roles(&self.accounts, &self.admin_token, user_name, roles).await;
    }

    /// Logs `user_name` in through the login form: the answer to the POST.
    pub async fn log_in(&self, user_name: &str, password: &str) -> Reply {
        let form = self.get("/console/login", None).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let pre_session = form.cookie_pair("patron_hub_console_login").unwrap();
        let csrf = form.csrf();
        self.post(
            "/console/login",
            Some(&pre_session),
            &[
                ("user_name", user_name),
                ("password", password),
                ("csrf", &csrf),
            ],
        )
        .await
    }

    /// A network staff member, logged in: their session cookie (`name=value`).
    pub async fn staff_cookie(&self) -> String {
        self.account("desk", &["NETWORK_STAFF"]).await;
        let answer = self.log_in("desk", PASSWORD).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        answer.cookie_pair("patron_hub_session").unwrap()
    }

    /// Creates `user` in `institution` through the Alma API and records it in
    /// the patron registry, as its webhook would have.
    pub async fn seed(&self, institution: &str, user: &AlmaUser) {
        let created = self
            .alma
            .create_user(&code(institution), user)
            .await
            .unwrap();
        self.sync
            .observe(&code(institution), &created, Utc::now())
            .await
            .unwrap();
    }

    /// The patron `primary_id` in every member institution.
    pub async fn patron_everywhere(&self, primary_id: &str) {
        for member in MEMBERS {
            self.seed(member, &ada(primary_id)).await;
        }
    }

    /// Takes every job visible on `institution`'s queue, without working on it.
    pub async fn take_jobs(&self, institution: &str) -> Vec<Delivery> {
        self.store
            .receive(&code(institution), 10, Duration::from_secs(60))
            .await
            .unwrap()
    }

    /// Runs the workers of every institution until no queue hands out a job.
    pub async fn drain(&self) {
        loop {
            let mut taken = 0;
            for institution in all_institutions() {
                taken += work_once(
                    &self.store,
                    &self.distributor,
                    &SystemClock,
                    &institution,
                    10,
                )
                .await
                .unwrap();
            }
            if taken == 0 {
                return;
            }
        }
    }
}

/// Ada, as an institution's local account.
pub fn ada(primary_id: &str) -> AlmaUser {
    serde_json::from_value(json!({
        "primary_id": primary_id,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "user_group": {"value": "PEB"},
        "status": {"value": "ACTIVE"},
        "expiry_date": "2026-12-31Z",
        "purge_date": "2027-06-30Z",
        "contact_info": {"email": [{"email_address": "ada@example.org", "preferred": true}]},
    }))
    .unwrap()
}

/// A GET with an optional cookie.
pub fn get(uri: &str, cookie: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(Method::GET).uri(uri);
    if let Some(cookie) = cookie {
        builder = builder.header(COOKIE, cookie);
    }
    builder.body(Body::empty()).unwrap()
}

/// A form POST with an optional cookie, marked same-origin as a browser marks it.
pub fn post(uri: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin");
    if let Some(cookie) = cookie {
        builder = builder.header(COOKIE, cookie);
    }
    builder.body(Body::from(form(fields))).unwrap()
}

/// `fields` as `application/x-www-form-urlencoded`.
pub fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One answer of the router.
pub struct Reply {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body, as text.
    pub body: String,
}

impl Reply {
    /// The `Location` of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    /// The `Set-Cookie` header of the cookie called `name` (exactly).
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.split_once('=').is_some_and(|(n, _)| n == name))
    }

    /// `name=value` of a cookie set with a value (for a `Cookie` header).
    pub fn cookie_pair(&self, name: &str) -> Option<String> {
        let header = self.set_cookie(name)?;
        let pair = header.split(';').next()?.to_owned();
        (!pair.ends_with('=')).then_some(pair)
    }

    /// The value of the first hidden `csrf` field of the page.
    pub fn csrf(&self) -> String {
        let marker = r#"name="csrf" value=""#;
        let start = self.body.find(marker).expect("a form with a csrf field") + marker.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_owned()
    }

    /// The value of a response header.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }
}
