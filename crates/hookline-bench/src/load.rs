//! The load generator: N concurrent publishers on one keep-alive client, either as fast as the server answers
//! or at a fixed rate. Each event's `data` carries the send time (`sent_at_ns`) and padding to about 1 KB.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::now_ns;

/// Padding that makes a delivered body about 1 KB.
const PAD: usize = 900;

/// What a publishing run did.
#[derive(Debug, Default)]
pub struct LoadResult {
    /// Events answered 202.
    pub accepted: usize,
    /// Requests that failed or got another status.
    pub errors: usize,
    /// The first error, for the report.
    pub first_error: Option<String>,
    /// Wall time from the first send to the last answer.
    pub elapsed: Duration,
    /// Each publish request's time to answer, in µs.
    pub http_us: Vec<u32>,
}

/// A publishing client for one platform.
#[derive(Clone)]
pub struct Publisher {
    http: reqwest::Client,
    url: Arc<str>,
    auth: Arc<str>,
    expect: u16,
    pad: Arc<str>,
}

impl Publisher {
    /// A publisher to `base` with API key `key`.
    pub fn new(base: &str, key: &str) -> anyhow::Result<Self> {
        Self::to_url(&format!("{base}/v1/events"), key, 202)
    }

    /// A publisher that POSTs events to `url` and expects `expect` (the HTTP ceiling run posts straight to the
    /// receiver).
    pub fn to_url(url: &str, key: &str, expect: u16) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .http1_only()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1024)
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self { http, url: url.into(), auth: format!("Bearer {key}").into(), expect, pad: "x".repeat(PAD).into() })
    }

    /// Publishes one event; returns the time to answer.
    pub async fn publish_one(&self, seq: usize) -> Result<Duration, String> {
        let body = format!(
            r#"{{"type":"user.created","data":{{"sent_at_ns":{},"seq":{seq},"pad":"{}"}}}}"#,
            now_ns(),
            self.pad
        );
        let started = Instant::now();
        let response = self
            .http
            .post(&*self.url)
            .header("authorization", &*self.auth)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("{e:#}"))?;
        let status = response.status();
        let text = response.bytes().await.map_err(|e| format!("{e:#}"))?;
        let took = started.elapsed();
        if status.as_u16() != self.expect {
            return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&text)));
        }
        Ok(took)
    }

    /// Publishes `total` events with `concurrency` publishers; at `rate` events/s if given (each event is sent
    /// at its slot, or as soon as a publisher is free if they fall behind).
    pub async fn run(&self, total: usize, concurrency: usize, rate: Option<f64>) -> LoadResult {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let start_at = tokio::time::Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..concurrency.clamp(1, total.max(1)) {
            let publisher = self.clone();
            let next = Arc::clone(&next);
            tasks.spawn(async move {
                let mut result = LoadResult::default();
                loop {
                    let seq = next.fetch_add(1, Ordering::Relaxed);
                    if seq >= total {
                        break;
                    }
                    if let Some(rate) = rate {
                        tokio::time::sleep_until(start_at + Duration::from_secs_f64(seq as f64 / rate)).await;
                    }
                    match publisher.publish_one(seq).await {
                        Ok(took) => {
                            result.accepted += 1;
                            result.http_us.push(took.as_micros().min(u32::MAX as u128) as u32);
                        }
                        Err(error) => {
                            result.errors += 1;
                            result.first_error.get_or_insert(error);
                        }
                    }
                }
                result
            });
        }
        let mut all = LoadResult::default();
        while let Some(done) = tasks.join_next().await {
            if let Ok(mut part) = done {
                all.accepted += part.accepted;
                all.errors += part.errors;
                if all.first_error.is_none() {
                    all.first_error = part.first_error.take();
                }
                all.http_us.append(&mut part.http_us);
            }
        }
        all.elapsed = started.elapsed();
        all
    }
}
