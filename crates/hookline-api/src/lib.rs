//! hookline's HTTP API: the `/v1` JSON routes, health and readiness, the generated OpenAPI document, and the
//! server-rendered dashboard under `/ui/` (which calls the same operations, `ops`, as the JSON routes).
//!
//! Invariants: handlers contain no SQL (they call `hookline_store::ApiStore`) and no wire-format logic beyond
//! `convert` (the only place proto and domain types meet). Every error leaves as `{"error": {code, message}}`
//! through [`ApiError`]. Every `/v1` route except `POST /v1/platforms` is scoped to the calling platform, and
//! a record of another platform is a 404, never a 403.

mod auth;
mod convert;
mod error;
mod inbox;
mod json;
mod json_guard;
pub mod limits;
mod ops;
mod query;
pub mod quota;
mod routes;
mod telemetry;
mod ui;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hookline_core::webhook::UrlPolicy;
use hookline_delivery::Engine;
use hookline_store::ApiStore;

pub use crate::error::ApiError;
pub use crate::inbox::InboxConfig;
pub use crate::routes::openapi_document;
pub use crate::ui::{PortalLink, UiConfig, portal_link};

/// Everything a handler may use.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<AppInner>,
}

struct AppInner {
    store: Arc<dyn ApiStore>,
    engine: Engine,
    admin_token_hash: Option<hookline_core::secret::KeyHash>,
    url_policy: UrlPolicy,
    secret_overlap: Duration,
    lease: Duration,
    key_cache: auth::KeyCache,
    max_body_bytes: usize,
    inboxes: inbox::Inboxes,
    /// Wakes this node's listener streams when an event of a platform was published here.
    listen_wake: tokio::sync::broadcast::Sender<hookline_core::ids::PlatformId>,
    shutdown: tokio_util::sync::CancellationToken,
    publish_limiter: quota::PublishLimiter,
    /// `ApiConfig::max_webhooks`.
    max_webhooks: u64,
    ui: UiConfig,
    extra_metrics: ExtraMetrics,
}

/// Metrics counted by parts the API does not depend on (the notifier's emails), which `/metrics` shows after
/// the engine's: each source appends its lines in the Prometheus text format.
#[derive(Clone, Default)]
pub struct ExtraMetrics(Vec<MetricsSource>);

/// One source of [`ExtraMetrics`]: appends its lines to the text it is given.
pub type MetricsSource = Arc<dyn Fn(&mut String) + Send + Sync>;

impl ExtraMetrics {
    /// Adds a source.
    pub fn push(&mut self, source: MetricsSource) {
        self.0.push(source);
    }

    /// Appends every source's lines to `out`.
    pub fn render(&self, out: &mut String) {
        for source in &self.0 {
            source(out);
        }
    }
}

impl std::fmt::Debug for ExtraMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExtraMetrics({} sources)", self.0.len())
    }
}

/// How long a listener (`hookline listen`) outlives its last open stream or reported answer before the pruner
/// deletes it with its deliveries.
pub const LISTENER_IDLE_EXPIRY: Duration = Duration::from_secs(24 * 3600);

/// The API's settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The admin bearer token; without one, `POST /v1/platforms` is refused.
    pub admin_token: Option<String>,
    /// Which webhook URLs are accepted.
    pub url_policy: UrlPolicy,
    /// How long a rotated-out secret keeps signing `webhook-signature`.
    pub secret_overlap: Duration,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Inboxes: public URL, limits, expiry.
    pub inbox: InboxConfig,
    /// Cancelled when the server shuts down: long-lived answers (live streams, delayed inbox answers) end then,
    /// so a graceful shutdown does not wait for them.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Per-platform publishing limits: event size and rate.
    pub publish_quota: quota::PublishQuota,
    /// The most webhooks one platform may have (`limits.max_webhooks`): every publish goes to each matching
    /// one, so this bounds the outbound traffic one event can cause.
    pub max_webhooks: u64,
    /// The dashboard's settings.
    pub ui: UiConfig,
    /// More lines for `/metrics` (set by the binary once the notifier exists).
    pub extra_metrics: ExtraMetrics,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            admin_token: None,
            url_policy: UrlPolicy::default(),
            secret_overlap: Duration::from_secs(24 * 3600),
            max_body_bytes: 1024 * 1024,
            inbox: InboxConfig::default(),
            shutdown: tokio_util::sync::CancellationToken::new(),
            publish_quota: quota::PublishQuota::default(),
            max_webhooks: 100,
            ui: UiConfig::default(),
            extra_metrics: ExtraMetrics::default(),
        }
    }
}

/// Builds the whole HTTP router: `/v1/*`, the inboxes' capture URLs `/in/*`, `/healthz`, `/readyz`,
/// `/v1/openapi.json` and the `/ui/` dashboard, under the request-id and trace layers.
pub fn router(config: ApiConfig, store: Arc<dyn ApiStore>, engine: Engine) -> Router {
    let lease = engine.config().lease;
    let state = AppState {
        inner: Arc::new(AppInner {
            store,
            engine,
            admin_token_hash: config
                .admin_token
                .as_deref()
                .map(|token| hookline_core::secret::ApiKey::from_presented(token).hash()),
            url_policy: config.url_policy,
            secret_overlap: config.secret_overlap,
            lease,
            key_cache: auth::KeyCache::default(),
            max_body_bytes: config.max_body_bytes,
            inboxes: inbox::Inboxes::new(config.inbox),
            listen_wake: tokio::sync::broadcast::channel(256).0,
            shutdown: config.shutdown,
            publish_limiter: quota::PublishLimiter::new(config.publish_quota),
            max_webhooks: config.max_webhooks,
            ui: config.ui,
            extra_metrics: config.extra_metrics,
        }),
    };
    telemetry::layer(routes::router(state, config.max_body_bytes))
}
