//! The real binary as a child process: `kill -9` with deliveries pending, SIGTERM with one in flight, and the
//! `--dev` banner. Each test runs `hookline serve` on a fresh data dir, restarts it on the same database and
//! checks what survived. Children are killed on drop, even when a test panics (their stderr is then printed).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, mpsc};

use crate::support::Received;

pub(crate) const ADMIN: &str = "process-admin-token";
/// How long a process gets to start answering `/healthz`.
const START: Duration = Duration::from_secs(10);
/// A retry schedule long enough that nothing is exhausted while a receiver refuses (150 × ~200ms ≈ 30s).
fn long_schedule() -> String {
    vec!["200ms"; 150].join(",")
}

// ---------------------------------------------------------------------------------------------------------
// The child process.

/// What the child wrote to stderr, line by line.
#[derive(Default)]
struct Log {
    text: Mutex<String>,
    notify: Notify,
}

/// A running `hookline serve`. Dropping it sends SIGKILL.
pub(crate) struct Hookline {
    child: Child,
    pid: u32,
    pub(crate) base: String,
    log: Arc<Log>,
}

impl Hookline {
    /// Starts `hookline serve --dev` on a free loopback port over `dir/hookline.db` and waits for `/healthz`.
    /// Every inherited `HOOKLINE_*` variable is removed; `admin_token` becomes `HOOKLINE_ADMIN_TOKEN`.
    pub(crate) async fn start(dir: &Path, admin_token: Option<&str>, env: &[(&str, &str)]) -> Self {
        // The free port can be taken between our probe and the child's bind; try a few.
        for _ in 0..3 {
            if let Some(started) = Self::try_start(dir, admin_token, env).await {
                return started;
            }
        }
        panic!("hookline did not start on three ports");
    }

    async fn try_start(dir: &Path, admin_token: Option<&str>, env: &[(&str, &str)]) -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("probe port").local_addr().unwrap().port();
        Self::try_start_on(dir, port, admin_token, env).await
    }

    /// Starts it on `port` (a restart on the address clients already know); `None` when the port is taken.
    pub(crate) async fn try_start_on(
        dir: &Path,
        port: u16,
        admin_token: Option<&str>,
        env: &[(&str, &str)],
    ) -> Option<Self> {
        let listen = format!("127.0.0.1:{port}");
        let database = format!("sqlite://{}", dir.join("hookline.db").display());
        let mut command = Command::new(env!("CARGO_BIN_EXE_hookline"));
        command.args(["serve", "--dev", "--listen", &listen, "--database", &database]);
        for (name, _) in std::env::vars() {
            if name.starts_with("HOOKLINE_") || name == "RUST_LOG" {
                command.env_remove(name);
            }
        }
        command.env_remove("HOOKLINE_ADMIN_TOKEN");
        if let Some(token) = admin_token {
            command.env("HOOKLINE_ADMIN_TOKEN", token);
        }
        command.env("HOOKLINE_LOG", "info").env("HOOKLINE_DELIVERY__POLL_INTERVAL", "50ms");
        for (name, value) in env {
            command.env(name, value);
        }
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = command.spawn().expect("spawn hookline");
        let pid = child.id().expect("child pid");
        let log = Arc::new(Log::default());
        let mut lines = tokio::io::BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let sink = Arc::clone(&log);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let mut text = sink.text.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
                drop(text);
                sink.notify.notify_waiters();
            }
        });
        let mut hookline = Self { child, pid, base: format!("http://{listen}"), log };
        let http = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().unwrap();
        let deadline = Instant::now() + START;
        loop {
            if let Ok(response) = http.get(format!("{}/healthz", hookline.base)).send().await
                && response.status() == 200
            {
                return Some(hookline);
            }
            if let Some(status) = hookline.child.try_wait().expect("try_wait") {
                let log = hookline.stderr();
                if log.contains("failed to listen") {
                    eprintln!("port {port} was taken, trying another:\n{log}");
                    return None;
                }
                panic!("hookline exited before it was ready ({status}):\n{log}");
            }
            assert!(Instant::now() < deadline, "hookline not ready within {START:?}:\n{}", hookline.stderr());
            // Waiting on process start: the one place a short sleep is the tool.
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    fn stderr(&self) -> String {
        self.log.text.lock().unwrap().clone()
    }

    /// Waits until stderr contains `needle`; returns all of stderr.
    async fn wait_for_stderr(&self, needle: &str) -> String {
        let deadline = Instant::now() + START;
        loop {
            let notified = self.log.notify.notified();
            let text = self.stderr();
            if text.contains(needle) {
                return text;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "stderr never showed {needle:?}:\n{text}");
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), notified).await;
        }
    }

    /// SIGKILL, then reaps the process (which also releases the database lock).
    pub(crate) async fn kill_9(&mut self) {
        self.child.start_kill().expect("SIGKILL");
        let status = tokio::time::timeout(START, self.child.wait()).await.expect("killed process is reaped").unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9), "{status}");
    }

    /// Sends SIGTERM (through kill(1): the workspace forbids `unsafe`, so no `libc::kill`).
    fn sigterm(&self) {
        let status = std::process::Command::new("kill")
            .args(["-s", "TERM", &self.pid.to_string()])
            .status()
            .expect("run kill(1)");
        assert!(status.success(), "kill -TERM {} failed: {status}", self.pid);
    }

    /// SIGTERM and wait for a clean exit.
    async fn stop(mut self) {
        self.sigterm();
        let status = tokio::time::timeout(START, self.child.wait()).await.expect("exits after SIGTERM").unwrap();
        assert!(status.success(), "exit after SIGTERM: {status}\n{}", self.stderr());
    }
}

