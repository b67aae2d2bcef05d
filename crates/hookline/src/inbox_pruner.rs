//! The inbox pruner: a background task that deletes expired inboxes with their captured requests, and
//! `hookline listen`'s listeners idle for longer than `hookline_api::LISTENER_IDLE_EXPIRY` (no stream open, no
//! answer reported) with their deliveries.
//!
//! Expired inboxes are already invisible (the store compares `expires_at` with the time of each call); pruning
//! gives their space back. It runs on every node: the deletes are idempotent, and on PostgreSQL two nodes
//! pruning at once simply find less to do.

use std::sync::Arc;
use std::time::Duration;

use hookline_core::Timestamp;
use hookline_store::Store;
use tokio_util::sync::CancellationToken;

/// Prunes every `interval` until `shutdown` is cancelled. A failed prune is logged and tried again at the next
/// tick: nothing depends on it happening at a precise time.
pub async fn run(store: Arc<dyn Store>, interval: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticks.tick() => {}
        }
        match store.prune_inboxes(Timestamp::now()).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "expired inboxes deleted"),
            Err(error) => tracing::warn!(error = ?error, "pruning expired inboxes failed"),
        }
        let idle_since = Timestamp::from_unix_millis(
            Timestamp::now().unix_millis() - hookline_api::LISTENER_IDLE_EXPIRY.as_millis() as i64,
        );
        match store.prune_listeners(idle_since).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "idle listeners deleted"),
            Err(error) => tracing::warn!(error = ?error, "pruning idle listeners failed"),
        }
    }
    tracing::debug!("inbox pruner stopped");
}
