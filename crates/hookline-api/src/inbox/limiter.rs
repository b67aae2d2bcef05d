//! The per-inbox capture rate limit: a token bucket per inbox, in this node's memory.
//!
//! Why in memory: the limit protects the store and the node from a flood at one public URL, and an exact
//! cluster-wide count would cost a database write per request, which is what it is there to prevent. With N
//! nodes behind a load balancer an inbox may take up to N times the rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hookline_core::ids::InboxId;

/// How many inboxes' buckets are kept before idle ones (full again) are forgotten.
const MAX_BUCKETS: usize = 10_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets, one per inbox: `rate` tokens a second, at most `burst` saved up.
pub(crate) struct CaptureLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<InboxId, Bucket>>,
}

impl CaptureLimiter {
    pub fn new(rate: u32, burst: u32) -> Self {
        let rate = f64::from(rate.max(1));
        Self { rate, burst: f64::from(burst).max(1.0), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for one capture of `inbox` at `now`, or says how long until one is free.
    pub fn take(&self, inbox: &InboxId, now: Instant) -> Result<(), Duration> {
        let Ok(mut buckets) = self.buckets.lock() else { return Ok(()) };
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(inbox) {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(inbox.clone()).or_insert(Bucket { tokens: self.burst, at: now });
        let refilled = bucket.tokens + now.saturating_duration_since(bucket.at).as_secs_f64() * self.rate;
        bucket.tokens = refilled.min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_applies_per_inbox() {
        let limiter = CaptureLimiter::new(10, 3);
        let (one, two) = (InboxId::generate(), InboxId::generate());
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take(&one, start).is_ok());
        }
        let wait = limiter.take(&one, start).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(100), "{wait:?}");
        assert!(limiter.take(&two, start).is_ok(), "another inbox has its own bucket");
        assert!(limiter.take(&one, start + Duration::from_millis(100)).is_ok(), "a token a tenth of a second");
        assert!(limiter.take(&one, start + Duration::from_millis(100)).is_err());
        assert!(limiter.take(&one, start + Duration::from_secs(60)).is_ok());
    }
}
