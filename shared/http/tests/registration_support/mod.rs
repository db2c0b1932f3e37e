//! What the registration router tests share: the router over real parts (a
//! SQLite store as registry, staging records, inbox, queue and event log; the
//! Alma client talking to a sandbox on a local port; an account service with
//! the outbox mailer), a fixed clock, and helpers to call it and seed it.

use crate::common::{account_with_roles, super_admin_session, PASSWORD};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use http_body_util::BodyExt;
use patron_hub_alma::{AlmaClient, AlmaInstitution};
use patron_hub_alma_sandbox::{spawn, RunningSandbox, SandboxConfig};
use patron_hub_domain::accounts::{AccountPorts, AccountService, AccountSettings};
use patron_hub_domain::alma::AlmaUsers;
use patron_hub_domain::registration::{
    ClientKey, ClientKeys, ClientScope, RegistrationPorts, RegistrationService,
    RegistrationSettings, RegistrySync,
};
use patron_hub_domain::{AlmaUser, Clock, FixedClock, InstitutionCode, Network};
use patron_hub_http::registration::{router, RegistrationApi};
use patron_hub_mail::OutboxMailer;
use patron_hub_store_sqlite::SqliteStore;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

/// A key with the registration scope (the discovery layer).
pub const KIOSK_KEY: &str = "kiosk-secret-key";
/// A key with the staff scope (the desk).
pub const DESK_KEY: &str = "desk-secret-key";
/// Monday 2 March 2026, 09:00 UTC: the clock of every test.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// The day the clock shows.
pub fn today() -> NaiveDate {
    now().date_naive()
}

/// An institution code.
pub fn code(text: &str) -> InstitutionCode {
    InstitutionCode::parse(text).unwrap()
}

/// The registration router and everything behind it.
pub struct Hub {
    /// The router under test, with the event log.
    pub router: Router,
    /// The same parts without an event log, as in AWS.
    pub api_without_events: RegistrationApi,
    /// The one SQLite store behind every port.
    pub store: SqliteStore,
    /// The Alma sandbox the client talks to.
    pub sandbox: RunningSandbox,
    /// The Alma client of the service.
    pub alma: Arc<AlmaClient>,
    /// How the registry is seeded, as webhooks would.
    pub sync: Arc<RegistrySync>,
    /// The accounts behind staff sessions.
    pub accounts: Arc<AccountService>,
    /// The super administrator's session token.
    pub admin_token: String,
    _folder: tempfile::TempDir,
}

