//! Test support: `TestApp` (the real server on port 0 over a fresh SQLite file) and `TestReceiver` (a real
//! axum receiver on 127.0.0.1:0 with scripted answers). Tests wait on channels with timeouts, never on sleeps.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hookline::config::{Config, Overrides, RawConfig};
use hookline::serve::{self, Server};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// How long a test waits for something that should happen in milliseconds.
pub const WAIT: Duration = Duration::from_secs(10);

/// The admin token every test app uses.
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// A running hookline with its own database.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    server: Option<Server>,
}

/// The configuration tests start from: dev URL rules (http:// to loopback receivers), a fast retry schedule.
pub fn test_config(dir: &std::path::Path, adjust: impl FnOnce(&mut RawConfig)) -> Config {
    let overrides = Overrides {
        listen: Some("127.0.0.1:0".into()),
        database_url: Some(format!("sqlite://{}", dir.join("hookline.db").display())),
        retry_schedule: Some("300ms,300ms".into()),
        dev: true,
        ..Overrides::default()
    };
    let mut raw = RawConfig::load(&overrides).expect("defaults load");
    raw.admin_token = Some(ADMIN_TOKEN.into());
    raw.delivery.poll_interval = "50ms".into();
    raw.delivery.timeout = "2s".into();
    raw.delivery.lease = "5s".into();
    raw.delivery.shutdown_grace = "5s".into();
    adjust(&mut raw);
    raw.validate().expect("test config is valid")
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut RawConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = test_config(dir.path(), adjust);
        let store = serve::open_store(&config).await.expect("store opens");
        let listener = tokio::net::TcpListener::bind(config.listen).await.expect("bind port 0");
        let server = serve::start(&config, listener, store).expect("server starts");
        let base = format!("http://{}", server.addr);
        Self { base, http: reqwest::Client::new(), dir, server: Some(server) }
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("server stops cleanly");
        }
    }

    /// Sends a request and returns the status and JSON body (`Null` when empty).
    pub async fn call(&self, method: &str, path: &str, key: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request reaches the server");
        let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
        let bytes = response.bytes().await.expect("body");
        let value = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("JSON body") };
        (status, value)
    }

    /// Creates a platform and returns its API key.
    pub async fn platform(&self, name: &str) -> String {
        let body = json!({"name": name, "url": format!("https://{name}.example.com"), "email": format!("ops@{name}.example.com")});
        let (status, created) = self.call("POST", "/v1/platforms", Some(ADMIN_TOKEN), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["api_key"].as_str().expect("api_key").to_owned()
    }

    /// Creates a webhook and returns its JSON (with `secret`).
    pub async fn webhook(&self, key: &str, url: &str, events: &[&str]) -> Value {
        let (status, created) =
            self.call("POST", "/v1/webhooks", Some(key), Some(json!({"url": url, "events": events}))).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created
    }

    /// Publishes an event and returns the 202 body.
    pub async fn publish(&self, key: &str, body: Value) -> Value {
        let (status, accepted) = self.call("POST", "/v1/events", Some(key), Some(body)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
        accepted
    }

    /// Polls a GET until `done` holds for its body, or fails after `WAIT`. For state the server reaches
    /// asynchronously (an attempt recorded); the receiver's own waits are preferred where they apply.
    pub async fn eventually(&self, path: &str, key: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let (status, body) = self.call("GET", path, Some(key), None).await;
            if status == StatusCode::OK && done(&body) {
                return body;
            }
            assert!(Instant::now() < deadline, "timed out waiting on {path}; last: {body}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// One request the receiver saw.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("delivery body is JSON")
    }
}

/// What the receiver answers.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    /// A status with one extra header (e.g. `Retry-After`, `Location`).
    WithHeader(u16, &'static str, String),
    /// Waits, then answers 200.
    Slow(Duration),
}

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Reply>>,
    /// The answer once the script is used up (200 when `None`).
    fallback: Mutex<Option<Reply>>,
    notify: Notify,
}

/// A real HTTP receiver on loopback. Answers follow the script, then 200.
pub struct TestReceiver {
    pub url: String,
    state: Arc<ReceiverState>,
    _task: tokio::task::JoinHandle<()>,
}

impl TestReceiver {
    pub async fn start() -> Self {
        Self::scripted(Vec::new()).await
    }

    pub async fn scripted(script: Vec<Reply>) -> Self {
        let state = Arc::new(ReceiverState { script: Mutex::new(script.into()), ..Default::default() });
        let handler_state = Arc::clone(&state);
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
            let state = Arc::clone(&handler_state);
            async move {
                let scripted = state.script.lock().unwrap().pop_front();
                let reply = scripted.or_else(|| state.fallback.lock().unwrap().clone());
                let received = Received { path: uri.path().to_owned(), headers, body, at: Instant::now() };
                let response: Response = match reply {
                    None => (StatusCode::OK, "ok").into_response(),
                    Some(Reply::Status(code)) => (StatusCode::from_u16(code).unwrap(), "scripted").into_response(),
                    Some(Reply::WithHeader(code, name, value)) => {
                        (StatusCode::from_u16(code).unwrap(), [(name, value)], "scripted").into_response()
                    }
                    Some(Reply::Slow(delay)) => {
                        tokio::time::sleep(delay).await;
                        (StatusCode::OK, "slow ok").into_response()
                    }
                };
                state.received.lock().unwrap().push(received);
                state.notify.notify_waiters();
                response
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url: format!("http://{addr}/hook"), state, _task: task }
    }

    /// Sets the answer given once the script is used up (`None`: 200).
    pub fn set_fallback(&self, reply: Option<Reply>) {
        *self.state.fallback.lock().unwrap() = reply;
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived; panics after `WAIT`.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + WAIT;
        loop {
            let notified = self.state.notify.notified();
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting for {n} requests; got {}", received.len());
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), notified).await;
        }
    }
}
