//! hookline's delivery engine: takes leased delivery jobs, sends them through one guarded HTTP client with
//! per-webhook lanes, records every attempt, and reschedules failures.
//!
//! The data path: the API publishes an event (store commit), then hands the new jobs straight to
//! [`Engine::submit`], so fresh deliveries go out without polling delay. The poller only claims work that is
//! due again (retries), did not fit in memory, or was left leased by a process that died; it runs every
//! `poll_interval`, and also when the earliest retry the recorder wrote falls due, so retries keep their
//! schedule. Attempt results go to the recorder, which writes them in batches.
//!
//! Invariants: a receiver's failure is data ([`AttemptOutcome`]), never an `Err`; no job is held only in
//! memory without a lease in the store, so a crash loses nothing that was committed; a backlog lives in the
//! database, and memory holds at most `max_queued` jobs.

mod http;
mod lanes;
mod metrics;
mod recorder;

use std::sync::Arc;
use std::time::Duration;

use hookline_core::Timestamp;
use hookline_core::delivery::{AttemptOutcome, DeliveryJob};
use hookline_core::retry::RetryPolicy;
use hookline_store::DeliveryQueue;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use crate::http::{HttpSender, OwnInboxes, SendError};
pub use crate::metrics::Metrics;

/// The delivery engine's settings.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// How long a receiver has to answer before the attempt counts as a timeout.
    pub timeout: Duration,
    /// The retry schedule and `Retry-After` cap.
    pub retry: RetryPolicy,
    /// How many attempts may be in flight at once, over all webhooks.
    pub max_in_flight: usize,
    /// How many attempts may be in flight at once to one webhook, unless the webhook sets its own limit.
    pub per_webhook_concurrency: usize,
    /// How many jobs of one webhook may wait in memory; the rest of its backlog stays in the database.
    pub per_webhook_queue: usize,
    /// Attempts started per second to one webhook, unless the webhook sets its own rate limit; `None`: as
    /// fast as the in-flight limits allow.
    pub per_webhook_rate_limit: Option<u32>,
    /// When failures disable webhooks and raise notices.
    pub failure: hookline_core::delivery::FailurePolicy,
    /// How many jobs may wait in memory; more stay in the database until there is room.
    pub max_queued: usize,
    /// How long a claimed delivery stays leased to this process. Must exceed `timeout` with room to spare.
    pub lease: Duration,
    /// How often the poller looks for due retries and abandoned work.
    pub poll_interval: Duration,
    /// How much of a response body is kept in the attempt log.
    pub max_response_bytes: usize,
    /// Allow loopback and private destinations (development and tests only).
    pub allow_private_destinations: bool,
    /// How long shutdown waits for in-flight attempts.
    pub shutdown_grace: Duration,
    /// This server's own inboxes, reached through its own listener in any mode (set when the server starts).
    pub own_inboxes: Option<OwnInboxes>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(15),
            retry: RetryPolicy::default(),
            max_in_flight: 256,
            per_webhook_concurrency: 8,
            per_webhook_queue: 1024,
            per_webhook_rate_limit: None,
            failure: hookline_core::delivery::FailurePolicy::default(),
            max_queued: 10_000,
            lease: Duration::from_secs(25),
            poll_interval: Duration::from_millis(500),
            max_response_bytes: 4096,
            allow_private_destinations: false,
            shutdown_grace: Duration::from_secs(20),
            own_inboxes: None,
        }
    }
}

/// The most jobs one poll claims.
const CLAIM_PAGE: usize = 1000;

/// A handle to the running engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    config: DeliveryConfig,
    store: Arc<dyn DeliveryQueue>,
    sender: HttpSender,
    lanes: lanes::Lanes,
    recorder: recorder::RecorderHandle,
    tasks: TaskTracker,
    shutdown: CancellationToken,
    /// The runtime every engine task runs on, whichever thread calls `submit`.
    runtime: tokio::runtime::Handle,
    metrics: Metrics,
    /// Woken when lanes that overflowed to the database have room again.
    poll_now: tokio::sync::Notify,
    /// Woken when a paced lane ran out of tokens, so `run` sleeps until its next token.
    pace_now: tokio::sync::Notify,
    /// What recording hands back (operational events' jobs, retry times), taken by `run`.
    /// Bounded ([`recorder::FOLLOWUP_QUEUE`]) like all the engine's memory.
    followup_jobs: tokio::sync::Mutex<Option<tokio::sync::mpsc::Receiver<recorder::Followup>>>,
}

