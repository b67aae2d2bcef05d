//! Authentication extractors: [`PlatformAuth`] (an API key) and [`AdminAuth`] (the admin token).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use hookline_core::platform::Platform;
use hookline_core::secret::ApiKey;

use crate::{ApiError, AppState};

/// The platform whose API key authenticated the request. Every platform-scoped handler takes one, so
/// tenant scoping cannot be forgotten.
pub(crate) struct PlatformAuth(pub Platform);

/// Proof that the request carried the admin token.
pub(crate) struct AdminAuth;

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized("missing Authorization: Bearer <api key>"))?;
    let value = value.to_str().map_err(|_| ApiError::Unauthorized("malformed Authorization header"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or(ApiError::Unauthorized("Authorization must be Bearer <api key>"))?;
    Ok(token.trim())
}

impl FromRequestParts<AppState> for PlatformAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        if !token.starts_with(ApiKey::PREFIX) || token.len() > 200 {
            return Err(ApiError::Unauthorized("unknown API key"));
        }
        // Only the hash is looked up, so the key itself never reaches the database or a log line.
        let hash = ApiKey::from_presented(token).hash();
        match state.inner.store.platform_by_key(hash).await? {
            Some(platform) => Ok(Self(platform)),
            None => Err(ApiError::Unauthorized("unknown API key")),
        }
    }
}

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let Some(expected) = &state.inner.admin_token_hash else {
            return Err(ApiError::Unauthorized("no admin token is configured (set HOOKLINE_ADMIN_TOKEN)"));
        };
        // Comparing hashes keeps the comparison's timing independent of how much of the token matched.
        if ApiKey::from_presented(token).hash() == *expected {
            Ok(Self)
        } else {
            Err(ApiError::Unauthorized("wrong admin token"))
        }
    }
}
