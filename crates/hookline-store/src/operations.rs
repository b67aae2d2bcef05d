//! [`OperationsStore`]: what running the service needs besides serving requests: a write probe for `/readyz`,
//! retention (pruning old rows in small batches), the oldest pending delivery for `/metrics`, and the counts
//! the configured limits are checked against.

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::ids::PlatformId;

use crate::StoreResult;

/// What one retention batch deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Events deleted (each with all its deliveries and attempts).
    pub events: u64,
    /// Deliveries deleted with their events.
    pub deliveries: u64,
    /// Attempts deleted with their deliveries.
    pub attempts: u64,
    /// Captured inbox requests deleted.
    pub inbox_requests: u64,
}

impl Pruned {
    /// Whether the batch deleted fewer rows of each kind than `batch`: nothing older is left, so the pruner may
    /// rest until its next round.
    pub fn is_last(&self, batch: usize) -> bool {
        self.events < batch as u64 && self.inbox_requests < batch as u64
    }
}

/// Operations on the store as a whole, for the binary's background tasks, `/readyz` and `/metrics`.
#[async_trait]
pub trait OperationsStore: Send + Sync + 'static {
    /// Writes a little (a row of `write_probe`, larger than a page, then undone): fails with
    /// `StoreError::Unavailable` while the database cannot take writes (disk full, locked, read-only).
    async fn probe_write(&self) -> StoreResult<()>;

    /// Deletes, in one short transaction, at most `batch` events created before `before` whose deliveries are
    /// all finished (none `pending` or `held`), with their deliveries and attempts, and at most `batch`
    /// captured inbox requests received before `before`. An event with a delivery still to send is never
    /// deleted, however old.
    async fn prune_before(&self, before: Timestamp, batch: usize) -> StoreResult<Pruned>;

    /// When the oldest delivery still `pending` was created, if any (`/metrics` shows its age).
    async fn oldest_pending_delivery(&self) -> StoreResult<Option<Timestamp>>;

    /// How many webhooks `platform` has (checked against `limits.max_webhooks` before creating one).
    async fn webhook_count(&self, platform: &PlatformId) -> StoreResult<u64>;
}
