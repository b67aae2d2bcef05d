//! The client commands, run as a user runs them: the real `hookline` binary against the real server on port 0,
//! with `--json` output parsed back and exit codes checked.

use std::path::Path;

use futures_util::TryStreamExt;
use serde_json::{Value, json};

use crate::support::{TestApp, TestReceiver};

/// One run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stdout as JSON; panics with both streams when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }

    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }
}

/// Runs `hookline ARGS` with a clean environment: only `env` and a private config directory.
pub async fn hookline(config_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    hookline_with_stdin(config_dir, env, args, "").await
}

/// Like [`hookline`], with `stdin` piped in.
pub async fn hookline_with_stdin(config_dir: &Path, env: &[(&str, &str)], args: &[&str], stdin: &str) -> Run {
    use tokio::io::AsyncWriteExt;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookline"));
    command.args(args).env_clear().env("HOOKLINE_CONFIG_DIR", config_dir).stdin(std::process::Stdio::piped());
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("the binary runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    input.write_all(stdin.as_bytes()).await.expect("stdin is written");
    drop(input);
    let output = tokio::time::timeout(crate::support::WAIT, child.wait_with_output())
        .await
        .expect("the command finishes")
        .expect("the output is read");
    Run {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A server, a platform and the environment that points the CLI at them.
pub struct Setup {
    pub app: TestApp,
    pub key: String,
    pub config: tempfile::TempDir,
}

impl Setup {
    pub async fn new() -> Self {
        let app = TestApp::spawn().await;
        let key = app.platform("cli").await;
        Self { app, key, config: tempfile::tempdir().expect("temp dir") }
    }

    pub async fn run(&self, args: &[&str]) -> Run {
        let env = [("HOOKLINE_SERVER", self.app.base.as_str()), ("HOOKLINE_API_KEY", self.key.as_str())];
        hookline(self.config.path(), &env, args).await
    }
}

#[tokio::test]
async fn webhooks_round_trip_through_json_output() {
    let setup = Setup::new().await;
    let receiver = TestReceiver::start().await;
    let created = setup
        .run(&["webhooks", "create", "--url", &receiver.url, "--events", "user.created,order.confirmed", "--json"])
        .await
        .ok()
        .json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("wh_"));
    assert_eq!(created["events"], json!(["order.confirmed", "user.created"]), "stored sorted");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));

    let listed = setup.run(&["webhooks", "list", "--json"]).await.ok().json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(listed[0].get("secret").is_none(), "lists never carry the secret");

    let shown = setup.run(&["webhooks", "show", &id, "--json"]).await.ok().json();
    assert_eq!(shown["url"], receiver.url.as_str());
    let updated =
        setup.run(&["webhooks", "update", &id, "--disable", "--description", "paused", "--json"]).await.ok().json();
    assert_eq!((updated["enabled"].as_bool(), updated["description"].as_str()), (Some(false), Some("paused")));
    let enabled = setup.run(&["webhooks", "--json", "update", &id, "--enable"]).await.ok().json();
    assert_eq!(enabled["enabled"], true);

    let read = setup.run(&["webhooks", "secret", &id, "--json"]).await.ok().json();
    assert_eq!(read["secret"], secret.as_str());
    let rotated = setup.run(&["webhooks", "rotate-secret", &id, "--json"]).await.ok().json();
    assert_ne!(rotated["secret"], secret.as_str());
    assert!(rotated["previous_secret_expires_at"].is_string());
    // Plain output for people: the secret alone on stdout, so `$(hookline webhooks secret ID)` works.
    let plain = setup.run(&["webhooks", "secret", &id]).await.ok();
    assert_eq!(plain.stdout.trim(), rotated["secret"].as_str().unwrap());

    // A script without a terminal must say --yes; nothing is deleted until it does.
    let refused = setup.run(&["webhooks", "delete", &id]).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    setup.run(&["webhooks", "show", &id]).await.ok();
    let deleted = setup.run(&["webhooks", "delete", &id, "--yes", "--json"]).await.ok().json();
    assert_eq!(deleted, json!({"deleted": id}));
    let gone = setup.run(&["webhooks", "show", &id]).await;
    assert_eq!(gone.code, 3, "not found is exit 3: {}", gone.stderr);
    assert!(gone.stderr.starts_with("error: not found (not_found)"), "{}", gone.stderr);
    assert!(gone.stderr.contains("hint: "), "{}", gone.stderr);
    assert!(!gone.stderr.contains("panicked") && !gone.stderr.contains("backtrace"));
    setup.app.stop().await;
}

