//! The HTTP server: an accept loop over hyper's HTTP/1.1 connections, in place of
//! `axum::serve`, for two things it does not do:
//!
//! - **Timeouts.** A connection that sends nothing for [`ServeOptions::idle_timeout`] is closed:
//!   one whose request head has not arrived whole by then (half-sent, or nothing at all), and one
//!   kept alive after a response without a next request. hyper runs one timer for both: it starts
//!   whenever the connection waits for a request head. A request's handling has its own limit
//!   ([`crate::limits::REQUEST_TIMEOUT`]).
//! - **Running out of file descriptors.** `accept` then fails (EMFILE, ENFILE) while the
//!   connection waits in the kernel's queue; the loop logs that once, pauses briefly and tries
//!   again, and says when it accepts again, so the waiting connections are served as soon as
//!   others close.
//!
//! Pipelined HTTP/1.1 requests are answered in order, as hyper does.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{Service, ServiceExt};

/// How the server treats its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// How long a connection may wait for (the rest of) a request head before it is closed.
    pub idle_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// How long accepting pauses after it failed for want of resources.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// Serves `app` on `listener` until `stop` completes; then stops accepting, lets the requests
/// in flight finish and closes idle connections.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    options: ServeOptions,
    stop: impl Future<Output = ()>,
) where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.idle_timeout)
        .keep_alive(true);
    let connections = GracefulShutdown::new();
    let mut starved = false;
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                if !starved {
                    starved = true;
                    tracing::warn!(
                        error = %e,
                        open = connections.count(),
                        "cannot accept connections (out of file descriptors?): waiting for some to close"
                    );
                }
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_PAUSE) => continue,
                    () = &mut stop => break,
                }
            }
        };
        if starved {
            starved = false;
            tracing::info!(open = connections.count(), "accepting connections again");
        }
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |request: hyper::Request<Incoming>| {
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
}

/// Errors of one connection (it went away while queued), not of accepting.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
