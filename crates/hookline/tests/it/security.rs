//! What an operator can rely on, checked on the real binary: with `--log-json` every line is JSON (the `--dev`
//! banner included), no token is printed outside `--dev`, a token in a webhook URL reaches neither the log nor
//! the failure notice, and the data directory, database and credentials file are the owner's only. Over HTTP
//! (in process): JSON nested too deep or carrying a lone surrogate is refused and nothing is stored.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead};
use tokio::process::{Child, Command};

use crate::support::{TestApp, TestReceiver};

const WAIT: Duration = Duration::from_secs(15);

/// `hookline serve` with `args`, its stdout and stderr collected line by line. Killed on drop.
pub(crate) struct Process {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Process {
    pub(crate) fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hookline"));
        command.arg("serve").args(args);
        for (name, _) in std::env::vars() {
            if name.starts_with("HOOKLINE_") || name == "RUST_LOG" {
                command.env_remove(name);
            }
        }
        command.env("HOOKLINE_LOG", "info").envs(env.iter().copied());
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = command.spawn().expect("spawn hookline");
        let lines = Arc::new(Mutex::new(Vec::new()));
        collect(child.stdout.take().unwrap(), Arc::clone(&lines));
        collect(child.stderr.take().unwrap(), Arc::clone(&lines));
        Self { child, lines }
    }

    /// Waits for a line that parses as JSON and satisfies `found`; returns it.
    pub(crate) async fn wait_for(&mut self, what: &str, found: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let hit = self.lines().iter().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find(|v| found(v));
            if let Some(hit) = hit {
                return hit;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("hookline exited ({status}) before {what}:\n{}", self.lines().join("\n"));
            }
            assert!(Instant::now() < deadline, "no {what} within {WAIT:?}:\n{}", self.lines().join("\n"));
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Every line so far is one JSON object.
    pub(crate) fn assert_all_json(&self) {
        let lines = self.lines();
        assert!(!lines.is_empty());
        for line in &lines {
            let parsed: Result<Value, _> = serde_json::from_str(line);
            assert!(matches!(parsed, Ok(Value::Object(_))), "not a JSON object line: {line:?}");
        }
    }

    /// SIGTERM (through kill(1): the workspace forbids `unsafe`), then a clean exit.
    pub(crate) async fn stop(mut self) {
        let pid = self.child.id().unwrap().to_string();
        assert!(std::process::Command::new("kill").args(["-s", "TERM", &pid]).status().unwrap().success());
        let status = tokio::time::timeout(WAIT, self.child.wait()).await.expect("exits after SIGTERM").unwrap();
        assert!(status.success(), "{status}\n{}", self.lines().join("\n"));
    }
}

fn collect(stream: impl AsyncRead + Unpin + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            into.lock().unwrap().push(line);
        }
    });
}

