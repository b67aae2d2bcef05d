//! hookline's HTTP API: the `/v1` JSON routes, health and readiness, and the generated OpenAPI document.
//!
//! Invariants: handlers contain no SQL (they call `hookline_store::Store`) and no wire-format logic beyond
//! `convert` (the only place proto and domain types meet). Every error leaves as `{"error": {code, message}}`
//! through [`ApiError`]. Every `/v1` route except `POST /v1/platforms` is scoped to the calling platform, and
//! a record of another platform is a 404, never a 403.

mod auth;
mod convert;
mod error;
mod json;
mod json_guard;
mod routes;
mod telemetry;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hookline_core::webhook::UrlPolicy;
use hookline_delivery::Engine;
use hookline_store::Store;

pub use crate::error::ApiError;

/// Everything a handler may use.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<AppInner>,
}

struct AppInner {
    store: Arc<dyn Store>,
    engine: Engine,
    admin_token_hash: Option<hookline_core::secret::KeyHash>,
    url_policy: UrlPolicy,
    secret_overlap: Duration,
    lease: Duration,
    key_cache: auth::KeyCache,
}

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
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            admin_token: None,
            url_policy: UrlPolicy::default(),
            secret_overlap: Duration::from_secs(24 * 3600),
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// Builds the whole HTTP router: `/v1/*`, `/healthz`, `/readyz`, `/v1/openapi.json`, under the request-id
/// and trace layers.
pub fn router(config: ApiConfig, store: Arc<dyn Store>, engine: Engine) -> Router {
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
        }),
    };
    telemetry::layer(routes::router(state, config.max_body_bytes))
}
