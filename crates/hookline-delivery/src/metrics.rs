//! Delivery metrics as plain atomics, rendered in the Prometheus text format by [`Metrics::render`]. No
//! registry crate: the set is small and fixed, and atomics keep the hot path at a few relaxed increments.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hookline_core::delivery::{AttemptOutcome, FailureKind};

/// Upper bounds (seconds) of the attempt-duration histogram.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const KINDS: [FailureKind; 6] = [
    FailureKind::Status,
    FailureKind::Timeout,
    FailureKind::Connect,
    FailureKind::Tls,
    FailureKind::Dns,
    FailureKind::Blocked,
];

/// Counters the engine and the API update.
#[derive(Default)]
pub struct Metrics {
    /// Events accepted by `POST /v1/events` (first time, not idempotent repeats).
    pub events_published: AtomicU64,
    /// Deliveries those events created.
    pub deliveries_created: AtomicU64,
    delivered: AtomicU64,
    failed_by_kind: [AtomicU64; 6],
    duration_buckets: [AtomicU64; 11],
    duration_count: AtomicU64,
    duration_sum_micros: AtomicU64,
    /// What retention pruned (the binary's pruner counts here; `/metrics` shows it).
    pub retention: RetentionMetrics,
}

impl Metrics {
    /// Counts one finished attempt.
    pub fn attempt(&self, outcome: &AttemptOutcome, took: Duration) {
        match outcome {
            AttemptOutcome::Delivered { .. } => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            AttemptOutcome::Failed { kind, .. } => {
                let index = KINDS.iter().position(|k| k == kind).unwrap_or(0);
                self.failed_by_kind[index].fetch_add(1, Ordering::Relaxed);
            }
        }
        let seconds = took.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.duration_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.duration_count.fetch_add(1, Ordering::Relaxed);
        self.duration_sum_micros.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition, with the current in-flight and queued gauges.
    pub fn render(&self, in_flight: usize, queued: usize) -> String {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut out = String::with_capacity(2048);
        let _ = writeln!(out, "# HELP hookline_build_info The running version.\n# TYPE hookline_build_info gauge");
        let _ = writeln!(out, "hookline_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        counter("hookline_events_published_total", "Events accepted.", load(&self.events_published));
        counter(
            "hookline_deliveries_created_total",
            "Deliveries created by accepted events.",
            load(&self.deliveries_created),
        );
        let _ = writeln!(
            out,
            "# HELP hookline_attempts_total Finished delivery attempts by result.\n# TYPE hookline_attempts_total counter"
        );
        let _ = writeln!(out, "hookline_attempts_total{{result=\"delivered\"}} {}", load(&self.delivered));
        for (kind, count) in KINDS.iter().zip(&self.failed_by_kind) {
            let _ = writeln!(
                out,
                "hookline_attempts_total{{result=\"failed\",kind=\"{}\"}} {}",
                kind.as_str(),
                load(count)
            );
        }
        let _ = writeln!(
            out,
            "# HELP hookline_attempt_duration_seconds How long attempts took.\n# TYPE hookline_attempt_duration_seconds histogram"
        );
        for (bound, bucket) in BUCKETS.iter().zip(&self.duration_buckets) {
            let _ = writeln!(out, "hookline_attempt_duration_seconds_bucket{{le=\"{bound}\"}} {}", load(bucket));
        }
        let count = load(&self.duration_count);
        let _ = writeln!(out, "hookline_attempt_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "hookline_attempt_duration_seconds_sum {}", load(&self.duration_sum_micros) as f64 / 1e6);
        let _ = writeln!(out, "hookline_attempt_duration_seconds_count {count}");
        let _ = writeln!(
            out,
            "# HELP hookline_attempts_in_flight Attempts being sent now.\n# TYPE hookline_attempts_in_flight gauge\nhookline_attempts_in_flight {in_flight}"
        );
        let _ = writeln!(
            out,
            "# HELP hookline_jobs_queued Jobs waiting in memory.\n# TYPE hookline_jobs_queued gauge\nhookline_jobs_queued {queued}"
        );
        out
    }
}

/// Rows retention deleted since the process started.
#[derive(Default)]
pub struct RetentionMetrics {
    events: AtomicU64,
    deliveries: AtomicU64,
    attempts: AtomicU64,
    inbox_requests: AtomicU64,
}

impl RetentionMetrics {
    /// Counts one batch.
    pub fn pruned(&self, pruned: &hookline_store::Pruned) {
        self.events.fetch_add(pruned.events, Ordering::Relaxed);
        self.deliveries.fetch_add(pruned.deliveries, Ordering::Relaxed);
        self.attempts.fetch_add(pruned.attempts, Ordering::Relaxed);
        self.inbox_requests.fetch_add(pruned.inbox_requests, Ordering::Relaxed);
    }

    /// The pruned counters, and the age of the oldest pending delivery (0 when none is pending), in the
    /// Prometheus text format.
    pub fn render(&self, oldest_pending_age: Duration) -> String {
        let mut out = String::with_capacity(512);
        let _ = writeln!(
            out,
            "# HELP hookline_pruned_total Rows deleted by retention, by kind.\n# TYPE hookline_pruned_total counter"
        );
        for (kind, counter) in [
            ("events", &self.events),
            ("deliveries", &self.deliveries),
            ("attempts", &self.attempts),
            ("inbox_requests", &self.inbox_requests),
        ] {
            let _ = writeln!(out, "hookline_pruned_total{{kind=\"{kind}\"}} {}", counter.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP hookline_oldest_pending_delivery_seconds Age of the oldest delivery still to send (0: none).\n\
             # TYPE hookline_oldest_pending_delivery_seconds gauge\nhookline_oldest_pending_delivery_seconds {:.3}",
            oldest_pending_age.as_secs_f64()
        );
        out
    }
}
