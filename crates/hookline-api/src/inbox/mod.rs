//! What the inbox routes share: their settings ([`InboxConfig`]), the per-inbox capture rate limit, and the hub
//! that wakes this node's live streams when a request is captured.

mod limiter;

use std::time::Duration;

use hookline_core::ids::InboxId;
use hookline_core::inbox::InboxBase;
use tokio::sync::broadcast;

pub(crate) use self::limiter::CaptureLimiter;

/// The inboxes' settings (the `[inbox]` section of the configuration).
#[derive(Debug, Clone)]
pub struct InboxConfig {
    /// The public URL inbox URLs hang from (`http.public_url`, default `http://<listen address>`).
    pub base: InboxBase,
    /// Captured bodies are kept up to this many bytes; a larger one is cut and marked `body_truncated`.
    pub max_body_bytes: usize,
    /// How long an inbox lives when created without `expires_in`.
    pub expire_after: Duration,
    /// The longest `expires_in` accepted.
    pub max_expire_after: Duration,
    /// How many requests each inbox keeps (the newest).
    pub max_requests: usize,
    /// Captures per second per inbox, on average.
    pub capture_rate: u32,
    /// Captures per inbox allowed in a burst above the rate.
    pub capture_burst: u32,
    /// How often a live stream looks in the store for captures other nodes made.
    pub stream_poll: Duration,
    /// How long one live stream lasts before it ends with `event: end`; clients reconnect with `Last-Event-ID`
    /// (EventSource does so by itself) and lose nothing. Bounds what a forgotten client holds.
    pub stream_max: Duration,
}

impl Default for InboxConfig {
    fn default() -> Self {
        Self {
            // A literal that parses: `InboxBase::parse` accepts any http URL with a host.
            #[allow(clippy::expect_used)]
            base: InboxBase::parse("http://127.0.0.1:8080").expect("a literal http URL parses"),
            max_body_bytes: 256 * 1024,
            expire_after: Duration::from_secs(7 * 24 * 3600),
            max_expire_after: Duration::from_secs(30 * 24 * 3600),
            max_requests: 500,
            capture_rate: 20,
            capture_burst: 40,
            stream_poll: Duration::from_secs(1),
            stream_max: Duration::from_secs(15 * 60),
        }
    }
}

/// The inboxes' shared state in the API.
pub(crate) struct Inboxes {
    pub config: InboxConfig,
    pub limiter: CaptureLimiter,
    /// Each capture on this node sends its inbox id; live streams of that inbox look in the store at once instead
    /// of at their next poll. A lagging receiver just looks in the store: the store, not this channel, says
    /// what was captured.
    pub captured: broadcast::Sender<InboxId>,
}

impl Inboxes {
    pub fn new(config: InboxConfig) -> Self {
        let limiter = CaptureLimiter::new(config.capture_rate, config.capture_burst);
        let (captured, _) = broadcast::channel(1024);
        Self { config, limiter, captured }
    }
}
