//! Per-platform publishing quotas: the size of one event's `data`, and a publish rate (a token bucket per
//! platform, per node).
//!
//! Why here and not in the store: a rate is about traffic arriving at this node, and refusing early costs nothing
//! durable. With N nodes a platform may publish up to N times the rate; the operator sets the rate with that in
//! mind. A refused publish stores nothing and answers `429` with `Retry-After`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hookline_core::ValidationError;
use hookline_core::ids::PlatformId;

use crate::ApiError;

/// The publishing limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PublishQuota {
    /// The largest `data` of one event, in bytes (its JSON text as sent).
    pub max_event_bytes: usize,
    /// Events per second per platform, sustained; `None`: unlimited.
    pub events_per_second: Option<f64>,
    /// How many events a platform may publish at once above the sustained rate.
    pub burst: u32,
}

impl Default for PublishQuota {
    fn default() -> Self {
        Self { max_event_bytes: 256 * 1024, events_per_second: None, burst: 1 }
    }
}

/// Token buckets for every platform that published recently.
#[derive(Debug, Default)]
pub(crate) struct PublishLimiter {
    quota: PublishQuota,
    buckets: Mutex<HashMap<PlatformId, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Buckets are forgotten when full and idle this long, so the map holds only platforms publishing now.
const IDLE_BUCKET_TTL: Duration = Duration::from_secs(60);
const SWEEP_ABOVE: usize = 10_000;

impl PublishLimiter {
    pub(crate) fn new(quota: PublishQuota) -> Self {
        Self { quota, buckets: Mutex::default() }
    }

    /// Admits one event of `data_len` bytes for `platform` at `now`, or says why not.
    pub(crate) fn admit(&self, platform: &PlatformId, data_len: usize, now: Instant) -> Result<(), ApiError> {
        if data_len > self.quota.max_event_bytes {
            return Err(ValidationError::new(
                "data",
                format!("is {data_len} bytes; one event's data may be at most {} bytes", self.quota.max_event_bytes),
            )
            .into());
        }
        let Some(rate) = self.quota.events_per_second.filter(|rate| *rate > 0.0) else {
            return Ok(());
        };
        let capacity = f64::from(self.quota.burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > SWEEP_ABOVE {
            buckets.retain(|_, bucket| now.duration_since(bucket.updated) < IDLE_BUCKET_TTL);
        }
        let bucket = buckets.entry(platform.clone()).or_insert(Bucket { tokens: capacity, updated: now });
        let refill = now.saturating_duration_since(bucket.updated).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        // Whole seconds, rounded up: a client that waits exactly this long is admitted.
        let wait = Duration::from_secs_f64((1.0 - bucket.tokens) / rate);
        Err(ApiError::RateLimited(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: Option<f64>, burst: u32) -> PublishLimiter {
        PublishLimiter::new(PublishQuota { max_event_bytes: 100, events_per_second: rate, burst })
    }

    #[test]
    fn the_bucket_allows_the_burst_then_the_rate() {
        let limiter = limiter(Some(10.0), 3);
        let platform = PlatformId::generate();
        let start = Instant::now();
        for _ in 0..3 {
            limiter.admit(&platform, 10, start).unwrap();
        }
        match limiter.admit(&platform, 10, start) {
            Err(ApiError::RateLimited(seconds)) => assert_eq!(seconds, 1, "0.1 s, rounded up"),
            other => panic!("expected a 429, got {other:?}"),
        }
        // 100 ms later one token has come back, and only one.
        let later = start + Duration::from_millis(100);
        limiter.admit(&platform, 10, later).unwrap();
        assert!(limiter.admit(&platform, 10, later).is_err());
        // Another platform has its own bucket.
        limiter.admit(&PlatformId::generate(), 10, later).unwrap();
    }

    #[test]
    fn no_rate_means_no_limit_but_the_size_still_counts() {
        let limiter = limiter(None, 1);
        let platform = PlatformId::generate();
        for _ in 0..1000 {
            limiter.admit(&platform, 100, Instant::now()).unwrap();
        }
        match limiter.admit(&platform, 101, Instant::now()) {
            Err(ApiError::Validation(error)) => assert_eq!(error.field, "data"),
            other => panic!("expected a 422 on data, got {other:?}"),
        }
    }
}
