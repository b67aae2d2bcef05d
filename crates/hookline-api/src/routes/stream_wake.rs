//! What the live streams (an inbox's captures, a listener's deliveries) share: between two looks at the store
//! they wait for a wake-up broadcast for their key (this node captured or published for it), for the poll
//! interval (work done by other nodes), for their time limit, or for shutdown; and they end with an
//! `event: end` that says why.

use std::time::Duration;

use axum::response::sse::Event;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// One stream's waiting: the broadcast it listens to and for which key, its poll interval, its end.
pub(super) struct Wake<K> {
    signals: broadcast::Receiver<K>,
    key: K,
    poll: Duration,
    /// When the stream ends by itself.
    until: Instant,
    shutdown: CancellationToken,
}

impl<K: Clone + PartialEq> Wake<K> {
    /// `signals` must be subscribed before the stream's first look at the store, so that nothing done in
    /// between is missed.
    pub(super) fn new(
        signals: broadcast::Receiver<K>,
        key: K,
        poll: Duration,
        max: Duration,
        shutdown: CancellationToken,
    ) -> Self {
        Self { signals, key, poll, until: Instant::now() + max, shutdown }
    }

    /// Whether the stream's time limit has passed.
    pub(super) fn expired(&self) -> bool {
        Instant::now() >= self.until
    }

    /// Waits until a signal for this key, the poll interval or the time limit; `false` on shutdown.
    pub(super) async fn wait(&mut self) -> bool {
        let deadline = tokio::time::sleep_until((Instant::now() + self.poll).min(self.until));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return true,
                _ = self.shutdown.cancelled() => return false,
                received = self.signals.recv() => match received {
                    Ok(key) if key == self.key => return true,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return true,
                    Err(broadcast::error::RecvError::Closed) => return false,
                },
            }
        }
    }
}

/// The last event of a stream: `event: end` with the reason.
pub(super) fn end_event(reason: &str) -> Event {
    Event::default().event("end").data(serde_json::json!({ "reason": reason }).to_string())
}
