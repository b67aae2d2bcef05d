//! The inboxes' public capture URL: `/in/{id}` and anything below it, any method, no authentication (the id is
//! unguessable, and it is the capability, as on webhook.site).
//!
//! Each request is rate-limited per inbox, read up to the server's body limit (kept up to the inbox limit, the
//! rest counted and marked as cut), judged against the signing secrets of the platform's webhooks that point at
//! the inbox, stored, announced to this node's live streams, and answered with the inbox's configured response
//! after its delay. Headers and bodies may carry secrets, so none of it is logged.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use futures_util::StreamExt as _;
use hookline_core::Timestamp;
use hookline_core::ids::{InboxId, RequestId};
use hookline_core::inbox::{CapturedRequest, verdict};

use crate::{ApiError, AppState};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/in/{id}", any(capture))
        .route("/in/{id}/", any(capture))
        .route("/in/{id}/{*rest}", any(capture))
}

/// The inbox id and the sub-path after it (`/` when none) of a capture URL's path.
fn split_path(path: &str) -> Option<(InboxId, String)> {
    let rest = path.strip_prefix("/in/")?;
    let (id, sub_path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    Some((InboxId::parse(id)?, sub_path.to_owned()))
}

/// The body: its first `keep` bytes, and its full size. More than `limit` bytes in all is refused.
async fn read_body(body: Body, keep: usize, limit: usize) -> Result<(Vec<u8>, u64), ApiError> {
    let mut kept = Vec::new();
    let mut size: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest { code: "invalid_body", message: e.to_string() })?;
        size += chunk.len() as u64;
        if size > limit as u64 {
            return Err(ApiError::PayloadTooLarge);
        }
        let room = keep.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok((kept, size))
}

async fn capture(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let received_at = Timestamp::now();
    let (id, path) = split_path(request.uri().path()).ok_or(ApiError::NotFound)?;
    let store = &state.inner.store;
    let inbox = store.find_inbox(&id, received_at).await?.ok_or(ApiError::NotFound)?;
    let inboxes = &state.inner.inboxes;
    if let Err(wait) = inboxes.limiter.take(&id, Instant::now()) {
        return Err(ApiError::RateLimited(wait.as_secs_f64().ceil().max(1.0) as u64));
    }
    let source_ip = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip().to_string());
    let (parts, body) = request.into_parts();
    // The request as its sender sent it: not the `x-request-id` this server's own layer added.
    let added_id = parts.extensions.get::<crate::telemetry::GeneratedRequestId>().is_some();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter(|(name, _)| !(added_id && crate::telemetry::is_request_id(name)))
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let (body, size) = read_body(body, inboxes.config.max_body_bytes, state.inner.max_body_bytes).await?;
    // The verdict is taken now, against the secrets valid now: what a receiver would have concluded on arrival.
    let inbox_url = inboxes.config.base.inbox_url(&id);
    let webhooks = store.webhooks_pointing_at(&inbox.platform_id, &inbox_url).await?;
    let verdict = verdict(&webhooks, &headers, &body, received_at);
    let captured = CapturedRequest {
        id: RequestId::generate(),
        inbox_id: id.clone(),
        seq: 0,
        method: parts.method.as_str().to_owned(),
        path,
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        body_truncated: (body.len() as u64) < size,
        body,
        size,
        received_at,
        source_ip,
        verdict,
    };
    store.capture_request(captured, inboxes.config.max_requests, received_at).await?;
    let _ = inboxes.captured.send(id);
    let response = inbox.response;
    if response.delay_ms > 0 {
        // A shutdown does not wait out the delay.
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(u64::from(response.delay_ms))) => {}
            _ = state.inner.shutdown.cancelled() => {}
        }
    }
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    let content_type =
        HeaderValue::from_str(&response.content_type).unwrap_or(HeaderValue::from_static("text/plain; charset=utf-8"));
    Ok((status, [(header::CONTENT_TYPE, content_type)], response.body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_inbox_and_sub_path() {
        let id = InboxId::generate();
        assert_eq!(split_path(&format!("/in/{id}")), Some((id.clone(), "/".to_owned())));
        assert_eq!(split_path(&format!("/in/{id}/")), Some((id.clone(), "/".to_owned())));
        assert_eq!(split_path(&format!("/in/{id}/a/b")), Some((id.clone(), "/a/b".to_owned())));
        assert_eq!(split_path("/in/wh_1/a"), None);
        assert_eq!(split_path("/v1/inboxes"), None);
    }
}
