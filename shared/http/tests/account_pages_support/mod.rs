//! What the account link page tests share: the accounts router over a SQLite
//! store and the outbox mailer, a fixed clock, and helpers to send JSON and
//! forms, follow mailed links and read the pages.

#![allow(dead_code)] // each test file uses its own part of this module

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chrono::{TimeZone, Utc};
use http_body_util::BodyExt;
use patron_hub_domain::accounts::{AccountPorts, AccountService, AccountSettings};
use patron_hub_domain::{Clock, FixedClock};
use patron_hub_http::accounts::router;
use patron_hub_mail::{find_link, outbox, OutboxMailer};
use patron_hub_store_sqlite::SqliteStore;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

/// The public address the mailed links start with.
pub const BASE: &str = "http://localhost:8080";

/// One answer: status, headers and body as text.
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: String,
}

impl Answer {
    /// A header's value ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }

    /// The value of the hidden `token` field of the page's form.
    pub fn hidden_token(&self) -> String {
        let marker = r#"name="token" value=""#;
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no token field: {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_owned()
    }
}

/// The accounts router and what is behind it.
pub struct Site {
    /// The router under test.
    pub router: Router,
    /// The service behind it.
    pub accounts: Arc<AccountService>,
    outbox: PathBuf,
    _folder: tempfile::TempDir,
}

impl Site {
    /// A fresh store, outbox and service.
    pub fn start() -> Self {
        let folder = tempfile::tempdir().unwrap();
        let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(
            Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        ));
        let store = SqliteStore::open(&folder.path().join("hub.sqlite"), clock.clone()).unwrap();
        let outbox = folder.path().join("outbox");
        let mailer = OutboxMailer::new(
            outbox.clone(),
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
                public_base_url: BASE.to_owned(),
                ..AccountSettings::default()
            },
        ));
        Self {
            router: router(accounts.clone()),
            accounts,
            outbox,
            _folder: folder,
        }
    }

    /// Sends a request.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    /// `GET uri` with extra headers.
    pub async fn get(&self, uri: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = Request::get(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// `method uri` with a JSON body and maybe a bearer token.
    pub async fn json(
        &self,
        method: Method,
        uri: &str,
        body: &Value,
        bearer: Option<&str>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(CONTENT_TYPE, "application/json");
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.send(request.body(Body::from(body.to_string())).unwrap())
            .await
    }

    /// `POST uri` with a JSON body.
    pub async fn post_json(&self, uri: &str, body: &Value) -> Answer {
        self.json(Method::POST, uri, body, None).await
    }

    /// `POST uri` with an HTML form's body and extra headers.
    pub async fn post_form(
        &self,
        uri: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Answer {
        let body = fields
            .iter()
            .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let mut request =
            Request::post(uri).header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// The path and query of the last link mailed to `to` whose path starts
    /// with `path`.
    pub fn mailed_link(&self, to: &str, path: &str) -> String {
        let messages = outbox::read_all(&self.outbox).unwrap();
        let link = messages
            .iter()
            .rev()
            .filter(|m| m.to.contains(to))
            .find_map(|m| find_link(&m.text, path))
            .unwrap_or_else(|| panic!("no {path} link mailed to {to}"));
        link.strip_prefix(BASE).unwrap().to_owned()
    }

    /// Whether `identifier` logs in with `password` through the JSON API.
    pub async fn logs_in(&self, identifier: &str, password: &str) -> bool {
        let body = json!({"identifier": identifier, "password": password});
        self.post_json("/sessions", &body).await.status == StatusCode::CREATED
    }
}

/// A form value, percent-encoded as browsers do (space as `+`).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b' ' => "+".to_owned(),
            b if b.is_ascii_alphanumeric() || b"-._*".contains(&b) => char::from(b).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// The token of a link's path and query.
pub fn token_of(link: &str) -> &str {
    link.split_once("?token=").unwrap().1
}
