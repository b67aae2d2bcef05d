//! Wire types of `/v1/inboxes`: inboxes, what they answer, and the requests they capture.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/inboxes`: everything is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInbox {
    /// What the inbox answers (default: 200, empty body, no delay).
    #[serde(default)]
    pub response: Option<InboxResponseSpec>,
    /// How long the inbox lives, as a duration like `30m`, `12h` or `7d` (default from the server's config, at
    /// most 30 days).
    #[serde(default)]
    pub expires_in: Option<String>,
}

/// `PATCH /v1/inboxes/{id}`: a new response.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateInbox {
    /// What the inbox answers from now on; absent fields keep their current values.
    pub response: InboxResponseSpec,
}

/// What an inbox answers, as sent by the client: absent fields take their defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboxResponseSpec {
    /// HTTP status, 100 to 599 (default 200).
    #[serde(default)]
    pub status: Option<u16>,
    /// The body (default empty; at most 64 KiB).
    #[serde(default)]
    pub body: Option<String>,
    /// Its `Content-Type` (default `text/plain; charset=utf-8`).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Wait this long before answering, 0 to 30000 ms (default 0).
    #[serde(default)]
    pub delay_ms: Option<u32>,
}

/// What an inbox answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InboxResponse {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
    /// Its `Content-Type`.
    pub content_type: String,
    /// Delay before answering, in milliseconds.
    pub delay_ms: u32,
}

/// An inbox: a URL that captures whatever is sent to it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Inbox {
    /// `inb_…`.
    pub id: String,
    /// The capture URL, `<public_url>/in/{id}`: send anything there (any method, sub-path and query).
    pub url: String,
    /// What it answers.
    pub response: InboxResponse,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339: it stops capturing then, and is deleted with its requests.
    pub expires_at: String,
}

/// One captured request. The same shape in `GET /v1/inboxes/{id}/requests` and in the live stream.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CapturedRequest {
    /// `req_…`.
    pub id: String,
    /// The inbox.
    pub inbox_id: String,
    /// The HTTP method.
    pub method: String,
    /// The path after the inbox URL, `/` when none.
    pub path: String,
    /// The query string without `?`, empty when none.
    pub query: String,
    /// Every header as `[name, value]`, in the order received.
    pub headers: Vec<[String; 2]>,
    /// The body as text when it is UTF-8 (cut at the server's limit when `body_truncated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body in base64 when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// Whether the body was cut at the server's limit.
    pub body_truncated: bool,
    /// The full body size in bytes.
    pub size: u64,
    /// RFC 3339.
    pub received_at: String,
    /// The address it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// `true`: the signature verifies; `false`: it does not (see `verification`); `null`: no signature header.
    pub verified: Option<bool>,
    /// Why, for a signed request; `null` when unsigned.
    pub verification: Option<Verification>,
}

/// The explanation of a signature verdict.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Verification {
    /// `verified`, `header_missing`, `malformed_header`, `timestamp_out_of_tolerance`, `body_changed`,
    /// `rotated_out_secret`, `wrong_secret` or `no_secret`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// The webhook the verdict concerns, when one is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<String>,
}
