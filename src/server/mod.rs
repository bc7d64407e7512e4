//! The review service over HTTP: the JSON API under `/api/v1` (docs/INTERFACES.md,
//! "Review service"), the web UI at `/` and `/healthz`, on axum and tokio, with
//! request logs, security headers on every answer and a graceful shutdown that lets
//! requests in flight finish.

mod api;
mod auth;
mod error;
pub mod listen;
mod notices;
mod registry;
mod tokens;
mod ui;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::routing::{delete, get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use error::ApiError;

use crate::engine::{Engine, InProcess};
use crate::pipeline::{Current, Pipeline};
use crate::registry::Registry;
use crate::review::{ReviewError, Tokens};
use crate::store::Store;

/// The largest request body accepted (16 MiB): a full batch of listings.
pub const MAX_BODY: usize = 16 << 20;

/// The Content-Security-Policy of every answer: scripts and styles from this origin
/// only (no inline code), images also from https (listing photos), no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The store of listings and findings.
    pub store: Arc<Store>,
    /// The registry, where decisions record the marks' feedback banks.
    pub registry: Registry,
    /// The API tokens.
    pub tokens: Tokens,
    /// Built from the registry at startup and again after a registry import over
    /// the API: matches posted listings, their supplied photo hashes always, their
    /// photo URLs with `serve --fetch-images`.
    pub pipeline: Current,
    /// The database, to rebuild the pipeline from its registry.
    pub db: sled::Db,
    /// Where posted listings go: matched here ([`InProcess`], the default), or
    /// queued for workers (`serve --nats`).
    pub engine: Arc<dyn Engine>,
    /// Web UI sessions.
    pub sessions: ui::Sessions,
    /// Bounds the ingest batches matched at once, leaving a core for readers.
    pub ingest_permits: tokio::sync::Semaphore,
    /// Counts notices filed without a token.
    pub public_notices: notices::PublicWindow,
}

impl AppState {
    /// The state for `db`, matching listings with `pipeline` in this process.
    pub fn new(db: &sled::Db, pipeline: Pipeline) -> Result<AppState, ReviewError> {
        let store = Arc::new(Store::open(db)?);
        let pipeline = Current::new(Arc::new(pipeline));
        let engine = Arc::new(InProcess::new(pipeline.clone(), Arc::clone(&store)));
        AppState::with_engine(db, store, pipeline, engine)
    }

    /// The state for `db` whose posted listings go to `engine`.
    pub fn with_engine(
        db: &sled::Db,
        store: Arc<Store>,
        pipeline: Current,
        engine: Arc<dyn Engine>,
    ) -> Result<AppState, ReviewError> {
        Ok(AppState {
            store,
            registry: Registry::open(db).map_err(ReviewError::Registry)?,
            tokens: Tokens::open(db)?,
            pipeline,
            db: db.clone(),
            engine,
            sessions: ui::Sessions::open(db)?,
            ingest_permits: tokio::sync::Semaphore::new(ingest_parallelism()),
            public_notices: notices::PublicWindow::default(),
        })
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
        .route(
            "/findings/{id}/claim",
            post(api::claim).delete(api::release),
        )
        .route("/queue", get(api::queue_stats))
        .route("/floods", get(api::floods))
        .route("/floods/{id}/{verb}", post(api::decide_flood))
        .route("/notices.csv", get(api::notices_csv))
        .route(
            "/notices",
            get(notices::list)
                .post(notices::submit)
                .layer(DefaultBodyLimit::max(notices::MAX_NOTICE_BODY)),
        )
        .route("/notices/export", get(api::export_notices))
        .route("/notices/{id}", get(notices::status))
        .route("/statements", get(api::statements))
        .route("/marks/{id}/bank", get(api::bank))
        .route("/marks/{id}/bank/{entry}/undo", post(api::undo_bank_entry))
        .route("/audit", get(api::audit_log))
        .route("/sellers", get(api::sellers))
        .route("/sellers/{id}", get(api::seller))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/registry", post(registry::import))
        .route("/tokens/{id}", delete(tokens::revoke))
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
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(RequestBodyTimeoutLayer::new(listen::BODY_TIMEOUT));
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

/// Serves `state` on `listener` under `limits` until `shutdown` resolves, then lets
/// requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    limits: listen::ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listen::serve(listener, router(state), limits, shutdown).await
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
