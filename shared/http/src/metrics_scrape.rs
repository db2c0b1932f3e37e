//! `GET /metrics` of the local server: the metrics in Prometheus's text
//! format, for loopback clients (as the server determined the client's
//! address) or a caller bearing the configured token; anyone else gets 403.

use crate::client_address::client_address;
use crate::error::{codes, ApiError};
use async_trait::async_trait;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Prometheus's text exposition format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a scrape reads: the process's metrics, gauges sampled afresh.
#[async_trait]
pub trait MetricsSource: Send + Sync {
    /// The metrics in Prometheus's text format.
    async fn render(&self) -> String;
}

#[derive(Clone)]
struct ScrapeState {
    source: Arc<dyn MetricsSource>,
    token: Option<Arc<str>>,
}

/// The `/metrics` route; `token`, when set, also lets a non-loopback caller
/// in with `Authorization: Bearer <token>`.
pub fn router(source: Arc<dyn MetricsSource>, token: Option<String>) -> Router {
    let state = ScrapeState {
        source,
        token: token.map(Arc::from),
    };
    Router::new().route("/metrics", get(scrape).with_state(state))
}

async fn scrape(State(state): State<ScrapeState>, request: Request) -> Response {
    if !allowed(&request, state.token.as_deref()) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            codes::FORBIDDEN,
            "the metrics are served to loopback clients or with the configured bearer token",
        )
        .into_response();
    }
    let text = state.source.render().await;
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

/// Whether the caller is on loopback or bears the token.
fn allowed(request: &Request, token: Option<&str>) -> bool {
    if client_address(request.extensions()).is_some_and(|address| address.is_loopback()) {
        return true;
    }
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match (token, bearer) {
        (Some(token), Some(bearer)) => bool::from(token.as_bytes().ct_eq(bearer.as_bytes())),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_address::ClientAddress;
    use axum::body::{to_bytes, Body};
    use tower::ServiceExt;

    struct Fixed;

    #[async_trait]
    impl MetricsSource for Fixed {
        async fn render(&self) -> String {
            "patron_hub_queue_depth{institution=\"A\"} 1\n".to_owned()
        }
    }

    /// The status and body of a scrape from `address` with `authorization`.
    async fn scrape_from(address: &str, authorization: Option<&str>) -> (u16, String) {
        let router = router(Arc::new(Fixed), Some("s3cret".to_owned()));
        let mut request = Request::get("/metrics");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let mut request = request.body(Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(ClientAddress(address.parse().unwrap()));
        let response = router.oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn loopback_or_the_token_see_the_metrics_and_others_get_403() {
        for address in ["127.0.0.1", "::1"] {
            let (status, body) = scrape_from(address, None).await;
            assert_eq!(status, 200, "{address}");
            assert!(body.contains("patron_hub_queue_depth"), "{body}");
        }
        let (status, _) = scrape_from("203.0.113.9", Some("Bearer s3cret")).await;
        assert_eq!(status, 200);
        for authorization in [None, Some("Bearer wrong"), Some("s3cret")] {
            let (status, body) = scrape_from("203.0.113.9", authorization).await;
            assert_eq!(status, 403, "{authorization:?}");
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["code"], "FORBIDDEN");
            assert!(body["message"].is_string());
        }
    }
}
