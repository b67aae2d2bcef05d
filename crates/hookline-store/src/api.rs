//! [`ApiStore`]: the operations behind the HTTP API (and the `--dev` bootstrap): platforms, the event
//! catalog, webhooks, publishing, and reading events, deliveries and notices.

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::delivery::{DeliveryJob, DeliveryStatus};
use hookline_core::event::{Event, NewEvent};
use hookline_core::ids::{DeliveryId, EventId, PlatformId, WebhookId};
use hookline_core::notification::Notification;
use hookline_core::platform::{EventType, Platform};
use hookline_core::secret::{KeyHash, Secret};
use hookline_core::webhook::Webhook;

use crate::{DeliveryDetail, DeliverySummary, Page, Published, StoreResult, Target, WebhookPatch};

/// The API's operations. Every method that takes a `platform` scopes its reads and writes to that platform: a
/// record of another platform is `NotFound`, never visible.
#[async_trait]
pub trait ApiStore:
    crate::InboxStore
    + crate::ListenStore
    + crate::UiStore
    + crate::AdminStore
    + crate::OperationsStore
    + Send
    + Sync
    + 'static
{
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

    /// or when its webhook is disabled.
    async fn retry_delivery(
        &self,
        platform: &PlatformId,
        id: &DeliveryId,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<DeliveryJob>;

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
}
