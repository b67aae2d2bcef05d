//! [`AdminStore`]: what the admin token and key management reach: platforms (list, read, update, delete with
//! everything they own), a platform's API keys (create, list, revoke, read-only, last use), and the re-encryption
//! of webhook secrets under the current secrets key.

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::ids::PlatformId;
use hookline_core::platform::Platform;
use hookline_core::secret::KeyHash;

use crate::{Page, StoreResult};

/// An API key as stored: never the key, only its hash and what its owner may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// `key_` + the first 16 hex digits of the key's hash: names the key in the API without revealing it.
    pub id: String,
    /// The platform it belongs to.
    pub platform_id: PlatformId,
    /// Its owner's name for it.
    pub name: String,
    /// The first characters of the key (`hk_` and four more), so its owner can recognise it; empty for keys made
    /// before prefixes were kept.
    pub prefix: String,
    /// A read-only key may only read (`GET`).
    pub read_only: bool,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it last authenticated a request, to the minute.
    pub last_used_at: Option<Timestamp>,
}

impl ApiKeyRecord {
    /// The id of the key whose hash is `hash`.
    pub fn id_for(hash: &KeyHash) -> String {
        format!("key_{}", hash.0.get(..16).unwrap_or(&hash.0))
    }
}

/// The admin's and the keys' operations.
#[async_trait]
pub trait AdminStore: Send + Sync + 'static {
    /// A page of every platform, by id.
    async fn list_platforms(&self, page: Page) -> StoreResult<Vec<Platform>>;

    /// One platform; `NotFound` if there is none.
    async fn get_platform(&self, id: &PlatformId) -> StoreResult<Platform>;

    /// Replaces a platform's name, URL and email (its id and creation time stay); `NotFound` if there is none.
    async fn update_platform(&self, platform: Platform) -> StoreResult<()>;

    /// Deletes a platform and everything it owns: keys, event types, webhooks, events, deliveries, attempts,
    /// notices, inboxes and their requests, dashboard sessions and portal links. `NotFound` if there is none.
    async fn delete_platform(&self, id: &PlatformId) -> StoreResult<()>;

    /// Stores a new key of a platform (by its hash); `NotFound` if the platform does not exist.
    async fn create_api_key(&self, key: ApiKeyRecord, hash: KeyHash) -> StoreResult<()>;

    /// The platform's keys, oldest first.
    async fn list_api_keys(&self, platform: &PlatformId) -> StoreResult<Vec<ApiKeyRecord>>;

    /// The key with this hash and its platform, if the key exists.
    async fn api_key_by_hash(&self, hash: KeyHash) -> StoreResult<Option<(Platform, ApiKeyRecord)>>;

    /// Deletes one of the platform's keys; `NotFound` if it is not the platform's.
    async fn revoke_api_key(&self, platform: &PlatformId, id: &str) -> StoreResult<()>;

    /// Records the first characters of key `id` (for the key made with its platform, whose creation knows only
    /// its hash).
    async fn set_api_key_prefix(&self, id: &str, prefix: &str) -> StoreResult<()>;

    /// Records that a key was used at `at` (callers do this at most once a minute per key).
    async fn touch_api_key(&self, id: &str, at: Timestamp) -> StoreResult<()>;

    /// Re-encrypts up to `limit` webhooks whose secrets are not sealed with the current secrets key (plaintext
    /// rows written before encryption, or rows sealed with a previous key); returns how many it rewrote, so
    /// callers repeat until 0. A row changed meanwhile (a rotation) is skipped and found again by the next call.
    async fn reencrypt_secrets(&self, limit: usize) -> StoreResult<usize>;
}
