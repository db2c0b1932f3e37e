//! `/healthz`: a liveness answer for load balancers and the test script.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The health route.
pub fn router() -> Router {
    Router::new().route("/healthz", get(health))
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}
