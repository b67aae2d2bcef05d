//! A cluster: three `hookline serve` processes on one PostgreSQL database, publishing round robin to all of
//! them, with one receiver on loopback. One test kills a node with SIGKILL mid-stream and checks that every
//! event any node answered 202 for is delivered (duplicates are counted and reported: delivery is at least
//! once); the other runs without a failure and checks that every event is delivered exactly once.
//!
//! Runs when `HOOKLINE_TEST_POSTGRES_URL` names a PostgreSQL server (each test makes a database of its own
//! there and drops it after). Unset, the tests are reported as ignored (they did not run), except under
//! `CI=true`, where they fail. That is decided at run time, so this binary has its own harness (libtest-mimic,
//! `harness = false`), apart from the other end-to-end tests in `tests/it`.

// Tests fail by panicking, so unwrapping is the point here rather than a shortcut.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use hookline_store_postgres::{PgOptions, TestServer, create_database, drop_database, test_server, url_with_database};
use libtest_mimic::{Arguments, Trial};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};
use tokio::sync::Notify;

const ADMIN: &str = "multinode-admin-token";
/// How long a node gets to start answering `/healthz`.
const START: Duration = Duration::from_secs(20);
/// The lease the nodes run with: a dead node's work is taken over this long after it died (plus a poll).
const LEASE: &str = "3s";
const NODES: usize = 3;

// ---------------------------------------------------------------------------------------------------------
// The database.

/// A fresh database on the configured server, dropped (with its connections) when the value is dropped.
struct Database {
    admin: PgOptions,
    name: String,
    url: String,
}

impl Database {
    /// A fresh database on the configured server (tests run only when there is one).
    async fn fresh() -> Self {
        let TestServer::At(server) = test_server() else { panic!("no PostgreSQL server is configured") };
        let admin = PgOptions::parse(&server).expect("HOOKLINE_TEST_POSTGRES_URL is a valid PostgreSQL URL");
        let name = format!("hookline_multinode_{:016x}", fastrand_u64());
        create_database(&admin, &name).await.expect("the test database can be created");
        // A small pool per node: three nodes and the other tests share one server.
        let url = format!("{}?pool_size=8", url_with_database(server.split('?').next().unwrap_or(&server), &name));
        Self { admin, name, url }
    }
}

/// A random number without a dependency: the hash of the time and the process id.
fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    hasher.write_u32(std::process::id());
    hasher.finish()
}

impl Drop for Database {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(drop_database(&admin, &name)).map_err(std::io::Error::other)
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// A node.

/// A running `hookline serve`. Dropping it sends SIGKILL; its stderr is printed if the test is failing.
struct Node {
    name: String,
    child: Child,
    base: String,
    log: Arc<Mutex<String>>,
}

impl Node {
    /// Starts `hookline serve --dev` on a free loopback port over `database`, in its own working directory
    /// (where `--dev` keeps its credentials), and waits for `/healthz`.
    async fn start(name: &str, dir: &Path, database: &str) -> Self {
        for _ in 0..3 {
            if let Some(node) = Self::try_start(name, dir, database).await {
                return node;
            }
        }
        panic!("{name} did not start on three ports");
    }

    async fn try_start(name: &str, dir: &Path, database: &str) -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("probe port").local_addr().unwrap().port();
        let listen = format!("127.0.0.1:{port}");
        std::fs::create_dir_all(dir).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_hookline"));
        command.args(["serve", "--dev", "--listen", &listen, "--database", database]).current_dir(dir);
        for (variable, _) in std::env::vars() {
            if variable.starts_with("HOOKLINE_") || variable == "RUST_LOG" {
                command.env_remove(variable);
            }
        }
        command
            .env("HOOKLINE_ADMIN_TOKEN", ADMIN)
            // Every node must share the secrets key (each would otherwise generate its own in its directory).
            .env("HOOKLINE_SECRETS__KEY", "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=")
            .env("HOOKLINE_LOG", "info,hookline_delivery=warn,hookline_api=warn")
            .env("HOOKLINE_DELIVERY__LEASE", LEASE)
            .env("HOOKLINE_DELIVERY__TIMEOUT", "2s")
            .env("HOOKLINE_DELIVERY__POLL_INTERVAL", "100ms")
            .env("HOOKLINE_RETRY_SCHEDULE", "200ms,200ms,200ms,200ms,200ms");
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = command.spawn().expect("spawn hookline");
        let log = Arc::new(Mutex::new(String::new()));
        let mut lines = tokio::io::BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let sink = Arc::clone(&log);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        let mut node = Self { name: name.to_owned(), child, base: format!("http://{listen}"), log };
        let http = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().unwrap();
        let deadline = Instant::now() + START;
        loop {
            if let Ok(response) = http.get(format!("{}/healthz", node.base)).send().await
                && response.status() == 200
            {
                return Some(node);
            }
            if let Some(status) = node.child.try_wait().expect("try_wait") {
                let log = node.stderr();
                if log.contains("failed to listen") {
                    return None;
                }
                panic!("{name} exited before it was ready ({status}):\n{log}");
            }
            assert!(Instant::now() < deadline, "{name} not ready within {START:?}:\n{}", node.stderr());
            // Waiting on process start: the one place a short sleep is the tool.
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    fn stderr(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGKILL, and reap.
    async fn kill_9(&mut self) {
        self.child.start_kill().expect("SIGKILL");
        let status = tokio::time::timeout(START, self.child.wait()).await.expect("killed node is reaped").unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9), "{status}");
    }