impl Drop for Hookline {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!("---- hookline (pid {}) stderr ----\n{}", self.pid, self.stderr());
        }
    }
}

/// A client for the child's API; `fresh` connections only (no pooling) when asked, so a closed listener shows.
fn client(pooled: bool) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
    if !pooled {
        builder = builder.pool_max_idle_per_host(0);
    }
    builder.build().unwrap()
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> Result<(StatusCode, Value), reqwest::Error> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = http.request(method, format!("{base}{path}")).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let bytes = response.bytes().await?;
    let value = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    Ok((status, value))
}

/// Creates a platform (admin token) and a `*` webhook to `url`; returns (API key, webhook secret).
async fn platform_and_webhook(base: &str, name: &str, url: &str) -> (String, String) {
    let http = client(true);
    let body = json!({"name": name, "url": "https://x.example.com", "email": "ops@x.example.com"});
    let (status, platform) = call(&http, base, "POST", "/v1/platforms", ADMIN, Some(body)).await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{platform}");
    let key = platform["api_key"].as_str().expect("api_key").to_owned();
    let body = json!({"url": url, "events": ["*"]});
    let (status, webhook) = call(&http, base, "POST", "/v1/webhooks", &key, Some(body)).await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{webhook}");
    (key, webhook["secret"].as_str().expect("secret").to_owned())
}

/// Publishes `id`; `Ok(true)` on 202.
async fn publish(http: &reqwest::Client, base: &str, key: &str, id: &str) -> Result<bool, reqwest::Error> {
    let body = json!({"id": id, "type": "user.created", "data": {"n": id}});
    let (status, _) = call(http, base, "POST", "/v1/events", key, Some(body)).await?;
    Ok(status == StatusCode::ACCEPTED)
}

// ---------------------------------------------------------------------------------------------------------
// Receivers.

