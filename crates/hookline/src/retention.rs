//! Retention: a background task that deletes events (with their deliveries and attempts) and captured inbox
//! requests older than `retention.max_age`, in small batches with a pause between them, so no transaction holds
//! a lock for long and publishing goes on meanwhile. Deliveries still to send (pending or held) and their
//! events are never deleted, however old. It runs on every node: on PostgreSQL two nodes pruning at once find
//! less to do each.

use std::sync::Arc;
use std::time::Duration;

use hookline_core::Timestamp;
use hookline_delivery::Engine;
use hookline_store::Store;
use tokio_util::sync::CancellationToken;

/// `[retention]`, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Rows older than this are deleted; `None`: kept for ever.
    pub max_age: Option<Duration>,
    /// Rows of each kind deleted per transaction.
    pub batch_size: usize,
    /// The wait between two batches of one round.
    pub pause: Duration,
    /// How often a round starts.
    pub interval: Duration,
}

/// Prunes a round every `interval` until `shutdown` is cancelled, counting what it deleted in the engine's
/// metrics. A failed batch is logged and the round ends: the next round tries again.
pub async fn run(store: Arc<dyn Store>, engine: Engine, retention: Retention, shutdown: CancellationToken) {
    let Some(max_age) = retention.max_age else { return };
    let mut ticks = tokio::time::interval(retention.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticks.tick() => {}
        }
        loop {
            let before = Timestamp::now().minus(max_age);
            match store.prune_before(before, retention.batch_size).await {
                Ok(pruned) => {
                    engine.metrics().retention.pruned(&pruned);
                    if pruned != hookline_store::Pruned::default() {
                        tracing::info!(
                            events = pruned.events,
                            deliveries = pruned.deliveries,
                            attempts = pruned.attempts,
                            inbox_requests = pruned.inbox_requests,
                            "retention pruned old rows"
                        );
                    }
                    if pruned.is_last(retention.batch_size) {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = ?error, "retention pruning failed; trying again next round");
                    break;
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(retention.pause) => {}
            }
        }
    }
    tracing::debug!("retention pruner stopped");
}
