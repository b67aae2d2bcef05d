//! `/v1/api-keys`: a platform's API keys: create (the key shown once), list (never the key), revoke.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hookline_core::secret::ApiKey;
use hookline_core::{Timestamp, ValidationError};
use hookline_proto as proto;
use hookline_store::ApiKeyRecord;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::PlatformAuth;
use crate::json::ApiJson;
use crate::{ApiError, AppState, convert};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_api_key, list_api_keys)).routes(routes!(revoke_api_key))
}

/// How many characters of a key its listing shows: `hk_` and four more.
const PREFIX_LEN: usize = 7;

/// What a key's listing shows of it.
pub(super) fn prefix(key: &ApiKey) -> &str {
    key.expose().get(..PREFIX_LEN).unwrap_or_default()
}

/// Creates an API key for the calling platform. The answer carries the key, shown this once and stored only
/// as a hash. A read-only key may only make `GET` requests (anything else is a 403 `read_only_key`).
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = proto::CreateApiKey,
    responses((status = 201, body = proto::ApiKey), (status = 401, body = proto::ErrorBody), (status = 403, body = proto::ErrorBody), (status = 422, body = proto::ErrorBody)))]
async fn create_api_key(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    ApiJson(body): ApiJson<proto::CreateApiKey>,
) -> Result<(StatusCode, Json<proto::ApiKey>), ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ValidationError::new("name", "must be 1 to 100 characters").into());
    }
    let key = ApiKey::generate();
    let hash = key.hash();
    let record = ApiKeyRecord {
        id: ApiKeyRecord::id_for(&hash),
        platform_id: platform.id.clone(),
        name: name.to_owned(),
        prefix: prefix(&key).to_owned(),
        read_only: body.read_only,
        created_at: Timestamp::now(),
        last_used_at: None,
    };
    state.inner.store.create_api_key(record.clone(), hash).await?;
    tracing::info!(platform_id = %platform.id, key_id = %record.id, read_only = record.read_only, "API key created");
    let mut shown = convert::api_key(record);
    shown.key = Some(key.expose().to_owned());
    Ok((StatusCode::CREATED, Json(shown)))
}

/// Lists the platform's API keys, oldest first: name, prefix, read-only, creation and last use, never the key.
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys",
    responses((status = 200, body = proto::List<proto::ApiKey>), (status = 401, body = proto::ErrorBody)))]
async fn list_api_keys(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
) -> Result<Json<proto::List<proto::ApiKey>>, ApiError> {
    let keys = state.inner.store.list_api_keys(&platform.id).await?;
    Ok(Json(proto::List { data: keys.into_iter().map(convert::api_key).collect(), next_cursor: None }))
}

/// Revokes one of the platform's API keys: it stops working at once on this node and within a second on
/// every other. Revoking the key that makes the request is allowed.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = proto::ErrorBody), (status = 403, body = proto::ErrorBody), (status = 404, body = proto::ErrorBody)))]
async fn revoke_api_key(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.inner.store.revoke_api_key(&platform.id, &id).await?;
    state.inner.key_cache.clear();
    tracing::info!(platform_id = %platform.id, key_id = %id, "API key revoked");
    Ok(StatusCode::NO_CONTENT)
}
