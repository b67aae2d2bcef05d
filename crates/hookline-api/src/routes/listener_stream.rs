//! `GET /v1/listeners/{id}/stream`: a listener's deliveries as server-sent events, for `hookline listen`.
//!
//! The stream claims its listener's deliveries from the store as the engine claims a webhook's (pending, due,
//! not leased; leased for `delivery.lease`), oldest first, and sends each as the exact request a webhook would
//! receive, signed when it is sent. The CLI POSTs it to its local URL and reports the answer
//! (`POST /v1/listeners/{id}/results`), which records the attempt and clears the lease. So nothing lives only
//! in this stream: what it has not sent stays pending in the database, a delivery sent but never answered is
//! claimed again once its lease ends, and a CLI that reconnects (to this node or another, after a restart or
//! not) simply gets everything still pending. No `Last-Event-ID` is needed.
//!
//! It looks in the store when an event was published on this node (a broadcast of platform ids wakes it) and
//! otherwise every `inbox.stream_poll` (events published on other nodes, retries falling due). It ends with an
//! `event: end` when the listener is deleted or pruned, after `inbox.stream_max` (the CLI reconnects), or when
//! the server shuts down.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use hookline_core::Timestamp;
use hookline_core::delivery::DeliveryJob;
use hookline_core::ids::{PlatformId, WebhookId};
use hookline_store::{ApiStore, StoreError};

use super::listeners::listener_id;
use super::stream_wake::{Wake, end_event};
use crate::auth::PlatformAuth;
use crate::{ApiError, AppState, convert};

/// How many deliveries one claim takes at most: few, as each is leased from the moment it is claimed.
const BATCH: usize = 8;

/// How often an open stream marks its listener as seen (so the pruner leaves it alone).
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// One server-sent event of the stream, as an SSE client sees it (the OpenAPI schema of `text/event-stream`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Documentation only: the events are written by axum's `Sse`.
struct ListenerStreamEvent {
    /// `end` for the last event; absent for a delivery.
    event: Option<String>,
    /// A delivery as JSON (`ListenerDelivery`), or `{"reason": …}` for `end`.
    data: String,
    /// The delivery id.
    id: Option<String>,
    /// A reconnection delay, if the server sets one.
    retry: Option<u64>,
}

/// Streams the listener's deliveries as server-sent events: everything pending now, then each new one.
#[utoipa::path(get, path = "/v1/listeners/{id}/stream", tag = "listeners", params(("id" = String, Path)),
    responses((status = 200, description = "`text/event-stream`: one `data:` delivery (JSON: the signed request \
        to forward) per event; a last `event: end` when the listener is deleted, the server stops, or the stream \
        reaches its time limit (reconnect: nothing is lost)", body = ListenerStreamEvent,
        content_type = "text/event-stream"),
        (status = 404, body = hookline_proto::ErrorBody)))]
pub(super) async fn stream_deliveries(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = listener_id(&id)?;
    // Subscribed before the first claim, so an event published in between still wakes the stream.
    let published = state.inner.listen_wake.subscribe();
    let now = Timestamp::now();
    state.inner.store.touch_listener(&platform.id, &id, now).await?;
    let streamer = Streamer {
        store: Arc::clone(&state.inner.store),
        platform: platform.id.clone(),
        listener: id,
        pending: VecDeque::new(),
        wake: Wake::new(
            published,
            platform.id.clone(),
            state.inner.inboxes.config.stream_poll,
            state.inner.inboxes.config.stream_max,
            state.inner.shutdown.clone(),
        ),
        lease: state.inner.lease,
        touched: tokio::time::Instant::now(),
        ended: false,
    };
    let events = stream::unfold(streamer, |mut streamer| async move {
        let event = streamer.next_event().await?;
        Some((Ok(event), streamer))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// The state of one stream.
struct Streamer {
    store: Arc<dyn ApiStore>,
    platform: PlatformId,
    listener: WebhookId,
    /// Claimed, not yet sent.
    pending: VecDeque<DeliveryJob>,
    /// Woken by events published for the platform on this node; ends after `inbox.stream_max`.
    wake: Wake<PlatformId>,
    lease: Duration,
    /// When the listener was last marked as seen.
    touched: tokio::time::Instant,
    ended: bool,
}

impl Streamer {
    /// The next event to send, waiting for one; `None` once the stream is over.
    async fn next_event(&mut self) -> Option<Event> {
        if self.ended {
            return None;
        }
        loop {
            if let Some(job) = self.pending.pop_front() {
                let delivery = convert::listener_delivery(&job, Timestamp::now());
                let data = serde_json::to_string(&delivery).unwrap_or_default();
                return Some(Event::default().id(job.delivery_id.to_string()).data(data));
            }
            let now = Timestamp::now();
            if self.touched.elapsed() >= TOUCH_EVERY {
                self.touched = tokio::time::Instant::now();
                if let Err(StoreError::NotFound) = self.store.touch_listener(&self.platform, &self.listener, now).await
                {
                    return Some(self.end("the listener was deleted"));
                }
            }
            let lease_until = now.plus(self.lease);
            match self.store.claim_listener_deliveries(&self.platform, &self.listener, now, lease_until, BATCH).await {
                Ok(jobs) if !jobs.is_empty() => {
                    self.pending.extend(jobs);
                    continue;
                }
                Ok(_) => {}
                Err(StoreError::NotFound) => return Some(self.end("the listener was deleted")),
                // A store hiccup is not the end of the stream: look again at the next wake-up.
                Err(error) => {
                    tracing::warn!(error = ?error, webhook_id = %self.listener, "listener stream could not claim")
                }
            }
            if self.wake.expired() {
                return Some(self.end("the stream reached its time limit: reconnect to go on (nothing is lost)"));
            }
            if !self.wake.wait().await {
                return Some(self.end("the server is shutting down"));
            }
        }
    }

    fn end(&mut self, reason: &str) -> Event {
        self.ended = true;
        end_event(reason)
    }
}
