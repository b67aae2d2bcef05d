//! `/v1/platforms` (admin token): create a tenant and its first API key; list, read, update and delete tenants.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hookline_core::Timestamp;
use hookline_core::ids::PlatformId;
use hookline_core::platform::Platform;
use hookline_core::secret::ApiKey;
use hookline_proto as proto;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PageQuery;
use crate::auth::AdminAuth;
use crate::json::ApiJson;
use crate::query::ApiQuery;
use crate::{ApiError, AppState, convert};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_platform, list_platforms)).routes(routes!(
        get_platform,
        update_platform,
        delete_platform
    ))
}

/// Creates a platform. The answer carries its API key, shown this once and stored only as a hash.
#[utoipa::path(post, path = "/v1/platforms", tag = "platforms", request_body = proto::CreatePlatform,
    responses((status = 201, body = proto::Platform), (status = 401, body = proto::ErrorBody), (status = 422, body = proto::ErrorBody)))]
async fn create_platform(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiJson(body): ApiJson<proto::CreatePlatform>,
) -> Result<(StatusCode, Json<proto::Platform>), ApiError> {
    let platform = Platform::new(&body.name, &body.url, &body.email, Timestamp::now())?;
    let api_key = ApiKey::generate();
    state.inner.store.create_platform(platform.clone(), api_key.hash()).await?;
    let key_id = hookline_store::ApiKeyRecord::id_for(&api_key.hash());
    state.inner.store.set_api_key_prefix(&key_id, super::api_keys::prefix(&api_key)).await?;
    tracing::info!(platform_id = %platform.id, "platform created");
    Ok((StatusCode::CREATED, Json(convert::platform(platform, Some(api_key.expose().to_owned())))))
}

fn platform_id(id: &str) -> Result<PlatformId, ApiError> {
    PlatformId::parse(id).ok_or(ApiError::NotFound)
}

/// Lists every platform by id (admin token). API keys are never listed here.
#[utoipa::path(get, path = "/v1/platforms", tag = "platforms", params(PageQuery),
    responses((status = 200, body = proto::List<proto::Platform>), (status = 401, body = proto::ErrorBody)))]
async fn list_platforms(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<proto::List<proto::Platform>>, ApiError> {
    let platforms = state.inner.store.list_platforms(query.page()).await?;
    let next_cursor = query.next_cursor(&platforms, |p| p.id.to_string());
    Ok(Json(proto::List { data: platforms.into_iter().map(|p| convert::platform(p, None)).collect(), next_cursor }))
}

/// Reads one platform (admin token).
#[utoipa::path(get, path = "/v1/platforms/{id}", tag = "platforms", params(("id" = String, Path)),
    responses((status = 200, body = proto::Platform), (status = 401, body = proto::ErrorBody), (status = 404, body = proto::ErrorBody)))]
async fn get_platform(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Path(id): Path<String>,
) -> Result<Json<proto::Platform>, ApiError> {
    let platform = state.inner.store.get_platform(&platform_id(&id)?).await?;
    Ok(Json(convert::platform(platform, None)))
}

/// Changes a platform's name, URL or notification email (admin token), validated as at creation; absent
/// fields stay as they are.
#[utoipa::path(patch, path = "/v1/platforms/{id}", tag = "platforms", params(("id" = String, Path)),
    request_body = proto::UpdatePlatform,
    responses((status = 200, body = proto::Platform), (status = 401, body = proto::ErrorBody), (status = 404, body = proto::ErrorBody), (status = 422, body = proto::ErrorBody)))]
async fn update_platform(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<proto::UpdatePlatform>,
) -> Result<Json<proto::Platform>, ApiError> {
    let current = state.inner.store.get_platform(&platform_id(&id)?).await?;
    let checked = Platform::new(
        body.name.as_deref().unwrap_or(&current.name),
        body.url.as_deref().unwrap_or(&current.url),
        body.email.as_deref().unwrap_or(&current.email),
        current.created_at,
    )?;
    let updated = Platform { id: current.id, created_at: current.created_at, ..checked };
    state.inner.store.update_platform(updated.clone()).await?;
    tracing::info!(platform_id = %updated.id, "platform updated");
    Ok(Json(convert::platform(updated, None)))
}

/// Deletes a platform and everything it owns (admin token): API keys, webhooks, events, deliveries and their
/// attempts, notices, inboxes, dashboard sessions. Its keys stop working within a second on every node.
#[utoipa::path(delete, path = "/v1/platforms/{id}", tag = "platforms", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = proto::ErrorBody), (status = 404, body = proto::ErrorBody)))]
async fn delete_platform(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = platform_id(&id)?;
    state.inner.store.delete_platform(&id).await?;
    state.inner.key_cache.clear();
    tracing::info!(platform_id = %id, "platform deleted");
    Ok(StatusCode::NO_CONTENT)
}
