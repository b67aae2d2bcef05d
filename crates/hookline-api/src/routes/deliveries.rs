//! Deliveries: a webhook's list, one delivery with its attempts, and retry now.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hookline_proto as proto;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PageQuery;
use super::webhooks::webhook_id;
use crate::auth::PlatformAuth;
use crate::ops::deliveries::delivery_id;
use crate::query::ApiQuery;
use crate::{ApiError, AppState, convert, ops};

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
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<proto::List<proto::Notification>>, ApiError> {
    let list = state.inner.store.list_notifications(&platform.id, query.page()).await?;
    let next_cursor = query.next_cursor(&list, |n| n.id.to_string());
    Ok(Json(proto::List { data: list.into_iter().map(convert::notification).collect(), next_cursor }))
}

/// `?status=&since=&until=&limit=&after=` on the deliveries list; unknown parameters are a 400.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DeliveriesQuery {
    /// `pending`, `delivered`, `failed` or `held`.
    #[serde(default)]
    status: Option<String>,
    /// Only deliveries created at or after this RFC 3339 time.
    #[serde(default)]
    since: Option<String>,
    /// Only deliveries created before this RFC 3339 time.
    #[serde(default)]
    until: Option<String>,
    /// At most this many items (1 to 1000, default 100).
    #[serde(default)]
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    after: Option<String>,
}

/// Lists a webhook's deliveries, newest first, optionally of one status and created in a time range.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "deliveries", params(("id" = String, Path), DeliveriesQuery),
    responses((status = 200, body = proto::List<proto::Delivery>), (status = 404, body = proto::ErrorBody),
        (status = 422, description = "`status` is not a delivery status (`validation_failed`).", body = proto::ErrorBody)))]
async fn list_deliveries(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> Result<Json<proto::List<proto::Delivery>>, ApiError> {
    let search = hookline_store::ui::DeliveryQuery {
        status: ops::events::optional_status(query.status.as_deref())?,
        since: ops::events::optional_time("since", query.since.as_deref())?,
        until: ops::events::optional_time("until", query.until.as_deref())?,
        page: PageQuery { limit: query.limit, after: query.after.clone() }.page(),
    };
    let query = PageQuery { limit: query.limit, after: query.after };
    let list = state.inner.store.search_deliveries(&platform.id, &webhook_id(&id)?, search).await?;
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
    let summary = ops::deliveries::retry(&state, &platform.id, &delivery_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(convert::delivery(summary))))
}
