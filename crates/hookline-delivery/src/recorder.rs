//! The recorder: collects attempt results from all in-flight tasks and writes them in batches, so a thousand
//! attempts finishing together cost one store call, not a thousand.

use std::sync::Arc;
use std::time::Duration;

use hookline_core::Timestamp;
use hookline_core::delivery::{AttemptRecord, DeliveryJob, FailurePolicy, NextStep};
use hookline_store::{RecordContext, Store};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};

enum Message {
    Record(AttemptRecord),
    Flush(oneshot::Sender<()>),
}

pub(crate) struct RecorderHandle {
    sender: mpsc::Sender<Message>,
}

/// How many attempt results may wait to be written. When the store falls behind, a finished attempt waits
/// here (holding its lane's slot) before the next one starts: delivery slows to the speed of recording
/// instead of results piling up in memory.
const QUEUE: usize = 4096;

impl RecorderHandle {
    pub(crate) async fn record(&self, record: AttemptRecord) {
        if self.sender.send(Message::Record(record)).await.is_err() {
            // Only after the recorder stopped; the lease expires and the delivery is retried (at least once).
            tracing::warn!("attempt result dropped: recorder stopped");
        }
    }

    /// Waits until everything recorded so far is written.
    pub(crate) async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

/// How many follow-ups may wait for the engine's loop to take them. A written batch hands back at most two,
/// and the loop takes them between its polls, so the queue stays short unless the loop is held up (a slow
/// claim, or shutdown, when it has stopped reading). Then a full queue must neither grow memory nor block the
/// recorder: blocked, it would write no more results, and shutdown's flush would wait for it forever.
pub(crate) const FOLLOWUP_QUEUE: usize = 256;

/// What recording a batch hands back to the engine.
pub(crate) enum Followup {
    /// Jobs created while recording (operational events), to dispatch.
    Jobs(Vec<DeliveryJob>),
    /// The earliest retry the batch scheduled: the engine polls then rather than at its next interval.
    RetryAt(Timestamp),
}

/// What the recorder needs besides the store.
struct Context {
    failure: FailurePolicy,
    lease: Duration,
    followups: mpsc::Sender<Followup>,
}

pub(crate) fn spawn(
    runtime: &tokio::runtime::Handle,
    store: Arc<dyn Store>,
    failure: FailurePolicy,
    lease: Duration,
    followups: mpsc::Sender<Followup>,
) -> RecorderHandle {
    let (sender, receiver) = mpsc::channel(QUEUE);
    runtime.spawn(run(store, Context { failure, lease, followups }, receiver));
    RecorderHandle { sender }
}

/// The most results one store call writes. Under load the queue is deep and batches are full: SQLite then
/// writes a thousand results per transaction (and fsync), between transactions of publishes.
const MAX_BATCH: usize = 1024;

async fn run(store: Arc<dyn Store>, context: Context, mut receiver: mpsc::Receiver<Message>) {
    let mut batch = Vec::new();
    let mut waiters = Vec::new();
    while let Some(first) = receiver.recv().await {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Record(record) => batch.push(record),
                Message::Flush(done) => waiters.push(done),
            }
            if batch.len() < MAX_BATCH {
                next = receiver.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            write(&store, &context, std::mem::take(&mut batch)).await;
        }
        for done in waiters.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn write(store: &Arc<dyn Store>, context: &Context, batch: Vec<AttemptRecord>) {
    let first_retry = batch
        .iter()
        .filter_map(|record| match record.next {
            NextStep::RetryAt(at) => Some(at),
            _ => None,
        })
        .min();
    let mut delay = Duration::from_millis(100);
    for _ in 0..8 {
        let now = Timestamp::now();
        let record = RecordContext { now, lease_until: now.plus(context.lease), failure: context.failure };
        match store.record_attempts(batch.clone(), record).await {
            Ok(outcome) => {
                if !outcome.jobs.is_empty() {
                    hand_back(&context.followups, Followup::Jobs(outcome.jobs));
                }
                if let Some(at) = first_retry {
                    hand_back(&context.followups, Followup::RetryAt(at));
                }
                return;
            }
            Err(error) => {
                tracing::error!(error = ?error, records = batch.len(), "writing attempt results failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    // The deliveries stay leased; when the lease expires they are attempted again, so the outcome is a
    // duplicate send, never a lost delivery.
    tracing::error!(records = batch.len(), "gave up writing attempt results");
}

/// Queues a follow-up for the engine without waiting; returns whether it was queued. What does not fit is
/// still safe: jobs are durable in the store and keep their lease, so when it runs out the poller (of this
/// node or another) claims them, late but not lost; a retry time is only a hint, and the poll interval still
/// finds that retry due.
fn hand_back(followups: &mpsc::Sender<Followup>, followup: Followup) -> bool {
    match followups.try_send(followup) {
        Ok(()) => true,
        Err(TrySendError::Full(Followup::Jobs(jobs))) => {
            tracing::warn!(
                jobs = jobs.len(),
                "follow-up queue full; these deliveries are sent once their lease expires"
            );
            false
        }
        // The engine stopped: the jobs' leases expire and a poller takes them.
        Err(TrySendError::Full(Followup::RetryAt(_)) | TrySendError::Closed(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_follow_up_queue_neither_blocks_nor_grows() {
        let (followups, mut engine_side) = mpsc::channel(2);
        let at = Timestamp::from_unix_millis(1_000);
        assert!(hand_back(&followups, Followup::RetryAt(at)));
        assert!(hand_back(&followups, Followup::Jobs(Vec::new())));
        // Full: returns at once, and what was queued stays as it was.
        assert!(!hand_back(&followups, Followup::Jobs(Vec::new())));
        assert!(!hand_back(&followups, Followup::RetryAt(at)));
        assert!(matches!(engine_side.try_recv(), Ok(Followup::RetryAt(queued)) if queued == at));
        assert!(matches!(engine_side.try_recv(), Ok(Followup::Jobs(_))));
        assert!(engine_side.try_recv().is_err());
        // Room again: the next one is queued.
        assert!(hand_back(&followups, Followup::RetryAt(at)));
        drop(engine_side);
        assert!(!hand_back(&followups, Followup::RetryAt(at)), "a stopped engine refuses, without panicking");
    }
}
