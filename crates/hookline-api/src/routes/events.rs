//! `/v1/events`: publish (durable, then dispatched at once), list, and read with per-webhook status.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use hookline_core::Timestamp;
use hookline_core::ValidationError;
use hookline_core::catalog::EventTypeName;
use hookline_core::event::NewEvent;
use hookline_core::ids::{EventId, PlatformId};
use hookline_proto as proto;
use hookline_store::{StoreError, Target};
use serde_json::value::RawValue;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PageQuery;
use crate::auth::PlatformAuth;
use crate::json::ApiJson;
use crate::{ApiError, AppState, convert};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(publish_event, list_events)).routes(routes!(get_event))
}

/// Checks that `data` is a JSON object and keeps its text as sent.
pub(super) fn object_data(raw: Box<RawValue>) -> Result<String, ApiError> {
    if !raw.get().starts_with('{') {
        return Err(ValidationError::new("data", "must be a JSON object").into());
    }
    Ok(String::from(Box::<str>::from(raw)))
}

/// Publishes an event: 202 once the event and one delivery per matching enabled webhook are committed.
/// Repeating an `id` returns the stored event and creates nothing (`Idempotent-Replayed: true`).
#[utoipa::path(post, path = "/v1/events", tag = "events", request_body = proto::PublishEvent,
    responses((status = 202, body = proto::EventAccepted), (status = 422, body = proto::ErrorBody)))]
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
    let event = NewEvent { id, event_type, data: object_data(body.data)? };
    Ok(publish(&state, &platform.id, event, Target::Matching).await?.into_response())
}

/// Stores `event` (to every matching webhook, or `only` one) and hands its deliveries to the engine, inside a
/// `publish` span naming the event.
#[tracing::instrument(name = "publish", skip_all, fields(event_id = %event.id))]
pub(super) async fn publish(
    state: &AppState,
    platform: &PlatformId,
    event: NewEvent,
    target: Target,
) -> Result<(StatusCode, Json<proto::EventAccepted>), ApiError> {
    let now = Timestamp::now();
    // With no room in this node's memory, the deliveries are stored unleased and the poller (here or on
    // another node) claims them as room frees up.
    let lease_until = state.inner.engine.has_room().then(|| now.plus(state.inner.lease));
    let published =
        state.inner.store.publish_event(platform, event, target, now, lease_until).await.map_err(|e| match e {
            StoreError::UnknownEventType(name) => ApiError::UnknownEventType(name, "type"),
            other => other.into(),
        })?;
    let accepted = proto::EventAccepted {
        id: published.event.id.to_string(),
        event_type: published.event.event_type.clone(),
        created_at: convert::time(published.event.created_at),
        deliveries: published.delivery_count,
    };
    if published.created {
        let metrics = state.inner.engine.metrics();
        metrics.events_published.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        metrics.deliveries_created.fetch_add(published.delivery_count as u64, std::sync::atomic::Ordering::Relaxed);
    }
    state.inner.engine.submit(published.jobs);
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

/// Lists events, newest first.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(PageQuery),
    responses((status = 200, body = proto::List<proto::Event>)))]
async fn list_events(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Query(query): Query<PageQuery>,
) -> Result<Json<proto::List<proto::Event>>, ApiError> {
    let events = state.inner.store.list_events(&platform.id, query.page()).await?;
    let next_cursor = query.next_cursor(&events, |e| e.id.to_string());
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
