//! What the members router tests share: the router over real parts (one
//! SQLite store behind every port, the account service with the outbox
//! mailer, the organization service), a fixed clock that tests move, and
//! helpers to create people, log them in and call the router.

use crate::common::super_admin_session;
pub use crate::common::PASSWORD;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use http_body_util::BodyExt;
use patron_hub_domain::accounts::{
    Account, AccountPatch, AccountPorts, AccountService, AccountSettings, MailOption, NewAccount,
};
use patron_hub_domain::organizations::OrganizationService;
use patron_hub_domain::{Clock, FixedClock};
use patron_hub_http::members::{router, MembersApi};
use patron_hub_mail::OutboxMailer;
use patron_hub_store_sqlite::SqliteStore;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

/// Monday 15 September 2025, 09:00 UTC: where every test's clock starts,
/// inside the seed 004 window (31 August 2025 to 30 September 2026).
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 9, 15, 9, 0, 0).unwrap()
}

/// A day.
pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The seed 004 club policy: window 31 August 2025 to 30 September 2026,
/// 396 days, 5 € for paid people and 3 € for the others.
pub fn club(name: &str) -> Value {
    json!({
        "name": name,
        "require_memberships": true,
        "membership_start": "2025-08-31",
        "membership_end": "2026-09-30",
        "membership_duration": 396,
        "membership_fee_paid": 500,
        "membership_fee_unpaid": 300
    })
}

/// A response: status, headers and body bytes.
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub bytes: Bytes,
}

impl Answer {
    /// The body as JSON (`Null` when empty).
    pub fn json(&self) -> Value {
        if self.bytes.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.bytes)))
    }
}

/// The members router and everything behind it.
pub struct Hub {
    /// The router under test.
    pub router: Router,
    /// The clock of every service and the store.
    pub clock: Arc<FixedClock>,
    /// The accounts behind sessions.
    pub accounts: Arc<AccountService>,
    /// The super administrator.
    pub chief: Account,
    /// The super administrator's session token.
    pub chief_token: String,
    _folder: tempfile::TempDir,
}

impl Hub {
    /// A fresh store and services, the clock at [`start`].
    pub async fn start() -> Self {
        let folder = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::at(start()));
        let shared: Arc<dyn Clock> = clock.clone();
        let store = SqliteStore::open(&folder.path().join("hub.sqlite"), shared.clone()).unwrap();
        let mailer = OutboxMailer::new(
            folder.path().join("outbox"),
            "patron-hub <no-reply@patrons.test>".to_owned(),
        )
        .unwrap();
        let accounts = Arc::new(
            AccountService::new(
                AccountPorts {
                    accounts: Arc::new(store.clone()),
                    tokens: Arc::new(store.clone()),
                    sessions: Arc::new(store.clone()),
                    attempts: Arc::new(store.clone()),
                    requests: Arc::new(store.clone()),
                    mailer: Arc::new(mailer),
                    clock: shared.clone(),
                },
                AccountSettings {
                    public_base_url: "http://localhost:8080".to_owned(),
                    ..AccountSettings::default()
                },
            )
            .with_organizations(Arc::new(store.clone()), Arc::new(store.clone())),
        );
        let service = Arc::new(OrganizationService::new(
            Arc::new(store.clone()),
            Arc::new(store.clone()),
            Arc::new(store.clone()),
            shared.clone(),
        ));
        let router = router(MembersApi {
            service,
            accounts: accounts.clone(),
        });
        let (chief, chief_token) = super_admin_session(&accounts).await;
        Self {
            router,
            clock,
            accounts,
            chief,
            chief_token,
            _folder: folder,
        }
    }

    /// A new active account named Camille Lefèvre that cannot log in (no password).
    pub async fn account(&self, user_name: &str) -> Account {
        self.named(user_name, ("Camille", "Lefèvre"), None).await
    }

    /// A new active account named Camille Lefèvre, logged in: the account and its session token.
    pub async fn user(&self, user_name: &str) -> (Account, String) {
        let account = self
            .named(user_name, ("Camille", "Lefèvre"), Some(PASSWORD))
            .await;
        (account, self.login(user_name).await)
    }

    /// A new active account `user_name@patrons.test` with these (first, last)
    /// names, and the password if given.
    pub async fn named(
        &self,
        user_name: &str,
        (first, last): (&str, &str),
        password: Option<&str>,
    ) -> Account {
        self.accounts
            .create_account(
                &self.chief,
                NewAccount {
                    user_name: user_name.to_owned(),
                    email: format!("{user_name}@patrons.test"),
                    first_name: first.to_owned(),
                    last_name: last.to_owned(),
                    password: password.map(str::to_owned),
                    mail: MailOption::None,
                    ..NewAccount::default()
                },
            )
            .await
            .unwrap()
    }

    /// A new session of an account made by [`Hub::user`] (sessions end when
    /// the clock moves on).
    pub async fn login(&self, user_name: &str) -> String {
        let (token, _) = self.accounts.login(user_name, PASSWORD).await.unwrap();
        token.expose().to_owned()
    }

    /// Marks a person paid (the fee of paid people applies).
    pub async fn set_paid(&self, account: &Account) {
        let chief = self.accounts.authenticate(&self.chief_token).await.unwrap();
        self.accounts
            .update_account(
                &chief,
                account.id,
                AccountPatch {
                    paid: Some(true),
                    ..AccountPatch::default()
                },
            )
            .await
            .unwrap();
    }

    /// Sends `method uri` with the session `token` (if any) and a JSON body (if any).
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send_request(builder.body(body).unwrap()).await
    }

    /// Sends a request made by the caller (headers, cookie and all).
    pub async fn send_request(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            bytes,
        }
    }

    /// Sends a request and reads its JSON answer.
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let answer = self.send(method, uri, token, body.as_ref()).await;
        (answer.status, answer.json())
    }

    /// `GET uri` with `token`.
    pub async fn get(&self, uri: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, uri, Some(token), None).await
    }

    /// Creates an organization as `token`'s account; its id.
    pub async fn organization(&self, token: &str, body: Value) -> String {
        let (status, created) = self
            .call(Method::POST, "/organizations", Some(token), Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["id"].as_str().unwrap().to_owned()
    }

    /// `POST /organizations/{org}/members` as `token`'s account.
    pub async fn add(&self, token: &str, org: &str, body: Value) -> (StatusCode, Value) {
        let uri = format!("/organizations/{org}/members");
        self.call(Method::POST, &uri, Some(token), Some(body)).await
    }

    /// Adds `person` to `org` with `roles` from today; the membership id.
    pub async fn member(&self, token: &str, org: &str, person: &Account, roles: &[&str]) -> String {
        let (status, added) = self
            .add(token, org, json!({"person": person.id, "roles": roles}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{added}");
        added["id"].as_str().unwrap().to_owned()
    }
}