#[tokio::test]
async fn exit_codes_tell_scripts_what_happened() {
    let setup = Setup::new().await;
    let config = setup.config.path();
    let base = setup.app.base.as_str();

    // 4: no key anywhere, or a key the server refuses.
    let no_key = hookline(config, &[("HOOKLINE_SERVER", base)], &["webhooks", "list"]).await;
    assert_eq!(no_key.code, 4, "{}", no_key.stderr);
    assert!(no_key.stderr.contains("hookline login"), "{}", no_key.stderr);
    let refused = hookline(config, &[], &["webhooks", "list", "--server", base, "--api-key", "hk_wrong"]).await;
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(refused.stderr.contains("unauthorized"), "{}", refused.stderr);

    // 5: nothing listens there.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let unreachable = hookline(config, &[], &["events", "list", "--server", &closed, "--api-key", "hk_x"]).await;
    assert_eq!(unreachable.code, 5, "{}", unreachable.stderr);
    assert!(unreachable.stderr.contains("could not reach") && unreachable.stderr.contains("hookline serve"));

    // 6: the server rejects the request, and says which field; --json errors are JSON on stderr.
    let invalid = setup.run(&["webhooks", "create", "--url", "ftp://example.com/hook", "--json"]).await;
    assert_eq!(invalid.code, 6, "{}", invalid.stderr);
    assert_eq!(invalid.stdout, "");
    let error: Value = serde_json::from_str(invalid.stderr.trim()).expect("JSON error on stderr");
    assert_eq!(error["error"]["code"], "validation_failed");
    assert_eq!(error["error"]["field"], "url");
    assert_eq!(error["exit_code"], 6);

    // 2: usage, caught before anything is sent.
    let bad_data = setup.run(&["trigger", "user.created", "--data", "{not json"]).await;
    assert_eq!(bad_data.code, 2, "{}", bad_data.stderr);
    let not_object = setup.run(&["trigger", "user.created", "--data", "[1,2]"]).await;
    assert_eq!(not_object.code, 2, "{}", not_object.stderr);
    assert_eq!(setup.run(&["webhooks", "frobnicate"]).await.code, 2);
    let bad_since = setup.run(&["webhooks", "recover", "--webhook", "wh_x", "--since", "yesterday"]).await;
    assert_eq!(bad_since.code, 2, "{}", bad_since.stderr);
    let events = setup.run(&["events", "list", "--json"]).await.ok().json();
    assert_eq!(events, json!([]), "no rejected command published anything");

    // The codes are documented in --help.
    let help = hookline(config, &[], &["--help"]).await.ok();
    assert!(help.stdout.contains("3 not found") && help.stdout.contains("4 authentication"), "{}", help.stdout);
    setup.app.stop().await;
}

#[tokio::test]
async fn login_saves_an_owner_only_profile_that_later_commands_use() {
    use std::os::unix::fs::PermissionsExt;
    let setup = Setup::new().await;
    let config = setup.config.path();
    let base = setup.app.base.as_str();
    let profile = config.join("profiles.json");

    let refused = hookline(config, &[], &["login", "--server", base, "--api-key", "hk_wrong"]).await;
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(!profile.exists(), "a refused key is not saved");

    // A file left world-readable by something else is replaced by an owner-only one.
    std::fs::write(&profile, "{\"profiles\":{}}").unwrap();
    std::fs::set_permissions(&profile, std::fs::Permissions::from_mode(0o644)).unwrap();
    let login = hookline(config, &[], &["login", "--server", base, "--api-key", &setup.key, "--json"]).await.ok();
    assert_eq!(login.json()["server"], base);
    let mode = std::fs::metadata(&profile).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let saved: Value = serde_json::from_slice(&std::fs::read(&profile).unwrap()).unwrap();
    assert_eq!(saved["profiles"]["default"]["api_key"], setup.key.as_str());

    // No flags, no environment: the profile is used.
    let listed = hookline(config, &[], &["webhooks", "list", "--json"]).await.ok().json();
    assert_eq!(listed, json!([]));
    // Another profile has no key until someone logs in to it.
    let named = hookline(config, &[("HOOKLINE_PROFILE", "staging")], &["webhooks", "list"]).await;
    assert_eq!(named.code, 4, "an unknown profile has no key: {}", named.stderr);
    // The key piped on stdin, as a script (or `pass show … | hookline login`) gives it.
    let staging = [("HOOKLINE_PROFILE", "staging")];
    hookline_with_stdin(config, &staging, &["login", "--server", base], &setup.key).await.ok();
    hookline(config, &staging, &["webhooks", "list"]).await.ok();
    hookline(config, &[], &["logout"]).await.ok();
    assert_eq!(hookline(config, &[], &["webhooks", "list"]).await.code, 4);
    let empty = hookline_with_stdin(config, &[], &["login", "--server", base], "\n").await;
    assert_eq!(empty.code, 2, "no key given: {}", empty.stderr);

    // A broken profile file is named, with what to do.
    std::fs::write(&profile, "not json").unwrap();
    let broken = hookline(config, &[], &["webhooks", "list"]).await;
    assert_eq!(broken.code, 1, "{}", broken.stderr);
    assert!(broken.stderr.contains("is not a profile file") && broken.stderr.contains("hookline login"));
    setup.app.stop().await;
}

#[tokio::test]
async fn completions_are_generated_for_each_shell() {
    let config = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let script = hookline(config.path(), &[], &["completions", shell]).await.ok();
        assert!(script.stdout.contains("webhooks") && script.stdout.contains("rotate-secret"), "{shell}");
    }
}

#[tokio::test]
async fn the_client_streams_every_page() {
    let setup = Setup::new().await;
    let receiver = TestReceiver::start().await;
    for _ in 0..5 {
        setup.app.webhook(&setup.key, &receiver.url, &["*"]).await;
    }
    let client = hookline_client::Client::new(&setup.app.base, setup.key.clone()).unwrap();
    let all: Vec<_> = client.webhooks_all(2).try_collect().await.unwrap();
    assert_eq!(all.len(), 5, "three pages of 2, 2 and 1");
    let ids: Vec<&str> = all.iter().map(|w| w.id.as_str()).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), 5);
    let limited = setup.run(&["webhooks", "list", "--limit", "3", "--json"]).await.ok().json();
    assert_eq!(limited.as_array().unwrap().len(), 3);
    let everything = setup.run(&["webhooks", "list", "--all", "--json"]).await.ok().json();
    assert_eq!(everything.as_array().unwrap().len(), 5);
    let error = client.webhook("wh_nope").await.unwrap_err();
    assert_eq!((error.status(), error.code()), (Some(404), Some("not_found")));
    setup.app.stop().await;
}
