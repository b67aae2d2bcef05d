//! Delivery over real HTTP: the exact request, retries, exhaustion, manual retry, redirects, timeouts,
//! secret rotation and push dispatch.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{Received, Reply, TestApp, TestReceiver};

fn verify_both(received: &Received, secrets: &[&str]) {
    let id = received.header("webhook-id");
    let ts = received.header("webhook-timestamp");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    for secret in secrets {
        hookline_verify::verify_standard(
            secret,
            id,
            ts,
            &received.body,
            received.header("webhook-signature"),
            now,
            300,
        )
        .unwrap_or_else(|e| panic!("webhook-signature does not verify with {secret}: {e}"));
    }
    hookline_verify::verify_tradly(secrets[0], id, received.header("x-tradly-signature"))
        .expect("X-Tradly-Signature verifies with the newest secret");
}

#[tokio::test]
async fn a_delivery_is_the_contract_request_byte_for_byte() {
    let app = TestApp::spawn().await;
    let key = app.platform("wire").await;
    let receiver = TestReceiver::start().await;
    let webhook = app.webhook(&key, &receiver.url, &["order.confirmed"]).await;
    let secret = webhook["secret"].as_str().unwrap();
    let accepted = app
        .publish(
            &key,
            json!({"id": "ord-42-confirmed", "type": "order.confirmed", "data": {"order_id": 42, "total": "19.90"}}),
        )
        .await;
    assert_eq!(accepted["id"], "ord-42-confirmed");
    assert_eq!(accepted["deliveries"], 1);
    let created_at = accepted["created_at"].as_str().unwrap();

    let received = receiver.wait_for(1).await.remove(0);
    let expected_body = format!(
        r#"{{"id":"ord-42-confirmed","type":"order.confirmed","created_at":"{created_at}","data":{{"order_id":42,"total":"19.90"}}}}"#
    );
    assert_eq!(std::str::from_utf8(&received.body).unwrap(), expected_body);
    assert_eq!(received.path, "/hook");
    assert_eq!(received.header("content-type"), "application/json");
    assert_eq!(received.header("user-agent"), concat!("hookline/", env!("CARGO_PKG_VERSION")));
    assert_eq!(received.header("x-tradly-event"), "order.confirmed");
    assert_eq!(received.header("x-tradly-attempt"), "1");
    assert!(received.header("x-tradly-delivery").starts_with("dlv_"));
    assert_eq!(received.header("webhook-id"), "ord-42-confirmed");
    // X-Tradly-Signature exactly as Tradly's documentation computes it: hex HMAC-SHA256(secret, event id).
    assert_eq!(received.header("x-tradly-signature"), hookline_verify::tradly_signature(secret, "ord-42-confirmed"));
    let ts: i64 = received.header("webhook-timestamp").parse().unwrap();
    let key_bytes = hookline_verify::standard_key(secret).unwrap();
    assert_eq!(
        received.header("webhook-signature"),
        hookline_verify::standard_signature(&key_bytes, "ord-42-confirmed", ts, &received.body)
    );
    verify_both(&received, &[secret]);

    // The attempt is recorded and readable three ways.
    let delivery_id = received.header("x-tradly-delivery").to_owned();
    let detail = app.eventually(&format!("/v1/deliveries/{delivery_id}"), &key, |d| d["status"] == "delivered").await;
    assert_eq!(detail["attempts"], 1);
    assert_eq!(detail["attempt_log"][0]["status_code"], 200);
    assert_eq!(detail["attempt_log"][0]["response_excerpt"], "ok");
    let (_, event) = app.call("GET", "/v1/events/ord-42-confirmed", Some(&key), None).await;
    assert_eq!(event["data"], json!({"order_id": 42, "total": "19.90"}));
    assert_eq!(event["deliveries"][0]["status"], "delivered");
    assert_eq!(event["deliveries"][0]["webhook_id"], webhook["id"]);
    let wh = webhook["id"].as_str().unwrap();
    let (_, list) = app.call("GET", &format!("/v1/webhooks/{wh}/deliveries?status=delivered"), Some(&key), None).await;
    assert_eq!(list["data"][0]["id"], delivery_id.as_str());
    let (_, none) = app.call("GET", &format!("/v1/webhooks/{wh}/deliveries?status=failed"), Some(&key), None).await;
    assert_eq!(none["data"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn fan_out_matches_filters_and_a_repeated_id_is_idempotent() {
    let app = TestApp::spawn().await;
    let key = app.platform("fan").await;
    let (all, users, orders) = (TestReceiver::start().await, TestReceiver::start().await, TestReceiver::start().await);
    app.webhook(&key, &all.url, &["*"]).await;
    app.webhook(&key, &users.url, &["user.created", "user.updated"]).await;
    app.webhook(&key, &orders.url, &["order.confirmed"]).await;
    let first = app.publish(&key, json!({"id": "u-1", "type": "user.created", "data": {"n": 1}})).await;
    assert_eq!(first["deliveries"], 2);
    let again = app.publish(&key, json!({"id": "u-1", "type": "user.created", "data": {"n": 1}})).await;
    assert_eq!(again, first, "a repeated id returns the stored event");
    let generated = app.publish(&key, json!({"type": "order.confirmed", "data": {}})).await;
    let generated_id = generated["id"].as_str().unwrap();
    assert!(generated_id.starts_with("evt_") && generated_id.len() == 30, "{generated_id}");

    let to_all = all.wait_for(2).await;
    let to_orders = orders.wait_for(1).await;
    let to_users = users.wait_for(1).await;
    let mut ids: Vec<String> = to_all.iter().map(|r| r.json()["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    let mut expected = vec!["u-1".to_owned(), generated_id.to_owned()];
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(to_orders[0].json()["id"], generated_id);
    assert_eq!(to_users[0].json()["data"], json!({"n": 1}));
    // Nothing more arrives: the repeat created no deliveries.
    let (_, events) = app.call("GET", "/v1/events", Some(&key), None).await;
    assert_eq!(events["data"].as_array().unwrap().len(), 2);
    assert_eq!(users.received().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn failures_are_retried_on_the_schedule_and_every_attempt_is_recorded() {
    let app = TestApp::spawn().await;
    let key = app.platform("retry").await;
    let receiver = TestReceiver::scripted(vec![Reply::Status(500), Reply::Status(503)]).await;
    app.webhook(&key, &receiver.url, &["*"]).await;
    app.publish(&key, json!({"id": "r-1", "type": "user.created", "data": {}})).await;
    let received = receiver.wait_for(3).await;
    let attempts: Vec<&str> = received.iter().map(|r| r.header("x-tradly-attempt")).collect();
    assert_eq!(attempts, ["1", "2", "3"]);
    for pair in received.windows(2) {
        let gap = pair[1].at - pair[0].at;
        // The schedule is 300ms with ±20 % jitter; polling adds up to 50ms.
        assert!(gap >= Duration::from_millis(235), "retried too early: {gap:?}");
        assert!(gap < Duration::from_secs(3), "retried too late: {gap:?}");
    }
    assert!(received.iter().all(|r| r.header("webhook-id") == "r-1"));
    let delivery = received[0].header("x-tradly-delivery");
    let detail = app.eventually(&format!("/v1/deliveries/{delivery}"), &key, |d| d["status"] == "delivered").await;
    let log = detail["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!((log[0]["status_code"].as_u64(), log[0]["error_kind"].as_str()), (Some(500), Some("status")));
    assert_eq!(log[0]["error_message"], "HTTP 500");
    assert_eq!(log[0]["response_excerpt"], "scripted");
    assert_eq!(log[1]["status_code"], 503);
    assert_eq!(log[2]["status_code"], 200);
    assert!(log[2].get("error_kind").is_none());
    // Delivered: the old error is history (in the attempt log), not the delivery's state, in the detail and in
    // the webhook's list alike.
    assert!(detail.get("last_error").is_none(), "{detail}");
    let webhook = detail["webhook_id"].as_str().unwrap();
    let (_, list) = app.call("GET", &format!("/v1/webhooks/{webhook}/deliveries"), Some(&key), None).await;
    assert_eq!(list["data"][0]["status"], "delivered", "{list}");
    assert!(list["data"][0].get("last_error").is_none(), "{list}");
    app.stop().await;
}

/// A retry goes out when it falls due, not at the poller's next round: the engine wakes the poller at the
/// earliest retry it recorded. With a 30 s poll interval, the 300 ms schedule still holds.
#[tokio::test]
async fn retries_go_out_on_schedule_whatever_the_poll_interval() {
    let app = TestApp::spawn_with(|raw| raw.delivery.poll_interval = "30s".into()).await;
    let key = app.platform("retrytimer").await;
    let receiver = TestReceiver::scripted(vec![Reply::Status(500), Reply::Status(500)]).await;
    app.webhook(&key, &receiver.url, &["*"]).await;
    app.publish(&key, json!({"id": "t-1", "type": "user.created", "data": {}})).await;
    let received = receiver.wait_for(3).await;
    for pair in received.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(235), "retried too early: {gap:?}");
        assert!(gap < Duration::from_secs(2), "the retry waited for the poller: {gap:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn exhausted_deliveries_fail_and_a_manual_retry_sends_again() {
    let app = TestApp::spawn().await;
    let key = app.platform("exhaust").await;
    let receiver = TestReceiver::scripted(vec![Reply::Status(500), Reply::Status(500), Reply::Status(500)]).await;
    app.webhook(&key, &receiver.url, &["*"]).await;
    app.publish(&key, json!({"id": "x-1", "type": "user.created", "data": {}})).await;
    let received = receiver.wait_for(3).await;
    let delivery = received[0].header("x-tradly-delivery").to_owned();
    let failed = app.eventually(&format!("/v1/deliveries/{delivery}"), &key, |d| d["status"] == "failed").await;
    assert_eq!(failed["attempts"], 3, "first attempt plus the two scheduled retries");
    assert!(failed.get("next_attempt_at").is_none());
    assert_eq!(failed["last_error"], "HTTP 500");

    let (status, retried) = app.call("POST", &format!("/v1/deliveries/{delivery}/retry"), Some(&key), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{retried}");
    let received = receiver.wait_for(4).await;
    assert_eq!(received[3].header("x-tradly-attempt"), "4");
    let done = app.eventually(&format!("/v1/deliveries/{delivery}"), &key, |d| d["status"] == "delivered").await;
    assert_eq!(done["attempt_log"].as_array().unwrap().len(), 4);
    app.stop().await;
}

#[tokio::test]
async fn redirects_are_not_followed_and_count_as_failures() {
    let app = TestApp::spawn().await;
    let key = app.platform("redirect").await;
    let elsewhere = TestReceiver::start().await;
    let receiver = TestReceiver::scripted(vec![Reply::WithHeader(302, "location", elsewhere.url.clone())]).await;
    app.webhook(&key, &receiver.url, &["*"]).await;
    app.publish(&key, json!({"id": "rd-1", "type": "user.created", "data": {}})).await;
    let received = receiver.wait_for(2).await;
    let delivery = received[0].header("x-tradly-delivery");
    let detail = app.eventually(&format!("/v1/deliveries/{delivery}"), &key, |d| d["status"] == "delivered").await;
    assert_eq!(detail["attempt_log"][0]["status_code"], 302);
    assert_eq!(detail["attempt_log"][0]["error_kind"], "status");
    assert!(elsewhere.received().is_empty(), "the redirect target was contacted");
    app.stop().await;
}

#[tokio::test]
async fn a_slow_receiver_times_out_and_a_refused_connection_is_recorded() {
    let app = TestApp::spawn_with(|raw| {
        raw.delivery.timeout = "300ms".into();
        raw.delivery.retry_schedule = "200ms".into();
    })
    .await;
    let key = app.platform("timeout").await;
    let receiver = TestReceiver::scripted(vec![Reply::Slow(Duration::from_secs(2))]).await;
    app.webhook(&key, &receiver.url, &["user.created"]).await;
    // A port nothing listens on: bind, note the port, close.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    app.webhook(&key, &format!("http://127.0.0.1:{closed}/hook"), &["order.canceled"]).await;
    app.publish(&key, json!({"id": "slow-1", "type": "user.created", "data": {}})).await;
    app.publish(&key, json!({"id": "dead-1", "type": "order.canceled", "data": {}})).await;

    let slow = app.eventually("/v1/events/slow-1", &key, |e| e["deliveries"][0]["status"] == "delivered").await;
    let delivery = slow["deliveries"][0]["id"].as_str().unwrap();
    let (_, detail) = app.call("GET", &format!("/v1/deliveries/{delivery}"), Some(&key), None).await;
    assert_eq!(detail["attempt_log"][0]["error_kind"], "timeout");
    let took = detail["attempt_log"][0]["duration_ms"].as_u64().unwrap();
    assert!((250..1500).contains(&took), "timeout took {took} ms");

    let dead = app.eventually("/v1/events/dead-1", &key, |e| e["deliveries"][0]["status"] == "failed").await;
    let delivery = dead["deliveries"][0]["id"].as_str().unwrap();
    let (_, detail) = app.call("GET", &format!("/v1/deliveries/{delivery}"), Some(&key), None).await;
    let log = detail["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|a| a["error_kind"] == "connect" && a.get("status_code").is_none()), "{log:?}");
    app.stop().await;
}

#[tokio::test]
async fn after_rotation_both_secrets_sign_until_the_overlap_ends() {
    let app = TestApp::spawn().await;
    let key = app.platform("rotate").await;
    let receiver = TestReceiver::start().await;
    let webhook = app.webhook(&key, &receiver.url, &["*"]).await;
    let (wh, old) = (webhook["id"].as_str().unwrap(), webhook["secret"].as_str().unwrap());
    let (_, rotated) = app.call("POST", &format!("/v1/webhooks/{wh}/rotate-secret"), Some(&key), None).await;
    let new = rotated["secret"].as_str().unwrap();
    app.publish(&key, json!({"type": "user.updated", "data": {}})).await;
    let received = receiver.wait_for(1).await.remove(0);
    assert_eq!(received.header("webhook-signature").split(' ').count(), 2);
    verify_both(&received, &[new, old]);
    assert!(
        hookline_verify::verify_tradly(old, received.header("webhook-id"), received.header("x-tradly-signature"))
            .is_err()
    );
    app.stop().await;

    // With no overlap, only the new secret signs.
    let app = TestApp::spawn_with(|raw| raw.webhooks.secret_rotation_overlap = "0s".into()).await;
    let key = app.platform("rotate0").await;
    let receiver = TestReceiver::start().await;
    let webhook = app.webhook(&key, &receiver.url, &["*"]).await;
    let wh = webhook["id"].as_str().unwrap();
    let (_, rotated) = app.call("POST", &format!("/v1/webhooks/{wh}/rotate-secret"), Some(&key), None).await;
    assert!(rotated.get("previous_secret_expires_at").is_none());
    app.publish(&key, json!({"type": "user.updated", "data": {}})).await;
    let received = receiver.wait_for(1).await.remove(0);
    assert_eq!(received.header("webhook-signature").split(' ').count(), 1);
    verify_both(&received, &[rotated["secret"].as_str().unwrap()]);
    app.stop().await;
}

/// Fresh deliveries are pushed to the dispatcher after their commit: with the poller set to a minute, an
/// event still arrives at once.
#[tokio::test]
async fn fresh_deliveries_do_not_wait_for_the_poller() {
    let app = TestApp::spawn_with(|raw| raw.delivery.poll_interval = "60s".into()).await;
    let key = app.platform("push").await;
    let receiver = TestReceiver::start().await;
    app.webhook(&key, &receiver.url, &["*"]).await;
    // The poller's first tick fires at start; publishing after it leaves only the push path.
    for n in 0..20 {
        app.publish(&key, json!({"type": "user.created", "data": {"n": n}})).await;
    }
    assert_eq!(receiver.wait_for(20).await.len(), 20);
    app.stop().await;
}

#[tokio::test]
async fn test_sends_go_to_one_webhook_only() {
    let app = TestApp::spawn().await;
    let key = app.platform("testsend").await;
    let (target, other) = (TestReceiver::start().await, TestReceiver::start().await);
    let webhook = app.webhook(&key, &target.url, &["listing.approved"]).await;
    app.webhook(&key, &other.url, &["*"]).await;
    let wh = webhook["id"].as_str().unwrap();
    let (status, accepted) = app.call("POST", &format!("/v1/webhooks/{wh}/test"), Some(&key), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["type"], "listing.approved");
    assert_eq!(accepted["deliveries"], 1);
    let received = target.wait_for(1).await.remove(0);
    assert_eq!(received.json()["data"]["test"], true);
    verify_both(&received, &[webhook["secret"].as_str().unwrap()]);
    let (status, custom) = app
        .call(
            "POST",
            &format!("/v1/webhooks/{wh}/test"),
            Some(&key),
            Some(json!({"type": "user.created", "data": {"hello": "world"}})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{custom}");
    let received = target.wait_for(2).await.remove(1);
    assert_eq!(received.json()["data"], json!({"hello": "world"}));
    assert!(other.received().is_empty(), "a test send reached another webhook");
    app.stop().await;
}

#[tokio::test]
async fn metrics_count_events_and_attempts() {
    let app = TestApp::spawn().await;
    let key = app.platform("metrics").await;
    let receiver = TestReceiver::scripted(vec![Reply::Status(500)]).await;
    app.webhook(&key, &receiver.url, &["*"]).await;
    app.publish(&key, json!({"id": "m-1", "type": "user.created", "data": {}})).await;
    app.publish(&key, json!({"id": "m-1", "type": "user.created", "data": {}})).await;
    receiver.wait_for(2).await;
    app.eventually("/v1/events/m-1", &key, |e| e["deliveries"][0]["status"] == "delivered").await;
    let response = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for line in [
        "hookline_events_published_total 1",
        "hookline_deliveries_created_total 1",
        "hookline_attempts_total{result=\"delivered\"} 1",
        "hookline_attempts_total{result=\"failed\",kind=\"status\"} 1",
        "hookline_attempt_duration_seconds_count 2",
        "hookline_attempts_in_flight 0",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
    app.stop().await;
}
