//! `hookline listen` end to end: the real binary streams a listener's deliveries from the server and forwards
//! them to a real receiver on loopback, which verifies both signatures with the secret the CLI printed. A local
//! failure shows in the attempt log and is retried through the stream; events published across a server
//! restart arrive exactly once; Ctrl-C deletes the listener.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::cli::Setup;
use crate::support::{Received, Reply, TestReceiver, WAIT};

/// A running `hookline listen --json`, its stdout read line by line.
struct Listen {
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Listen {
    async fn start(config_dir: &Path, server: &str, key: &str, forward_to: &str) -> (Self, Value) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hookline"));
        command
            .args(["listen", "--json", "--forward-to", forward_to])
            .env_clear()
            .env("HOOKLINE_CONFIG_DIR", config_dir)
            .env("HOOKLINE_SERVER", server)
            .env("HOOKLINE_API_KEY", key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("hookline listen runs");
        let (send, lines) = mpsc::unbounded_channel();
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().expect("piped")).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                let _ = send.send(line);
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = std::sync::Arc::clone(&stderr);
        let mut errors = tokio::io::BufReader::new(child.stderr.take().expect("piped")).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = errors.next_line().await {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let mut listen = Self { child, lines, stderr };
        let ready = listen.next_line().await;
        assert_eq!(ready["ready"], true, "{ready}");
        (listen, ready)
    }

    /// The next JSON line on stdout.
    async fn next_line(&mut self) -> Value {
        let line = tokio::time::timeout(WAIT, self.lines.recv())
            .await
            .unwrap_or_else(|_| panic!("no line from hookline listen; stderr:\n{}", self.stderr()))
            .unwrap_or_else(|| panic!("hookline listen ended; stderr:\n{}", self.stderr()));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Ctrl-C, as a terminal sends it; returns the exit code.
    async fn interrupt(mut self) -> (i32, String) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill").args(["-s", "INT", &pid]).status().expect("kill(1)");
        assert!(status.success());
        let status = tokio::time::timeout(WAIT, self.child.wait()).await.expect("exits after SIGINT").unwrap();
        (status.code().expect("exited, not killed"), self.stderr())
    }
}

/// Both signatures of a forwarded request verify with the printed secret, over the exact body received.
fn assert_signed(request: &Received, secret: &str) {
    let id = request.header("webhook-id");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    hookline_verify::verify_standard(
        secret,
        id,
        request.header("webhook-timestamp"),
        &request.body,
        request.header("webhook-signature"),
        now,
        300,
    )
    .unwrap_or_else(|e| panic!("webhook-signature does not verify: {e:?}"));
    hookline_verify::verify_tradly(secret, id, request.header("x-tradly-signature"))
        .unwrap_or_else(|e| panic!("x-tradly-signature does not verify: {e:?}"));
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.json()["id"], id);
}

