//! `GET|POST /v1/event-types`: the catalog (14 built-in Tradly types plus the platform's own).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hookline_core::Timestamp;
use hookline_core::catalog::EventTypeName;
use hookline_core::platform::EventType;
use hookline_proto as proto;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::PlatformAuth;
use crate::json::ApiJson;
use crate::{ApiError, AppState, convert};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_event_types, create_event_type))
}

/// Lists the catalog: the built-in types, then the platform's own.
#[utoipa::path(get, path = "/v1/event-types", tag = "event-types",
    responses((status = 200, body = proto::List<proto::EventType>)))]
async fn list_event_types(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
) -> Result<Json<proto::List<proto::EventType>>, ApiError> {
    let types = state.inner.store.list_event_types(&platform.id).await?;
    Ok(Json(proto::List { data: types.into_iter().map(convert::event_type).collect(), next_cursor: None }))
}

/// Adds a custom event type (`name.verb`).
#[utoipa::path(post, path = "/v1/event-types", tag = "event-types", request_body = proto::CreateEventType,
    responses((status = 201, body = proto::EventType), (status = 409, body = proto::ErrorBody), (status = 422, body = proto::ErrorBody)))]
async fn create_event_type(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    ApiJson(body): ApiJson<proto::CreateEventType>,
) -> Result<(StatusCode, Json<proto::EventType>), ApiError> {
    let name = EventTypeName::parse("name", &body.name)?;
    let description = body.description.trim().to_owned();
    if description.len() > 500 {
        return Err(hookline_core::ValidationError::new("description", "must be at most 500 characters").into());
    }
    let event_type = EventType { name: name.as_str().to_owned(), description, built_in: false, operational: false };
    state.inner.store.create_event_type(&platform.id, event_type.clone(), Timestamp::now()).await?;
    Ok((StatusCode::CREATED, Json(convert::event_type(event_type))))
}
