//! The benchmark's receiver: a bare hyper HTTP/1.1 server on 127.0.0.1 that counts deliveries per path
//! (`/w/{index}`, one path per webhook) and measures publish→delivery latency from the `sent_at_ns` the
//! publisher put in the event's `data`.
//!
//! It can misbehave on purpose: answer 500 to every delivery's first attempt (a retry storm: half of all
//! attempts fail), answer slowly on chosen paths (a slow webhook), or be down (an outage) until told otherwise,
//! either holding requests unanswered or answering 503 with a `Retry-After` that points at the planned end of
//! the outage.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::now_ns;

/// How the receiver behaves while it is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// Up: every request is answered at once (after any per-path delay).
    Up = 0,
    /// Accepts connections but answers nothing until it is back up (a stalled backend).
    Hang = 1,
    /// Answers `503` with `Retry-After` = seconds until [`Receiver::set_back_at`] (at least 1).
    Refuse = 2,
}

/// Counters of one path (one webhook).
#[derive(Default)]
pub struct PathStats {
    /// 2xx answers given.
    pub ok: AtomicU64,
    /// Non-2xx answers given.
    pub failed: AtomicU64,
    /// Delay before answering, in ms (0: none).
    pub delay_ms: AtomicU64,
    /// Unix time (ns) of the latest 2xx answer.
    pub last_ok_ns: AtomicU64,
    /// Publish→delivery latency of each 2xx, in µs.
    latencies_us: Mutex<Vec<u32>>,
}

/// Shared state of the receiver.
pub struct ReceiverState {
    paths: Vec<PathStats>,
    /// Answer 500 to every delivery's first attempt.
    pub fail_first_attempt: AtomicBool,
    outage: AtomicU8,
    back_at_ms: AtomicU64,
    up: watch::Sender<bool>,
    /// Requests to paths that are not `/w/{index}` with a known index.
    pub unknown: AtomicU64,
}

/// A running receiver.
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its counters.
    pub state: Arc<ReceiverState>,
    stop: CancellationToken,
}

impl Receiver {
    /// Starts a receiver for `paths` webhooks on 127.0.0.1 (a free port).
    pub async fn start(paths: usize) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (up, _) = watch::channel(true);
        let state = Arc::new(ReceiverState {
            paths: (0..paths).map(|_| PathStats::default()).collect(),
            fail_first_attempt: AtomicBool::new(false),
            outage: AtomicU8::new(Outage::Up as u8),
            back_at_ms: AtomicU64::new(0),
            up,
            unknown: AtomicU64::new(0),
        });
        let stop = CancellationToken::new();
        tokio::spawn(accept_loop(listener, Arc::clone(&state), stop.clone()));
        Ok(Self { addr, state, stop })
    }

    /// The URL of webhook `index`.
    pub fn url(&self, index: usize) -> String {
        format!("http://{}/w/{index}", self.addr)
    }

    /// Puts the receiver down (or back up). Going up releases every held request.
    pub fn set_outage(&self, outage: Outage) {
        self.state.outage.store(outage as u8, Ordering::SeqCst);
        self.state.up.send_replace(outage == Outage::Up);
    }

    /// When a refusing receiver says it will be back (unix ms), for its `Retry-After`.
    pub fn set_back_at(&self, unix_ms: u64) {
        self.state.back_at_ms.store(unix_ms, Ordering::SeqCst);
    }

    /// Makes path `index` wait `delay` before answering.
    pub fn set_delay(&self, index: usize, delay: Duration) {
        if let Some(path) = self.state.paths.get(index) {
            path.delay_ms.store(delay.as_millis() as u64, Ordering::SeqCst);
        }
    }

    /// The stats of path `index`.
    pub fn path(&self, index: usize) -> &PathStats {
        &self.state.paths[index]
    }

    /// 2xx answers given on the paths in `paths`.
    pub fn delivered(&self, paths: std::ops::Range<usize>) -> u64 {
        paths.map(|i| self.state.paths[i].ok.load(Ordering::Relaxed)).sum()
    }

    /// All 2xx answers.
    pub fn delivered_all(&self) -> u64 {
        self.delivered(0..self.state.paths.len())
    }

    /// All non-2xx answers.
    pub fn failed_all(&self) -> u64 {
        self.state.paths.iter().map(|p| p.failed.load(Ordering::Relaxed)).sum()
    }

    /// Unix time (ns) of the latest 2xx answer on `paths` (0: none).
    pub fn last_ok_ns(&self, paths: std::ops::Range<usize>) -> u64 {
        paths.map(|i| self.state.paths[i].last_ok_ns.load(Ordering::Relaxed)).max().unwrap_or(0)
    }

    /// Takes the latencies (µs) recorded on `paths`.
    pub fn take_latencies(&self, paths: std::ops::Range<usize>) -> Vec<u32> {
        let mut all = Vec::new();
        for i in paths {
            if let Ok(mut lat) = self.state.paths[i].latencies_us.lock() {
                all.append(&mut lat);
            }
        }
        all
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
        // Anything still held is let go, so the server's attempts end.
        self.state.up.send_replace(true);
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<ReceiverState>, stop: CancellationToken) {
    loop {
        let (stream, _) = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        let stop = stop.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(Arc::clone(&state), request));
            let connection = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = connection => {}
            }
        });
    }
}

