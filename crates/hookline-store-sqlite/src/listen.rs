//! `impl ListenStore for SqliteStore`: `hookline listen`'s listeners (see `hookline_store::listen`). Claims go
//! through the writer like the engine's, so a delivery is leased to one stream at a time.

use std::sync::Arc;

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::delivery::DeliveryJob;
use hookline_core::ids::{DeliveryId, PlatformId, WebhookId};
use hookline_store::decode;
use hookline_store::listen::{
    LISTENER_EXISTS, LISTENER_JOB, PRUNE_LISTENER_ATTEMPTS, PRUNE_LISTENER_DELIVERIES, PRUNE_LISTENERS, TOUCH_LISTENER,
};
use hookline_store::{ListenStore, StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, params};

use crate::SqliteStore;
use crate::error::DbResult;
use crate::queries::lease_jobs;
use crate::rows::SqliteRow;

fn require_listener(conn: &Connection, platform: &str, id: &str) -> DbResult<()> {
    let found =
        conn.prepare_cached(LISTENER_EXISTS.sqlite())?.query_row(params![platform, id], |_| Ok(())).optional()?;
    found.ok_or(StoreError::NotFound.into())
}

#[async_trait]
impl ListenStore for SqliteStore {
    async fn claim_listener_deliveries(
        &self,
        platform: &PlatformId,
        listener: &WebhookId,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<DeliveryJob>> {
        let (platform, listener) = (platform.to_string(), listener.to_string());
        self.write(move |conn| {
            require_listener(conn, &platform, &listener)?;
            // Written as in the `deliveries_claimable` index, so SQLite seeks straight to claimable work.
            lease_jobs(
                conn,
                "d.id IN (SELECT id FROM deliveries WHERE webhook_id = ?1 AND status = 'pending' \
                 AND max(next_attempt_at, ifnull(leased_until, 0)) <= ?2 \
                 ORDER BY max(next_attempt_at, ifnull(leased_until, 0)), id LIMIT ?3)",
                params![listener, now.unix_millis(), limit as i64],
                lease_until,
                &conn.secrets,
            )
        })
        .await
    }

    async fn listener_job(
        &self,
        platform: &PlatformId,
        listener: &WebhookId,
        delivery: &DeliveryId,
    ) -> StoreResult<DeliveryJob> {
        let (platform, listener, delivery) = (platform.to_string(), listener.to_string(), delivery.to_string());
        let secrets = Arc::clone(&self.secrets);
        self.read(move |conn| {
            let mut bodies = decode::Bodies::new();
            let job = conn
                .prepare_cached(LISTENER_JOB.sqlite())?
                .query_row(params![platform, listener, delivery], |row| {
                    Ok(decode::job(&SqliteRow(row), &mut bodies, &secrets))
                })
                .optional()?;
            Ok(job.ok_or(StoreError::NotFound)??)
        })
        .await
    }

    async fn touch_listener(&self, platform: &PlatformId, listener: &WebhookId, now: Timestamp) -> StoreResult<()> {
        let (platform, listener) = (platform.to_string(), listener.to_string());
        self.write(move |conn| {
            let touched = conn.prepare_cached(TOUCH_LISTENER.sqlite())?.execute(params![
                platform,
                listener,
                now.unix_millis()
            ])?;
            if touched == 0 {
                return Err(StoreError::NotFound.into());
            }
            Ok(())
        })
        .await
    }

    async fn prune_listeners(&self, idle_since: Timestamp) -> StoreResult<u64> {
        self.write_background(move |conn| {
            let idle_since = idle_since.unix_millis();
            conn.prepare_cached(PRUNE_LISTENER_ATTEMPTS.sqlite())?.execute([idle_since])?;
            conn.prepare_cached(PRUNE_LISTENER_DELIVERIES.sqlite())?.execute([idle_since])?;
            let pruned = conn.prepare_cached(PRUNE_LISTENERS.sqlite())?.execute([idle_since])?;
            Ok(pruned as u64)
        })
        .await
    }
}
