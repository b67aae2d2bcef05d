//! hookline's storage: the [`Store`] trait and its SQLite implementation.
//!
//! Invariants: this is the only crate that contains SQL. Nothing above it knows which backend is in use.
//! Every method that changes data either commits all of its change or none of it, and a method returns
//! `Ok` for a write only after that write is committed (durable per the configured `synchronous` level).

mod decode;
mod error;
mod policy;
pub mod postgres;
pub mod sqlite;
mod types;
pub mod ui;

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::delivery::{AttemptRecord, DeliveryJob, DeliveryStatus};
use hookline_core::event::{Event, NewEvent};
use hookline_core::ids::{DeliveryId, EventId, NotificationId, PlatformId, WebhookId};
use hookline_core::notification::Notification;
use hookline_core::platform::{EventType, Platform};
use hookline_core::secret::{KeyHash, Secret};
use hookline_core::webhook::Webhook;

pub use crate::error::StoreError;
pub use crate::postgres::{PgOptions, PgStore};
pub use crate::types::*;
pub use crate::ui::UiStore;

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// The storage interface. One implementation per backend; the conformance tests in `tests/` run against each.
///
/// Every method that takes a `platform` scopes its reads and writes to that platform: a record of another
/// platform is `NotFound`, never visible.
///
/// [`UiStore`] (the dashboard's storage) is a supertrait, so an `Arc<dyn Store>` upcasts to an
/// `Arc<dyn UiStore>` and every backend must implement both.
#[async_trait]
pub trait Store: UiStore + Send + Sync + 'static {
    /// Checks that the database answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// Creates a platform with its first API key (stored as a hash).
    async fn create_platform(&self, platform: Platform, key_hash: KeyHash) -> StoreResult<()>;

    /// The platform an API key belongs to.
    async fn platform_by_key(&self, key_hash: KeyHash) -> StoreResult<Option<Platform>>;

    /// The catalog: the built-in types followed by the platform's own, by name.
    async fn list_event_types(&self, platform: &PlatformId) -> StoreResult<Vec<EventType>>;

    /// Adds a custom type; `Conflict` when the name exists (built-in or custom).
    async fn create_event_type(&self, platform: &PlatformId, event_type: EventType, now: Timestamp) -> StoreResult<()>;

    /// Stores a new webhook; `UnknownEventType` when its filter names a type outside the catalog.
    async fn create_webhook(&self, webhook: Webhook) -> StoreResult<()>;

    /// A page of the platform's webhooks, oldest first.
    async fn list_webhooks(&self, platform: &PlatformId, page: Page) -> StoreResult<Vec<Webhook>>;

    /// One webhook.
    async fn get_webhook(&self, platform: &PlatformId, id: &WebhookId) -> StoreResult<Webhook>;

    /// Applies a partial update and returns the result. Disabling holds the webhook's pending deliveries;
    /// enabling makes every held one due now (they go out oldest first).
    async fn update_webhook(
        &self,
        platform: &PlatformId,
        id: &WebhookId,
        patch: WebhookPatch,
        now: Timestamp,
    ) -> StoreResult<Webhook>;

    /// Deletes a webhook with its deliveries and their attempts.
    async fn delete_webhook(&self, platform: &PlatformId, id: &WebhookId) -> StoreResult<()>;

    /// Makes `new_secret` current; the old one keeps signing `webhook-signature` until `overlap_until`.
    async fn rotate_secret(
        &self,
        platform: &PlatformId,
        id: &WebhookId,
        new_secret: Secret,
        overlap_until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Webhook>;

    /// Stores the event and one pending delivery per matching enabled webhook in one transaction. With
    /// `lease_until`, the new deliveries are leased to the caller until then and returned as jobs, so the
    /// caller dispatches them at once; if it dies, the lease expires and any node's poller takes them. Without
    /// (the caller has no room for more jobs), they are left unleased and due now, for a poller to claim, and
    /// no jobs are returned. Publishing an id that
    /// exists returns the stored event, `created: false`, and no jobs. Disabled webhooks that match get a
    /// `held` delivery instead of a job. With `Target::Only`, the event goes to that one webhook whatever its
    /// filter (a test send); `NotFound` if it is not the platform's.
    async fn publish_event(
        &self,
        platform: &PlatformId,
        event: NewEvent,
        target: Target,
        now: Timestamp,
        lease_until: Option<Timestamp>,
    ) -> StoreResult<Published>;

    /// A page of the platform's events, newest first.
    async fn list_events(&self, platform: &PlatformId, page: Page) -> StoreResult<Vec<Event>>;

    /// One event with its deliveries.
    async fn get_event(&self, platform: &PlatformId, id: &EventId) -> StoreResult<(Event, Vec<DeliverySummary>)>;

    /// A page of a webhook's deliveries, newest first, optionally of one status.
    async fn list_deliveries(
        &self,
        platform: &PlatformId,
        webhook: &WebhookId,
        status: Option<DeliveryStatus>,
        page: Page,
    ) -> StoreResult<Vec<DeliverySummary>>;

    /// One delivery with all its attempts, oldest first.
    async fn get_delivery(&self, platform: &PlatformId, id: &DeliveryId) -> StoreResult<DeliveryDetail>;

    /// Makes a delivery due now, leased to the caller, and returns its job. `Conflict` while it is in flight
    /// or when its webhook is disabled.
    async fn retry_delivery(
        &self,
        platform: &PlatformId,
        id: &DeliveryId,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<DeliveryJob>;

    /// Leases pending deliveries that are due and not leased, of enabled webhooks: per webhook (skipping
    /// `request.skip`) at most `per_webhook` of its oldest due, and at most `limit` in all, so one webhook's
    /// backlog never crowds out the others.
    async fn claim_due(&self, request: ClaimRequest) -> StoreResult<Vec<DeliveryJob>>;

    /// Records finished attempts and moves each delivery on (delivered, rescheduled, failed or held),
    /// releasing its lease, and applies the failure policy in the same transaction: tracks since when each
    /// webhook has failed, disables it (410 Gone, or failing for `disable_after`), queues failure notices (one
    /// per webhook per window, plus one per disable), and publishes the operational events `delivery.failed`,
    /// `webhook.disabled` and `webhook.recovered`, whose new deliveries come back leased in the outcome.
    /// Attempts for deliveries that no longer exist (webhook deleted) are dropped.
    async fn record_attempts(&self, records: Vec<AttemptRecord>, context: RecordContext) -> StoreResult<RecordOutcome>;

    /// Makes every failed delivery of a webhook created at or after `since` due now, without a lease (the
    /// poller sends them); returns how many. `Conflict` when the webhook is disabled.
    async fn recover_webhook(
        &self,
        platform: &PlatformId,
        id: &WebhookId,
        since: Timestamp,
        now: Timestamp,
    ) -> StoreResult<usize>;

    /// A page of the platform's failure notices, newest first.
    async fn list_notifications(&self, platform: &PlatformId, page: Page) -> StoreResult<Vec<Notification>>;

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

    /// Extends the leases of deliveries this node still holds (queued or in flight) to `lease_until`, so a
    /// job that waits in memory longer than one lease is not claimed again. Returns how many were renewed.
    async fn renew_leases(&self, deliveries: Vec<DeliveryId>, lease_until: Timestamp) -> StoreResult<u64>;

    /// Gives leases back without an attempt (shutdown, or a full queue), so the deliveries are due again.
    async fn release(&self, deliveries: Vec<DeliveryId>) -> StoreResult<()>;
}