/// A receiver that answers 503 while closed and 200 once opened, recording what it accepted.
struct Gate {
    url: String,
    state: Arc<GateState>,
    _task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct GateState {
    open: AtomicBool,
    refused: AtomicUsize,
    accepted: Mutex<Vec<Received>>,
    notify: Notify,
}

impl Gate {
    async fn closed() -> Self {
        let state = Arc::new(GateState::default());
        let handler_state = Arc::clone(&state);
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
            let state = Arc::clone(&handler_state);
            async move {
                let response = if state.open.load(Ordering::SeqCst) {
                    let received = Received { path: uri.path().to_owned(), headers, body, at: Instant::now() };
                    state.accepted.lock().unwrap().push(received);
                    (StatusCode::OK, "ok").into_response()
                } else {
                    state.refused.fetch_add(1, Ordering::SeqCst);
                    (StatusCode::SERVICE_UNAVAILABLE, "closed").into_response()
                };
                state.notify.notify_waiters();
                response
            }
        });
        let (url, task) = serve_receiver(app).await;
        Self { url, state, _task: task }
    }

    fn open(&self) {
        self.state.open.store(true, Ordering::SeqCst);
    }

    fn refused(&self) -> usize {
        self.state.refused.load(Ordering::SeqCst)
    }

    fn accepted(&self) -> Vec<Received> {
        self.state.accepted.lock().unwrap().clone()
    }

    /// Waits (on the receiver's notifications) until `done` holds; panics after `limit` with `what`.
    async fn wait_until(&self, limit: Duration, what: &str, done: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.state.notify.notified();
            if done(self) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out after {limit:?} waiting for {what}; refused {}, accepted {}",
                self.refused(),
                self.accepted().len()
            );
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), notified).await;
        }
    }
}

/// A receiver whose first request is slow: it notes the request's arrival at once, sleeps, then answers 200.
struct SlowFirst {
    url: String,
    state: Arc<SlowState>,
    _task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct SlowState {
    arrived: Mutex<Vec<Received>>,
    completed: AtomicUsize,
    notify: Notify,
}

impl SlowFirst {
    async fn start(delay: Duration) -> Self {
        let state = Arc::new(SlowState::default());
        let handler_state = Arc::clone(&state);
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
            let state = Arc::clone(&handler_state);
            async move {
                let received = Received { path: uri.path().to_owned(), headers, body, at: Instant::now() };
                let first = {
                    let mut arrived = state.arrived.lock().unwrap();
                    arrived.push(received);
                    arrived.len() == 1
                };
                state.notify.notify_waiters();
                if first {
                    tokio::time::sleep(delay).await;
                }
                state.completed.fetch_add(1, Ordering::SeqCst);
                state.notify.notify_waiters();
                (StatusCode::OK, "ok").into_response()
            }
        });
        let (url, task) = serve_receiver(app).await;
        Self { url, state, _task: task }
    }

    fn arrived(&self) -> usize {
        self.state.arrived.lock().unwrap().len()
    }

    fn completed(&self) -> usize {
        self.state.completed.load(Ordering::SeqCst)
    }

    async fn wait_arrived(&self, n: usize) {
        let deadline = Instant::now() + START;
        loop {
            let notified = self.state.notify.notified();
            if self.arrived() >= n {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting for {n} requests; got {}", self.arrived());
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), notified).await;
        }
    }
}

async fn serve_receiver(app: axum::Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), task)
}

