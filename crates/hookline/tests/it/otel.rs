//! OpenTelemetry (`--features otel`): the real binary exports its spans over OTLP/HTTP to a loopback collector,
//! one `publish` span per publish and one `attempt` span per attempt, carrying the event, webhook and delivery
//! ids. `cargo test -p hookline --features otel --test it otel`.

use serde_json::{Value, json};

use crate::security::Process;
use crate::support::TestReceiver;

/// Whether `needle` occurs in `haystack` (protobuf keeps strings as plain bytes).
fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn publish_and_attempt_spans_are_exported_over_otlp_http() {
    let collector = TestReceiver::start().await;
    let endpoint = collector.url.trim_end_matches("/hook").to_owned();
    let receiver = TestReceiver::start().await;
    let temp = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", temp.path().join("hookline.db").display());
    let mut hookline = Process::start(
        &["--dev", "--log-json", "--listen", "127.0.0.1:0", "--database", &database],
        &[("HOOKLINE_TELEMETRY__OTLP_ENDPOINT", endpoint.as_str())],
    );
    let banner = hookline.wait_for("the dev banner", |l| l["fields"]["api_key"].is_string()).await;
    let api = banner["fields"]["api"].as_str().unwrap().to_owned();
    let key = banner["fields"]["api_key"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let webhook: Value = http
        .post(format!("{api}/webhooks"))
        .bearer_auth(&key)
        .json(&json!({"url": receiver.url, "events": ["*"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let webhook_id = webhook["id"].as_str().expect("webhook created").to_owned();
    let published = http
        .post(format!("{api}/events"))
        .bearer_auth(&key)
        .json(&json!({"id": "evt_otel_1", "type": "user.created", "data": {"user_id": 7}}))
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 202);
    let delivered = receiver.wait_for(1).await.remove(0);
    let delivery_id = delivered.header("x-tradly-delivery").to_owned();

    // Shutdown flushes the batch: the export arrives before the process exits.
    hookline.stop().await;
    let exports = collector.received();
    assert!(!exports.is_empty(), "no OTLP export arrived");
    for export in &exports {
        assert_eq!(export.path, "/v1/traces");
        assert_eq!(export.header("content-type"), "application/x-protobuf");
    }
    let bytes: Vec<u8> = exports.iter().flat_map(|e| e.body.iter().copied()).collect();
    for needle in
        ["publish", "attempt", "event_id", "evt_otel_1", "webhook_id", &webhook_id, "delivery_id", &delivery_id]
    {
        assert!(contains(&bytes, needle), "the export lacks {needle:?}");
    }
}
