//! Secrets at rest, API keys and the admin's platform routes, end to end over SQLite.

use std::time::Duration;

use axum::http::StatusCode;
use hookline::serve::{self, Server};
use serde_json::{Value, json};

use crate::support::{ADMIN_TOKEN, Received, TestApp, TestReceiver, test_config};

const KEY_A: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const KEY_B: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

/// The secret columns as stored, read with plain SQL.
fn raw_secrets(dir: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(dir.join("hookline.db")).unwrap();
    let mut statement = conn
        .prepare("SELECT secret FROM webhooks UNION ALL SELECT previous_secret FROM webhooks WHERE previous_secret IS NOT NULL")
        .unwrap();
    statement.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect()
}

fn verify(received: &Received, secret: &str) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    hookline_verify::verify_standard(
        secret,
        received.header("webhook-id"),
        received.header("webhook-timestamp"),
        &received.body,
        received.header("webhook-signature"),
        now,
        300,
    )
    .expect("the delivery is signed with the webhook's secret");
}

/// Starts the server on `dir`'s database with the given secrets keys.
async fn start(dir: &std::path::Path, key: &str, previous: &[&str]) -> anyhow::Result<(Server, String)> {
    let config = test_config(dir, |raw| {
        raw.secrets.key = Some(key.to_owned());
        raw.secrets.previous_keys = previous.iter().map(|k| (*k).to_owned()).collect();
    });
    let store = serve::open_store(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let server = serve::start(&config, listener, store)?;
    let base = format!("http://{}", server.addr);
    Ok((server, base))
}

async fn call(base: &str, method: &str, path: &str, key: &str, body: Option<Value>) -> (StatusCode, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}")).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let bytes = response.bytes().await.unwrap();
    (status, if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() })
}

