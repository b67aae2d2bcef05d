//! What the dashboard needs from the store beyond [`crate::Store`]: sign-in sessions, one-time portal links,
//! per-webhook health counts, filtered event lists, and the size of a recovery before it runs.
//!
//! Sessions and portal links are stored server-side, by the SHA-256 of their random token only (the token
//! itself lives in the cookie or the URL), so a database dump signs nobody in, and every PostgreSQL node sees
//! the same sessions.

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::delivery::DeliveryStatus;
use hookline_core::event::Event;
use hookline_core::ids::{PlatformId, WebhookId};
use hookline_core::platform::Platform;
use hookline_core::secret::KeyHash;

use crate::{DeliverySummary, Page, StoreResult};

/// A signed-in browser, as the store returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The platform it is signed in to.
    pub platform: Platform,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// Which events a list shows; every field narrows it.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Only events of this type.
    pub event_type: Option<String>,
    /// Only events created at or after this time.
    pub since: Option<Timestamp>,
    /// Only events created before this time.
    pub until: Option<Timestamp>,
    /// Only events with at least one delivery in this status.
    pub status: Option<DeliveryStatus>,
    /// The page (newest first; the cursor is an event id).
    pub page: Page,
}

/// Which of a webhook's deliveries a list shows; every field narrows it.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    /// Only deliveries in this status.
    pub status: Option<DeliveryStatus>,
    /// Only deliveries created at or after this time.
    pub since: Option<Timestamp>,
    /// Only deliveries created before this time.
    pub until: Option<Timestamp>,
    /// The page (newest first; the cursor is a delivery id).
    pub page: Page,
}

/// How one webhook's deliveries finished recently, by clock hour (the recorder keeps hourly counters, so the
/// overview reads 24 rows per webhook instead of counting deliveries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookHealth {
    /// The webhook.
    pub webhook_id: WebhookId,
    /// Delivered in the current hour.
    pub delivered_1h: u64,
    /// Failed for good in the current hour.
    pub failed_1h: u64,
    /// Delivered in the current hour and the 23 before it.
    pub delivered_24h: u64,
    /// Failed for good in the current hour and the 23 before it.
    pub failed_24h: u64,
    /// Delivered and failed per hour, the current hour last (24 entries).
    pub hourly: Vec<(u64, u64)>,
}

/// Storage for the dashboard. Both backends implement it; the conformance stories in `tests/it/ui.rs` hold
/// them to the same behaviour.
#[async_trait]
pub trait UiStore: Send + Sync + 'static {
    /// Stores a new session under the hash of its token.
    async fn create_session(
        &self,
        token: KeyHash,
        platform: &PlatformId,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;

    /// The session with this token hash, if it exists and has not expired at `now`.
    async fn session(&self, token: KeyHash, now: Timestamp) -> StoreResult<Option<Session>>;

    /// Ends a session (sign-out); also removes sessions that expired before `now`. Unknown tokens are fine.
    async fn delete_session(&self, token: KeyHash, now: Timestamp) -> StoreResult<()>;

    /// Stores a one-time portal link under the hash of its token.
    async fn create_portal_link(
        &self,
        token: KeyHash,
        platform: &PlatformId,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;

    /// Uses up a portal link: returns its platform and deletes it in one step, so of two concurrent uses (on
    /// any nodes) exactly one gets the platform. `None` when unknown, used or expired.
    async fn consume_portal_link(&self, token: KeyHash, now: Timestamp) -> StoreResult<Option<PlatformId>>;

    /// Delivered and failed counts of each of the platform's webhooks, by clock hour: the hour `now` is in and
    /// the 23 before it. Webhooks without finished deliveries in that time are left out.
    async fn webhook_health(&self, platform: &PlatformId, now: Timestamp) -> StoreResult<Vec<WebhookHealth>>;

    /// The platform's events matching `query`, newest first.
    async fn search_events(&self, platform: &PlatformId, query: EventQuery) -> StoreResult<Vec<Event>>;

    /// A webhook's deliveries matching `query`, newest first; `NotFound` if the webhook is not the platform's.
    async fn search_deliveries(
        &self,
        platform: &PlatformId,
        webhook: &WebhookId,
        query: DeliveryQuery,
    ) -> StoreResult<Vec<DeliverySummary>>;

    /// How many deliveries `recover_webhook` with this `since` would send again now.
    async fn count_recoverable(
        &self,
        platform: &PlatformId,
        webhook: &WebhookId,
        since: Timestamp,
    ) -> StoreResult<usize>;
}

/// One hour in milliseconds: the overview chart's bucket.
pub const HOUR_MS: i64 = 3_600_000;

/// Folds `(webhook, hour, delivered, failed)` counter rows (`webhook_hourly`, hours since the epoch) into one
/// [`WebhookHealth`] per webhook, in the order first seen: bucket 23 is the hour `now` is in, bucket 0 the hour
/// 23 hours before it. Rows outside those 24 hours are ignored.
pub fn fold_health(rows: Vec<(String, i64, i64, i64)>, now: Timestamp) -> Vec<WebhookHealth> {
    let first_hour = crate::hourly::hour_of(now) - 23;
    let mut out: Vec<WebhookHealth> = Vec::new();
    for (webhook, hour, delivered, failed) in rows {
        let Ok(bucket) = usize::try_from(hour - first_hour) else { continue };
        if bucket > 23 {
            continue;
        }
        let Some(id) = WebhookId::parse(&webhook) else { continue };
        let index = match out.iter().position(|h| h.webhook_id == id) {
            Some(index) => index,
            None => {
                out.push(WebhookHealth {
                    webhook_id: id,
                    delivered_1h: 0,
                    failed_1h: 0,
                    delivered_24h: 0,
                    failed_24h: 0,
                    hourly: vec![(0, 0); 24],
                });
                out.len() - 1
            }
        };
        let health = &mut out[index];
        let (delivered, failed) = (u64::try_from(delivered).unwrap_or(0), u64::try_from(failed).unwrap_or(0));
        health.hourly[bucket].0 += delivered;
        health.hourly[bucket].1 += failed;
        health.delivered_24h += delivered;
        health.failed_24h += failed;
        if bucket == 23 {
            health.delivered_1h += delivered;
            health.failed_1h += failed;
        }
    }
    out
}

/// The first and last hour (since the epoch) of the 24 the overview shows at `now`, for
/// `statements::HOURLY_COUNTS`.
pub fn health_hours(now: Timestamp) -> (i64, i64) {
    let hour = crate::hourly::hour_of(now);
    (hour - 23, hour)
}

/// A SQL count as a `usize` (a count is never negative).
pub fn count(value: i64) -> usize {
    usize::try_from(value).unwrap_or(0)
}