    /// SIGTERM (through kill(1): the workspace forbids `unsafe`), and wait for a clean exit.
    async fn stop(mut self) {
        let pid = self.child.id().expect("running").to_string();
        let sent = std::process::Command::new("kill").args(["-s", "TERM", &pid]).status().expect("run kill(1)");
        assert!(sent.success(), "kill -TERM {pid}: {sent}");
        let status = tokio::time::timeout(START, self.child.wait()).await.expect("exits after SIGTERM").unwrap();
        assert!(status.success(), "{} after SIGTERM: {status}\n{}", self.name, self.stderr());
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!("---- {} stderr ----\n{}", self.name, self.stderr());
        }
    }
}

/// Starts `NODES` nodes at once on `database` (so they also migrate it at once).
async fn start_cluster(dir: &Path, database: &str) -> Vec<Node> {
    let starts = (0..NODES).map(|n| {
        let (name, dir, database) = (format!("node-{n}"), dir.join(format!("node-{n}")), database.to_owned());
        tokio::spawn(async move { Node::start(&name, &dir, &database).await })
    });
    let mut nodes = Vec::new();
    for start in starts.collect::<Vec<_>>() {
        nodes.push(start.await.expect("a node starts"));
    }
    nodes
}

// ---------------------------------------------------------------------------------------------------------
// The API and the receiver.

async fn call(http: &reqwest::Client, base: &str, path: &str, key: &str, body: Value) -> reqwest::Result<(u16, Value)> {
    let response = http.post(format!("{base}{path}")).bearer_auth(key).json(&body).send().await?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

/// Creates a platform and a `*` webhook to `url` through `base`; returns the API key.
async fn platform_and_webhook(base: &str, url: &str) -> String {
    let http = reqwest::Client::new();
    let body = json!({"name": "cluster", "url": "https://cluster.example.com", "email": "ops@cluster.example.com"});
    let (status, platform) = call(&http, base, "/v1/platforms", ADMIN, body).await.unwrap();
    assert_eq!(status, 201, "{platform}");
    let key = platform["api_key"].as_str().expect("api_key").to_owned();
    let (status, webhook) =
        call(&http, base, "/v1/webhooks", &key, json!({"url": url, "events": ["*"]})).await.unwrap();
    assert_eq!(status, 201, "{webhook}");
    key
}

/// A receiver that answers 200 (after `delay`) and notes when each event id arrived.
struct Receiver {
    url: String,
    arrivals: Arc<Mutex<HashMap<String, Vec<Instant>>>>,
    notify: Arc<Notify>,
    _task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(delay: Duration) -> Self {
        let arrivals: Arc<Mutex<HashMap<String, Vec<Instant>>>> = Arc::default();
        let notify = Arc::new(Notify::new());
        let (state, wake) = (Arc::clone(&arrivals), Arc::clone(&notify));
        let app = axum::Router::new().fallback(move |body: Bytes| {
            let (state, wake) = (Arc::clone(&state), Arc::clone(&wake));
            async move {
                let at = Instant::now();
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let id = body["id"].as_str().unwrap_or("?").to_owned();
                state.lock().unwrap().entry(id).or_default().push(at);
                wake.notify_waiters();
                (StatusCode::OK, "ok").into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url: format!("http://{addr}/hook"), arrivals, notify, _task: task }
    }

    fn arrivals(&self) -> HashMap<String, Vec<Instant>> {
        self.arrivals.lock().unwrap().clone()
    }

    /// Waits until every id in `expected` arrived at least once; panics after `limit`.
    async fn wait_for_all(&self, expected: &HashSet<String>, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.notify.notified();
            let missing = {
                let arrivals = self.arrivals.lock().unwrap();
                expected.iter().filter(|id| !arrivals.contains_key(*id)).count()
            };
            if missing == 0 {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "{missing} of {} accepted events not delivered within {limit:?}", expected.len());
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), notified).await;
        }
    }
}

