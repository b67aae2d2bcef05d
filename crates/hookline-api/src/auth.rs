//! Authentication extractors: [`PlatformAuth`] (an API key) and [`AdminAuth`] (the admin token).

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;
use hookline_core::Timestamp;
use hookline_core::platform::Platform;
use hookline_core::secret::{ApiKey, KeyHash};
use hookline_store::ApiKeyRecord;

use crate::{ApiError, AppState};

/// The platform whose API key authenticated the request. Every platform-scoped handler takes one, so
/// tenant scoping cannot be forgotten.
pub(crate) struct PlatformAuth(pub Platform);

/// Proof that the request carried the admin token.
pub(crate) struct AdminAuth;

/// Recently seen API keys (by hash) with their platform and record, so a busy publisher costs at most one
/// database read per key per second on each node. Entries live [`KEY_CACHE_TTL`] (1 s): a revoked key stops
/// working within a second on every node, and at once on the node that revoked it (which clears its cache).
/// Unknown keys are never cached, so a new key works at once.
#[derive(Default)]
pub(crate) struct KeyCache {
    entries: std::sync::Mutex<std::collections::HashMap<KeyHash, (Platform, ApiKeyRecord, std::time::Instant)>>,
    /// When this node last recorded each key's use: `last_used_at` is written at most once a minute per key
    /// per node, never on every request.
    touched: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

/// How long a key stays cached: the bound on how late a revocation takes effect on another node.
pub(crate) const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);
const KEY_CACHE_MAX: usize = 10_000;
const TOUCH_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl KeyCache {
    fn get(&self, hash: &KeyHash) -> Option<(Platform, ApiKeyRecord)> {
        let entries = self.entries.lock().ok()?;
        let (platform, key, at) = entries.get(hash)?;
        (at.elapsed() < KEY_CACHE_TTL).then(|| (platform.clone(), key.clone()))
    }

    fn put(&self, hash: KeyHash, platform: Platform, key: ApiKeyRecord) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= KEY_CACHE_MAX {
                entries.retain(|_, (_, _, at)| at.elapsed() < KEY_CACHE_TTL);
                if entries.len() >= KEY_CACHE_MAX {
                    entries.clear();
                }
            }
            entries.insert(hash, (platform, key, std::time::Instant::now()));
        }
    }

    /// Forgets every cached key (after a revocation on this node).
    pub(crate) fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }

    /// Whether this node should record a use of key `id` now (and, if so, notes that it did).
    fn should_touch(&self, id: &str) -> bool {
        let Ok(mut touched) = self.touched.lock() else { return false };
        let now = std::time::Instant::now();
        match touched.get(id) {
            Some(at) if now.duration_since(*at) < TOUCH_EVERY => false,
            _ => {
                if touched.len() >= KEY_CACHE_MAX {
                    touched.retain(|_, at| now.duration_since(*at) < TOUCH_EVERY);
                }
                touched.insert(id.to_owned(), now);
                true
            }
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
        let (platform, key) = key_for_token(state, token).await?;
        // A read-only key reads: anything but GET (and HEAD) is refused, whatever the route.
        if key.read_only && !matches!(parts.method, Method::GET | Method::HEAD) {
            return Err(ApiError::Forbidden("this API key is read-only: it may only make GET requests"));
        }
        Ok(Self(platform))
    }
}

/// The platform an API key belongs to, and the key's record; the dashboard's sign-in uses this too.
pub(crate) async fn key_for_token(state: &AppState, token: &str) -> Result<(Platform, ApiKeyRecord), ApiError> {
    if !token.starts_with(ApiKey::PREFIX) || token.len() > 200 {
        return Err(ApiError::Unauthorized("unknown API key"));
    }
    // Only the hash is looked up, so the key itself never reaches the database or a log line.
    let hash = ApiKey::from_presented(token).hash();
    let cache = &state.inner.key_cache;
    let (platform, key) = match cache.get(&hash) {
        Some(found) => found,
        None => match state.inner.store.api_key_by_hash(hash.clone()).await? {
            Some((platform, key)) => {
                cache.put(hash, platform.clone(), key.clone());
                (platform, key)
            }
            None => return Err(ApiError::Unauthorized("unknown API key")),
        },
    };
    if cache.should_touch(&key.id) {
        // Off the request's path: a failed write only loses a last-use time.
        let (store, id) = (state.inner.store.clone(), key.id.clone());
        tokio::spawn(async move {
            if let Err(error) = store.touch_api_key(&id, Timestamp::now()).await {
                tracing::warn!(error = %error, "failed to record an API key's last use");
            }
        });
    }
    Ok((platform, key))
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
