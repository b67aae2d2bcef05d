//! Plain types the store takes and returns beside the core domain types.

use hookline_core::Timestamp;
use hookline_core::delivery::{Attempt, Delivery, DeliveryJob, FailurePolicy};
use hookline_core::event::Event;
use hookline_core::ids::WebhookId;
use hookline_core::webhook::{EventFilter, WebhookUrl};

/// A page request: at most `limit` items after the cursor `after` (an id, exclusive).
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// How many items at most (the API clamps it).
    pub limit: usize,
    /// Continue after this id.
    pub after: Option<String>,
}

/// A partial webhook update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    /// A new URL.
    pub url: Option<WebhookUrl>,
    /// A new filter.
    pub events: Option<EventFilter>,
    /// A new description.
    pub description: Option<String>,
    /// Enable or disable; disabling by hand records the reason "disabled by the platform".
    pub enabled: Option<bool>,
    /// A new in-flight limit; `Some(None)` goes back to the default.
    pub concurrency: Option<Option<u32>>,
    /// A new rate limit (deliveries per second); `Some(None)` removes it.
    pub rate_limit: Option<Option<u32>>,
}

/// Which webhooks an event goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every webhook whose filter matches.
    Matching,
    /// Only this webhook, whatever its filter (test sends).
    Only(WebhookId),
    /// Every matching webhook but this one (operational events about it).
    AllExcept(WebhookId),
}

/// What the poller asks for.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    /// Due means `next_attempt_at <= now`; expired leases are those `<= now`.
    pub now: Timestamp,
    /// The new lease.
    pub lease_until: Timestamp,
    /// At most this many in all.
    pub limit: usize,
    /// At most this many per webhook.
    pub per_webhook: usize,
    /// Webhooks whose lanes are full: take nothing of theirs.
    pub skip: Vec<WebhookId>,
}

/// The policy and clock for recording attempts.
#[derive(Debug, Clone, Copy)]
pub struct RecordContext {
    /// The time of recording.
    pub now: Timestamp,
    /// The lease of operational-event deliveries created while recording.
    pub lease_until: Timestamp,
    /// When failures disable webhooks and raise notices.
    pub failure: FailurePolicy,
}

/// What recording set in motion.
#[derive(Debug, Clone, Default)]
pub struct RecordOutcome {
    /// Operational-event deliveries, leased, to dispatch now.
    pub jobs: Vec<DeliveryJob>,
    /// Webhooks disabled by this batch.
    pub disabled: Vec<WebhookId>,
    /// How many failure notices were queued.
    pub notices: usize,
}

/// The outcome of one send of a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationResult {
    /// The SMTP server accepted it, with this subject.
    Sent { subject: String },
    /// No SMTP server is configured; it was logged.
    Logged { subject: String },
    /// Sending failed; retry at `retry_at`, or give up when `None`.
    Failed { error: String, retry_at: Option<Timestamp> },
}

/// The result of publishing.
#[derive(Debug, Clone)]
pub struct Published {
    /// The stored event (the earlier one, for a repeated id).
    pub event: Event,
    /// Whether this call created it.
    pub created: bool,
    /// How many deliveries the event has.
    pub delivery_count: usize,
    /// The deliveries this call created, leased to the caller, ready to dispatch.
    pub jobs: Vec<DeliveryJob>,
}

/// A delivery with the webhook URL it targets, for lists and event details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverySummary {
    /// The delivery.
    pub delivery: Delivery,
    /// The webhook's URL.
    pub webhook_url: String,
    /// The last attempt's status or error, for a quick look.
    pub last_error: Option<String>,
}

/// A delivery with its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryDetail {
    /// The delivery and its webhook URL.
    pub summary: DeliverySummary,
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
}
