//! Calling a running server's JSON API as a client would, and reading what
//! it mailed from the outbox.

use super::DemoServer;
use patron_hub_mail::{find_link, outbox};
use serde_json::{json, Value};

/// One request with extra headers: (status, parsed JSON or null, raw text).
pub async fn call_with(
    s: &DemoServer,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value, String) {
    let mut request = s.http.request(method, format!("{}{path}", s.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

/// One request, with a bearer session token when given.
pub async fn call(
    s: &DemoServer,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, String) {
    let bearer = token.map(|token| format!("Bearer {token}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|value| ("authorization", value.as_str()))
        .collect();
    call_with(s, method, path, &headers, body).await
}

/// The token of the newest link to `path` mailed to `to`.
pub fn mailed_token(s: &DemoServer, to: &str, path: &str) -> String {
    let messages = outbox::read_all(s.data.join("outbox")).unwrap();
    let link = messages
        .iter()
        .rev()
        .filter(|m| m.to.contains(to))
        .find_map(|m| find_link(&m.text, path))
        .unwrap_or_else(|| panic!("no {path} link mailed to {to}"));
    assert!(
        link.starts_with(&s.base),
        "links start with the public URL: {link}"
    );
    link.split("token=").nth(1).unwrap().to_owned()
}

/// Logs in: (status, body with the session token).
pub async fn login(s: &DemoServer, identifier: &str, password: &str) -> (u16, Value) {
    let (status, body, _) = call(
        s,
        reqwest::Method::POST,
        "/sessions",
        None,
        Some(json!({"identifier": identifier, "password": password})),
    )
    .await;
    (status, body)
}
