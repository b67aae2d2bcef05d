//! The receivers in `docs/verify/` (Node.js, Python, PHP, Go, Ruby), run with their real runtimes: each checks
//! the known-answer vectors (and fails on a corrupted copy), and each, serving on loopback, verifies a live
//! delivery from the real server and rejects tampered requests with the reason.
//!
//! A runtime that is not installed is reported as SKIPPED on stderr (not a pass); under `CI=true`, Node.js and
//! Python must be present (`.ci/run` installs PHP, Go and Ruby too).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::Command;

use crate::support::{TestApp, WAIT};

/// One language's receiver and how to run it.
struct Snippet {
    name: &'static str,
    /// The program that must be installed.
    program: &'static str,
    file: &'static str,
    /// Required on CI.
    required_in_ci: bool,
}

const SNIPPETS: [Snippet; 5] = [
    Snippet { name: "Node.js", program: "node", file: "receiver.js", required_in_ci: true },
    Snippet { name: "Python", program: "python3", file: "receiver.py", required_in_ci: true },
    Snippet { name: "PHP", program: "php", file: "receiver.php", required_in_ci: false },
    Snippet { name: "Go", program: "go", file: "receiver.go", required_in_ci: false },
    Snippet { name: "Ruby", program: "ruby", file: "receiver.rb", required_in_ci: false },
];

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/verify")
}

fn vectors_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../hookline-verify/tests/signatures.json")
}

impl Snippet {
    /// Whether the runtime is installed; panics under CI for a required one.
    async fn available(&self) -> bool {
        let found = Command::new(self.program).arg("--version").output().await.is_ok()
            || Command::new(self.program).arg("version").output().await.is_ok();
        if !found {
            assert!(
                !(self.required_in_ci && std::env::var("CI").as_deref() == Ok("true")),
                "{} ({}) is required on CI",
                self.name,
                self.program
            );
            eprintln!("SKIPPED: the {} receiver ({} is not installed)", self.name, self.program);
        }
        found
    }

    /// The command line that runs the receiver's `args` (Go is built once into `dir` first, so the process
    /// the test stops is the receiver itself, not `go run`).
    async fn command(&self, dir: &Path) -> Command {
        let source = docs().join(self.file);
        match self.program {
            "go" => {
                let binary = dir.join("receiver-go");
                if !binary.exists() {
                    let built = Command::new("go")
                        .args(["build", "-o"])
                        .arg(&binary)
                        .arg(&source)
                        .env("GOCACHE", dir.join("gocache"))
                        .env("GOFLAGS", "-mod=mod")
                        .output()
                        .await
                        .expect("go runs");
                    assert!(built.status.success(), "go build: {}", String::from_utf8_lossy(&built.stderr));
                }
                Command::new(binary)
            }
            program => {
                let mut command = Command::new(program);
                command.arg(source);
                command
            }
        }
    }

    /// Starts the receiver on `port` with `secret`.
    async fn serve(&self, dir: &Path, port: u16, secret: &str) -> tokio::process::Child {
        let mut command = if self.program == "php" {
            let mut command = Command::new("php");
            command.arg("-S").arg(format!("127.0.0.1:{port}")).arg(docs().join(self.file));
            command
        } else {
            let mut command = self.command(dir).await;
            command.arg(port.to_string());
            command
        };
        command
            .env("HOOKLINE_SECRET", secret)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the receiver starts")
    }
}

