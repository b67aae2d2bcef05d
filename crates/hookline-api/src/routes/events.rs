//! `/v1/events`: publish (durable, then dispatched at once), list, and read with per-webhook status.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use hookline_core::catalog::EventTypeName;
use hookline_core::event::NewEvent;
use hookline_core::ids::EventId;
use hookline_proto as proto;
use hookline_store::Target;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::PlatformAuth;
use crate::json::ApiJson;
use crate::query::ApiQuery;
use crate::{ApiError, AppState, convert, ops};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(publish_event, list_events)).routes(routes!(get_event))
}

/// Publishes an event: 202 once the event and one delivery per matching enabled webhook are committed.
/// Repeating an `id` returns the stored event and creates nothing (`Idempotent-Replayed: true`).
#[utoipa::path(post, path = "/v1/events", tag = "events", request_body = proto::PublishEvent,
    responses((status = 202, body = proto::EventAccepted), (status = 422, body = proto::ErrorBody),
        (status = 409, description = "The `id` was published before with another type or other data \
            (`event_id_reused`); the same request repeated answers the original 202.", body = proto::ErrorBody)))]
async fn publish_event(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    ApiJson(body): ApiJson<proto::PublishEvent>,
) -> Result<axum::response::Response, ApiError> {
    let id = match body.id.as_deref() {
        Some(id) => EventId::parse(id)?,
        None => EventId::generate(),
    };
    let event_type = EventTypeName::parse("type", &body.event_type)?;
    let event = NewEvent { id, event_type, data: ops::events::object_data(body.data)? };
    let accepted = ops::events::publish(&state, &platform.id, event, Target::Matching).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
}

/// Lists events, newest first, optionally only of one type, created in a time range, or with a delivery in
/// a given status. An unknown parameter is a 400.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(ops::events::EventFilters),
    responses((status = 200, body = proto::List<proto::Event>),
        (status = 422, description = "A filter does not parse: `type` is not an event type name, `since`/`until` \
            not RFC 3339, `status` not a delivery status (`validation_failed`, naming the field).",
            body = proto::ErrorBody)))]
async fn list_events(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    ApiQuery(filters): ApiQuery<ops::events::EventFilters>,
) -> Result<Json<proto::List<proto::Event>>, ApiError> {
    let (events, next_cursor) = ops::events::list(&state, &platform.id, &filters).await?;
    let data = events.into_iter().map(|e| convert::event(e, None)).collect::<Result<_, _>>()?;
    Ok(Json(proto::List { data, next_cursor }))
}

/// Reads an event with the status of its delivery to each webhook.
#[utoipa::path(get, path = "/v1/events/{id}", tag = "events", params(("id" = String, Path)),
    responses((status = 200, body = proto::Event), (status = 404, body = proto::ErrorBody)))]
async fn get_event(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
) -> Result<Json<proto::Event>, ApiError> {
    let id = EventId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let (event, deliveries) = state.inner.store.get_event(&platform.id, &id).await?;
    Ok(Json(convert::event(event, Some(deliveries))?))
}
