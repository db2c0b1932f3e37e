//! Helpers shared by the sandbox's HTTP tests.
#![allow(dead_code)] // each test binary uses its own subset of the helpers

use patron_hub_alma_sandbox::{spawn, RunningSandbox, SandboxConfig};
use reqwest::{Client, Method, Response};
use serde_json::{json, Value};

/// A demo network on a free port.
pub async fn demo() -> RunningSandbox {
    start(SandboxConfig::demo()).await
}

/// `config` on a free port.
pub async fn start(config: SandboxConfig) -> RunningSandbox {
    spawn(config, "127.0.0.1:0")
        .await
        .expect("the sandbox binds a free port")
}

/// An API call of `institution` with its demo key in the `Authorization` header.
pub async fn call(
    running: &RunningSandbox,
    institution: &str,
    method: Method,
    path_and_query: &str,
    body: Option<Value>,
) -> Response {
    let url = format!("{}/almaws/v1{path_and_query}", running.base_url);
    let mut request = Client::new()
        .request(method, url)
        .header("Authorization", format!("apikey demo-key-{institution}"))
        .header("Accept", "application/json");
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("the sandbox answers")
}

/// A minimal valid Alma user.
pub fn patron(primary_id: &str, last_name: &str) -> Value {
    json!({
        "primary_id": primary_id,
        "first_name": "Ada",
        "last_name": last_name,
        "user_group": {"value": "STUDENT", "desc": "Student"},
        "user_identifier": [
            {"id_type": {"value": "BARCODE"}, "value": format!("B-{primary_id}"), "status": "ACTIVE"}
        ],
    })
}

/// Creates `user` in `institution` through the API, expecting success.
pub async fn create(running: &RunningSandbox, institution: &str, user: Value) -> Value {
    let response = call(running, institution, Method::POST, "/users", Some(user)).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("a JSON user")
}

/// Checks that `response` is Alma's JSON error with `status` and `code`; returns the message.
pub async fn alma_error(response: Response, status: u16, code: &str) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["errorsExist"], true);
    assert_eq!(body["result"], Value::Null);
    let errors = body["errorList"]["error"]
        .as_array()
        .expect("an error list");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["errorCode"], code);
    let tracking = errors[0]["trackingId"].as_str().expect("a tracking id");
    assert!(tracking.starts_with("E01-"), "{tracking}");
    errors[0]["errorMessage"]
        .as_str()
        .expect("a message")
        .to_owned()
}