/// Event ids the gate accepted, with how many times each arrived.
fn delivered_ids(gate: &Gate) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for received in gate.accepted() {
        let id = received.json()["id"].as_str().expect("delivery body has an id").to_owned();
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

/// After a restart with the gate open: waits until every accepted id arrived, then checks the signature of one.
async fn assert_all_delivered(gate: &Gate, accepted: &HashSet<String>, secret: &str) {
    gate.wait_until(Duration::from_secs(20), "every accepted event to be delivered after the restart", |gate| {
        let delivered = delivered_ids(gate);
        accepted.iter().all(|id| delivered.contains_key(id))
    })
    .await;
    let delivered = delivered_ids(gate);
    let missing: Vec<&String> = accepted.iter().filter(|id| !delivered.contains_key(*id)).collect();
    assert!(missing.is_empty(), "accepted but never delivered: {missing:?}");
    let total: usize = delivered.values().sum();
    eprintln!(
        "{} accepted, {} distinct delivered, {} duplicate deliveries (at-least-once)",
        accepted.len(),
        delivered.len(),
        total - delivered.len()
    );
    let sample = gate.accepted().remove(0);
    let id = sample.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(sample.header("webhook-id"), id);
    assert_eq!(sample.header("x-tradly-signature"), hookline_verify::tradly_signature(secret, &id));
}

// ---------------------------------------------------------------------------------------------------------
// Tests.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_deliveries_pending_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let schedule = long_schedule();
    let env = [("HOOKLINE_RETRY_SCHEDULE", schedule.as_str()), ("HOOKLINE_LOG", "info,hookline_delivery=warn")];
    let mut server = Hookline::start(dir.path(), Some(ADMIN), &env).await;
    let gate = Gate::closed().await;
    let (key, secret) = platform_and_webhook(&server.base, "kill9", &gate.url).await;

    // 200 events, 8 publishers at a time; the receiver refuses everything, so all stay pending.
    const EVENTS: usize = 200;
    let next = Arc::new(AtomicUsize::new(0));
    let mut publishers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (next, base, key, http) = (Arc::clone(&next), server.base.clone(), key.clone(), client(true));
        publishers.spawn(async move {
            let mut accepted = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= EVENTS {
                    return accepted;
                }
                let id = format!("k9-{n:04}");
                if publish(&http, &base, &key, &id).await.expect("publish reaches the server") {
                    accepted.push(id);
                }
            }
        });
    }
    let mut accepted = HashSet::new();
    while let Some(ids) = publishers.join_next().await {
        accepted.extend(ids.unwrap());
    }
    assert_eq!(accepted.len(), EVENTS, "every publish before the kill is accepted");

    // Wait until deliveries are being attempted and retried (some in flight, some waiting), then kill -9.
    gate.wait_until(START, "first attempts and retries to be refused", |gate| gate.refused() >= EVENTS + 50).await;
    assert!(gate.accepted().is_empty());
    server.kill_9().await;
    let refused_before = gate.refused();
    eprintln!("killed with {EVENTS} events undelivered after {refused_before} refused attempts");

    let server = Hookline::start(dir.path(), Some(ADMIN), &env).await;
    gate.open();
    assert_all_delivered(&gate, &accepted, &secret).await;
    let unexpected: Vec<String> = delivered_ids(&gate).into_keys().filter(|id| !accepted.contains(id)).collect();
    assert!(unexpected.is_empty(), "delivered ids nobody published: {unexpected:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_publish_burst_loses_no_accepted_event() {
    let dir = tempfile::tempdir().unwrap();
    let schedule = long_schedule();
    let env = [("HOOKLINE_RETRY_SCHEDULE", schedule.as_str()), ("HOOKLINE_LOG", "info,hookline_delivery=warn")];
    let mut server = Hookline::start(dir.path(), Some(ADMIN), &env).await;
    let gate = Gate::closed().await;
    let (key, secret) = platform_and_webhook(&server.base, "burst", &gate.url).await;

    // 8 publishers publish until the server goes away; every 202 is reported on the channel.
    let (sender, mut receiver) = mpsc::unbounded_channel::<String>();
    let next = Arc::new(AtomicUsize::new(0));
    let mut publishers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (next, base, key, http, sender) =
            (Arc::clone(&next), server.base.clone(), key.clone(), client(true), sender.clone());
        publishers.spawn(async move {
            loop {
                let id = format!("burst-{:05}", next.fetch_add(1, Ordering::SeqCst));
                match publish(&http, &base, &key, &id).await {
                    Ok(true) => sender.send(id).unwrap(),
                    // A connection error (or anything but 202) once the process is gone.
                    Ok(false) | Err(_) => return,
                }
            }
        });
    }
    drop(sender);

    // Kill -9 while the publishers are still going, after 150 accepted events.
    let mut accepted = HashSet::new();
    let deadline = Instant::now() + START;
    while accepted.len() < 150 {
        let left = deadline.saturating_duration_since(Instant::now());
        let id = tokio::time::timeout(left, receiver.recv()).await.expect("150 events accepted in time");
        accepted.insert(id.expect("publishers still running"));
    }
    server.kill_9().await;
    // Every 202 that left the process before it died counts, including those still on their way to us.
    while let Some(id) = receiver.recv().await {
        accepted.insert(id);
    }
    while let Some(joined) = publishers.join_next().await {
        joined.unwrap();
    }
    let attempted = next.load(Ordering::SeqCst);
    eprintln!("killed mid-burst: {} of {attempted} publishes got 202", accepted.len());
    assert!(gate.accepted().is_empty());

    let server = Hookline::start(dir.path(), Some(ADMIN), &env).await;
    gate.open();
    assert_all_delivered(&gate, &accepted, &secret).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_in_flight_deliveries_finish_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("HOOKLINE_RETRY_SCHEDULE", "200ms,200ms,200ms"), ("HOOKLINE_DELIVERY__TIMEOUT", "5s")];
    let mut server = Hookline::start(dir.path(), Some(ADMIN), &env).await;
    let receiver = SlowFirst::start(Duration::from_millis(1500)).await;
    let (key, _) = platform_and_webhook(&server.base, "sigterm", &receiver.url).await;
    assert!(publish(&client(true), &server.base, &key, "term-1").await.unwrap());
    receiver.wait_arrived(1).await;
    assert_eq!(receiver.completed(), 0, "the first request is still being handled");

    let signalled = Instant::now();
    server.sigterm();
    // The listener closes at once, while the delivery is still in flight; a fresh connection is refused.
    let fresh = client(false);
    let (mut late, mut tries) = (0, 0);
    let refused_at = loop {
        tries += 1;
        match publish(&fresh, &server.base, &key, &format!("term-late-{tries}")).await {
            Err(error) if error.is_connect() => break Instant::now(),
            // The signal may not have been handled yet: a 202 is a committed event (delivered later), and a
            // connection caught in the backlog as the listener closes is reset.
            Ok(true) => late += 1,
            Err(_) => {}
            Ok(false) => panic!("a publish racing SIGTERM got neither 202 nor a connection error"),
        }
        assert!(signalled.elapsed() < START, "still accepting {START:?} after SIGTERM");
    };
    assert_eq!(receiver.completed(), 0, "the listener must close at once, not after the in-flight delivery");

    let status = tokio::time::timeout(START, server.child.wait()).await.expect("exits within 10s").unwrap();
    let exited = signalled.elapsed();
    assert!(status.success(), "exit status after SIGTERM: {status}\n{}", server.stderr());
    assert_eq!(receiver.completed(), 1, "the in-flight request was answered before the process exited");
    assert!(exited >= Duration::from_millis(1000), "exited after {exited:?}: before the slow answer");
    eprintln!(
        "SIGTERM: refused new connections after {:?}, exited 0 after {exited:?}; {late} publish(es) raced the signal",
        refused_at - signalled
    );
    let log = server.stderr();
    assert!(log.contains("shutdown requested") && log.contains("hookline stopped"), "{log}");
    let old_base = server.base.clone();
    drop(server);
    match publish(&fresh, &old_base, &key, "term-after-exit").await {
        Err(error) => assert!(error.is_connect(), "after exit: {error}"),
        Ok(accepted) => panic!("the port still answers after exit (202: {accepted})"),
    }

    let server = Hookline::start(dir.path(), Some(ADMIN), &env).await;
    let (status, event) = call(&client(true), &server.base, "GET", "/v1/events/term-1", &key, None).await.unwrap();
    assert_eq!(status, StatusCode::OK, "{event}");
    let deliveries = event["deliveries"].as_array().expect("deliveries");
    assert_eq!(deliveries.len(), 1, "{event}");
    assert_eq!(deliveries[0]["status"], "delivered", "the in-flight result was recorded before exit: {event}");
    assert_eq!(deliveries[0]["attempts"], 1, "{event}");
    // Delivered is final: nothing re-sends term-1. Any late events that raced the signal go out now.
    receiver.wait_arrived(1 + late).await;
    let sent: Vec<String> =
        receiver.state.arrived.lock().unwrap().iter().map(|r| r.json()["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(sent.iter().filter(|id| *id == "term-1").count(), 1, "term-1 was sent again: {sent:?}");
    server.stop().await;
}

/// The value after `label` on the banner line that starts with it.
fn banner_value(banner: &str, label: &str) -> String {
    let line = banner.lines().map(str::trim).find(|line| line.starts_with(label)).unwrap_or_else(|| {
        panic!("no {label:?} line in the banner:\n{banner}");
    });
    line[label.len()..].split_whitespace().next().expect("a value after the label").to_owned()
}

#[tokio::test]
async fn dev_mode_prints_admin_token_and_a_ready_platform() {
    let dir = tempfile::tempdir().unwrap();
    let server = Hookline::start(dir.path(), None, &[]).await;
    let banner = server.wait_for_stderr("(saved in").await;
    let admin = banner_value(&banner, "admin token");
    let key = banner_value(&banner, "API key");
    assert!(key.starts_with("hk_") && key.len() > 10, "{key}");
    assert!(admin.starts_with("adm_") && admin != key, "{admin}");

    let http = client(true);
    let (status, body) = call(&http, &server.base, "GET", "/v1/webhooks", &key, None).await.unwrap();
    assert_eq!(status, StatusCode::OK, "the printed API key works: {body}");
    let (status, _) = call(&http, &server.base, "GET", "/v1/webhooks", "hk_not-a-key", None).await.unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED, "keys are checked");
    let platform = json!({"name": "dev2", "url": "https://x.example.com", "email": "ops@x.example.com"});
    let (status, body) =
        call(&http, &server.base, "POST", "/v1/platforms", &admin, Some(platform.clone())).await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "the printed admin token works: {body}");
    let (status, _) = call(&http, &server.base, "POST", "/v1/platforms", &key, Some(platform)).await.unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an API key is not the admin token");
    let saved = dir.path().join("dev-credentials.json");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&saved).expect("credentials saved").permissions());
    assert_eq!(mode & 0o777, 0o600, "dev-credentials.json is private");
    server.stop().await;

    let server = Hookline::start(dir.path(), None, &[]).await;
    let banner = server.wait_for_stderr("(saved in").await;
    assert_eq!(banner_value(&banner, "API key"), key, "the API key is reused after a restart");
    assert_eq!(banner_value(&banner, "admin token"), admin, "the admin token is reused after a restart");
    let (status, body) = call(&http, &server.base, "GET", "/v1/webhooks", &key, None).await.unwrap();
    assert_eq!(status, StatusCode::OK, "the first key still works after a restart: {body}");
    server.stop().await;
}

