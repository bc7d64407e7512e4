//! The accept loop of the service: HTTP/1.1 connections with a header-read deadline
//! (which also closes keep-alive connections left idle), a cap on open connections
//! sized to the file-descriptor limit, and a graceful stop that lets requests in
//! flight finish.
//!
//! Written here rather than taken from `axum::serve` because that sets no timer:
//! a connection that never sends a byte, or sends its headers one byte a minute,
//! is kept open for ever, and 1,200 of them exhaust a 1,024-descriptor limit
//! until `accept` fails for everyone (`/healthz` included). hyper does the
//! protocol; this module only adds the limits around it.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How long a client may take to send a request's headers, counted from the
/// connection's start or the end of the previous response: it closes idle
/// keep-alive connections too. Browsers and HTTP clients send their headers at
/// once; 20 s leaves room for a slow mobile link.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a request body may take in all (the largest batch is 16 MiB: 60 s is
/// about 2.2 Mbit/s).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// The most connections open at once, whatever the descriptor limit allows.
pub const MAX_CONNECTIONS: usize = 10_000;

/// Descriptors kept free for everything else the process opens (the database's
/// files, photo fetches, log files).
const RESERVED_DESCRIPTORS: u64 = 128;

/// How long a refused `accept` (out of descriptors, say) waits before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Limits of the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once; more wait in the kernel's queue.
    pub max_connections: usize,
    /// See [`HEADER_TIMEOUT`].
    pub header_timeout: Duration,
}

impl ConnectionLimits {
    /// The defaults, with the cap lowered to what the descriptor limit allows. The
    /// soft limit is first raised to the hard one, as servers usually do.
    pub fn for_this_process() -> ConnectionLimits {
        let max_connections = match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => {
                let usable = limit.saturating_sub(RESERVED_DESCRIPTORS).max(16);
                usize::try_from(usable)
                    .unwrap_or(usize::MAX)
                    .min(MAX_CONNECTIONS)
            }
            Err(e) => {
                tracing::warn!("cannot read the file-descriptor limit: {e}");
                1_024 - RESERVED_DESCRIPTORS as usize
            }
        };
        ConnectionLimits {
            max_connections,
            header_timeout: HEADER_TIMEOUT,
        }
    }
}

/// Serves `app` on `listener` under `limits` until `shutdown` resolves, then stops
/// accepting, closes idle connections and waits for requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let last_full_warning = AtomicU64::new(0);
    let started = Instant::now();
    tracing::info!(
        max_connections = limits.max_connections,
        header_timeout_s = limits.header_timeout.as_secs(),
        "accepting connections"
    );
    tokio::pin!(shutdown);
    loop {
        if slots.available_permits() == 0 {
            // Once a minute at most: the log must not become the next resource spent.
            let now = started.elapsed().as_secs();
            let last = last_full_warning.load(Ordering::Relaxed);
            if last == 0 || now >= last + 60 {
                last_full_warning.store(now.max(1), Ordering::Relaxed);
                tracing::warn!(
                    "all {} connection slots are taken: new connections wait until one \
                     closes (idle ones close after {} s)",
                    limits.max_connections,
                    limits.header_timeout.as_secs()
                );
            }
        }
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => {
                permit.expect("the semaphore is never closed")
            }
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::error!("accept error: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move { Ok::<_, Infallible>(app.oneshot(req).await.unwrap_or_else(|e| match e {})) }
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
