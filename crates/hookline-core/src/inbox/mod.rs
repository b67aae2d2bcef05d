//! Inboxes: test bins hosted by hookline itself (like webhook.site). An inbox has a public URL
//! (`<public_url>/in/<id>`) that captures whatever is sent to it, and answers with a configured response.
//!
//! This module holds the domain values (an [`Inbox`], a [`CapturedRequest`] and its [`Verdict`]), the checks of
//! what a platform may configure ([`InboxResponse::new`]), and [`InboxBase`], which tells this server's own
//! inbox URLs from every other URL: the one exception the SSRF guard and the URL policy make.

mod base;
mod verdict;

use crate::ids::{InboxId, PlatformId, RequestId, WebhookId};
use crate::{Timestamp, ValidationError};

pub use self::base::InboxBase;
pub use self::verdict::{VERIFY_TOLERANCE_SECONDS, WebhookSecrets, verdict};

/// The longest an inbox may delay its answer, as on webhook.site.
pub const MAX_DELAY_MS: u32 = 30_000;

/// The largest configured response body, in bytes.
pub const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// What an inbox answers to every request it captures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxResponse {
    /// The HTTP status (100 to 599).
    pub status: u16,
    /// The body, sent as is.
    pub body: String,
    /// The `Content-Type` of the body.
    pub content_type: String,
    /// How long to wait before answering, in milliseconds (at most [`MAX_DELAY_MS`]).
    pub delay_ms: u32,
}

impl Default for InboxResponse {
    fn default() -> Self {
        Self { status: 200, body: String::new(), content_type: "text/plain; charset=utf-8".to_owned(), delay_ms: 0 }
    }
}

impl InboxResponse {
    /// Validates a configured response; absent parts take the defaults (200, empty body, text/plain, no delay).
    /// Field names in errors are those of the request body (`response.status`, …).
    pub fn new(
        status: Option<u16>,
        body: Option<String>,
        content_type: Option<String>,
        delay_ms: Option<u32>,
    ) -> Result<Self, ValidationError> {
        let defaults = Self::default();
        let status = status.unwrap_or(defaults.status);
        if !(100..=599).contains(&status) {
            return Err(ValidationError::new("response.status", "must be an HTTP status from 100 to 599"));
        }
        let body = body.unwrap_or_default();
        if body.len() > MAX_RESPONSE_BODY {
            return Err(ValidationError::new("response.body", "must be at most 65536 bytes"));
        }
        let content_type = content_type.map(|c| c.trim().to_owned()).unwrap_or(defaults.content_type);
        // It becomes a header value: printable ASCII only, so nothing can split or inject headers.
        if content_type.is_empty()
            || content_type.len() > 200
            || !content_type.bytes().all(|b| (0x20..0x7f).contains(&b))
        {
            return Err(ValidationError::new("response.content_type", "must be 1 to 200 printable ASCII characters"));
        }
        let delay_ms = delay_ms.unwrap_or(0);
        if delay_ms > MAX_DELAY_MS {
            return Err(ValidationError::new("response.delay_ms", "must be between 0 and 30000 (30 s)"));
        }
        Ok(Self { status, body, content_type, delay_ms })
    }
}

/// A stored inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbox {
    /// Its id; unguessable, since it is also the capability to send to the inbox.
    pub id: InboxId,
    /// The platform that owns it (and whose webhooks' secrets verify its captures).
    pub platform_id: PlatformId,
    /// What it answers.
    pub response: InboxResponse,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops capturing and is pruned.
    pub expires_at: Timestamp,
}

/// One request an inbox captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedRequest {
    /// Its id.
    pub id: RequestId,
    /// The inbox that captured it.
    pub inbox_id: InboxId,
    /// Its position in the inbox, given by the store when it is captured: strictly increasing in commit order,
    /// across nodes, so a live stream can follow an inbox by cursor without missing a request. 0 before then.
    pub seq: i64,
    /// The HTTP method.
    pub method: String,
    /// The path after the inbox's URL (`/` when none), as sent.
    pub path: String,
    /// The query string without `?` (empty when none), as sent.
    pub query: String,
    /// Every header in the order received; values that are not UTF-8 are kept lossily.
    pub headers: Vec<(String, String)>,
    /// The body, cut at the configured size.
    pub body: Vec<u8>,
    /// Whether the body was cut.
    pub body_truncated: bool,
    /// The body's full size in bytes.
    pub size: u64,
    /// When it arrived.
    pub received_at: Timestamp,
    /// The peer address it came from.
    pub source_ip: Option<String>,
    /// The signature verdict, computed when it arrived.
    pub verdict: Verdict,
}

/// Whether a captured request's signature verifies, and why not. Computed at capture time against the secrets
/// of the platform's webhooks that point at the inbox, as they were then.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// `Some(true)` verified, `Some(false)` failed, `None` unsigned (no signature header).
    pub verified: Option<bool>,
    /// What was found, for signed requests; `None` when unsigned.
    pub note: Option<VerdictNote>,
}

/// The explanation of a verdict on a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictNote {
    /// `verified`, or a failure code (`header_missing`, `malformed_header`, `timestamp_out_of_tolerance`,
    /// `body_changed`, `rotated_out_secret`, `wrong_secret`, `no_secret`).
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// The webhook the verdict concerns, when one is known.
    pub webhook_id: Option<WebhookId>,
}

#[cfg(test)]
mod tests;
