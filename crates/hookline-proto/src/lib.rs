//! The `/v1` wire types: what clients send and receive as JSON.
//!
//! API BOUNDARY: a change here is a change of the public API. Field names follow DESIGN.md's contract. This
//! crate holds data shapes only: no validation (that is `hookline-core`, at the edge in `hookline-api`), no
//! conversions to domain types (those live in `hookline-api`).

mod inbox;
mod listen;
mod portal;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

pub use crate::inbox::*;
pub use crate::listen::*;
pub use crate::portal::{CreatePortalLink, PortalLink};

/// The body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code, e.g. `validation_failed`, `not_found`, `unauthorized`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// The request field at fault, for validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A page of results.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct List<T> {
    /// The items.
    pub data: Vec<T>,
    /// Pass as `?after=` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `POST /v1/platforms` (admin token).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePlatform {
    /// Display name.
    pub name: String,
    /// Public URL, named in failure emails (e.g. `https://tradly.app`).
    pub url: String,
    /// Where failure emails go.
    pub email: String,
}

/// `PATCH /v1/platforms/{id}` (admin token): absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePlatform {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Public URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Where failure emails go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `POST /v1/api-keys`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// A name to recognise it by (1 to 100 characters).
    pub name: String,
    /// A read-only key may only make `GET` requests.
    #[serde(default)]
    pub read_only: bool,
}

/// An API key; `key` only in the create response (it is shown once and stored only as a hash).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    /// `key_…`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The key's first characters followed by `…` (e.g. `hk_abcd…`), to recognise it.
    pub prefix: String,
    /// Whether it may only make `GET` requests.
    pub read_only: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, to the minute; absent if never used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    /// The key itself, only when it is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// A platform; `api_key` only in the create response (it is shown once).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Platform {
    /// `plt_…`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Public URL.
    pub url: String,
    /// Failure-email address.
    pub email: String,
    /// The API key, shown once at creation and stored only as a hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

/// An event-type catalog entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventType {
    /// `name.verb`.
    pub name: String,
    /// One line for people.
    pub description: String,
    /// Built in: one of the 14 Tradly types or an operational type.
    pub built_in: bool,
    /// Published by hookline about your webhooks (`webhook.disabled`, `delivery.failed`, `webhook.recovered`);
    /// delivered only to webhooks that name it (`*` leaves these out).
    pub operational: bool,
    /// A realistic `data` payload of this type (built-in types only), as `hookline trigger` publishes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub sample: Option<serde_json::Value>,
}

/// `POST /v1/event-types`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEventType {
    /// `name.verb`: lowercase segments of letters, digits and `_`.
    pub name: String,
    /// One line for people.
    #[serde(default)]
    pub description: String,
}

/// `POST /v1/webhooks`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// HTTPS URL (`http://` only in `--dev`).
    pub url: String,
    /// Event types from the catalog, or `["*"]` for all.
    pub events: Vec<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// At most this many attempts in flight to this webhook (1 to 256; default from the server's config).
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// At most this many attempts started per second to this webhook (1 to 10000), for a receiver with a rate
    /// limit: deliveries wait their turn, none is dropped. Default from the server's config (none).
    #[serde(default)]
    pub rate_limit: Option<u32>,
}

/// `PATCH /v1/webhooks/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    /// New URL.
    #[serde(default)]
    pub url: Option<String>,
    /// New filter.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// New description.
    #[serde(default)]
    pub description: Option<String>,
    /// Enable or disable. Enabling sends every held delivery, oldest first.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// New in-flight limit (1 to 256); `null` goes back to the default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u32>)]
    pub concurrency: Option<Option<u32>>,
    /// A new rate limit (attempts per second, 1 to 10000); `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u32>)]
    pub rate_limit: Option<Option<u32>>,
}

/// Tells "absent" (`None`) from "null" (`Some(None)`).
fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A webhook. `secret` appears only in the create response; `GET /v1/webhooks/{id}/secret` reads it later.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    /// `wh_…`.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// Subscribed types, or `["*"]`.
    pub events: Vec<String>,
    /// Free text.
    pub description: String,
    /// Whether deliveries are sent.
    pub enabled: bool,
    /// Why it is disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// Its own in-flight limit, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Its own rate limit (attempts started per second), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    /// Since when every attempt has failed (absent while it delivers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<String>,
    /// The signing secret (create response only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// `GET /v1/webhooks/{id}/secret` and `POST /v1/webhooks/{id}/rotate-secret`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookSecret {
    /// The current secret: it signs `X-Tradly-Signature` and `webhook-signature`.
    pub secret: String,
    /// While a rotation overlap lasts: when the previous secret stops signing `webhook-signature`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<String>,
}

