//! The retry policy as pure functions: schedule, jitter and `Retry-After`, with `now` and jitter passed in.

use std::time::Duration;

use crate::Timestamp;
use crate::delivery::AttemptOutcome;

/// When failed attempts are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// `schedule[i]` is the wait before attempt `i + 2`; its length is the number of retries.
    pub schedule: Vec<Duration>,
    /// The most a receiver's `Retry-After` can push the next attempt out.
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 10 h: nine attempts over about a day and a half.
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        Self {
            schedule: vec![
                Duration::from_secs(5),
                minutes(5),
                minutes(30),
                minutes(120),
                minutes(300),
                minutes(600),
                minutes(600),
                minutes(600),
            ],
            retry_after_cap: Duration::from_secs(6 * 3600),
        }
    }
}

/// How much each wait varies: ±20 %.
pub const JITTER_FRACTION: f64 = 0.2;

/// When the delivery should next be tried after its `attempts_made`-th attempt ended in `outcome`, or `None`
/// when it is done (delivered, or retries exhausted).
///
/// `jitter` is a number in `[-1, 1]` chosen by the caller (random in production, fixed in tests); the wait is
/// scaled by `1 + JITTER_FRACTION * jitter`. A `Retry-After` from the receiver is honoured within bounds: never
/// sooner than the scheduled step, never later than `retry_after_cap`.
pub fn next_attempt_at(
    policy: &RetryPolicy,
    attempts_made: u32,
    outcome: &AttemptOutcome,
    now: Timestamp,
    jitter: f64,
) -> Option<Timestamp> {
    let AttemptOutcome::Failed { retry_after, .. } = outcome else {
        return None;
    };
    let step = *policy.schedule.get((attempts_made as usize).checked_sub(1)?)?;
    // NaN survives `clamp` and would make `mul_f64` panic; a jitter that is not a number counts as none.
    let jitter = if jitter.is_nan() { 0.0 } else { jitter.clamp(-1.0, 1.0) };
    let mut wait = step.mul_f64(1.0 + JITTER_FRACTION * jitter);
    if let Some(asked) = retry_after {
        wait = wait.max((*asked).min(policy.retry_after_cap));
    }
    Some(now.plus(wait))
}

/// Parses a retry schedule such as `5s,5m,30m,2h`.
pub fn parse_schedule(text: &str) -> Option<Vec<Duration>> {
    if text.trim().is_empty() {
        return Some(Vec::new());
    }
    text.split(',').map(crate::time::parse_duration).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::FailureKind;

    fn failed(retry_after: Option<u64>) -> AttemptOutcome {
        AttemptOutcome::Failed {
            kind: FailureKind::Status,
            status: Some(500),
            message: String::new(),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn schedule_table() {
        let policy = RetryPolicy::default();
        let now = Timestamp::from_unix_millis(1_000_000);
        let secs = |attempts: u32, outcome: &AttemptOutcome, jitter: f64| {
            next_attempt_at(&policy, attempts, outcome, now, jitter)
                .map(|t| (t.unix_millis() - now.unix_millis()) as f64 / 1000.0)
        };
        assert_eq!(secs(1, &failed(None), 0.0), Some(5.0));
        assert_eq!(secs(1, &failed(None), 1.0), Some(6.0));
        assert_eq!(secs(1, &failed(None), -1.0), Some(4.0));
        assert_eq!(secs(2, &failed(None), 0.0), Some(300.0));
        assert_eq!(secs(8, &failed(None), 0.0), Some(36_000.0));
        assert_eq!(secs(9, &failed(None), 0.0), None, "nine attempts, then failed");
        assert_eq!(secs(1, &AttemptOutcome::Delivered { status: 200 }, 0.0), None);
        // Retry-After: never sooner than the step, never later than the cap.
        assert_eq!(secs(1, &failed(Some(60)), 0.0), Some(60.0));
        assert_eq!(secs(2, &failed(Some(60)), 0.0), Some(300.0));
        assert_eq!(secs(1, &failed(Some(86_400)), 0.0), Some(21_600.0));
    }

    #[test]
    fn schedules_parse() {
        assert_eq!(parse_schedule("1s, 2m").unwrap(), [Duration::from_secs(1), Duration::from_secs(120)]);
        assert_eq!(parse_schedule("").unwrap(), Vec::<Duration>::new());
        assert!(parse_schedule("1s,x").is_none());
    }
}