/// SIGTERM while a failure email hangs on an SMTP server that went quiet after DATA (and every SMTP timeout is an
/// hour): the process still exits 0 within `delivery.shutdown_grace`, and the notice stays to be sent again.
#[tokio::test]
async fn sigterm_exits_within_the_grace_while_an_smtp_send_hangs() {
    use crate::smtp_stall::{Stall, StallingSmtp};

    let smtp = StallingSmtp::start(Stall::AfterData).await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("HOOKLINE_RETRY_SCHEDULE", "100ms"),
        ("HOOKLINE_SMTP_URL", smtp.url.as_str()),
        ("HOOKLINE_NOTIFY__POLL_INTERVAL", "50ms"),
        ("HOOKLINE_NOTIFY__COMMAND_TIMEOUT", "1h"),
        ("HOOKLINE_NOTIFY__SEND_TIMEOUT", "1h"),
        ("HOOKLINE_DELIVERY__SHUTDOWN_GRACE", "2s"),
    ];
    let mut server = Hookline::start(dir.path(), Some(ADMIN), &env).await;
    let failing = Gate::closed().await;
    let (key, _) = platform_and_webhook(&server.base, "smtphang", &failing.url).await;
    assert!(publish(&client(true), &server.base, &key, "hang-1").await.unwrap());
    smtp.wait_stalled().await;

    let signalled = Instant::now();
    server.sigterm();
    let status = tokio::time::timeout(START, server.child.wait()).await.expect("exits while SMTP hangs").unwrap();
    let exited = signalled.elapsed();
    assert!(status.success(), "exit status after SIGTERM: {status}\n{}", server.stderr());
    assert!(exited < Duration::from_secs(2), "exited after {exited:?}, beyond shutdown_grace (2 s)");
    eprintln!("SIGTERM with an SMTP send hanging after DATA: exited 0 after {exited:?}");
}
