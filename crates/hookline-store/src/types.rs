//! Plain types the store takes and returns beside the core domain types.

use hookline_core::delivery::{Attempt, Delivery, DeliveryJob};
use hookline_core::event::Event;
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
