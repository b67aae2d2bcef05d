//! `POST /v1/platforms` (admin): create a tenant and its first API key.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hookline_core::Timestamp;
use hookline_core::platform::Platform;
use hookline_core::secret::ApiKey;
use hookline_proto as proto;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AdminAuth;
use crate::json::ApiJson;
use crate::{ApiError, AppState, convert};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_platform))
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
    tracing::info!(platform_id = %platform.id, "platform created");
    Ok((StatusCode::CREATED, Json(convert::platform(platform, Some(api_key.expose().to_owned())))))
}
