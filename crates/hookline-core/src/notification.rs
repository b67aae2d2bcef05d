//! Failure notices: what hookline tells a platform's registered address when deliveries fail.

use crate::Timestamp;
use crate::ids::{NotificationId, PlatformId, WebhookId};

/// Why a notice was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// Deliveries of a webhook exhausted their retries. At most one is sent per webhook per window; every
    /// such delivery is counted in exactly one.
    DeliveriesFailed,
    /// A webhook was disabled by hookline (every attempt failing for the window, or 410 Gone).
    WebhookDisabled,
    /// Every attempt to a webhook has failed for `failure.notify_after`: sent once per failing streak.
    WebhookFailing,
    /// A webhook delivered again after its owner was told it was failing.
    WebhookRecovered,
}

impl NotificationKind {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeliveriesFailed => "deliveries_failed",
            Self::WebhookDisabled => "webhook_disabled",
            Self::WebhookFailing => "webhook_failing",
            Self::WebhookRecovered => "webhook_recovered",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::DeliveriesFailed, Self::WebhookDisabled, Self::WebhookFailing, Self::WebhookRecovered]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// Where a notice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationStatus {
    /// Waiting to be sent (or to be retried).
    Pending,
    /// Accepted by the SMTP server.
    Sent,
    /// No SMTP server is configured: written to the log instead.
    Logged,
    /// Every send failed; given up.
    Failed,
}

impl NotificationStatus {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Logged => "logged",
            Self::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::Logged, Self::Failed].into_iter().find(|s| s.as_str() == text)
    }
}

/// A failure notice with everything its email says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its id.
    pub id: NotificationId,
    /// The platform told.
    pub platform_id: PlatformId,
    /// The webhook it is about.
    pub webhook_id: WebhookId,
    /// Why.
    pub kind: NotificationKind,
    /// The platform's registered address.
    pub recipient: String,
    /// The platform's public URL, named in the subject.
    pub platform_url: String,
    /// The webhook's URL.
    pub webhook_url: String,
    /// `DeliveriesFailed`: how many deliveries failed for good (each is counted in exactly one notice);
    /// `WebhookDisabled`: how many did not get through (failed or held); `WebhookFailing`: how many are
    /// waiting for a retry; `WebhookRecovered`: 0.
    pub failed_count: u32,
    /// Their event types (distinct, first seen first).
    pub event_types: Vec<String>,
    /// The first few failed event ids.
    pub event_ids: Vec<String>,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// Why the webhook was disabled (`WebhookDisabled`), or since when it has been failing (`WebhookFailing`,
    /// `WebhookRecovered`).
    pub reason: Option<String>,
    /// Where it stands.
    pub status: NotificationStatus,
    /// Send attempts so far.
    pub attempts: u32,
    /// The last send error.
    pub send_error: Option<String>,
    /// The subject it was sent with (once sent).
    pub subject: Option<String>,
    /// When it was raised.
    pub created_at: Timestamp,
    /// When it was sent.
    pub sent_at: Option<Timestamp>,
}

/// How many event ids a notice lists.
pub const MAX_LISTED_EVENTS: usize = 10;
