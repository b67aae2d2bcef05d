//! Authentication extractors: [`PlatformAuth`] (an API key) and [`AdminAuth`] (the admin token).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use hookline_core::platform::Platform;
use hookline_core::secret::{ApiKey, KeyHash};

use crate::{ApiError, AppState};

/// The platform whose API key authenticated the request. Every platform-scoped handler takes one, so
/// tenant scoping cannot be forgotten.
pub(crate) struct PlatformAuth(pub Platform);

/// Proof that the request carried the admin token.
pub(crate) struct AdminAuth;

/// Recently seen API keys (by hash) and their platforms, so a busy publisher costs no database read per
/// request. Entries live `KEY_CACHE_TTL`: keys cannot be revoked yet, and when they can, revocation must
/// clear this cache. Unknown keys are never cached, so a new key works at once.
#[derive(Default)]
pub(crate) struct KeyCache {
    entries: std::sync::Mutex<std::collections::HashMap<KeyHash, (Platform, std::time::Instant)>>,
}

const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);
const KEY_CACHE_MAX: usize = 10_000;

impl KeyCache {
    fn get(&self, hash: &KeyHash) -> Option<Platform> {
        let entries = self.entries.lock().ok()?;
        let (platform, at) = entries.get(hash)?;
        (at.elapsed() < KEY_CACHE_TTL).then(|| platform.clone())
    }

    fn put(&self, hash: KeyHash, platform: Platform) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= KEY_CACHE_MAX {
                entries.retain(|_, (_, at)| at.elapsed() < KEY_CACHE_TTL);
                if entries.len() >= KEY_CACHE_MAX {
                    entries.clear();
                }
            }
            entries.insert(hash, (platform, std::time::Instant::now()));
        }
    }
}

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
        platform_for_key(state, token).await.map(Self)
    }
}

/// The platform an API key belongs to; the dashboard's sign-in uses this too.
pub(crate) async fn platform_for_key(state: &AppState, token: &str) -> Result<Platform, ApiError> {
    if !token.starts_with(ApiKey::PREFIX) || token.len() > 200 {
        return Err(ApiError::Unauthorized("unknown API key"));
    }
    // Only the hash is looked up, so the key itself never reaches the database or a log line.
    let hash = ApiKey::from_presented(token).hash();
    if let Some(platform) = state.inner.key_cache.get(&hash) {
        return Ok(platform);
    }
    match state.inner.store.platform_by_key(hash.clone()).await? {
        Some(platform) => {
            state.inner.key_cache.put(hash, platform.clone());
            Ok(platform)
        }
        None => Err(ApiError::Unauthorized("unknown API key")),
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
