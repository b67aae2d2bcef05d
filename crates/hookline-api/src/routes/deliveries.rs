//! Deliveries: a webhook's list, one delivery with its attempts, and retry now.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hookline_core::Timestamp;
use hookline_core::ValidationError;
use hookline_core::delivery::DeliveryStatus;
use hookline_core::ids::DeliveryId;
use hookline_proto as proto;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PageQuery;
use super::webhooks::webhook_id;
use crate::auth::PlatformAuth;
use crate::{ApiError, AppState, convert};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(retry_delivery))
        .routes(routes!(list_notifications))
}

/// Lists the failure notices sent (or being sent) to the platform's registered address, newest first.
#[utoipa::path(get, path = "/v1/notifications", tag = "notifications", params(PageQuery),
    responses((status = 200, body = proto::List<proto::Notification>)))]
async fn list_notifications(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Query(query): Query<PageQuery>,
) -> Result<Json<proto::List<proto::Notification>>, ApiError> {
    let list = state.inner.store.list_notifications(&platform.id, query.page()).await?;
    let next_cursor = query.next_cursor(&list, |n| n.id.to_string());
    Ok(Json(proto::List { data: list.into_iter().map(convert::notification).collect(), next_cursor }))
}

/// `?status=` on the deliveries list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct StatusQuery {
    /// `pending`, `delivered` or `failed`.
    #[serde(default)]
    status: Option<String>,
}

fn delivery_id(text: &str) -> Result<DeliveryId, ApiError> {
    DeliveryId::parse(text).ok_or(ApiError::NotFound)
}

/// Lists a webhook's deliveries, newest first, optionally of one status.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "deliveries", params(("id" = String, Path), StatusQuery, PageQuery),
    responses((status = 200, body = proto::List<proto::Delivery>), (status = 404, body = proto::ErrorBody),
        (status = 422, description = "`status` is not a delivery status (`validation_failed`).", body = proto::ErrorBody)))]
async fn list_deliveries(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
    Query(status): Query<StatusQuery>,
    Query(query): Query<PageQuery>,
) -> Result<Json<proto::List<proto::Delivery>>, ApiError> {
    let status = match status.status.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            DeliveryStatus::parse(text)
                .ok_or_else(|| ValidationError::new("status", "must be pending, delivered, failed or held"))?,
        ),
    };
    let list = state.inner.store.list_deliveries(&platform.id, &webhook_id(&id)?, status, query.page()).await?;
    let next_cursor = query.next_cursor(&list, |d| d.delivery.id.to_string());
    Ok(Json(proto::List { data: list.into_iter().map(convert::delivery).collect(), next_cursor }))
}

/// Reads a delivery with every attempt: time, duration, status or error, response excerpt.
#[utoipa::path(get, path = "/v1/deliveries/{id}", tag = "deliveries", params(("id" = String, Path)),
    responses((status = 200, body = proto::DeliveryDetail), (status = 404, body = proto::ErrorBody)))]
async fn get_delivery(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
) -> Result<Json<proto::DeliveryDetail>, ApiError> {
    let detail = state.inner.store.get_delivery(&platform.id, &delivery_id(&id)?).await?;
    Ok(Json(convert::delivery_detail(detail)))
}

/// Sends a delivery again now, whatever its status; recorded as a new attempt.
#[utoipa::path(post, path = "/v1/deliveries/{id}/retry", tag = "deliveries", params(("id" = String, Path)),
    responses((status = 202, body = proto::Delivery), (status = 404, body = proto::ErrorBody), (status = 409, body = proto::ErrorBody)))]
async fn retry_delivery(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<proto::Delivery>), ApiError> {
    let id = delivery_id(&id)?;
    let now = Timestamp::now();
    let job = state.inner.store.retry_delivery(&platform.id, &id, now, now.plus(state.inner.lease)).await?;
    state.inner.engine.submit(vec![job]);
    let detail = state.inner.store.get_delivery(&platform.id, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(convert::delivery(detail.summary))))
}
