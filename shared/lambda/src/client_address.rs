//! The client's address of a function URL request, for the routers' per-address limits.

use axum::extract::Request;
use axum::middleware::{from_fn, Next};
use axum::response::Response;
use axum::Router;
use lambda_http::request::RequestContext;
use patron_hub_http::client_address::ClientAddress;

/// `router`, with the function URL's `requestContext.http.sourceIp` put on
/// each request as its [`ClientAddress`] (set by AWS, not by the client).
pub fn from_function_url(router: Router) -> Router {
    router.layer(from_fn(remember_source_ip))
}

async fn remember_source_ip(mut request: Request, next: Next) -> Response {
    let source_ip = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    };
    if let Some(address) = source_ip.and_then(|ip| ip.parse().ok()) {
        request.extensions_mut().insert(ClientAddress(address));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::post;
    use patron_hub_http::client_address::client_address;
    use tower::ServiceExt;

    #[tokio::test]
    async fn the_function_urls_source_ip_is_the_client_address() {
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/accounts-api/login.json"
        );
        let event = std::fs::read_to_string(file).unwrap();
        let source_ip: serde_json::Value = serde_json::from_str(&event).unwrap();
        let expected = source_ip["requestContext"]["http"]["sourceIp"]
            .as_str()
            .unwrap()
            .to_owned();
        let router = from_function_url(Router::new().route(
            "/sessions",
            post(|request: Request| async move {
                format!("{:?}", client_address(request.extensions()))
            }),
        ));
        let (parts, body) = lambda_http::request::from_str(&event).unwrap().into_parts();
        let request = Request::from_parts(parts, Body::from(body.to_vec()));
        let response = router.oneshot(request).await.unwrap();
        let bytes = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8(bytes.to_vec()).unwrap(),
            format!("Some({expected})")
        );
    }
}
