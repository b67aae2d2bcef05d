//! `AdminStore` for PostgreSQL: platforms, API keys, and the re-encryption of webhook secrets. The twin of
//! `sqlite/admin.rs`.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use hookline_core::Timestamp;
use hookline_core::ids::PlatformId;
use hookline_core::platform::Platform;
use hookline_core::secret::KeyHash;

use hookline_store::policy::page_limit;
use hookline_store::{AdminStore, ApiKeyRecord, Page, SecretCipher, StoreError, StoreResult, decode, statements};

use crate::error::DbResult;
use crate::rows::PgRow;
use crate::{PgStore, execute, query, query_opt};

/// At open: every stored secret must open with the configured keys (see `SecretCipher::check`).
pub(crate) async fn check_secrets<C: GenericClient>(client: &C, secrets: &SecretCipher) -> DbResult<()> {
    let rows = query(client, statements::ALL_SECRETS.postgres(), &[]).await?;
    let stored = rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect::<DbResult<Vec<_>>>()?;
    secrets.check(stored).map_err(StoreError::from)?;
    Ok(())
}

#[async_trait]
impl AdminStore for PgStore {
    async fn list_platforms(&self, page: Page) -> StoreResult<Vec<Platform>> {
        let client = self.client().await?;
        let rows = query(&client, statements::LIST_PLATFORMS.postgres(), &[&page.after, &page_limit(&page)]).await?;
        rows.iter().map(|row| decode::platform(&PgRow(row))).collect()
    }

    async fn get_platform(&self, id: &PlatformId) -> StoreResult<Platform> {
        let client = self.client().await?;
        let row = query_opt(&client, statements::PLATFORM_BY_ID.postgres(), &[&id.as_str()]).await?;
        decode::platform(&PgRow(&row.ok_or(StoreError::NotFound)?))
    }

    async fn update_platform(&self, platform: Platform) -> StoreResult<()> {
        let client = self.client().await?;
        let changed = execute(
            &client,
            statements::UPDATE_PLATFORM.postgres(),
            &[&platform.id.as_str(), &platform.name, &platform.url, &platform.email],
        )
        .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_platform(&self, id: &PlatformId) -> StoreResult<()> {
        let id = id.as_str();
        transaction!(self, |tx| {
            // Locks the platform's row first, so a concurrent create of a key or webhook for it waits or fails.
            let found = query_opt(&tx, "SELECT id FROM platforms WHERE id = $1 FOR UPDATE", &[&id]).await?;
            if found.is_none() {
                return Err(StoreError::NotFound.into());
            }
            for statement in statements::DELETE_PLATFORM {
                execute(&tx, statement.postgres(), &[&id]).await?;
            }
            Ok(())
        })
    }

    async fn create_api_key(&self, key: ApiKeyRecord, hash: KeyHash) -> StoreResult<()> {
        transaction!(self, |tx| {
            let platform = key.platform_id.as_str();
            let found = query_opt(&tx, "SELECT id FROM platforms WHERE id = $1 FOR SHARE", &[&platform]).await?;
            if found.is_none() {
                return Err(StoreError::NotFound.into());
            }
            execute(
                &tx,
                statements::INSERT_NAMED_API_KEY.postgres(),
                &[&hash.0, &platform, &key.created_at.unix_millis(), &key.id, &key.name, &key.prefix, &key.read_only],
            )
            .await?;
            Ok(())
        })
    }

    async fn list_api_keys(&self, platform: &PlatformId) -> StoreResult<Vec<ApiKeyRecord>> {
        let client = self.client().await?;
        let rows = query(&client, statements::LIST_API_KEYS.postgres(), &[&platform.as_str()]).await?;
        rows.iter().map(|row| decode::api_key(&PgRow(row))).collect()
    }

    async fn api_key_by_hash(&self, hash: KeyHash) -> StoreResult<Option<(Platform, ApiKeyRecord)>> {
        let client = self.client().await?;
        let row = query_opt(&client, statements::API_KEY_BY_HASH.postgres(), &[&hash.0]).await?;
        row.map(|row| decode::api_key_and_platform(&PgRow(&row))).transpose()
    }

    async fn revoke_api_key(&self, platform: &PlatformId, id: &str) -> StoreResult<()> {
        let client = self.client().await?;
        let deleted = execute(&client, statements::REVOKE_API_KEY.postgres(), &[&platform.as_str(), &id]).await?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn set_api_key_prefix(&self, id: &str, prefix: &str) -> StoreResult<()> {
        let client = self.client().await?;
        execute(&client, statements::SET_API_KEY_PREFIX.postgres(), &[&id, &prefix]).await?;
        Ok(())
    }

    async fn touch_api_key(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        let client = self.client().await?;
        execute(&client, statements::TOUCH_API_KEY.postgres(), &[&id, &at.unix_millis()]).await?;
        Ok(())
    }

    async fn reencrypt_secrets(&self, limit: usize) -> StoreResult<usize> {
        let Some(pattern) = self.secrets.current_pattern() else { return Ok(0) };
        let limit = limit.min(i64::MAX as usize) as i64;
        let secrets = &self.secrets;
        transaction!(self, |tx| {
            let rows = query(&tx, statements::SECRETS_TO_REENCRYPT.postgres(), &[&pattern, &limit]).await?;
            let mut rewritten = 0;
            for row in &rows {
                let (id, current, previous): (String, String, Option<String>) =
                    (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                let sealed = secrets.seal(&id, &secrets.open(&id, current.clone())?)?;
                let sealed_previous = match &previous {
                    Some(stored) => Some(secrets.seal(&id, &secrets.open(&id, stored.clone())?)?),
                    None => None,
                };
                rewritten += execute(
                    &tx,
                    statements::REENCRYPT_SECRET.postgres(),
                    &[&id, &sealed, &sealed_previous, &current, &previous],
                )
                .await? as usize;
            }
            Ok(rewritten)
        })
    }
}
