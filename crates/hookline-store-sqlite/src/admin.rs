//! `AdminStore` for SQLite: platforms, API keys, and the re-encryption of webhook secrets.

use std::sync::Arc;

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::ids::PlatformId;
use hookline_core::platform::Platform;
use hookline_core::secret::KeyHash;
use rusqlite::{Connection, OptionalExtension, params};

use hookline_store::policy::page_limit;
use hookline_store::{AdminStore, ApiKeyRecord, Page, SecretCipher, StoreError, StoreResult, decode, statements};

use crate::SqliteStore;
use crate::error::DbResult;
use crate::queries::collect;
use crate::rows::lift;

/// At open: every stored secret must open with the configured keys (see `SecretCipher::check`).
pub(crate) fn check_secrets(conn: &Connection, secrets: &SecretCipher) -> DbResult<()> {
    let mut statement = conn.prepare(statements::ALL_SECRETS.sqlite())?;
    let rows: Vec<(String, String)> =
        statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<Result<_, _>>()?;
    secrets.check(rows).map_err(StoreError::from)?;
    Ok(())
}

#[async_trait]
impl AdminStore for SqliteStore {
    async fn list_platforms(&self, page: Page) -> StoreResult<Vec<Platform>> {
        self.read(move |conn| {
            let mut statement = conn.prepare_cached(statements::LIST_PLATFORMS.sqlite())?;
            collect(statement.query_map(params![page.after, page_limit(&page)], lift(decode::platform))?)
        })
        .await
    }

    async fn get_platform(&self, id: &PlatformId) -> StoreResult<Platform> {
        let id = id.to_string();
        self.read(move |conn| {
            conn.prepare_cached(statements::PLATFORM_BY_ID.sqlite())?
                .query_row([id], lift(decode::platform))
                .optional()?
                .ok_or(StoreError::NotFound)?
        })
        .await
    }

    async fn update_platform(&self, platform: Platform) -> StoreResult<()> {
        self.write(move |conn| {
            let changed = conn.prepare_cached(statements::UPDATE_PLATFORM.sqlite())?.execute(params![
                platform.id.as_str(),
                platform.name,
                platform.url,
                platform.email
            ])?;
            if changed == 0 {
                return Err(StoreError::NotFound.into());
            }
            Ok(())
        })
        .await
    }

    async fn delete_platform(&self, id: &PlatformId) -> StoreResult<()> {
        let id = id.to_string();
        self.write(move |conn| {
            let exists = conn
                .prepare_cached(statements::PLATFORM_BY_ID.sqlite())?
                .query_row([&id], |_| Ok(()))
                .optional()?
                .is_some();
            if !exists {
                return Err(StoreError::NotFound.into());
            }
            for statement in statements::DELETE_PLATFORM {
                conn.prepare_cached(statement.sqlite())?.execute([&id])?;
            }
            Ok(())
        })
        .await
    }

    async fn create_api_key(&self, key: ApiKeyRecord, hash: KeyHash) -> StoreResult<()> {
        self.write(move |conn| {
            let exists = conn
                .prepare_cached(statements::PLATFORM_BY_ID.sqlite())?
                .query_row([key.platform_id.as_str()], |_| Ok(()))
                .optional()?
                .is_some();
            if !exists {
                return Err(StoreError::NotFound.into());
            }
            conn.prepare_cached(statements::INSERT_NAMED_API_KEY.sqlite())?.execute(params![
                hash.0,
                key.platform_id.as_str(),
                key.created_at.unix_millis(),
                key.id,
                key.name,
                key.prefix,
                key.read_only
            ])?;
            Ok(())
        })
        .await
    }

    async fn list_api_keys(&self, platform: &PlatformId) -> StoreResult<Vec<ApiKeyRecord>> {
        let platform = platform.to_string();
        self.read(move |conn| {
            let mut statement = conn.prepare_cached(statements::LIST_API_KEYS.sqlite())?;
            collect(statement.query_map([platform], lift(decode::api_key))?)
        })
        .await
    }

    async fn api_key_by_hash(&self, hash: KeyHash) -> StoreResult<Option<(Platform, ApiKeyRecord)>> {
        self.read(move |conn| {
            conn.prepare_cached(statements::API_KEY_BY_HASH.sqlite())?
                .query_row([hash.0], lift(decode::api_key_and_platform))
                .optional()?
                .transpose()
        })
        .await
    }

    async fn revoke_api_key(&self, platform: &PlatformId, id: &str) -> StoreResult<()> {
        let (platform, id) = (platform.to_string(), id.to_owned());
        self.write(move |conn| {
            let deleted = conn.prepare_cached(statements::REVOKE_API_KEY.sqlite())?.execute(params![platform, id])?;
            if deleted == 0 {
                return Err(StoreError::NotFound.into());
            }
            Ok(())
        })
        .await
    }

    async fn set_api_key_prefix(&self, id: &str, prefix: &str) -> StoreResult<()> {
        let (id, prefix) = (id.to_owned(), prefix.to_owned());
        self.write(move |conn| {
            conn.prepare_cached(statements::SET_API_KEY_PREFIX.sqlite())?.execute(params![id, prefix])?;
            Ok(())
        })
        .await
    }

    async fn touch_api_key(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        let id = id.to_owned();
        self.write_background(move |conn| {
            conn.prepare_cached(statements::TOUCH_API_KEY.sqlite())?.execute(params![id, at.unix_millis()])?;
            Ok(())
        })
        .await
    }

    async fn reencrypt_secrets(&self, limit: usize) -> StoreResult<usize> {
        let Some(pattern) = self.secrets.current_pattern() else { return Ok(0) };
        let secrets = Arc::clone(&self.secrets);
        self.write_background(move |conn| {
            let rows: Vec<(String, String, Option<String>)> = conn
                .prepare_cached(statements::SECRETS_TO_REENCRYPT.sqlite())?
                .query_map(params![pattern, limit as i64], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<Result<_, _>>()?;
            let mut rewritten = 0;
            for (id, current, previous) in rows {
                let sealed = secrets.seal(&id, &secrets.open(&id, current.clone())?)?;
                let sealed_previous = match &previous {
                    Some(stored) => Some(secrets.seal(&id, &secrets.open(&id, stored.clone())?)?),
                    None => None,
                };
                rewritten += conn.prepare_cached(statements::REENCRYPT_SECRET.sqlite())?.execute(params![
                    id,
                    sealed,
                    sealed_previous,
                    current,
                    previous
                ])?;
            }
            Ok(rewritten)
        })
        .await
    }
}
