//! `/v1/inboxes`: create, list, read, reconfigure and delete inboxes, and list what they captured. The capture
//! URL itself is `routes/capture.rs`; the live stream of captures is `routes/inbox_stream.rs`.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hookline_core::ids::{InboxId, RequestId};
use hookline_core::inbox::{Inbox, InboxResponse};
use hookline_core::time::parse_duration;
use hookline_core::{Timestamp, ValidationError};
use hookline_proto as proto;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PageQuery;
use crate::auth::PlatformAuth;
use crate::json::{ApiJson, OptionalJson};
use crate::{ApiError, AppState, convert};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_inbox, list_inboxes))
        .routes(routes!(get_inbox, update_inbox, delete_inbox))
        .routes(routes!(list_requests))
        .routes(routes!(get_request))
        .routes(routes!(super::inbox_stream::stream_requests))
}

/// Parses a path id; an id of the wrong shape cannot exist, so it is a 404 like any unknown id.
pub(super) fn inbox_id(text: &str) -> Result<InboxId, ApiError> {
    InboxId::parse(text).ok_or(ApiError::NotFound)
}

fn response(spec: Option<proto::InboxResponseSpec>) -> Result<InboxResponse, ApiError> {
    let spec = spec.unwrap_or_default();
    Ok(InboxResponse::new(spec.status, spec.body, spec.content_type, spec.delay_ms)?)
}

fn lifetime(text: Option<&str>, default: Duration, max: Duration) -> Result<Duration, ApiError> {
    let Some(text) = text else { return Ok(default) };
    let invalid = || ValidationError::new("expires_in", "must be a duration like 30m, 12h or 7d");
    let lifetime = parse_duration(text.trim()).ok_or_else(invalid)?;
    if lifetime < Duration::from_secs(60) || lifetime > max {
        let days = max.as_secs() / 86_400;
        return Err(ValidationError::new("expires_in", format!("must be between 1m and {days}d")).into());
    }
    Ok(lifetime)
}

/// Creates an inbox. Anything sent to its `url` (any method, sub-path and query) is captured, checked against
/// the signing secrets of your webhooks that point at it, and answered with its configured response.
#[utoipa::path(post, path = "/v1/inboxes", tag = "inboxes", request_body(content = Option<proto::CreateInbox>),
    responses((status = 201, body = proto::Inbox), (status = 422, body = proto::ErrorBody)))]
async fn create_inbox(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    OptionalJson(body): OptionalJson<proto::CreateInbox>,
) -> Result<(StatusCode, Json<proto::Inbox>), ApiError> {
    let body = body.unwrap_or_default();
    let config = &state.inner.inboxes.config;
    let lifetime = lifetime(body.expires_in.as_deref(), config.expire_after, config.max_expire_after)?;
    let now = Timestamp::now();
    let inbox = Inbox {
        id: InboxId::generate(),
        platform_id: platform.id,
        response: response(body.response)?,
        created_at: now,
        expires_at: now.plus(lifetime),
    };
    state.inner.store.create_inbox(inbox.clone()).await?;
    tracing::info!(inbox_id = %inbox.id, "inbox created");
    Ok((StatusCode::CREATED, Json(convert::inbox(inbox, &config.base))))
}

/// Lists the platform's live inboxes, newest first.
#[utoipa::path(get, path = "/v1/inboxes", tag = "inboxes", params(PageQuery),
    responses((status = 200, body = proto::List<proto::Inbox>)))]
async fn list_inboxes(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Query(query): Query<PageQuery>,
) -> Result<Json<proto::List<proto::Inbox>>, ApiError> {
    let inboxes = state.inner.store.list_inboxes(&platform.id, query.page(), Timestamp::now()).await?;
    let next_cursor = query.next_cursor(&inboxes, |inbox| inbox.id.to_string());
    let base = &state.inner.inboxes.config.base;
    Ok(Json(proto::List { data: inboxes.into_iter().map(|inbox| convert::inbox(inbox, base)).collect(), next_cursor }))
}