#[tokio::test]
async fn every_snippet_checks_the_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let mut corrupted: Value = serde_json::from_slice(&std::fs::read(vectors_path()).unwrap()).unwrap();
    corrupted["standard_webhooks"][1]["body"] = json!("{\"changed\":true}");
    let corrupted_path = dir.path().join("corrupted.json");
    std::fs::write(&corrupted_path, corrupted.to_string()).unwrap();
    for snippet in &SNIPPETS {
        if !snippet.available().await {
            continue;
        }
        let output = snippet.command(dir.path()).await.arg("--vectors").arg(vectors_path()).output().await.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{}: {stdout} {}", snippet.name, String::from_utf8_lossy(&output.stderr));
        assert_eq!(stdout.trim(), "6 vectors ok", "{}", snippet.name);
        let output = snippet.command(dir.path()).await.arg("--vectors").arg(&corrupted_path).output().await.unwrap();
        assert!(!output.status.success(), "{} accepts a corrupted vector", snippet.name);
    }
}

#[tokio::test]
async fn every_snippet_verifies_a_live_delivery_and_rejects_tampering() {
    let app = TestApp::spawn().await;
    let key = app.platform("snippets").await;
    let dir = tempfile::tempdir().unwrap();
    for snippet in &SNIPPETS {
        if !snippet.available().await {
            continue;
        }
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}/hook");
        let webhook = app.webhook(&key, &url, &["*"]).await;
        let (id, secret) = (webhook["id"].as_str().unwrap(), webhook["secret"].as_str().unwrap());
        let _receiver = snippet.serve(dir.path(), port, secret).await;
        wait_until_listening(port, snippet.name).await;

        // A real delivery: the receiver answers 204 only if both signatures verified.
        let (status, _) = app.call("POST", &format!("/v1/webhooks/{id}/test"), Some(&key), None).await;
        assert_eq!(status, 202);
        let listed = app
            .eventually(&format!("/v1/webhooks/{id}/deliveries"), &key, |list| list["data"][0]["status"] != "pending")
            .await;
        let delivery = &listed["data"][0];
        assert_eq!(delivery["status"], "delivered", "{}: {delivery}", snippet.name);
        let detail =
            app.call("GET", &format!("/v1/deliveries/{}", delivery["id"].as_str().unwrap()), Some(&key), None).await.1;
        assert_eq!(detail["attempt_log"][0]["status_code"], 204, "{}", snippet.name);

        // Requests made here: a correct one passes, so the rejections below are about what was changed.
        let http = reqwest::Client::new();
        let body = r#"{"id":"evt_snippet","type":"user.created","created_at":"2026-12-04T00:00:00Z","data":{"a":1}}"#;
        let send = |body: &'static str, signed_body: &'static str, tradly: Option<String>| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
            let key = hookline_verify::standard_key(secret).unwrap();
            let signature = hookline_verify::standard_signature(&key, "evt_snippet", now, signed_body.as_bytes());
            let tradly = tradly.unwrap_or_else(|| hookline_verify::tradly_signature(secret, "evt_snippet"));
            http.post(&url)
                .header("content-type", "application/json")
                .header("webhook-id", "evt_snippet")
                .header("webhook-timestamp", now.to_string())
                .header("webhook-signature", signature)
                .header("x-tradly-signature", tradly)
                .body(body)
                .send()
        };
        let valid = send(body, body, None).await.unwrap();
        assert_eq!(valid.status(), 204, "{}", snippet.name);
        let tampered = send(r#"{"id":"evt_snippet","type":"user.created","data":{"a":2}}"#, body, None).await.unwrap();
        assert_eq!(tampered.status(), 400, "{}", snippet.name);
        assert!(tampered.text().await.unwrap().contains("webhook-signature does not match"), "{}", snippet.name);
        let wrong_tradly = send(body, body, Some("00".repeat(32))).await.unwrap();
        assert_eq!(wrong_tradly.status(), 400, "{}", snippet.name);
        assert!(wrong_tradly.text().await.unwrap().contains("X-Tradly-Signature"), "{}", snippet.name);
        let unsigned = http.post(&url).body(body).send().await.unwrap();
        assert_eq!(unsigned.status(), 400, "{}", snippet.name);
    }
    app.stop().await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_until_listening(port: u16, name: &str) {
    let deadline = Instant::now() + WAIT * 3;
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "the {name} receiver never listened on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