impl Engine {
    /// Builds the engine and starts its recorder on `runtime`, where every task of the engine runs. Call
    /// [`Engine::run`] (on that runtime) to start the poller.
    ///
    /// Why a runtime of its own: delivery is the CPU-heavy side. On the API's runtime, hundreds of ready
    /// delivery tasks queue in front of a publish request and its latency grows with the fan-out; on their own
    /// threads, the operating system shares the CPU between the two sides and publishing stays responsive.
    pub fn new(
        config: DeliveryConfig,
        store: Arc<dyn DeliveryQueue>,
        shutdown: CancellationToken,
        runtime: tokio::runtime::Handle,
    ) -> Result<Self, SendError> {
        let sender = HttpSender::new(config.timeout, config.max_response_bytes, config.allow_private_destinations)?
            .with_own_inboxes(config.own_inboxes.clone());
        let (followups, followup_jobs) = tokio::sync::mpsc::channel(recorder::FOLLOWUP_QUEUE);
        let recorder = recorder::spawn(&runtime, Arc::clone(&store), config.failure, config.lease, followups);
        let lanes = lanes::Lanes::new(lanes::Limits {
            max_in_flight: config.max_in_flight,
            per_lane: config.per_webhook_concurrency,
            per_lane_queue: config.per_webhook_queue,
            max_queued: config.max_queued,
            per_lane_rate: config.per_webhook_rate_limit,
        });
        let inner = Inner {
            config,
            store,
            sender,
            lanes,
            recorder,
            tasks: TaskTracker::new(),
            shutdown,
            runtime,
            poll_now: tokio::sync::Notify::new(),
            pace_now: tokio::sync::Notify::new(),
            metrics: Metrics::default(),
            followup_jobs: tokio::sync::Mutex::new(Some(followup_jobs)),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The settings.
    pub fn config(&self) -> &DeliveryConfig {
        &self.inner.config
    }

    /// Hands freshly committed, leased jobs to the lanes. Jobs beyond the memory bound, or offered during
    /// shutdown, have their leases released so the poller (of this or the next process) takes them later.
    pub fn submit(&self, jobs: Vec<DeliveryJob>) {
        if jobs.is_empty() {
            return;
        }
        let (start, overflow) =
            if self.inner.shutdown.is_cancelled() { (Vec::new(), jobs) } else { self.inner.lanes.submit(jobs) };
        self.start(start);
        self.release(overflow);
    }

    /// The engine's counters (the API adds its own to them).
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// `/metrics` in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let (in_flight, queued) = self.inner.lanes.load();
        self.inner.metrics.render(in_flight, queued)
    }

    /// Whether the lanes take new jobs now. A publisher asks before leasing fresh deliveries: when memory is
    /// full it leaves them unleased for the poller (which is woken once there is room again), instead of
    /// leasing them only to hand them straight back.
    pub fn has_room(&self) -> bool {
        !self.inner.shutdown.is_cancelled() && self.inner.lanes.has_room()
    }

    /// How many more jobs the lanes accept now.
    pub fn capacity(&self) -> usize {
        self.inner.lanes.capacity()
    }

    /// Claims due work once (what the poller does each interval) and returns how many jobs it claimed.
    pub async fn poll_once(&self, now: Timestamp) -> Result<usize, hookline_store::StoreError> {
        let room = self.capacity();
        if room == 0 {
            return Ok(0);
        }
        let lease_until = now.plus(self.inner.config.lease);
        let request = hookline_store::ClaimRequest {
            now,
            lease_until,
            limit: room.min(CLAIM_PAGE),
            per_webhook: self.inner.config.per_webhook_queue,
            skip: self.inner.lanes.saturated(),
        };
        let jobs = self.inner.store.claim_due(request).await?;
        let claimed = jobs.len();
        self.submit(jobs);
        Ok(claimed)
    }

    /// Runs the poller until shutdown, then drains: no new attempts start, queued jobs are released,
    /// in-flight attempts get `shutdown_grace` to finish, and every result is written before returning.
    pub async fn run(self) {
        let shutdown = self.inner.shutdown.clone();
        let mut followups = self.inner.followup_jobs.lock().await.take();
        // When the earliest retry recorded so far falls due: retries go out on time, not at the next interval.
        let mut next_retry: Option<Timestamp> = None;
        let mut interval = tokio::time::interval(self.inner.config.poll_interval);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Renew every third of a lease: a job may wait in a lane (behind a slow webhook) far longer than one
        // lease, and must not be claimed again while this node still holds it.
        let mut renewal = tokio::time::interval((self.inner.config.lease / 3).max(Duration::from_millis(100)));
        renewal.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let wake = self.inner.lanes.next_wake();
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.inner.pace_now.notified() => {}
                _ = tokio::time::sleep_until(wake.map_or_else(tokio::time::Instant::now, Into::into)), if wake.is_some() => {
                    let jobs = self.inner.lanes.wake_paced(std::time::Instant::now());
                    self.start(jobs);
                }
                Some(followup) = async { followups.as_mut()?.recv().await } => match followup {
                    recorder::Followup::Jobs(jobs) => self.submit(jobs),
                    recorder::Followup::RetryAt(at) => {
                        next_retry = Some(next_retry.map_or(at, |current| current.min(at)));
                    }
                },
                _ = sleep_until(next_retry), if next_retry.is_some() => {
                    next_retry = None;
                    interval.reset_immediately();
                }
                _ = renewal.tick() => self.renew_leases().await,
                _ = self.inner.poll_now.notified() => interval.reset_immediately(),
                _ = interval.tick() => {
                    match self.poll_once(Timestamp::now()).await {
                        // A full page means more is due: go again at once instead of waiting a tick.
                        Ok(claimed) if claimed >= CLAIM_PAGE => interval.reset_immediately(),
                        Ok(_) => {}
                        Err(error) => {
                            tracing::error!(error = ?error, "claiming due deliveries failed; retrying in 1s");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            }
        }
        self.drain().await;
    }

    async fn renew_leases(&self) {
        let held = self.inner.lanes.held();
        if held.is_empty() {
            return;
        }
        let lease_until = Timestamp::now().plus(self.inner.config.lease);
        if let Err(error) = self.inner.store.renew_leases(held, lease_until).await {
            // The leases may then expire and the work be sent twice: at least once, never lost.
            tracing::error!(error = ?error, "renewing leases failed");
        }
    }

    async fn drain(&self) {
        let queued = self.inner.lanes.close();
        let released = queued.len();
        self.release(queued);
        self.inner.tasks.close();
        let finished = tokio::time::timeout(self.inner.config.shutdown_grace, self.inner.tasks.wait()).await.is_ok();
        if !finished {
            tracing::warn!(
                "in-flight deliveries did not finish within the shutdown grace; they stay leased and are retried after restart"
            );
        }
        self.inner.recorder.flush().await;
        tracing::info!(released, finished, "delivery engine stopped");
    }

    fn release(&self, jobs: Vec<DeliveryJob>) {
        if jobs.is_empty() {
            return;
        }
        let store = Arc::clone(&self.inner.store);
        // A new, exact-size vector: collecting in place would keep the jobs' much larger allocation alive
        // while the release waits for the writer.
        let mut ids = Vec::with_capacity(jobs.len());
        ids.extend(jobs.into_iter().map(|job| job.delivery_id));
        self.inner.tasks.spawn_on(
            async move {
                if let Err(error) = store.release(ids).await {
                    // The leases then simply expire; the work is late, not lost.
                    tracing::warn!(error = ?error, "releasing leases failed");
                }
            },
            &self.inner.runtime,
        );
    }

    fn start(&self, jobs: Vec<DeliveryJob>) {
        if self.inner.lanes.take_pace_hint() {
            self.inner.pace_now.notify_one();
        }
        for job in jobs {
            let engine = self.clone();
            self.inner.tasks.spawn_on(
                async move {
                    let (webhook_id, delivery_id) = (job.webhook_id.clone(), job.delivery_id.clone());
                    let record = engine.attempt(job).await;
                    engine.inner.recorder.record(record).await;
                    let next = engine.inner.lanes.finish(&webhook_id, &delivery_id);
                    engine.start(next);
                    if engine.inner.lanes.take_poll_hint() {
                        engine.inner.poll_now.notify_one();
                    }
                },
                &self.inner.runtime,
            );
        }
    }

    async fn attempt(&self, job: DeliveryJob) -> hookline_core::delivery::AttemptRecord {
        let span = tracing::info_span!(
            "attempt",
            event_id = %job.event_id,
            webhook_id = %job.webhook_id,
            delivery_id = %job.delivery_id,
            attempt = job.attempt_number,
        );
        let started_at = Timestamp::now();
        let clock = std::time::Instant::now();
        let response = tracing::Instrument::instrument(self.inner.sender.send(&job, started_at), span.clone()).await;
        let took = clock.elapsed();
        let duration_ms = took.as_millis() as u64;
        self.inner.metrics.attempt(&response.outcome, took);
        let jitter = fastrand::f64() * 2.0 - 1.0;
        let next = hookline_core::delivery::NextStep::after(
            &self.inner.config.retry,
            job.attempt_number,
            &response.outcome,
            Timestamp::now(),
            jitter,
        );
        span.in_scope(|| match &response.outcome {
            AttemptOutcome::Delivered { status } => tracing::debug!(status, duration_ms, "delivered"),
            AttemptOutcome::Failed { kind, status, message, .. } => {
                // The URL only on failures (where an operator needs it), and redacted: its query may hold a token.
                // The receiver's error is `error`: a field named `message` would clash with the line's own.
                let url = job.url.redacted();
                tracing::info!(kind = kind.as_str(), status, error = %message, url = %url, duration_ms, next = ?next, "attempt failed")
            }
        });
        attempt_record(&job, started_at, duration_ms, response, next)
    }

    /// Records an attempt made outside the engine: `hookline listen`'s CLI POSTed `job` to its local URL and
    /// reported the answer. It takes the engine's own path (the retry schedule, the recorder, the failure
    /// policy, the follow-ups), and returns once the attempt is written. Its headers are not recorded: the CLI
    /// sent them, on the user's machine.
    pub async fn record_remote(
        &self,
        job: &DeliveryJob,
        started_at: Timestamp,
        duration_ms: u64,
        outcome: AttemptOutcome,
        excerpt: String,
    ) {
        let jitter = fastrand::f64() * 2.0 - 1.0;
        let retry = &self.inner.config.retry;
        let next =
            hookline_core::delivery::NextStep::after(retry, job.attempt_number, &outcome, Timestamp::now(), jitter);
        let response = http::SendResult { outcome, excerpt, request_headers: None, response_headers: None };
        let record = attempt_record(job, started_at, duration_ms, response, next);
        self.inner.recorder.record(record).await;
        self.inner.recorder.flush().await;
    }
}

/// The attempt log's record of one attempt of `job`, whoever made it (the one place an `AttemptRecord` is built).
fn attempt_record(
    job: &DeliveryJob,
    started_at: Timestamp,
    duration_ms: u64,
    response: http::SendResult,
    next: hookline_core::delivery::NextStep,
) -> hookline_core::delivery::AttemptRecord {
    let (status, error_kind, error_message) = match response.outcome {
        AttemptOutcome::Delivered { status } => (Some(status), None, None),
        AttemptOutcome::Failed { kind, status, message, .. } => (status, Some(kind), Some(message)),
    };
    hookline_core::delivery::AttemptRecord {
        attempt: hookline_core::delivery::Attempt {
            id: hookline_core::ids::AttemptId::generate(),
            delivery_id: job.delivery_id.clone(),
            attempt_number: job.attempt_number,
            started_at,
            duration_ms,
            status,
            error_kind,
            error_message,
            response_excerpt: response.excerpt,
            request_headers: response.request_headers,
            response_headers: response.response_headers,
        },
        next,
    }
}

/// Sleeps until wall-clock time `at` (at once if it has passed); pending forever for `None`.
async fn sleep_until(at: Option<Timestamp>) {
    let Some(at) = at else { return std::future::pending().await };
    let wait = at.unix_millis().saturating_sub(Timestamp::now().unix_millis()).max(0) as u64;
    tokio::time::sleep(Duration::from_millis(wait)).await;
}