pub(crate) fn message(line: &Value) -> &str {
    line["fields"]["message"].as_str().unwrap_or("")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// The data directory is `0700`; the database, its WAL files and `extra` files in it are `0600`.
fn assert_owner_only(dir: &Path, extra: &[&str]) {
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    assert_eq!(mode(&dir.join("hookline.db")), 0o600);
    for name in ["hookline.db-wal", "hookline.db-shm"].iter().chain(extra) {
        let path = dir.join(name);
        if path.exists() || extra.contains(name) {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
}

#[tokio::test]
async fn outside_dev_no_token_is_printed_and_every_line_is_json() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let database = format!("sqlite://{}", data.join("hookline.db").display());
    let token = "adm_never-printed-7f3a";
    let mut hookline = Process::start(
        &["--listen", "127.0.0.1:0", "--database", &database],
        &[("HOOKLINE_ADMIN_TOKEN", token), ("HOOKLINE_LOG_JSON", "true")],
    );
    hookline.wait_for("the listening line", |l| message(l) == "hookline listening").await;
    hookline.assert_all_json();
    assert!(hookline.lines().iter().all(|l| !l.contains(token)), "{:#?}", hookline.lines());
    assert_owner_only(&data, &[]);
    hookline.stop().await;
}

#[tokio::test]
async fn the_dev_banner_is_json_and_a_token_in_a_webhook_url_reaches_no_log_or_notice() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let database = format!("sqlite://{}", data.join("hookline.db").display());
    let mut hookline = Process::start(
        &["--dev", "--log-json", "--listen", "127.0.0.1:0", "--database", &database, "--retry-schedule", "50ms"],
        &[("HOOKLINE_NOTIFY__POLL_INTERVAL", "50ms"), ("HOOKLINE_DELIVERY__POLL_INTERVAL", "50ms")],
    );
    let banner = hookline.wait_for("the dev banner", |l| l["fields"]["api_key"].is_string()).await;
    hookline.assert_all_json();
    assert!(message(&banner).contains("DEVELOPMENT mode"), "{banner}");
    assert_owner_only(&data, &["dev-credentials.json"]);

    // A receiver that is not there, so the delivery fails and the notice (logged: no SMTP) goes out.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let api = banner["fields"]["api"].as_str().unwrap().to_owned();
    let key = banner["fields"]["api_key"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let secret_token = "s3cr3t-in-the-url";
    let created = http
        .post(format!("{api}/webhooks"))
        .bearer_auth(&key)
        .json(&json!({"url": format!("http://{closed}/hook?token={secret_token}"), "events": ["*"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let created: Value = created.json().await.unwrap();
    assert!(created["url"].as_str().unwrap().contains(secret_token), "the owner sees the whole URL");
    let published = http
        .post(format!("{api}/events"))
        .bearer_auth(&key)
        .json(&json!({"type": "user.created", "data": {"user_id": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 202);

    let failed = hookline.wait_for("a failed attempt", |l| message(l) == "attempt failed").await;
    assert_eq!(failed["fields"]["url"], format!("http://{closed}/hook?token=***"), "{failed}");
    let notice = hookline.wait_for("the failure notice", |l| message(l).starts_with("failure notice")).await;
    assert!(notice["fields"]["body"].as_str().unwrap().contains("/hook?token=***"), "{notice}");
    hookline.assert_all_json();
    let leaked: Vec<String> = hookline.lines().into_iter().filter(|l| l.contains(secret_token)).collect();
    assert!(leaked.is_empty(), "the URL's token was printed: {leaked:#?}");
    hookline.stop().await;
}

#[tokio::test]
async fn with_log_json_even_a_startup_failure_is_a_json_line() {
    let mut hookline =
        Process::start(&["--log-json", "--listen", "127.0.0.1:0", "--database", "mysql://nowhere/x"], &[]);
    let status = tokio::time::timeout(WAIT, hookline.child.wait()).await.expect("exits").unwrap();
    assert_eq!(status.code(), Some(1));
    // The process is gone; its last line may still be on its way through the pipe.
    let deadline = Instant::now() + WAIT;
    let failure = loop {
        let lines = hookline.lines();
        if let Some(line) =
            lines.iter().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find(|l| l["level"] == "ERROR")
        {
            break line;
        }
        assert!(Instant::now() < deadline, "no error line: {lines:#?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert!(message(&failure).contains("database_url"), "{failure}");
    hookline.assert_all_json();
}

/// Sends `body` as JSON text to `path`; returns the status and the error code.
async fn raw_post(app: &TestApp, key: &str, path: &str, body: String) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}{path}", app.base))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn deep_or_lone_surrogate_json_is_refused_over_http_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let key = app.platform("guarded").await;
    let receiver = TestReceiver::start().await;
    let webhook = app.webhook(&key, &receiver.url, &["*"]).await;
    let deep =
        format!(r#"{{"id":"deep-1","type":"user.created","data":{{"x":{}{}}}}}"#, "[".repeat(200), "]".repeat(200));
    let lone = r#"{"id":"lone-1","type":"user.created","data":{"name":"\ud800"}}"#.to_owned();
    for body in [deep, lone] {
        let (status, error) = raw_post(&app, &key, "/v1/events", body).await;
        assert_eq!((status, error["error"]["code"].as_str()), (400, Some("invalid_json")), "{error}");
    }
    // The webhook's test send takes optional JSON by another extractor; it is guarded too.
    let test_path = format!("/v1/webhooks/{}/test", webhook["id"].as_str().unwrap());
    let (status, error) = raw_post(&app, &key, &test_path, r#"{"data":{"s":"\udfff"}}"#.into()).await;
    assert_eq!((status, error["error"]["code"].as_str()), (400, Some("invalid_json")), "{error}");
    let (_, events) = app.call("GET", "/v1/events", Some(&key), None).await;
    assert_eq!(events["data"], json!([]), "nothing was stored");
    assert!(receiver.received().is_empty());
    // At the limit it is accepted: the body's object and `data` are two of the 128 levels.
    let at_limit = format!(r#"{{"type":"user.created","data":{{"x":{}{}}}}}"#, "[".repeat(126), "]".repeat(126));
    assert_eq!(raw_post(&app, &key, "/v1/events", at_limit).await.0, 202);
    app.stop().await;
}