/// `POST /v1/events`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishEvent {
    /// Idempotency key; generated (`evt_…`) when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// A type from the catalog.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Any JSON object; delivered byte for byte.
    #[schema(value_type = Object)]
    pub data: Box<RawValue>,
}

/// `POST /v1/webhooks/{id}/test`: optional type and data of the test event.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestWebhook {
    /// A type from the catalog; defaults to the webhook's first subscribed type.
    #[serde(default, rename = "type")]
    pub event_type: Option<String>,
    /// Defaults to `{"test": true}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Box<RawValue>>,
}

/// The 202 answer to a publish: the event and its deliveries are durably stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventAccepted {
    /// The event id.
    pub id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// RFC 3339.
    pub created_at: String,
    /// How many deliveries the event has.
    pub deliveries: usize,
}

/// An event; `deliveries` only on `GET /v1/events/{id}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// The event id.
    pub id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// RFC 3339.
    pub created_at: String,
    /// The data as published.
    #[schema(value_type = Object)]
    pub data: Box<RawValue>,
    /// Per-webhook delivery status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<Vec<Delivery>>,
}

/// A delivery: one event to one webhook.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// `dlv_…`.
    pub id: String,
    /// The event.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// The webhook.
    pub webhook_id: String,
    /// The webhook's URL.
    pub webhook_url: String,
    /// `pending`, `delivered`, `failed`, or `held` (its webhook is disabled; sent when it is enabled again).
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (pending only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    /// The last failed attempt's error; absent once the delivery is delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// `GET /v1/deliveries/{id}`: a delivery with its attempts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryDetail {
    /// The delivery.
    #[serde(flatten)]
    pub delivery: Delivery,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<Attempt>,
}

/// One HTTP attempt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Attempt {
    /// `att_…`.
    pub id: String,
    /// 1 for the first.
    pub attempt: u32,
    /// RFC 3339.
    pub started_at: String,
    /// Milliseconds.
    pub duration_ms: u64,
    /// The receiver's status code, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Why it failed: `status`, `timeout`, `connect`, `tls`, `dns` or `blocked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// A short description of the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The start of the response body (at most 4 KiB).
    pub response_excerpt: String,
    /// Every header of the request, as sent, as `[name, value]` in order (the signatures included: they are
    /// what the receiver got). Absent when nothing was sent (the destination was refused), or for an attempt
    /// recorded before hookline kept headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_headers: Option<Vec<[String; 2]>>,
    /// The response's headers as `[name, value]` in order: at most 64, and 8 KiB in all; the values of
    /// `set-cookie`, `cookie`, `authorization` and `proxy-authorization` read `(redacted)`. Absent when no
    /// answer came, or for an attempt recorded before hookline kept headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_headers: Option<Vec<[String; 2]>>,
    /// How many response headers were left out beyond those bounds.
    #[serde(default)]
    pub response_headers_omitted: u32,
}

/// `GET /healthz` and `GET /readyz`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, or what is wrong.
    pub status: String,
}

/// `POST /v1/webhooks/{id}/recover`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverWebhook {
    /// Re-send every failed delivery created at or after this time (RFC 3339).
    pub since: String,
}

/// The answer to a recover.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Recovered {
    /// How many failed deliveries were made due again.
    pub deliveries: usize,
}

/// A failure notice (email) sent to the platform's registered address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    /// `ntf_…`.
    pub id: String,
    /// The webhook it is about.
    pub webhook_id: String,
    /// The webhook's URL.
    pub webhook_url: String,
    /// `deliveries_failed`, `webhook_failing`, `webhook_recovered` or `webhook_disabled`.
    pub kind: String,
    /// The recipient.
    pub to: String,
    /// `pending`, `sent`, `logged` (no SMTP server configured) or `failed`.
    pub status: String,
    /// The subject it was sent with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// How many deliveries had failed.
    pub failed_count: u32,
    /// Their event types.
    pub event_types: Vec<String>,
    /// The first failed event ids.
    pub event_ids: Vec<String>,
    /// The last delivery error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Why the webhook was disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Send attempts.
    pub attempts: u32,
    /// The last send error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_error: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, once sent or logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
}
