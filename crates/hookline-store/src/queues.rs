//! The two queues the background workers use: the delivery engine's ([`DeliveryQueue`]) and the notifier's
//! ([`NoticeQueue`]). Each worker depends on its own trait only, so neither sees the API's operations.

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::delivery::{AttemptRecord, DeliveryJob};
use hookline_core::ids::{DeliveryId, NotificationId};
use hookline_core::notification::Notification;

use crate::{ClaimRequest, NotificationResult, RecordContext, RecordOutcome, StoreResult};

/// The delivery engine's view of the store: deliveries as a queue of leased jobs. Fresh jobs come from
/// publishing (an API operation); the engine claims the rest, renews what it holds, records what it sent and
/// gives back what it will not send.
#[async_trait]
pub trait DeliveryQueue: Send + Sync + 'static {
    /// backlog never crowds out the others.
    async fn claim_due(&self, request: ClaimRequest) -> StoreResult<Vec<DeliveryJob>>;

    /// Attempts for deliveries that no longer exist (webhook deleted) are dropped.
    async fn record_attempts(&self, records: Vec<AttemptRecord>, context: RecordContext) -> StoreResult<RecordOutcome>;

    /// job that waits in memory longer than one lease is not claimed again. Returns how many were renewed.
    async fn renew_leases(&self, deliveries: Vec<DeliveryId>, lease_until: Timestamp) -> StoreResult<u64>;

    /// Gives leases back without an attempt (shutdown, or a full queue), so the deliveries are due again.
    async fn release(&self, deliveries: Vec<DeliveryId>) -> StoreResult<()>;
}

/// The notifier's view of the store: failure notices as a queue. Recording decides when a notice is due (in
/// the transaction that records the failure); the notifier only sends and reports back.
#[async_trait]
pub trait NoticeQueue: Send + Sync + 'static {
    /// Leases up to `limit` notices that are due to be sent.
    async fn claim_notifications(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Notification>>;

    /// Records the outcome of sending a notice.
    async fn finish_notification(
        &self,
        id: &NotificationId,
        result: NotificationResult,
        now: Timestamp,
    ) -> StoreResult<()>;
}
