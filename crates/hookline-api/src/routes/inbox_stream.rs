//! `GET /v1/inboxes/{id}/requests/stream`: captured requests as server-sent events, as they arrive.
//!
//! How it works across nodes: the store numbers each inbox's captures in commit order (`seq`), and the stream
//! follows that number. It asks the store for what came after its cursor whenever this node captured for the
//! inbox (a broadcast wakes it at once) and otherwise every `inbox.stream_poll` (captures taken by other
//! nodes behind the same PostgreSQL). The store is the only source of what is sent, so a request is sent once,
//! in order, whichever node captured it. Polling was chosen over LISTEN/NOTIFY: it needs no connection held
//! outside the pool per node nor reconnect handling, works the same on SQLite, and costs one indexed query per
//! open stream per poll.
//!
//! Each event is `id: <seq>` and `data: <captured request JSON>` (the list item's shape); a client reconnecting
//! with `Last-Event-ID` resumes after it. The stream ends with an `event: end` when the inbox is deleted or
//! expires, when the client leaves (the stream is dropped), or when the server shuts down.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use hookline_core::Timestamp;
use hookline_core::ids::{InboxId, PlatformId};
use hookline_core::inbox::CapturedRequest;
use hookline_store::{ApiStore, Page, StoreError};

use super::stream_wake::{Wake, end_event};
use crate::auth::PlatformAuth;
use crate::ops::inboxes::inbox_id;
use crate::{ApiError, AppState, convert};

/// How many requests one look in the store takes at most (each may hold a body of `inbox.max_body_bytes`).
const BATCH: usize = 20;

/// One server-sent event of the stream, as an SSE client sees it (the OpenAPI schema of `text/event-stream`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Documentation only: the events are written by axum's `Sse`.
struct StreamEvent {
    /// `end` for the last event; absent for a captured request.
    event: Option<String>,
    /// A captured request as JSON (the shape of the list items), or `{"reason": …}` for `end`.
    data: String,
    /// The request's position in the inbox, for `Last-Event-ID`.
    id: Option<String>,
    /// A reconnection delay, if the server sets one.
    retry: Option<u64>,
}

/// Streams the inbox's captured requests as server-sent events, from now (or after `Last-Event-ID`).
#[utoipa::path(get, path = "/v1/inboxes/{id}/requests/stream", tag = "inboxes", params(("id" = String, Path)),
    responses((status = 200, description = "`text/event-stream`: one `data:` captured request (JSON) per event; \
        a last `event: end` when the inbox is deleted or expires", body = StreamEvent, content_type = "text/event-stream"),
        (status = 404, body = hookline_proto::ErrorBody)))]
pub(super) async fn stream_requests(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let json: Render =
        Arc::new(|request| serde_json::to_string(&convert::captured_request(request)).unwrap_or_default());
    follow(&state, platform.id, inbox_id(&id)?, &headers, json).await
}

/// Makes a captured request the `data:` of its event: JSON on `/v1`, a rendered row on the dashboard.
pub(crate) type Render = Arc<dyn Fn(CapturedRequest) -> String + Send + Sync>;

/// The live stream of the platform's inbox `id`, from now or after the `Last-Event-ID` in `headers`, each
/// request made an event's data by `render`. The one implementation behind the API's stream and the
/// dashboard's (`/ui/inboxes/{id}/stream`).
pub(crate) async fn follow(
    state: &AppState,
    platform: PlatformId,
    id: InboxId,
    headers: &HeaderMap,
    render: Render,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<>>, ApiError> {
    let store = Arc::clone(&state.inner.store);
    let now = Timestamp::now();
    // Subscribed before the cursor is read, so a capture committed in between still wakes the stream.
    let captured = state.inner.inboxes.captured.subscribe();
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
    let cursor = match resume {
        Some(seq) => {
            store.get_inbox(&platform, &id, now).await?;
            seq
        }
        None => {
            let newest = store.list_requests(&platform, &id, Page { limit: 1, after: None }, now).await?;
            newest.first().map_or(0, |request| request.seq)
        }
    };
    let follower = Follower {
        store,
        platform,
        inbox: id.clone(),
        render,
        cursor,
        pending: VecDeque::new(),
        wake: Wake::new(
            captured,
            id.clone(),
            state.inner.inboxes.config.stream_poll,
            state.inner.inboxes.config.stream_max,
            state.inner.shutdown.clone(),
        ),
        ended: false,
    };
    let events = stream::unfold(follower, |mut follower| async move {
        let event = follower.next_event().await?;
        Some((Ok(event), follower))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// The state of one stream.
struct Follower {
    store: Arc<dyn ApiStore>,
    platform: PlatformId,
    inbox: InboxId,
    render: Render,
    /// The `seq` of the last request sent (or the newest at the start).
    cursor: i64,
    /// Fetched, not yet sent.
    pending: VecDeque<CapturedRequest>,
    /// Woken by this node's captures for the inbox; ends after `inbox.stream_max`.
    wake: Wake<InboxId>,
    ended: bool,
}

impl Follower {
    /// The next event to send, waiting for one; `None` once the stream is over.
    async fn next_event(&mut self) -> Option<Event> {
        if self.ended {
            return None;
        }
        loop {
            if let Some(request) = self.pending.pop_front() {
                let id = request.seq.to_string();
                let data = (self.render)(request);
                return Some(Event::default().id(id).data(data));
            }
            match self.store.requests_after(&self.platform, &self.inbox, self.cursor, BATCH, Timestamp::now()).await {
                Ok(requests) if !requests.is_empty() => {
                    self.cursor = requests.last().map_or(self.cursor, |request| request.seq);
                    self.pending.extend(requests);
                    continue;
                }
                Ok(_) => {}
                Err(StoreError::NotFound) => return Some(self.end("the inbox was deleted or has expired")),
                // A store hiccup is not the end of the stream: look again at the next wake-up.
                Err(error) => tracing::warn!(error = ?error, inbox_id = %self.inbox, "inbox stream could not read"),
            }
            if self.wake.expired() {
                return Some(self.end("the stream reached inbox.stream_max: reconnect with Last-Event-ID to resume"));
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