/// Reads one inbox.
#[utoipa::path(get, path = "/v1/inboxes/{id}", tag = "inboxes", params(("id" = String, Path)),
    responses((status = 200, body = proto::Inbox), (status = 404, body = proto::ErrorBody)))]
async fn get_inbox(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
) -> Result<Json<proto::Inbox>, ApiError> {
    let inbox = state.inner.store.get_inbox(&platform.id, &inbox_id(&id)?, Timestamp::now()).await?;
    Ok(Json(convert::inbox(inbox, &state.inner.inboxes.config.base)))
}

/// Changes what an inbox answers (status, body, content type, delay); fields left out keep their values.
#[utoipa::path(patch, path = "/v1/inboxes/{id}", tag = "inboxes", params(("id" = String, Path)),
    request_body = proto::UpdateInbox,
    responses((status = 200, body = proto::Inbox), (status = 404, body = proto::ErrorBody), (status = 422, body = proto::ErrorBody)))]
async fn update_inbox(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<proto::UpdateInbox>,
) -> Result<Json<proto::Inbox>, ApiError> {
    let id = inbox_id(&id)?;
    let now = Timestamp::now();
    // Fields left out keep their current values.
    let current = state.inner.store.get_inbox(&platform.id, &id, now).await?.response;
    let spec = body.response;
    let response = InboxResponse::new(
        spec.status.or(Some(current.status)),
        spec.body.or(Some(current.body)),
        spec.content_type.or(Some(current.content_type)),
        spec.delay_ms.or(Some(current.delay_ms)),
    )?;
    let inbox = state.inner.store.update_inbox(&platform.id, &id, response, now).await?;
    Ok(Json(convert::inbox(inbox, &state.inner.inboxes.config.base)))
}

/// Deletes an inbox and everything it captured; its URL answers 404 from now on and its live streams end.
#[utoipa::path(delete, path = "/v1/inboxes/{id}", tag = "inboxes", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = proto::ErrorBody)))]
async fn delete_inbox(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = inbox_id(&id)?;
    state.inner.store.delete_inbox(&platform.id, &id).await?;
    // Wakes this node's streams of the inbox, which then find it gone and end.
    let _ = state.inner.inboxes.captured.send(id);
    Ok(StatusCode::NO_CONTENT)
}

/// The most captured requests one page holds.
const MAX_REQUESTS_PAGE: usize = 100;

/// Lists the requests an inbox captured, newest first, each with its signature verdict (at most 100 a page).
#[utoipa::path(get, path = "/v1/inboxes/{id}/requests", tag = "inboxes", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = proto::List<proto::CapturedRequest>), (status = 404, body = proto::ErrorBody)))]
async fn list_requests(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<proto::List<proto::CapturedRequest>>, ApiError> {
    let id = inbox_id(&id)?;
    // Captured bodies may be large (up to `inbox.max_body_bytes` each), so pages are smaller than elsewhere.
    let mut page = query.page();
    page.limit = page.limit.min(MAX_REQUESTS_PAGE);
    let limit = page.limit;
    let requests = state.inner.store.list_requests(&platform.id, &id, page, Timestamp::now()).await?;
    let next_cursor = (requests.len() >= limit).then(|| requests.last().map(|r| r.id.to_string())).flatten();
    Ok(Json(proto::List { data: requests.into_iter().map(convert::captured_request).collect(), next_cursor }))
}

/// Reads one captured request of an inbox.
#[utoipa::path(get, path = "/v1/inboxes/{id}/requests/{request_id}", tag = "inboxes",
    params(("id" = String, Path), ("request_id" = String, Path)),
    responses((status = 200, body = proto::CapturedRequest), (status = 404, body = proto::ErrorBody)))]
async fn get_request(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path((id, request_id)): Path<(String, String)>,
) -> Result<Json<proto::CapturedRequest>, ApiError> {
    let id = inbox_id(&id)?;
    let request_id = RequestId::parse(&request_id).ok_or(ApiError::NotFound)?;
    let request = state.inner.store.get_request(&platform.id, &id, &request_id, Timestamp::now()).await?;
    Ok(Json(convert::captured_request(request)))
}
