//! Deliveries and attempts: one event to one webhook, and each HTTP try of it.

use std::time::Duration;

use crate::Timestamp;
use crate::ids::{AttemptId, DeliveryId, EventId, WebhookId};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or in flight).
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Retries are exhausted, or it was given up.
    Failed,
    /// Its webhook is disabled; kept until the webhook is enabled again, then sent oldest first.
    Held,
}

impl DeliveryStatus {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Held => "held",
        }
    }

    /// Parses a stored or requested name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "failed" => Some(Self::Failed),
            "held" => Some(Self::Held),
            _ => None,
        }
    }
}

/// Why an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The receiver answered, but not 2xx (including 3xx: redirects are not followed).
    Status,
    /// No complete answer within the timeout.
    Timeout,
    /// The TCP connection could not be made, or broke.
    Connect,
    /// The TLS handshake failed.
    Tls,
    /// The host name did not resolve.
    Dns,
    /// The SSRF guard refused the destination address.
    Blocked,
}

impl FailureKind {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Tls => "tls",
            Self::Dns => "dns",
            Self::Blocked => "blocked",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Status, Self::Timeout, Self::Connect, Self::Tls, Self::Dns, Self::Blocked]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// What one attempt came to. A receiver's failure is data, never an `Err`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// A 2xx answer within the timeout.
    Delivered {
        /// The status code.
        status: u16,
    },
    /// Anything else.
    Failed {
        /// What went wrong.
        kind: FailureKind,
        /// The status code, when the receiver answered.
        status: Option<u16>,
        /// A short description for the attempt log (never contains secrets).
        message: String,
        /// The receiver's `Retry-After`, when it sent one with a 429 or 503.
        retry_after: Option<Duration>,
    },
}

impl AttemptOutcome {
    /// Whether the attempt succeeded.
    pub fn is_delivered(&self) -> bool {
        matches!(self, Self::Delivered { .. })
    }

    /// The HTTP status, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Delivered { status } => Some(*status),
            Self::Failed { status, .. } => *status,
        }
    }
}

/// A finished attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Its id.
    pub id: AttemptId,
    /// The delivery it belongs to.
    pub delivery_id: DeliveryId,
    /// 1 for the first attempt.
    pub attempt_number: u32,
    /// When the request started.
    pub started_at: Timestamp,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// The HTTP status, when the receiver answered.
    pub status: Option<u16>,
    /// Why it failed, when it did.
    pub error_kind: Option<FailureKind>,
    /// A short description of the failure.
    pub error_message: Option<String>,
    /// The start of the response body, capped (UTF-8, lossy).
    pub response_excerpt: String,
    /// The request's headers, every one as sent. `None`: nothing was sent (the destination was refused before
    /// connecting), or the attempt was recorded before hookline kept headers.
    pub request_headers: Option<crate::headers::HeaderList>,
    /// The response's headers, bounded. `None`: no answer came, or it was recorded before hookline kept them.
    pub response_headers: Option<crate::headers::HeaderList>,
}

/// A stored delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id.
    pub id: DeliveryId,
    /// The event.
    pub event_id: EventId,
    /// The event's type.
    pub event_type: String,
    /// The webhook.
    pub webhook_id: WebhookId,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// How many attempts were made.
    pub attempt_count: u32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<Timestamp>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Everything the dispatcher needs to attempt one delivery, loaded with the claim so no further reads happen
/// on the hot path. The body is shared by every delivery of the same event.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    /// The delivery.
    pub delivery_id: DeliveryId,
    /// Its platform.
    pub platform_id: crate::ids::PlatformId,
    /// The webhook it goes to.
    pub webhook_id: WebhookId,
    /// The webhook's URL.
    pub url: crate::webhook::WebhookUrl,
    /// The webhook's signing secrets at claim time.
    pub secrets: crate::webhook::SigningSecrets,
    /// The event id (also `webhook-id`).
    pub event_id: EventId,
    /// The event type.
    pub event_type: String,
    /// The delivery body, rendered once per event.
    pub body: std::sync::Arc<[u8]>,
    /// The number this attempt will have (1 for the first).
    pub attempt_number: u32,
    /// The webhook's own in-flight limit, if it set one.
    pub concurrency: Option<u32>,
    /// The webhook's own rate limit (attempts started per second), if it set one.
    pub rate_limit: Option<u32>,
}

