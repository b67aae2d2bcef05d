//! Per-request time limits: a request (until its response starts) and a request body (until it is read) may
//! take only so long, so a client that trickles its body, or a handler stuck behind an unavailable database,
//! does not hold a connection and its memory indefinitely. Both answer in the API's error shape.

use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::IntoResponse;

use crate::ApiError;

/// The request limits.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// From the request's arrival until its response starts. Streaming responses (server-sent events) are not
    /// cut once they have started.
    pub request_timeout: Duration,
    /// How long reading the request body may take.
    pub body_timeout: Duration,
}

/// Wraps `router` in the request and body timeouts.
pub fn with_request_limits(router: Router, limits: RequestLimits) -> Router {
    let request_timeout = limits.request_timeout;
    router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(limits.body_timeout)).layer(
        axum::middleware::from_fn(move |request: Request, next: Next| async move {
            match tokio::time::timeout(request_timeout, next.run(request)).await {
                Ok(response) => response,
                Err(_) => ApiError::RequestTimeout.into_response(),
            }
        }),
    )
}

/// Whether a request-body error is the body timeout firing (the client stopped sending), found by the error's
/// type anywhere in its chain.
pub(crate) fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(cause) = source {
        if cause.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        source = cause.source();
    }
    false
}
