//! Serving the router over TCP with limits no client can get around (issue
//! 11, point 5.4): `axum::serve` has no header-read or body timeout, so a
//! client sending a byte now and then held its socket (and a task) for ever.
//! Here each connection must deliver a request's headers within
//! `header_read_timeout` (also the longest a kept-alive connection waits for
//! its next request) and its body within `body_timeout` of the headers (408
//! otherwise), and at most `max_connections` are served at once: the next
//! waits in the listen backlog until one closes.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use futures::StreamExt;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use patron_hub_http::error::codes;
use patron_hub_http::ApiError;
use serde::Deserialize;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// How slow and how many clients may be (`[server]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerLimits {
    /// Seconds a connection has to send a request's headers (and that a
    /// kept-alive connection may stay idle).
    pub header_read_timeout_seconds: u64,
    /// Seconds a request has to send its whole body once its headers are in.
    pub body_timeout_seconds: u64,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout_seconds: 10,
            body_timeout_seconds: 60,
            max_connections: 512,
        }
    }
}

impl ServerLimits {
    fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds.max(1))
    }

    fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_seconds.max(1))
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown` completes,
/// then lets the requests in flight finish. Each request carries its peer's
/// `ConnectInfo<SocketAddr>`, as `into_make_service_with_connect_info` gives it.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    serve_with_timeouts(
        listener,
        router,
        limits.max_connections.max(1),
        (limits.header_read_timeout(), limits.body_timeout()),
        shutdown,
    )
    .await
}

/// [`serve`] with its timeouts as durations (tests use fractions of a second).
async fn serve_with_timeouts(
    listener: TcpListener,
    router: Router,
    max_connections: usize,
    (header_read_timeout, body_timeout): (Duration, Duration),
    shutdown: impl Future<Output = ()>,
) {
    let router = router.layer(from_fn_with_state(body_timeout, limit_body_time));
    let slots = Arc::new(Semaphore::new(max_connections));
    let (closing, closed) = watch::channel(());
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was
                    // taken: wait a little rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // The peer is put on each request by a one-route router around the
        // shared one (cheap to make per connection).
        let service = Router::new()
            .fallback_service(router.clone())
            .layer(Extension(ConnectInfo(peer)));
        let mut closed = closed.clone();
        connections.spawn(async move {
            let _slot = permit;
            // HTTP/1 only: guessing the version first would wait, untimed,
            // for a first byte that a silent client never sends.
            let mut builder = Builder::new(TokioExecutor::new()).http1_only();
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let connection =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => log_end(peer, result),
                _ = closed.changed() => {
                    connection.as_mut().graceful_shutdown();
                    log_end(peer, connection.await);
                }
            }
        });
        while connections.try_join_next().is_some() {}
    }
    drop(closing);
    while connections.join_next().await.is_some() {}
}

/// Logs how a connection ended, if not well (a timeout, a reset).
fn log_end<E: std::fmt::Display>(peer: SocketAddr, result: Result<(), E>) {
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended");
    }
}

/// Middleware: the request's body must arrive within `limit` of its
/// headers; past that, reading it fails and the answer is 408.
async fn limit_body_time(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let deadline = tokio::time::Instant::now() + limit;
    let late = Arc::new(AtomicBool::new(false));
    let flag = late.clone();
    let request = request.map(|body| {
        let chunks = body.into_data_stream();
        axum::body::Body::from_stream(futures::stream::unfold(Some(chunks), move |chunks| {
            let flag = flag.clone();
            async move {
                let mut chunks = chunks?;
                match tokio::time::timeout_at(deadline, chunks.next()).await {
                    Ok(Some(chunk)) => Some((chunk, Some(chunks))),
                    Ok(None) => None,
                    Err(_) => {
                        flag.store(true, Ordering::SeqCst);
                        Some((Err(axum::Error::new(BodyTooSlow)), None))
                    }
                }
            }
        }))
    });
    let response = next.run(request).await;
    if late.load(Ordering::SeqCst) {
        return ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            codes::REQUEST_TIMEOUT,
            "the request body did not arrive in time",
        )
        .into_response();
    }
    response
}

/// The error a body stream ends with when it is too slow.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTooSlow;

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use axum::routing::{get, post};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    const QUICK: Duration = Duration::from_millis(300);

    /// A server on a free port with these limits; its address.
    async fn start(max_connections: usize, header: Duration, body: Duration) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = Router::new()
            .route("/", get(|| async { "ok" }))
            .route(
                "/peer",
                get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
            )
            .route("/echo", post(|body: Bytes| async move { body }));
        tokio::spawn(serve_with_timeouts(
            listener,
            router,
            max_connections,
            (header, body),
            std::future::pending(),
        ));
        address
    }

    /// What the server sends before closing, or within `wait` if it does not close.
    async fn read_for(stream: &mut TcpStream, wait: Duration) -> (String, bool) {
        let mut seen = Vec::new();
        let mut buffer = [0u8; 1024];
        let closed = loop {
            match tokio::time::timeout(wait, stream.read(&mut buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break true,
                Ok(Ok(n)) => seen.extend_from_slice(&buffer[..n]),
                Err(_) => break false,
            }
        };
        (String::from_utf8_lossy(&seen).into_owned(), closed)
    }

    #[tokio::test]
    async fn a_client_slow_to_send_its_headers_is_disconnected() {
        let address = start(8, QUICK, Duration::from_secs(10)).await;
        let mut slow = TcpStream::connect(address).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let (_, closed) = read_for(&mut slow, Duration::from_secs(3)).await;
        assert!(
            closed,
            "the connection was still open 3 s after a 0.3 s limit"
        );
        // An idle kept-alive connection ends the same way.
        let mut idle = TcpStream::connect(address).await.unwrap();
        let (_, closed) = read_for(&mut idle, Duration::from_secs(3)).await;
        assert!(closed, "an idle connection was kept");
    }

    #[tokio::test]
    async fn a_body_slower_than_its_limit_gets_408() {
        let address = start(8, Duration::from_secs(10), QUICK).await;
        let mut slow = TcpStream::connect(address).await.unwrap();
        slow.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nten bytes.")
            .await
            .unwrap();
        let (answer, _) = read_for(&mut slow, Duration::from_secs(3)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
        assert!(answer.contains("REQUEST_TIMEOUT"), "{answer:?}");
        // A body on time is read as usual, and the peer is known.
        let mut quick = TcpStream::connect(address).await.unwrap();
        quick
            .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
            .await
            .unwrap();
        let (answer, _) = read_for(&mut quick, Duration::from_secs(3)).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
        assert!(answer.ends_with("hello"), "{answer:?}");
        let mut asking = TcpStream::connect(address).await.unwrap();
        let local = asking.local_addr().unwrap();
        asking
            .write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let (answer, _) = read_for(&mut asking, Duration::from_secs(3)).await;
        assert!(answer.ends_with(&local.to_string()), "{answer:?}");
    }

    #[tokio::test]
    async fn connections_beyond_the_limit_wait_for_a_free_one() {
        let address = start(2, Duration::from_secs(10), Duration::from_secs(10)).await;
        let first = TcpStream::connect(address).await.unwrap();
        let _second = TcpStream::connect(address).await.unwrap();
        let mut third = TcpStream::connect(address).await.unwrap();
        third
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let (answer, _) = read_for(&mut third, Duration::from_millis(500)).await;
        assert_eq!(answer, "", "a third connection was served beside two");
        drop(first);
        let (answer, _) = read_for(&mut third, Duration::from_secs(3)).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    }
}
