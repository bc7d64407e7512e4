//! The review service over HTTP: the JSON API under `/api/v1` (INTERFACES.md,
//! "Review service"), the web UI at `/` and `/healthz`, on axum and tokio, with
//! request logs, security headers on every answer and a graceful shutdown that lets
//! requests in flight finish.

mod api;
mod auth;
mod error;
mod ui;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use error::ApiError;

use crate::crawl::RemotePhotos;
use crate::listing::Listing;
use crate::registry::Mark;
use crate::review::{Matched, ReviewError, ReviewStore, Tokens};
use crate::scoring::Scorer;

/// The largest request body accepted (16 MiB): a full batch of listings.
pub const MAX_BODY: usize = 16 << 20;

/// The Content-Security-Policy of every answer: scripts and styles from this origin
/// only (no inline code), images also from https (listing photos), no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The review queue.
    pub store: ReviewStore,
    /// The API tokens.
    pub tokens: Tokens,
    /// Built once at startup from the registry.
    pub scorer: Scorer,
    /// The reference images, for listing photos (supplied hashes; fetched photos
    /// with `serve --fetch-images`).
    pub photos: RemotePhotos,
    /// The registry's marks by id, for notices.
    pub marks: HashMap<String, Mark>,
    /// Web UI sessions.
    pub sessions: ui::Sessions,
    /// Bounds the ingest batches matched at once, leaving a core for readers.
    pub ingest_permits: tokio::sync::Semaphore,
}

impl AppState {
    /// The state for `db`, matching titles with `scorer` and photos with `photos`.
    pub fn new(
        db: &sled::Db,
        scorer: Scorer,
        photos: RemotePhotos,
    ) -> Result<AppState, ReviewError> {
        let marks = scorer
            .marks()
            .iter()
            .map(|m| (m.id.clone(), m.clone()))
            .collect();
        Ok(AppState {
            store: ReviewStore::open(db)?,
            tokens: Tokens::open(db)?,
            scorer,
            photos,
            marks,
            sessions: ui::Sessions::open(db)?,
            ingest_permits: tokio::sync::Semaphore::new(ingest_parallelism()),
        })
    }
}

impl AppState {
    /// Matches one listing: its title and the rest with the scorer, its supplied
    /// photo hashes always, and its photo URLs when `fetch` is set and the service
    /// fetches photos.
    pub fn matched(&self, listing: &Listing, fetch: bool) -> Matched {
        let photos = self.photos.look_up(&self.scorer, listing, fetch);
        Matched {
            findings: self.scorer.score_with(listing, &photos.signals),
            photos: photos.hashes,
            turned: photos.turned,
        }
    }
}

/// Batches matched at once: all cores but one (at least one), so that matching,
/// which keeps a core busy, never starves the queue readers.
fn ingest_parallelism() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get().saturating_sub(1))
        .max(1)
}

/// The router of the whole service.
pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/listings", post(api::ingest))
        .route("/findings", get(api::list_findings))
        .route("/findings/{id}", get(api::get_finding))
        .route("/findings/{id}/transition", post(api::transition))
        .route("/findings/{id}/notice", get(api::notice))
        .route("/findings/{id}/audit", get(api::audit))
        .route("/notices.csv", get(api::notices_csv))
        .route("/audit", get(api::audit_log))
        .route("/sellers", get(api::sellers))
        .route("/sellers/{id}", get(api::seller))
        .fallback(api::not_found);
    let headers = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    let mut app = Router::new()
        .nest("/api/v1", api)
        .merge(ui::routes())
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(DefaultBodyLimit::max(MAX_BODY));
    for (name, value) in headers {
        app = app.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    app.layer(
        TraceLayer::new_for_http()
            .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
            .on_response(DefaultOnResponse::new().level(Level::INFO)),
    )
    .with_state(state)
}

/// Serves `state` on `listener` until `shutdown` resolves, then lets requests in
/// flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down; finishing requests in flight");
}
