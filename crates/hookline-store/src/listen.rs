//! [`ListenStore`]: `hookline listen`'s temporary subscriptions ("listeners"), on both backends.
//!
//! A listener is a webhook row with `listener` set, so fan-out, filters, event ids, the attempt log and the
//! failure policy treat it as any webhook. What differs: no engine ever holds its deliveries (publishing does
//! not lease them and `claim_due` skips listeners); the CLI's stream claims them here, oldest first, with the
//! same lease an engine takes, and the CLI's answer is recorded through `DeliveryQueue::record_attempts` like any
//! attempt, which clears the lease. Whatever the stream does not get to stays pending in the database, so a
//! disconnected CLI (or a restarted server) loses nothing: the next stream claims it.

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::delivery::DeliveryJob;
use hookline_core::ids::{DeliveryId, PlatformId, WebhookId};

use crate::StoreResult;
use crate::statements::{Statement, joined, joined_len, statement, text};

/// Listeners' deliveries and liveness.
#[async_trait]
pub trait ListenStore: Send + Sync + 'static {
    /// Leases up to `limit` of the listener's pending deliveries that are due and not leased (a lease that
    /// ended counts as none), oldest due first, until `lease_until`, and returns them as jobs. `NotFound` when
    /// the platform has no such listener (deleted, pruned, or an ordinary webhook).
    async fn claim_listener_deliveries(
        &self,
        platform: &PlatformId,
        listener: &WebhookId,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<DeliveryJob>>;

    /// The job of a delivery of the listener that is out with its CLI (pending and leased), to record the
    /// CLI's answer against; `NotFound` for any other delivery (another listener's, already answered, …).
    async fn listener_job(
        &self,
        platform: &PlatformId,
        listener: &WebhookId,
        delivery: &DeliveryId,
    ) -> StoreResult<DeliveryJob>;

    /// Notes that the listener's CLI was seen at `now` (a stream is open, or it answered); `NotFound` when the
    /// platform has no such listener.
    async fn touch_listener(&self, platform: &PlatformId, listener: &WebhookId, now: Timestamp) -> StoreResult<()>;

    /// Deletes every listener last seen before `idle_since` (or, never seen, created before it), with its
    /// deliveries and their attempts; returns how many listeners.
    async fn prune_listeners(&self, idle_since: Timestamp) -> StoreResult<u64>;
}

// ---- Statements both backends run (`listener` is an INTEGER 0/1 on SQLite, a BOOLEAN on PostgreSQL: both
// read it as a condition) ----

/// Whether `$2` is a listener of the platform `$1`.
pub const LISTENER_EXISTS: Statement =
    statement!("SELECT 1 FROM webhooks WHERE platform_id = $1 AND id = $2 AND listener");

/// A listener's CLI was seen at `$3`.
pub const TOUCH_LISTENER: Statement =
    statement!("UPDATE webhooks SET listener_seen_at = $3 WHERE platform_id = $1 AND id = $2 AND listener");

/// The job of delivery `$3` of listener `$2` (platform `$1`), if it is out with the CLI.
pub const LISTENER_JOB: Statement = statement!(
    "SELECT ",
    crate::decode::JOB_COLUMNS,
    " FROM deliveries d JOIN events e ON e.pk = d.event_pk JOIN webhooks w ON w.id = d.webhook_id \
     WHERE d.platform_id = $1 AND d.webhook_id = $2 AND d.id = $3 AND w.listener AND d.status = 'pending' \
     AND d.leased_until IS NOT NULL"
);

/// Idle listeners (seen before `$1`): the condition shared by the three statements of a prune.
macro_rules! idle {
    () => {
        "SELECT id FROM webhooks WHERE listener AND COALESCE(listener_seen_at, created_at) < $1"
    };
}

/// Prune, 1: the attempts of idle listeners' deliveries.
pub const PRUNE_LISTENER_ATTEMPTS: Statement = statement!(
    "DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE webhook_id IN (",
    idle!(),
    "))"
);

/// Prune, 2: idle listeners' deliveries.
pub const PRUNE_LISTENER_DELIVERIES: Statement =
    statement!("DELETE FROM deliveries WHERE webhook_id IN (", idle!(), ")");

/// Prune, 3: the idle listeners.
pub const PRUNE_LISTENERS: Statement =
    statement!("DELETE FROM webhooks WHERE listener AND COALESCE(listener_seen_at, created_at) < $1");
