//! The dashboard at `/ui/`: server-rendered pages (askama templates, checked at compile time), one embedded
//! stylesheet, and one small embedded script, only for the inbox page's live updates and copy buttons. One
//! module per page; every action calls the same `ops` the JSON API calls, so validation and its words are the
//! API's.
//!
//! Every response under `/ui` carries a Content-Security-Policy (`default-src 'self'`, no inline script or
//! style, `frame-ancestors` from [`UiConfig::frame_ancestors`], `'none'` by default) and `Cache-Control:
//! no-store` (pages show secrets and tenant data), except the versioned assets, which are cached for a year.

mod assets;
mod curl;
mod deliveries;
mod errors;
mod events;
mod form;
mod inboxes;
mod layout;
mod notifications;
mod overview;
mod portal;
mod session;
mod sign_in;
mod webhook_form;
mod webhooks;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};

pub(crate) use self::portal::create_link as create_portal_link;
pub use self::portal::{PortalLink, portal_link};
use crate::AppState;

/// The dashboard's settings.
#[derive(Debug, Clone)]
pub struct UiConfig {
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
    /// Origins allowed to frame the dashboard (CSP `frame-ancestors`); empty: no one may.
    pub frame_ancestors: Vec<String>,
    /// Mark cookies `Secure` (HTTPS only). Off only in `--dev`, which serves plain HTTP on loopback.
    pub secure_cookies: bool,
    /// The base URL people reach this server at, for portal links.
    pub public_url: String,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(12 * 3600),
            frame_ancestors: Vec::new(),
            secure_cookies: true,
            public_url: "http://127.0.0.1:8080".to_owned(),
        }
    }
}

/// The `/ui` routes, with their security headers; merged into the API's router.
pub(crate) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/ui/", get(overview::page))
        .route("/ui/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/ui/sign-out", post(sign_in::sign_out))
        .route("/ui/portal/{token}", get(portal::land))
        .route("/ui/webhooks", get(webhooks::list).post(webhook_form::create))
        .route("/ui/webhooks/new", get(webhook_form::new))
        .route("/ui/webhooks/{id}", get(webhooks::show))
        .route("/ui/webhooks/{id}/edit", get(webhook_form::edit).post(webhook_form::save))
        .route("/ui/webhooks/{id}/secret", post(webhooks::reveal_secret))
        .route("/ui/webhooks/{id}/rotate", post(webhooks::rotate))
        .route("/ui/webhooks/{id}/test", post(webhooks::test))
        .route("/ui/webhooks/{id}/enabled", post(webhooks::set_enabled))
        .route("/ui/webhooks/{id}/recover", get(webhooks::recover_preview).post(webhooks::recover))
        .route("/ui/events", get(events::list))
        .route("/ui/events/{id}", get(events::show))
        .route("/ui/deliveries/{id}", get(deliveries::show))
        .route("/ui/deliveries/{id}/retry", post(deliveries::retry))
        .route("/ui/inboxes", get(inboxes::list).post(inboxes::create))
        .route("/ui/inboxes/{id}", get(inboxes::show))
        .route("/ui/inboxes/{id}/delete", post(inboxes::delete))
        .route("/ui/inboxes/{id}/stream", get(inboxes::stream))
        .route("/ui/notifications", get(notifications::list))
        .route(assets::CSS_ROUTE, get(assets::css))
        .route(assets::JS_ROUTE, get(assets::js))
        .route("/ui", get(|| async { axum::response::Redirect::permanent("/ui/") }))
        .route("/ui/{*rest}", get(errors::not_found).post(errors::not_found))
        .layer(axum::middleware::from_fn_with_state(state, security_headers))
}

async fn security_headers(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    secure(response, &state.inner.ui.frame_ancestors)
}

/// The Content-Security-Policy of every dashboard response.
pub(crate) fn content_security_policy(frame_ancestors: &[String]) -> String {
    let ancestors = if frame_ancestors.is_empty() { "'none'".to_owned() } else { frame_ancestors.join(" ") };
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
         base-uri 'none'; object-src 'none'; frame-ancestors {ancestors}"
    )
}

/// Adds the security headers to a dashboard response.
pub(crate) fn secure(mut response: Response, frame_ancestors: &[String]) -> Response {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_security_policy(frame_ancestors)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if frame_ancestors.is_empty() {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}
