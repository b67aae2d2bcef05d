//! The HTTP listener: accepts connections and serves them with the limits a server on the open internet needs.
//!
//! `axum::serve` has no timeouts and no connection cap: a client that sends half a request keeps its connection,
//! and SIGTERM, forever. Here every connection is a hyper HTTP/1 connection with a header-read timeout (which
//! also closes a keep-alive connection that sits idle waiting for its next request), at most `max_connections`
//! are served at once (beyond that, new ones wait in the kernel's accept queue until one closes), a failed
//! `accept` (out of file descriptors) pauses the loop instead of ending it, and a graceful stop waits at most
//! `shutdown_grace` for open connections before closing them. Request and body timeouts are tower layers (see
//! `hookline_api::limits`), since they concern requests, not connections.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// The listener's limits.
#[derive(Debug, Clone, Copy)]
pub struct ListenerLimits {
    /// How long a client may take to send a request's headers, counted from when the connection is ready for
    /// a request: it bounds slow senders (slowloris) and idle keep-alive connections alike.
    pub header_read_timeout: Duration,
    /// The most connections served at once.
    pub max_connections: usize,
    /// How long a graceful stop waits for open connections to finish their requests.
    pub shutdown_grace: Duration,
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then stops accepting, lets open connections finish
/// their requests for up to `shutdown_grace`, and closes the rest.
pub async fn serve(listener: TcpListener, app: Router, limits: ListenerLimits, shutdown: CancellationToken) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).keep_alive(true);
    let stop_connections = CancellationToken::new();
    let mut connections = JoinSet::new();
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // The semaphore is never closed; stop rather than spin if it were.
            },
        };
        let (stream, remote) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Usually EMFILE/ENFILE: back off instead of spinning; open connections will free some.
                    tracing::warn!(error = %error, "accepting a connection failed; retrying in 100 ms");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let service = connection_service(app.clone(), remote);
        let http = http.clone();
        let stop = stop_connections.clone();
        connections.spawn(async move {
            let _permit = permit;
            let connection = http.serve_connection(TokioIo::new(stream), service).with_upgrades();
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = stop.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(error = %error, remote = %remote, "connection ended with an error");
            }
        });
    }
    drop(listener);
    stop_connections.cancel();
    let drained =
        tokio::time::timeout(limits.shutdown_grace, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(open = connections.len(), "closing connections still open after the shutdown grace period");
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

/// The router as a hyper service for one connection, with the peer's address available to handlers as
/// axum's `ConnectInfo<SocketAddr>`.
fn connection_service(
    app: Router,
    remote: SocketAddr,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = Infallible,
    Future = impl Future<Output = Result<axum::response::Response, Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(remote));
        app.clone().oneshot(request.map(axum::body::Body::new))
    })
}
