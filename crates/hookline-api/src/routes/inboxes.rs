//! `/v1/inboxes`: create, list, read, reconfigure and delete inboxes, and list what they captured. The capture
//! URL itself is `routes/capture.rs`; the live stream of captures is `routes/inbox_stream.rs`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hookline_core::Timestamp;
use hookline_core::ids::RequestId;
use hookline_proto as proto;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PageQuery;
use crate::auth::PlatformAuth;
use crate::json::{ApiJson, OptionalJson};
use crate::ops::inboxes::inbox_id;
use crate::{ApiError, AppState, convert, ops};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_inbox, list_inboxes))
        .routes(routes!(get_inbox, update_inbox, delete_inbox))
        .routes(routes!(list_requests))
        .routes(routes!(get_request))
        .routes(routes!(super::inbox_stream::stream_requests))
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
    let inbox = ops::inboxes::create(&state, &platform.id, body.unwrap_or_default()).await?;
    Ok((StatusCode::CREATED, Json(convert::inbox(inbox, &state.inner.inboxes.config.base))))
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
    let inbox = ops::inboxes::update(&state, &platform.id, &inbox_id(&id)?, body.response).await?;
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
    ops::inboxes::delete(&state, &platform.id, &inbox_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists the requests an inbox captured, newest first, each with its signature verdict (at most 100 a page).
#[utoipa::path(get, path = "/v1/inboxes/{id}/requests", tag = "inboxes", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = proto::List<proto::CapturedRequest>), (status = 404, body = proto::ErrorBody)))]
async fn list_requests(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<proto::List<proto::CapturedRequest>>, ApiError> {
    let (requests, next_cursor) =
        ops::inboxes::list_requests(&state, &platform.id, &inbox_id(&id)?, query.page()).await?;
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