fn answer(status: StatusCode, retry_after: Option<u64>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
    *response.status_mut() = status;
    if let Some(secs) = retry_after
        && let Ok(value) = hyper::header::HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(hyper::header::RETRY_AFTER, value);
    }
    response
}

async fn handle(state: Arc<ReceiverState>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let index = request.uri().path().strip_prefix("/w/").and_then(|i| i.parse::<usize>().ok());
    let first_attempt = request.headers().get("x-tradly-attempt").is_some_and(|v| v.as_bytes() == b"1");
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return Ok(answer(StatusCode::BAD_REQUEST, None)),
    };
    let Some(path) = index.and_then(|i| state.paths.get(i)) else {
        state.unknown.fetch_add(1, Ordering::Relaxed);
        return Ok(answer(StatusCode::NOT_FOUND, None));
    };
    match state.outage.load(Ordering::SeqCst) {
        x if x == Outage::Hang as u8 => {
            let mut up = state.up.subscribe();
            let _ = up.wait_for(|up| *up).await;
        }
        x if x == Outage::Refuse as u8 => {
            let now_ms = now_ns() / 1_000_000;
            let back = state.back_at_ms.load(Ordering::SeqCst);
            let secs = back.saturating_sub(now_ms).div_ceil(1000).max(1);
            path.failed.fetch_add(1, Ordering::Relaxed);
            return Ok(answer(StatusCode::SERVICE_UNAVAILABLE, Some(secs)));
        }
        _ => {}
    }
    let delay = path.delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if first_attempt && state.fail_first_attempt.load(Ordering::Relaxed) {
        path.failed.fetch_add(1, Ordering::Relaxed);
        return Ok(answer(StatusCode::INTERNAL_SERVER_ERROR, None));
    }
    let now = now_ns();
    if let Some(sent) = sent_at_ns(&body) {
        let micros = now.saturating_sub(sent) / 1000;
        if let Ok(mut latencies) = path.latencies_us.lock() {
            latencies.push(micros.min(u32::MAX as u64) as u32);
        }
    }
    path.ok.fetch_add(1, Ordering::Relaxed);
    path.last_ok_ns.fetch_max(now, Ordering::Relaxed);
    Ok(answer(StatusCode::OK, None))
}

/// Finds `"sent_at_ns":<digits>` in a delivery body without parsing the whole JSON.
pub fn sent_at_ns(body: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"sent_at_ns\":";
    let start = body.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let digits = &body[start..];
    let digits = &digits[digits.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    let end = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_send_time() {
        let body = br#"{"id":"evt_1","type":"user.created","created_at":"x","data":{"sent_at_ns": 12345,"pad":"aa"}}"#;
        assert_eq!(sent_at_ns(body), Some(12345));
        assert_eq!(sent_at_ns(b"{}"), None);
    }
}