/// What the publishers did: for each accepted event, the node that accepted it; and every id tried.
#[derive(Default)]
struct Published {
    accepted: Mutex<HashMap<String, usize>>,
    tried: Mutex<HashSet<String>>,
}

/// Publishes `total` events from `publishers` tasks, event `n` to node `n % bases.len()`, skipping nodes that
/// `down` marks as dead; a connection error or a non-202 leaves the event unaccepted.
async fn publish_round_robin(
    bases: Vec<String>,
    key: String,
    total: usize,
    publishers: usize,
    prefix: &'static str,
    down: Arc<Mutex<HashSet<usize>>>,
    published: Arc<Published>,
) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..publishers {
        let (next, bases, key, down, published) =
            (Arc::clone(&next), bases.clone(), key.clone(), Arc::clone(&down), Arc::clone(&published));
        tasks.spawn(async move {
            let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= total {
                    return;
                }
                let mut node = n % bases.len();
                while down.lock().unwrap().contains(&node) {
                    node = (node + 1) % bases.len();
                }
                let id = format!("{prefix}-{n:05}");
                published.tried.lock().unwrap().insert(id.clone());
                let body = json!({"id": id, "type": "user.created", "data": {"n": n}});
                if let Ok((202, _)) = call(&http, &bases[node], "/v1/events", &key, body).await {
                    published.accepted.lock().unwrap().insert(id, node);
                }
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("publisher");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Tests.

fn main() {
    let arguments = Arguments::from_args();
    let trials = vec![
        trial("a_node_killed_mid_stream_loses_no_accepted_event", || {
            a_node_killed_mid_stream_loses_no_accepted_event()
        }),
        trial("without_a_failure_every_event_is_sent_exactly_once", || {
            without_a_failure_every_event_is_sent_exactly_once()
        }),
        trial("an_inbox_stream_on_one_node_sees_captures_taken_by_another", || {
            an_inbox_stream_on_one_node_sees_captures_taken_by_another()
        }),
        trial("a_key_revoked_on_one_node_stops_working_on_every_node_within_a_second", || {
            a_key_revoked_on_one_node_stops_working_on_every_node_within_a_second()
        }),
    ];
    libtest_mimic::run(&arguments, trials).exit();
}

/// A test that runs on a runtime of its own when a PostgreSQL server is configured, is reported as ignored
/// when none is, and fails when none is under `CI=true`.
fn trial<F, Fut>(name: &str, test: F) -> Trial
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    match test_server() {
        TestServer::At(_) => Trial::test(name, move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build()?;
            runtime.block_on(test());
            Ok(())
        }),
        // Run anyway (`--include-ignored`), it fails rather than pass without running.
        TestServer::Missing => {
            Trial::test(name, || Err("HOOKLINE_TEST_POSTGRES_URL is not set".into())).with_ignored_flag(true)
        }
        TestServer::Required => Trial::test(name, || {
            Err("HOOKLINE_TEST_POSTGRES_URL is not set, and CI must run the multi-node tests (.ci/run sets it)".into())
        }),
    }
}

async fn a_node_killed_mid_stream_loses_no_accepted_event() {
    let database = Database::fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = start_cluster(dir.path(), &database.url).await;
    // A little slow, so that the victim has attempts in flight and jobs queued when it dies.
    let receiver = Receiver::start(Duration::from_millis(20)).await;
    let key = platform_and_webhook(&nodes[0].base, &receiver.url).await;
    let bases: Vec<String> = nodes.iter().map(|node| node.base.clone()).collect();

    const TOTAL: usize = 900;
    let victim = NODES - 1;
    let (down, published) = (Arc::new(Mutex::new(HashSet::new())), Arc::new(Published::default()));
    let publishing =
        tokio::spawn(publish_round_robin(bases, key, TOTAL, 6, "kill", Arc::clone(&down), Arc::clone(&published)));
    // Kill the victim once it has accepted a third of its share, while the publishers keep going.
    let deadline = Instant::now() + START;
    loop {
        let by_victim = published.accepted.lock().unwrap().values().filter(|node| **node == victim).count();
        if by_victim >= TOTAL / NODES / 3 {
            break;
        }
        assert!(Instant::now() < deadline, "the victim accepted {by_victim} events in {START:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    down.lock().unwrap().insert(victim);
    nodes[victim].kill_9().await;
    let killed_at = Instant::now();
    publishing.await.unwrap();

    let accepted = published.accepted.lock().unwrap().clone();
    let accepted_ids: HashSet<String> = accepted.keys().cloned().collect();
    let by_victim: HashSet<&String> = accepted.iter().filter(|(_, node)| **node == victim).map(|(id, _)| id).collect();
    receiver.wait_for_all(&accepted_ids, Duration::from_secs(60)).await;
    let all_delivered = killed_at.elapsed();
    // Attempts the victim made but never recorded are sent again once their leases end: wait past that, so
    // every duplicate is counted.
    tokio::time::sleep(Duration::from_secs(4)).await;

    let arrivals = receiver.arrivals();
    let tried = published.tried.lock().unwrap().clone();
    let strays: Vec<&String> = arrivals.keys().filter(|id| !tried.contains(*id)).collect();
    assert!(strays.is_empty(), "delivered ids nobody published: {strays:?}");
    let duplicates: usize = arrivals.values().map(|at| at.len() - 1).sum();
    // The victim's events that arrived after it died were sent by the other nodes: taken over.
    let takeovers: Vec<Duration> = by_victim
        .iter()
        .filter_map(|id| arrivals.get(*id)?.iter().filter(|at| **at >= killed_at).max())
        .map(|at| at.saturating_duration_since(killed_at))
        .collect();
    let taken_over_within = takeovers.iter().max().copied().unwrap_or_default();
    eprintln!(
        "multi-node kill -9: {} of {TOTAL} publishes accepted, {} of them by the victim; {} of those sent by other \
         nodes after the kill, the last {taken_over_within:?} after it (lease {LEASE}); every accepted event \
         delivered {all_delivered:?} after the kill; {duplicates} duplicate deliveries ({} ids, {} of them the \
         victim's)",
        accepted.len(),
        by_victim.len(),
        takeovers.len(),
        arrivals.values().filter(|at| at.len() > 1).count(),
        by_victim.iter().filter(|id| arrivals.get(**id).is_some_and(|at| at.len() > 1)).count(),
    );
    assert!(by_victim.len() >= TOTAL / NODES / 3);
    for node in nodes.drain(..).filter(|node| node.child.id().is_some()) {
        node.stop().await;
    }
}

async fn without_a_failure_every_event_is_sent_exactly_once() {
    let database = Database::fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let nodes = start_cluster(dir.path(), &database.url).await;
    let receiver = Receiver::start(Duration::ZERO).await;
    let key = platform_and_webhook(&nodes[1].base, &receiver.url).await;
    let bases: Vec<String> = nodes.iter().map(|node| node.base.clone()).collect();

    const TOTAL: usize = 900;
    let published = Arc::new(Published::default());
    let started = Instant::now();
    publish_round_robin(bases, key, TOTAL, 6, "calm", Arc::default(), Arc::clone(&published)).await;
    let accepted = published.accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), TOTAL, "every publish is accepted");
    let per_node: Vec<usize> = (0..NODES).map(|n| accepted.values().filter(|node| **node == n).count()).collect();
    receiver.wait_for_all(&accepted.keys().cloned().collect(), Duration::from_secs(30)).await;
    let took = started.elapsed();
    // Longer than a lease, so that a delivery taken twice (a lease running out under a node that holds it)
    // would show.
    tokio::time::sleep(Duration::from_secs(4)).await;

    let arrivals = receiver.arrivals();
    let duplicates: Vec<(&String, usize)> =
        arrivals.iter().filter(|(_, at)| at.len() > 1).map(|(id, at)| (id, at.len())).collect();
    eprintln!(
        "multi-node, no failure: {TOTAL} events published round robin to {NODES} nodes ({per_node:?}), all \
         delivered in {took:?}; {} duplicates",
        duplicates.len()
    );
    assert_eq!(arrivals.len(), TOTAL);
    assert!(duplicates.is_empty(), "sent more than once without a crash: {duplicates:?}");
    for node in nodes {
        node.stop().await;
    }
}

/// The inspector across nodes: a live stream opened on node A delivers, once each and in capture order, the
/// requests node B captured for the same inbox (found by A's poll of the shared store, since nothing on A wakes
/// its stream for them), then one A captured itself.
async fn an_inbox_stream_on_one_node_sees_captures_taken_by_another() {
    let database = Database::fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let database_url = database.url.clone();
    let (dir_a, dir_b) = (dir.path().join("a"), dir.path().join("b"));
    let (a, b) =
        tokio::join!(Node::start("node-a", &dir_a, &database_url), Node::start("node-b", &dir_b, &database_url));
    let http = reqwest::Client::new();
    let body = json!({"name": "inspect", "url": "https://inspect.example.com", "email": "ops@inspect.example.com"});
    let (status, platform) = call(&http, &a.base, "/v1/platforms", ADMIN, body).await.unwrap();
    assert_eq!(status, 201, "{platform}");
    let key = platform["api_key"].as_str().unwrap().to_owned();
    let (status, inbox) = call(&http, &a.base, "/v1/inboxes", &key, json!({})).await.unwrap();
    assert_eq!(status, 201, "{inbox}");
    let id = inbox["id"].as_str().unwrap().to_owned();

    let mut stream =
        http.get(format!("{}/v1/inboxes/{id}/requests/stream", a.base)).bearer_auth(&key).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    for n in 1..=3 {
        let answer = http.post(format!("{}/in/{id}/from-b/{n}", b.base)).body("hello").send().await.unwrap();
        assert_eq!(answer.status(), 200);
    }
    let mut paths = Vec::new();
    let mut buffer = String::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while paths.len() < 4 {
        if paths.len() == 3 && !buffer.contains("from-a") {
            let answer = http.post(format!("{}/in/{id}/from-a", a.base)).body("hi").send().await.unwrap();
            assert_eq!(answer.status(), 200);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, stream.chunk()).await.expect("the stream delivers in time");
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap().expect("the stream stays open")));
        // Server-sent events end with a blank line; each capture is one `data:` line of JSON.
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            for line in event.lines() {
                if let Some(data) = line.strip_prefix("data:") {
                    let request: Value = serde_json::from_str(data.trim()).unwrap();
                    paths.push(request["path"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    assert_eq!(paths, ["/from-b/1", "/from-b/2", "/from-b/3", "/from-a"], "each once, in capture order");
    drop(stream);
    b.stop().await;
    a.stop().await;
}

/// API-key revocation across nodes: a key in use on every node (so each has it cached) is revoked through
/// node 0, and within a second every node refuses it. The webhook created through node 1 is signed on node 2
/// with the secret node 1 sealed (the nodes share the secrets key).
async fn a_key_revoked_on_one_node_stops_working_on_every_node_within_a_second() {
    let database = Database::fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let nodes = start_cluster(dir.path(), &database.url).await;
    let receiver = Receiver::start(Duration::ZERO).await;
    let owner_key = platform_and_webhook(&nodes[1].base, &receiver.url).await;
    let http = reqwest::Client::new();
    let (status, created) =
        call(&http, &nodes[0].base, "/v1/api-keys", &owner_key, json!({"name": "ci"})).await.unwrap();
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    let get = |base: String, key: String| {
        let http = http.clone();
        async move { http.get(format!("{base}/v1/webhooks")).bearer_auth(key).send().await.unwrap().status().as_u16() }
    };
    for node in &nodes {
        assert_eq!(get(node.base.clone(), key.clone()).await, 200);
    }
    // Published through node 2: signed there with the secret sealed by node 1.
    let (status, _) = call(
        &http,
        &nodes[2].base,
        "/v1/events",
        &key,
        json!({"id": "evt_across", "type": "user.created", "data": {}}),
    )
    .await
    .unwrap();
    assert_eq!(status, 202);
    receiver.wait_for_all(&["evt_across".to_owned()].into_iter().collect(), Duration::from_secs(10)).await;

    let revoke = http
        .delete(format!("{}/v1/api-keys/{}", nodes[0].base, created["id"].as_str().unwrap()))
        .bearer_auth(&owner_key)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status().as_u16(), 204);
    let revoked_at = Instant::now();
    assert_eq!(get(nodes[0].base.clone(), key.clone()).await, 401, "at once on the node that revoked it");
    for node in &nodes[1..] {
        loop {
            let status = get(node.base.clone(), key.clone()).await;
            if status == 401 {
                break;
            }
            assert_eq!(status, 200);
            assert!(revoked_at.elapsed() < Duration::from_millis(1500), "{} still accepts a revoked key", node.name);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(revoked_at.elapsed() < Duration::from_millis(1500));
    for node in nodes {
        node.stop().await;
    }
}
