//! `impl ListenStore for PgStore`: as its SQLite twin (`sqlite/listen.rs`). A claim locks the rows it takes with
//! `SKIP LOCKED`, so two streams of one listener (or two nodes) never take the same delivery.

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::delivery::DeliveryJob;
use hookline_core::ids::{DeliveryId, PlatformId, WebhookId};
use hookline_store::decode;
use hookline_store::listen::{
    LISTENER_EXISTS, LISTENER_JOB, PRUNE_LISTENER_ATTEMPTS, PRUNE_LISTENER_DELIVERIES, PRUNE_LISTENERS, TOUCH_LISTENER,
};
use hookline_store::{ListenStore, StoreError, StoreResult};

use crate::error::database;
use crate::rows::PgRow;
use crate::{PgStore, execute, fanout, query, query_opt};

#[async_trait]
impl ListenStore for PgStore {
    async fn claim_listener_deliveries(
        &self,
        platform: &PlatformId,
        listener: &WebhookId,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<DeliveryJob>> {
        let (platform, listener) = (platform.as_str(), listener.as_str());
        let (now, limit) = (now.unix_millis(), limit.min(i64::MAX as usize) as i64);
        transaction!(self, |tx| {
            if query_opt(&tx, LISTENER_EXISTS.postgres(), &[&platform, &listener]).await?.is_none() {
                return Err(StoreError::NotFound.into());
            }
            // `GREATEST` ignores a NULL lease; written as in the `deliveries_claimable` index.
            let picked: Vec<String> = query(
                &tx,
                "SELECT id FROM deliveries WHERE webhook_id = $1 AND status = 'pending' \
                 AND GREATEST(next_attempt_at, leased_until) <= $2 \
                 ORDER BY GREATEST(next_attempt_at, leased_until), id LIMIT $3 FOR UPDATE SKIP LOCKED",
                &[&listener, &now, &limit],
            )
            .await?
            .iter()
            .map(|row| row.try_get(0).map_err(database))
            .collect::<Result<_, _>>()?;
            if picked.is_empty() {
                return Ok(Vec::new());
            }
            let ids: Vec<&str> = picked.iter().map(String::as_str).collect();
            fanout::lease_jobs(&tx, &ids, lease_until, &self.secrets).await
        })
    }

    async fn listener_job(
        &self,
        platform: &PlatformId,
        listener: &WebhookId,
        delivery: &DeliveryId,
    ) -> StoreResult<DeliveryJob> {
        let client = self.client().await?;
        let row =
            query_opt(&client, LISTENER_JOB.postgres(), &[&platform.as_str(), &listener.as_str(), &delivery.as_str()])
                .await?
                .ok_or(StoreError::NotFound)?;
        decode::job(&PgRow(&row), &mut decode::Bodies::new(), &self.secrets)
    }

    async fn touch_listener(&self, platform: &PlatformId, listener: &WebhookId, now: Timestamp) -> StoreResult<()> {
        let client = self.client().await?;
        let touched =
            execute(&client, TOUCH_LISTENER.postgres(), &[&platform.as_str(), &listener.as_str(), &now.unix_millis()])
                .await?;
        if touched == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn prune_listeners(&self, idle_since: Timestamp) -> StoreResult<u64> {
        let idle_since = idle_since.unix_millis();
        transaction!(self, |tx| {
            execute(&tx, PRUNE_LISTENER_ATTEMPTS.postgres(), &[&idle_since]).await?;
            execute(&tx, PRUNE_LISTENER_DELIVERIES.postgres(), &[&idle_since]).await?;
            execute(&tx, PRUNE_LISTENERS.postgres(), &[&idle_since]).await
        })
    }
}