/// The `User-Agent` of every delivery.
pub const USER_AGENT: &str = concat!("hookline/", env!("CARGO_PKG_VERSION"));

impl DeliveryJob {
    /// The contract's request headers of this attempt, signed at `now`, in the order they are sent (names
    /// lowercase). The engine POSTs with them; a `hookline listen` stream hands exactly these to the CLI, so a
    /// forwarded request is signed as a real delivery is.
    pub fn request_headers(&self, now: Timestamp) -> Vec<(&'static str, String)> {
        let signature = crate::signing::sign(&self.secrets, self.event_id.as_str(), now, &self.body);
        vec![
            ("content-type", "application/json".to_owned()),
            ("user-agent", USER_AGENT.to_owned()),
            ("x-tradly-signature", signature.tradly_signature),
            ("webhook-id", self.event_id.as_str().to_owned()),
            ("webhook-timestamp", signature.webhook_timestamp),
            ("webhook-signature", signature.webhook_signature),
            ("x-tradly-event", self.event_type.clone()),
            ("x-tradly-delivery", self.delivery_id.as_str().to_owned()),
            ("x-tradly-attempt", self.attempt_number.to_string()),
        ]
    }
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// It was delivered.
    Delivered,
    /// Try again at this time.
    RetryAt(Timestamp),
    /// Retries are exhausted.
    Failed,
    /// The receiver answered 410 Gone: disable the webhook at once (Standard Webhooks' rule) and hold this
    /// delivery with the webhook's others.
    Gone,
}

impl NextStep {
    /// What follows `outcome` of attempt `attempts_made`, by `policy`, at `now` with `jitter` in `[-1, 1]`.
    pub fn after(
        policy: &crate::retry::RetryPolicy,
        attempts_made: u32,
        outcome: &AttemptOutcome,
        now: Timestamp,
        jitter: f64,
    ) -> Self {
        match outcome {
            AttemptOutcome::Delivered { .. } => Self::Delivered,
            AttemptOutcome::Failed { status: Some(410), .. } => Self::Gone,
            failed => match crate::retry::next_attempt_at(policy, attempts_made, failed, now, jitter) {
                Some(at) => Self::RetryAt(at),
                None => Self::Failed,
            },
        }
    }
}

/// When failures turn into consequences: disabling a webhook, and telling its platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailurePolicy {
    /// A webhook whose every attempt failed for this long is disabled.
    pub disable_after: Duration,
    /// At most one "deliveries failed" email per webhook per this window: failures after one was sent are
    /// gathered into the next, sent when the window ends.
    pub notify_window: Duration,
    /// A webhook whose every attempt has failed for this long is reported once (`webhook_failing`), and its
    /// recovery after that once more (`webhook_recovered`).
    pub notify_after: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::RetryPolicy;

    fn failed(status: Option<u16>) -> AttemptOutcome {
        AttemptOutcome::Failed { kind: FailureKind::Status, status, message: String::new(), retry_after: None }
    }

    #[test]
    fn next_step_table() {
        let policy = RetryPolicy { schedule: vec![Duration::from_secs(5)], retry_after_cap: Duration::from_secs(60) };
        let now = Timestamp::from_unix_millis(0);
        let step = |attempts, outcome: &AttemptOutcome| NextStep::after(&policy, attempts, outcome, now, 0.0);
        assert_eq!(step(1, &AttemptOutcome::Delivered { status: 204 }), NextStep::Delivered);
        assert_eq!(step(1, &failed(Some(500))), NextStep::RetryAt(Timestamp::from_unix_millis(5000)));
        assert_eq!(step(2, &failed(Some(500))), NextStep::Failed);
        assert_eq!(step(1, &failed(Some(410))), NextStep::Gone, "410 disables at once, whatever the schedule");
        assert_eq!(step(1, &failed(None)), NextStep::RetryAt(Timestamp::from_unix_millis(5000)));
    }
}

impl Default for FailurePolicy {
    fn default() -> Self {
        Self {
            disable_after: Duration::from_secs(3 * 86_400),
            notify_window: Duration::from_secs(3600),
            notify_after: Duration::from_secs(15 * 60),
        }
    }
}

/// A finished attempt and its consequence, as handed to the store.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    /// The attempt.
    pub attempt: Attempt,
    /// The delivery's next state.
    pub next: NextStep,
}