async fn publish_and_verify(base: &str, key: &str, receiver: &TestReceiver, n: usize, secret: &str) {
    let event = json!({"id": format!("evt_{n}"), "type": "user.created", "data": {"n": n}});
    let (status, body) = call(base, "POST", "/v1/events", key, Some(event)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let received = receiver.wait_for(n).await;
    verify(&received[n - 1], secret);
}

/// Key A seals the secret (no `whsec_` in the database) and deliveries verify; restarted with [B, A] the server
/// re-encrypts every secret under B by itself; restarted with B alone the deliveries still verify; with A alone
/// (or a key never used) the server refuses to start and names the key it lacks.
#[tokio::test]
async fn secrets_are_encrypted_at_rest_and_survive_a_key_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = TestReceiver::start().await;
    let (server, base) = start(dir.path(), KEY_A, &[]).await.unwrap();
    let (_, platform) = call(
        &base,
        "POST",
        "/v1/platforms",
        ADMIN_TOKEN,
        Some(json!({"name": "sealed", "url": "https://sealed.example.com", "email": "ops@sealed.example.com"})),
    )
    .await;
    let key = platform["api_key"].as_str().unwrap().to_owned();
    let (status, webhook) =
        call(&base, "POST", "/v1/webhooks", &key, Some(json!({"url": receiver.url, "events": ["*"]}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = webhook["secret"].as_str().unwrap().to_owned();
    let raw = raw_secrets(dir.path());
    assert_eq!(raw.len(), 1);
    assert!(raw[0].starts_with("enc:v1:") && !raw[0].contains("whsec_") && !raw[0].contains(&secret[6..]));
    publish_and_verify(&base, &key, &receiver, 1, &secret).await;
    server.stop().await.unwrap();

    let (server, base) = start(dir.path(), KEY_B, &[KEY_A]).await.unwrap();
    publish_and_verify(&base, &key, &receiver, 2, &secret).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while raw_secrets(dir.path()) == raw {
        assert!(std::time::Instant::now() < deadline, "the secret was not re-encrypted at start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rotated = raw_secrets(dir.path());
    assert!(rotated[0].starts_with("enc:v1:") && !rotated[0].contains("whsec_"));
    server.stop().await.unwrap();

    let (server, base) = start(dir.path(), KEY_B, &[]).await.unwrap();
    publish_and_verify(&base, &key, &receiver, 3, &secret).await;
    let (_, shown) =
        call(&base, "GET", &format!("/v1/webhooks/{}/secret", webhook["id"].as_str().unwrap()), &key, None).await;
    assert_eq!(shown["secret"], secret.as_str());
    server.stop().await.unwrap();

    let refused = start(dir.path(), KEY_A, &[]).await.err().expect("the old key alone is refused");
    let message = format!("{refused:#}");
    assert!(message.contains("not configured"), "{message}");
}

/// A platform's keys: the first is listed, a new read-only key reads but every write is a 403, its last use is
/// shown, and once revoked it is a 401 at once. Another platform's key can't be revoked.
#[tokio::test]
async fn api_keys_are_created_listed_read_only_and_revoked() {
    let app = TestApp::spawn().await;
    let key = app.platform("keys").await;
    let other = app.platform("other").await;
    let (status, listed) = app.call("GET", "/v1/api-keys", Some(&key), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["name"], "default");
    assert_eq!(listed["data"][0]["prefix"], format!("{}…", &key[..7]), "the first key's prefix is kept too");

    let (status, created) =
        app.call("POST", "/v1/api-keys", Some(&key), Some(json!({"name": "reporting", "read_only": true}))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let reader = created["key"].as_str().unwrap().to_owned();
    assert!(reader.starts_with("hk_"));
    assert_eq!(created["prefix"], format!("{}…", &reader[..7]));
    let (status, bad) = app.call("POST", "/v1/api-keys", Some(&key), Some(json!({"name": " "}))).await;
    assert_eq!((status, bad["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("name")));

    let (status, _) = app.call("GET", "/v1/webhooks", Some(&reader), None).await;
    assert_eq!(status, StatusCode::OK);
    for (method, path, body) in [
        ("POST", "/v1/webhooks", Some(json!({"url": "http://127.0.0.1:9/x", "events": ["*"]}))),
        ("POST", "/v1/events", Some(json!({"type": "user.created", "data": {}}))),
        ("POST", "/v1/api-keys", Some(json!({"name": "escalate"}))),
        ("DELETE", &format!("/v1/api-keys/{}", created["id"].as_str().unwrap()), None),
    ] {
        let (status, error) = app.call(method, path, Some(&reader), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {error}");
        assert_eq!(error["error"]["code"], "read_only_key");
    }

    let listed = app
        .eventually("/v1/api-keys", &key, |body| {
            body["data"].as_array().unwrap().iter().all(|k| k["last_used_at"].is_string())
        })
        .await;
    // Written at most once a minute per key, not on every request: more requests leave it as it was.
    for _ in 0..5 {
        assert_eq!(app.call("GET", "/v1/webhooks", Some(&reader), None).await.0, StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, again) = app.call("GET", "/v1/api-keys", Some(&key), None).await;
    assert_eq!(again["data"][1]["last_used_at"], listed["data"][1]["last_used_at"]);
    let keys = listed["data"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[1]["read_only"], true);
    assert!(keys.iter().all(|k| k.get("key").is_none()), "a listing never shows a key: {listed}");
    assert!(!listed.to_string().contains(&reader[3..]));

    let path = format!("/v1/api-keys/{}", created["id"].as_str().unwrap());
    assert_eq!(app.call("DELETE", &path, Some(&other), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.call("DELETE", &path, Some(&key), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call("GET", "/v1/webhooks", Some(&reader), None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call("DELETE", &path, Some(&key), None).await.0, StatusCode::NOT_FOUND);
    app.stop().await;
}

/// With the admin token: platforms are listed in pages, read, updated (validated as at creation) and deleted
/// with everything they own; without it, each route is a 401.
#[tokio::test]
async fn the_admin_lists_updates_and_deletes_platforms() {
    let app = TestApp::spawn().await;
    let doomed_key = app.platform("doomed").await;
    let kept_key = app.platform("kept").await;
    let receiver = TestReceiver::start().await;
    app.webhook(&doomed_key, &receiver.url, &["*"]).await;
    app.publish(&doomed_key, json!({"type": "user.created", "data": {}})).await;
    receiver.wait_for(1).await;

    let admin = Some(ADMIN_TOKEN);
    let (status, page) = app.call("GET", "/v1/platforms?limit=1", admin, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, rest) = app.call("GET", &format!("/v1/platforms?limit=1&after={cursor}"), admin, None).await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    let (_, all) = app.call("GET", "/v1/platforms", admin, None).await;
    let doomed = all["data"].as_array().unwrap().iter().find(|p| p["name"] == "doomed").unwrap().clone();
    assert!(doomed.get("api_key").is_none());
    let path = format!("/v1/platforms/{}", doomed["id"].as_str().unwrap());

    assert_eq!(app.call("GET", "/v1/platforms", Some(&kept_key), None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call("DELETE", &path, Some(&kept_key), None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call("GET", &path, admin, None).await.1, doomed);
    let (status, error) = app.call("PATCH", &path, admin, Some(json!({"email": "not an email"}))).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("email")));
    let (status, updated) =
        app.call("PATCH", &path, admin, Some(json!({"name": "Renamed", "url": "https://renamed.example.com"}))).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!((updated["name"].as_str(), updated["email"].as_str()), (Some("Renamed"), doomed["email"].as_str()));
    assert_eq!(app.call("GET", &path, admin, None).await.1, updated);
    assert_eq!(app.call("GET", "/v1/platforms/plt_nope", admin, None).await.0, StatusCode::NOT_FOUND);

    assert_eq!(app.call("DELETE", &path, admin, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call("GET", &path, admin, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.call("GET", "/v1/webhooks", Some(&doomed_key), None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call("GET", "/v1/webhooks", Some(&kept_key), None).await.0, StatusCode::OK);
    assert_eq!(app.call("DELETE", &path, admin, None).await.0, StatusCode::NOT_FOUND);
    app.stop().await;
}

/// `hookline api-keys` creates (the key printed once), lists (never the key) and revokes.
#[tokio::test]
async fn the_cli_manages_api_keys() {
    let setup = crate::cli::Setup::new().await;
    let created = setup.run(&["api-keys", "create", "--name", "deploys", "--read-only", "--json"]).await.ok().json();
    let key = created["key"].as_str().unwrap().to_owned();
    assert_eq!((created["name"].as_str(), created["read_only"].as_bool()), (Some("deploys"), Some(true)));
    let listed = setup.run(&["api-keys", "list", "--json"]).await.ok().json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(!listed.to_string().contains(&key));
    let id = created["id"].as_str().unwrap();
    assert_eq!(setup.run(&["api-keys", "revoke", id, "--json"]).await.ok().json(), json!({"revoked": id}));
    assert_eq!(setup.app.call("GET", "/v1/webhooks", Some(&key), None).await.0, StatusCode::UNAUTHORIZED);
    let gone = setup.run(&["api-keys", "revoke", id]).await;
    assert_eq!(gone.code, 3, "{}", gone.stderr);
    setup.app.stop().await;
}

/// `hookline secrets rotate-key` re-encrypts every secret with the new key (the server stopped, as SQLite
/// requires), after which the server starts with the new key alone; without a key it refuses to run.
#[tokio::test]
async fn the_rotate_key_command_reencrypts_every_secret() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = TestReceiver::start().await;
    let (server, base) = start(dir.path(), KEY_A, &[]).await.unwrap();
    let (_, platform) = call(
        &base,
        "POST",
        "/v1/platforms",
        ADMIN_TOKEN,
        Some(json!({"name": "rotate", "url": "https://rotate.example.com", "email": "ops@rotate.example.com"})),
    )
    .await;
    let key = platform["api_key"].as_str().unwrap().to_owned();
    let (_, webhook) =
        call(&base, "POST", "/v1/webhooks", &key, Some(json!({"url": receiver.url, "events": ["*"]}))).await;
    let secret = webhook["secret"].as_str().unwrap().to_owned();
    server.stop().await.unwrap();
    let before = raw_secrets(dir.path());

    let config = dir.path().join("rotate.toml");
    std::fs::write(&config, format!("[secrets]\nkey = \"{KEY_B}\"\nprevious_keys = [\"{KEY_A}\"]\n")).unwrap();
    let database = format!("sqlite://{}", dir.path().join("hookline.db").display());
    let args = ["secrets", "rotate-key", "--config", config.to_str().unwrap(), "--database", &database];
    let run = crate::cli::hookline(dir.path(), &[], &args).await.ok();
    assert!(run.stdout.contains("re-encrypted the secrets of 1 webhooks"), "{}", run.stdout);
    let after = raw_secrets(dir.path());
    assert_ne!(after, before);
    assert!(after.iter().all(|s| s.starts_with("enc:v1:") && !s.contains("whsec_")));
    let again = crate::cli::hookline(dir.path(), &[], &args).await.ok();
    assert!(again.stdout.contains("of 0 webhooks"), "{}", again.stdout);
    let no_key = crate::cli::hookline(dir.path(), &[], &["secrets", "rotate-key", "--database", &database]).await;
    assert_ne!(no_key.code, 0);
    assert!(no_key.stderr.contains("secrets.key"), "{}", no_key.stderr);

    let (server, base) = start(dir.path(), KEY_B, &[]).await.unwrap();
    publish_and_verify(&base, &key, &receiver, 1, &secret).await;
    server.stop().await.unwrap();
}