#[tokio::test]
async fn listen_forwards_signed_events_records_local_failures_and_ctrl_c_deletes_the_listener() {
    let setup = Setup::new().await;
    let (app, key) = (&setup.app, setup.key.as_str());
    // The local server fails the first request, then answers 200.
    let local = TestReceiver::scripted(vec![Reply::Status(500)]).await;
    let (mut listen, ready) = Listen::start(setup.config.path(), &app.base, key, &local.url).await;
    let (listener, secret) = (ready["listener_id"].as_str().unwrap().to_owned(), ready["secret"].as_str().unwrap());
    assert!(secret.starts_with("whsec_"), "{ready}");
    let (status, shown) = app.call("GET", &format!("/v1/listeners/{listener}"), Some(key), None).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["forward_to"], local.url.as_str());

    app.publish(key, json!({"id": "evt_listen_1", "type": "user.created", "data": {"user_id": "u1"}})).await;
    let first = local.wait_for(1).await;
    assert_signed(&first[0], secret);
    assert_eq!(first[0].header("x-tradly-attempt"), "1");
    let line = listen.next_line().await;
    assert_eq!((line["event_id"].as_str(), line["event_type"].as_str()), (Some("evt_listen_1"), Some("user.created")));
    assert_eq!(line["status"], 500, "{line}");

    // The local 500 is a failed attempt in the delivery's log, and the delivery is retried (through the stream).
    let delivery = first[0].header("x-tradly-delivery").to_owned();
    let failed = app
        .eventually(&format!("/v1/deliveries/{delivery}"), key, |d| {
            d["attempt_log"].as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    assert_eq!(failed["status"], "pending", "{failed}");
    assert_eq!(failed["attempt_log"][0]["status_code"], 500, "{failed}");
    assert_eq!(failed["attempt_log"][0]["error_kind"], "status", "{failed}");
    assert_eq!(failed["webhook_id"], listener.as_str());
    let retried = local.wait_for(2).await;
    assert_eq!(retried[1].header("x-tradly-attempt"), "2");
    assert_eq!(retried[1].header("x-tradly-delivery"), delivery);
    assert_signed(&retried[1], secret);
    assert_eq!(listen.next_line().await["status"], 200);
    let delivered = app.eventually(&format!("/v1/deliveries/{delivery}"), key, |d| d["status"] == "delivered").await;
    assert_eq!(delivered["attempt_log"].as_array().unwrap().len(), 2, "{delivered}");

    // Ctrl-C: exit 0, the listener is gone, and an event published afterwards creates no delivery for it.
    let (code, stderr) = listen.interrupt().await;
    assert_eq!(code, 0, "{stderr}");
    let (status, gone) = app.call("GET", &format!("/v1/listeners/{listener}"), Some(key), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
    let accepted = app.publish(key, json!({"id": "evt_listen_2", "type": "user.created", "data": {}})).await;
    assert_eq!(accepted["deliveries"], 0, "{accepted}");
}

#[tokio::test]
async fn listen_filters_event_types() {
    let setup = Setup::new().await;
    let (app, key) = (&setup.app, setup.key.as_str());
    let local = TestReceiver::start().await;
    let config = setup.config.path();
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookline"));
    command
        .args(["listen", "--json", "--events", "order.confirmed,order.canceled", "--forward-to", &local.url])
        .env_clear()
        .env("HOOKLINE_CONFIG_DIR", config)
        .env("HOOKLINE_SERVER", &app.base)
        .env("HOOKLINE_API_KEY", key)
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().unwrap();
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let ready: Value = serde_json::from_str(&stdout.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(ready["events"], json!(["order.canceled", "order.confirmed"]));
    let skipped = app.publish(key, json!({"type": "user.created", "data": {}})).await;
    assert_eq!(skipped["deliveries"], 0);
    app.publish(key, json!({"id": "evt_order", "type": "order.confirmed", "data": {}})).await;
    let received = local.wait_for(1).await;
    assert_eq!(received[0].header("webhook-id"), "evt_order");
    assert_eq!(received.len(), 1);
}

/// The server is killed (SIGKILL) while `hookline listen` is connected and started again on the same address
/// and database; events published right after the restart, before the CLI is back, are forwarded once each.
#[tokio::test]
async fn listen_resumes_after_a_server_restart_and_forwards_each_event_once() {
    use crate::process::{ADMIN, Hookline};
    let dir = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let mut server = Hookline::start(dir.path(), Some(ADMIN), &[]).await;
    let port: u16 = server.base.rsplit(':').next().unwrap().parse().unwrap();
    let http = reqwest::Client::new();
    let platform: Value = http
        .post(format!("{}/v1/platforms", server.base))
        .bearer_auth(ADMIN)
        .json(&json!({"name": "listen", "url": "https://x.example.com", "email": "ops@x.example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = platform["api_key"].as_str().unwrap().to_owned();
    let publish = |base: String, id: &'static str| {
        let (http, key) = (http.clone(), key.clone());
        async move {
            let response = http
                .post(format!("{base}/v1/events"))
                .bearer_auth(&key)
                .json(&json!({"id": id, "type": "user.created", "data": {"n": id}}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::ACCEPTED);
        }
    };
    let local = TestReceiver::start().await;
    let (mut listen, ready) = Listen::start(config.path(), &server.base, &key, &local.url).await;
    let secret = ready["secret"].as_str().unwrap().to_owned();

    publish(server.base.clone(), "evt_before").await;
    local.wait_for(1).await;
    assert_eq!(listen.next_line().await["status"], 200);
    // Its answer is recorded before the kill, so nothing of it is left to send again.
    let deadline = Instant::now() + WAIT;
    loop {
        let event: Value = http
            .get(format!("{}/v1/events/evt_before", server.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if event["deliveries"][0]["status"] == "delivered" {
            break;
        }
        assert!(Instant::now() < deadline, "never recorded: {event}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    server.kill_9().await;
    let mut restarted = None;
    for _ in 0..50 {
        if let Some(started) = Hookline::try_start_on(dir.path(), port, Some(ADMIN), &[]).await {
            restarted = Some(started);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let server = restarted.expect("the server restarts on its port");
    for id in ["evt_after_1", "evt_after_2", "evt_after_3"] {
        publish(server.base.clone(), id).await;
    }
    let received = local.wait_for(4).await;
    // A moment longer: a duplicate would show now.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let received = if local.received().len() > received.len() { local.received() } else { received };
    let mut counts: HashMap<String, usize> = HashMap::new();
    for request in &received {
        assert_signed(request, &secret);
        *counts.entry(request.header("webhook-id").to_owned()).or_default() += 1;
    }
    let expected: HashMap<String, usize> =
        ["evt_before", "evt_after_1", "evt_after_2", "evt_after_3"].into_iter().map(|id| (id.to_owned(), 1)).collect();
    assert_eq!(counts, expected, "each event exactly once; CLI stderr:\n{}", listen.stderr());
    assert!(listen.stderr().contains("reconnecting"), "the CLI says it lost the server:\n{}", listen.stderr());
    let (code, stderr) = listen.interrupt().await;
    assert_eq!(code, 0, "{stderr}");
    drop(server);
}
