//! Wire types of `/v1/listeners`: `hookline listen`'s temporary subscriptions, the deliveries their stream
//! carries, and the answers the CLI reports back.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/listeners`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateListener {
    /// The local URL the CLI forwards to (shown in the attempt log and the dashboard; the server never sends to
    /// it). `http` or `https`; loopback and private addresses are fine: it is the user's own machine.
    pub forward_to: String,
    /// Subscribed types, or `["*"]` (the default).
    #[serde(default)]
    pub events: Option<Vec<String>>,
}

/// A listener: a temporary webhook whose deliveries stream to `hookline listen` instead of being POSTed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Listener {
    /// `wh_…` (a listener is a webhook: its deliveries and attempts are read with the usual routes).
    pub id: String,
    /// Where the CLI forwards.
    pub forward_to: String,
    /// Subscribed types, or `["*"]`.
    pub events: Vec<String>,
    /// The signing secret (create response only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// How long the listener outlives its last stream or answer before it is deleted, in seconds.
    pub idle_expiry_seconds: u64,
}

/// One delivery on a listener's stream: the exact request a webhook would receive, signed as a real delivery.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListenerDelivery {
    /// `dlv_…`.
    pub delivery_id: String,
    /// The event id (also `webhook-id`).
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// This attempt's number (1 for the first); report it back with the answer.
    pub attempt: u32,
    /// The request headers, `[name, value]`, to send as they are.
    pub headers: Vec<[String; 2]>,
    /// The raw request body, to send byte for byte (the signatures cover it).
    pub body: String,
}

/// `POST /v1/listeners/{id}/results`: what the local URL answered to one streamed delivery.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListenerResult {
    /// The delivery, as streamed.
    pub delivery_id: String,
    /// The attempt number, as streamed.
    pub attempt: u32,
    /// The local HTTP status, when it answered (2xx is a success; anything else a failed attempt).
    #[serde(default)]
    pub status: Option<u16>,
    /// Why there was no answer (connection refused, timeout, …), when there was none.
    #[serde(default)]
    pub error: Option<String>,
    /// `timeout` when the local URL did not answer in time; any other failure without a status is `connect`.
    #[serde(default)]
    pub timed_out: bool,
    /// How long the local request took, in milliseconds.
    #[serde(default)]
    pub duration_ms: u64,
    /// The start of the local response body (the server keeps at most its attempt-log limit).
    #[serde(default)]
    pub response_excerpt: Option<String>,
}