impl Hub {
    /// A fresh store, sandbox and service.
    pub async fn start() -> Self {
        let folder = tempfile::tempdir().unwrap();
        let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(now()));
        let store = SqliteStore::open(&folder.path().join("hub.sqlite"), clock.clone()).unwrap();
        let sandbox = spawn(SandboxConfig::demo(), "127.0.0.1:0").await.unwrap();
        let institutions = ["DEMO_NETWORK", "DEMO_A", "DEMO_B", "DEMO_C"]
            .into_iter()
            .map(|c| AlmaInstitution {
                code: code(c),
                base_url: sandbox.base_url.clone(),
                api_key: format!("demo-key-{c}"),
                calls_per_second: 25,
            })
            .collect();
        let alma = Arc::new(AlmaClient::new(institutions, Duration::from_secs(5)).unwrap());
        let settings = RegistrationSettings::default();
        let sync = Arc::new(RegistrySync::new(
            Arc::new(store.clone()),
            settings.external_id_type.clone(),
        ));
        let network = Network {
            zone: code("DEMO_NETWORK"),
            members: vec![code("DEMO_A"), code("DEMO_B"), code("DEMO_C")],
        };
        let ports = RegistrationPorts {
            staging: Arc::new(store.clone()),
            sync: sync.clone(),
            alma: alma.clone(),
            inbox: Arc::new(store.clone()),
            events: Arc::new(store.clone()),
            clock: clock.clone(),
        };
        let service = Arc::new(RegistrationService::new(ports, network, settings));
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
                clock,
            },
            AccountSettings {
                public_base_url: "http://localhost:8080".to_owned(),
                ..AccountSettings::default()
            },
        ));
        let client_keys = Arc::new(ClientKeys::new(vec![
            ClientKey::from_plain("kiosk", KIOSK_KEY, ClientScope::Registration),
            ClientKey::from_plain("desk", DESK_KEY, ClientScope::Staff),
        ]));
        let api_without_events = RegistrationApi {
            service,
            accounts: accounts.clone(),
            client_keys,
            events: None,
        };
        let router = router(RegistrationApi {
            events: Some(Arc::new(store.clone())),
            ..api_without_events.clone()
        });
        let admin_token = super_admin_session(&accounts).await.1;
        Self {
            router,
            api_without_events,
            store,
            sandbox,
            alma,
            sync,
            accounts,
            admin_token,
            _folder: folder,
        }
    }

    /// Sends a request to the router: its status and JSON body (`Null` when empty).
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        send_to(&self.router, request).await
    }

    /// `method uri` with an `X-Api-Key` (if any) and a JSON body (if not empty).
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        key: Option<&str>,
        body: &str,
    ) -> (StatusCode, Value) {
        self.send(request(method, uri, key, body)).await
    }

    /// `POST /patron` with the kiosk key.
    pub async fn submit(&self, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, "/patron", Some(KIOSK_KEY), &body.to_string())
            .await
    }

    /// A new staging record for `email`; its externalSystemId.
    pub async fn staging(&self, email: &str) -> String {
        let (status, record) = self
            .submit(json!({
                "generalInfo": {"firstName": "Jeanne", "lastName": "Barret"},
                "addressInfo": {"addressLine0": "1 rue des Plantes", "city": "Paris", "zip": "75005"},
                "contactInfo": {"email": email, "phone": "+33 1 00 00 00 00"},
                "status": "TIER-2"
            }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{record}");
        record["externalSystemId"].as_str().unwrap().to_owned()
    }

    /// `POST /patron/{id}/complete` with the desk key and user group EXT.
    pub async fn complete(&self, id: &str, home: &str, barcode: &str) -> (StatusCode, Value) {
        let body = json!({"homeInstitution": home, "barcode": barcode, "userGroup": "EXT"});
        self.call(
            Method::POST,
            &format!("/patron/{id}/complete"),
            Some(DESK_KEY),
            &body.to_string(),
        )
        .await
    }

    /// Records `user` as held by `institution` a day ago, as its webhook would.
    pub async fn observe(&self, institution: &str, user: &Value) {
        let user: AlmaUser = serde_json::from_value(user.clone()).unwrap();
        self.sync
            .observe(&code(institution), &user, now() - chrono::Duration::days(1))
            .await
            .unwrap();
    }

    /// Creates `user` in `institution`'s Alma (through the API: no webhook)
    /// and records it in the registry.
    pub async fn alma_patron(&self, institution: &str, user: &Value) {
        let user: AlmaUser = serde_json::from_value(user.clone()).unwrap();
        let created = self
            .alma
            .create_user(&code(institution), &user)
            .await
            .unwrap();
        self.observe(institution, &Value::Object(created.0)).await;
    }

    /// A session token of a new active account holding `roles`.
    pub async fn session(&self, user_name: &str, roles: &[&str]) -> String {
        account_with_roles(&self.accounts, &self.admin_token, user_name, roles).await;
        let (token, _) = self.accounts.login(user_name, PASSWORD).await.unwrap();
        token.expose().to_owned()
    }
}

/// A request with an optional `X-Api-Key` and an optional JSON body.
pub fn request(method: Method, uri: &str, key: Option<&str>, body: &str) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(key) = key {
        builder = builder.header("X-Api-Key", key);
    }
    if !body.is_empty() {
        builder = builder.header("content-type", "application/json");
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

/// Sends a request to `router`: its status and JSON body (`Null` when empty).
pub async fn send_to(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    if bytes.is_empty() {
        return (status, Value::Null);
    }
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
    (status, body)
}

/// An Alma user record as webhooks carry it.
pub fn alma_user(
    primary_id: &str,
    email: &str,
    record_type: &str,
    status: &str,
    expiry: &str,
) -> Value {
    json!({
        "primary_id": primary_id,
        "first_name": "Jeanne",
        "last_name": "Barret",
        "record_type": {"value": record_type},
        "status": {"value": status},
        "user_group": {"value": "EXT"},
        "expiry_date": expiry,
        "contact_info": {"email": [{"email_address": email, "preferred": true}]},
    })
}
