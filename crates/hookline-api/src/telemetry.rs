//! The request layers every route runs under: an `x-request-id` for each request (the caller's, or a new
//! `req_…` id), echoed on the response, and one tracing span per request that carries it, so every log line
//! a request causes (an internal error's, above all) can be found from the id the caller saw.
//!
//! Invariant: nothing about a request but its method, path and id reaches the logs. The span records the
//! path, not the URI (a query string is the caller's data), and no header and no body: `Authorization`
//! carries an API key.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// The request id header, as most proxies and tracing tools name it.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps `router` in the request-id and trace layers.
pub(crate) fn layer(router: Router) -> Router {
    // `Router::layer` wraps what is there so far, so the last layer added runs first: the id is set, then the
    // span opens (reading it), then the id is copied onto the response.
    router
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                // Each error is logged once, where it is handled (`ApiError`), with its cause; the layer's
                // own failure line would repeat it without one.
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, NewRequestId))
        .layer(axum::middleware::map_request(mark_generated))
}

/// Marks a request that arrived without an `x-request-id`, so a handler that records the request as it was
/// sent (the inspector's capture) can leave out the id this layer adds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GeneratedRequestId;

async fn mark_generated(mut request: Request<Body>) -> Request<Body> {
    if !request.headers().contains_key(&REQUEST_ID) {
        request.extensions_mut().insert(GeneratedRequestId);
    }
    request
}

/// Whether `name` is the request-id header this layer adds when the caller sent none.
pub(crate) fn is_request_id(name: &HeaderName) -> bool {
    name == REQUEST_ID
}

fn request_span(request: &Request<Body>) -> tracing::Span {
    let request_id = request.headers().get(&REQUEST_ID).and_then(|value| value.to_str().ok()).unwrap_or_default();
    tracing::info_span!("request", method = %request.method(), path = request.uri().path(), request_id)
}

/// Makes `req_<process>-<n>`: a unique id made once per process (as the other generated ids are made) and
/// a counter. Unique across nodes and restarts, and cheap: every publish gets one, so it costs no random
/// numbers and no UUID per request.
#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        static PROCESS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let process = PROCESS.get_or_init(hookline_core::ids::sortable_unique);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        HeaderValue::from_str(&format!("req_{process}-{n}")).ok().map(RequestId::new)
    }
}
