//! The network address a request came from, for the per-address limits of
//! the account flows. Whoever serves a router puts it on each request: the
//! Lambda functions from the function URL's `sourceIp`, the local server from
//! what it saw (the peer, or the address a trusted reverse proxy forwarded).

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Extensions, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use std::net::{IpAddr, SocketAddr};

/// The client's address, as the server in front of the router determined it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// The client's address, if the server put one on the request.
pub fn client_address(extensions: &Extensions) -> Option<IpAddr> {
    extensions.get::<ClientAddress>().map(|address| address.0)
}

/// Whose word the local server takes for the client's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressSource {
    /// The TCP peer (patron-hub faces the clients itself).
    #[default]
    Peer,
    /// The last `X-Forwarded-For` entry, which the reverse proxy in front
    /// appended (clients can write the others); the peer when there is none.
    ForwardedFor,
}

/// Middleware of the local server: puts the [`ClientAddress`] on each request
/// (needs the router served with `ConnectInfo<SocketAddr>`).
pub async fn remember_client_address(
    State(source): State<AddressSource>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let address = match source {
        AddressSource::ForwardedFor => last_forwarded_for(request.headers()).or(peer),
        AddressSource::Peer => peer,
    };
    if let Some(address) = address {
        request.extensions_mut().insert(ClientAddress(address));
    }
    next.run(request).await
}

/// The last address of the last `X-Forwarded-For` header: the one the
/// nearest proxy appended.
fn last_forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let header = headers.get_all("x-forwarded-for").iter().next_back()?;
    header
        .to_str()
        .ok()?
        .rsplit(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::middleware::from_fn_with_state;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    /// What the handler behind the middleware sees, for `source`.
    async fn seen(source: AddressSource, forwarded: &[&str]) -> String {
        let router = Router::new()
            .route(
                "/",
                get(|request: Request| async move {
                    format!("{:?}", client_address(request.extensions()))
                }),
            )
            .layer(from_fn_with_state(source, remember_client_address));
        // As `into_make_service_with_connect_info` puts it on each request.
        let peer = ConnectInfo(SocketAddr::from(([192, 0, 2, 1], 40000)));
        let mut request = Request::get("/").extension(peer);
        for value in forwarded {
            request = request.header("x-forwarded-for", *value);
        }
        let response = router
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let bytes = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn the_peer_unless_a_trusted_proxy_forwarded_the_client() {
        let spoofed = ["6.6.6.6, 203.0.113.5"];
        assert_eq!(seen(AddressSource::Peer, &spoofed).await, "Some(192.0.2.1)");
        assert_eq!(
            seen(AddressSource::ForwardedFor, &spoofed).await,
            "Some(203.0.113.5)",
            "the entry the proxy appended, not the client's own"
        );
        assert_eq!(
            seen(AddressSource::ForwardedFor, &["6.6.6.6", "203.0.113.9"]).await,
            "Some(203.0.113.9)"
        );
        assert_eq!(
            seen(AddressSource::ForwardedFor, &[]).await,
            "Some(192.0.2.1)"
        );
        assert_eq!(
            seen(AddressSource::ForwardedFor, &["not an address"]).await,
            "Some(192.0.2.1)"
        );
    }
}
