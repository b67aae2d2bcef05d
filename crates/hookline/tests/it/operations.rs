//! Operating it: storage failures answer 503 and recover by themselves, the webhook limit, event id reuse,
//! retention in the background, and the operational metrics.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{TestApp, TestReceiver, WAIT};

/// Another process holds SQLite's write lock (as a backup tool or an operator's shell may): publishing answers
/// 503 `storage_unavailable` with `Retry-After` instead of a 500, `/readyz` says not ready, reads still work,
/// and once the lock is let go both recover by themselves.
#[tokio::test]
async fn a_locked_database_answers_503_and_recovers_by_itself() {
    let app = TestApp::spawn_with(|raw| raw.storage.sqlite_busy_timeout = "300ms".into()).await;
    let key = app.platform("acme").await;
    let (status, _) = app.call("GET", "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);

    let locker = rusqlite::Connection::open(app.dir.path().join("hookline.db")).unwrap();
    locker.busy_timeout(Duration::from_secs(5)).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let response = app
        .http
        .post(format!("{}/v1/events", app.base))
        .bearer_auth(&key)
        .json(&json!({"type": "user.created", "data": {"a": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "storage_unavailable", "{body}");
    let (status, body) = app.call("GET", "/readyz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (status, _) = app.call("GET", "/v1/events", Some(&key), None).await;
    assert_eq!(status, StatusCode::OK, "reads go on while writes cannot");

    locker.execute_batch("ROLLBACK").unwrap();
    let (status, _) = app.call("GET", "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    app.publish(&key, json!({"type": "user.created", "data": {"a": 1}})).await;
    app.stop().await;
}

/// A platform may have at most `limits.max_webhooks` webhooks; the next is refused with a clear code and
/// nothing is created; deleting one makes room.
#[tokio::test]
async fn webhooks_per_platform_are_limited() {
    let app = TestApp::spawn_with(|raw| raw.limits.max_webhooks = 2).await;
    let key = app.platform("acme").await;
    let other = app.platform("other").await;
    let first = app.webhook(&key, "http://127.0.0.1:9/a", &["*"]).await;
    app.webhook(&key, "http://127.0.0.1:9/b", &["*"]).await;
    let body = json!({"url": "http://127.0.0.1:9/c", "events": ["*"]});
    let (status, refused) = app.call("POST", "/v1/webhooks", Some(&key), Some(body.clone())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "webhook_limit_reached");
    let (_, list) = app.call("GET", "/v1/webhooks", Some(&key), None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2, "{list}");
    // A `hookline listen` listener is fanned out to like a webhook, and counts as one.
    let listener = json!({"forward_to": "http://127.0.0.1:9/listen"});
    let (status, refused) = app.call("POST", "/v1/listeners", Some(&key), Some(listener)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "webhook_limit_reached");
    app.webhook(&other, "http://127.0.0.1:9/c", &["*"]).await;

    let path = format!("/v1/webhooks/{}", first["id"].as_str().unwrap());
    let (status, _) = app.call("DELETE", &path, Some(&key), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.call("POST", "/v1/webhooks", Some(&key), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    app.stop().await;
}

/// An event id reused for another event is a 409 `event_id_reused`; the same request repeated is still the
/// original 202, and the receiver gets the event once.
#[tokio::test]
async fn reusing_an_event_id_is_a_conflict_and_repeats_stay_idempotent() {
    let app = TestApp::spawn().await;
    let receiver = TestReceiver::start().await;
    let key = app.platform("acme").await;
    app.webhook(&key, &receiver.url, &["*"]).await;
    let event = json!({"id": "order-42", "type": "user.created", "data": {"a": 1}});
    let accepted = app.publish(&key, event.clone()).await;
    let repeated = app.publish(&key, event).await;
    assert_eq!(repeated, accepted);

    for reused in [
        json!({"id": "order-42", "type": "user.created", "data": {"a": 2}}),
        json!({"id": "order-42", "type": "user.updated", "data": {"a": 1}}),
    ] {
        let (status, body) = app.call("POST", "/v1/events", Some(&key), Some(reused)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], "event_id_reused");
        assert_eq!(body["error"]["field"], "id");
    }
    receiver.wait_for(1).await;
    let (_, stored) = app.call("GET", "/v1/events/order-42", Some(&key), None).await;
    assert_eq!(stored["data"], json!({"a": 1}), "{stored}");
    app.stop().await;
}

/// With a tiny `retention.max_age`, a delivered event is pruned in the background (and counted in
/// `/metrics`), while an event held for a disabled webhook, as old, stays.
#[tokio::test]
async fn retention_prunes_old_finished_events_in_the_background() {
    let app = TestApp::spawn_with(|raw| {
        raw.retention.max_age = "1s".into();
        raw.retention.interval = "100ms".into();
        raw.retention.pause = "10ms".into();
    })
    .await;
    let receiver = TestReceiver::start().await;
    let key = app.platform("acme").await;
    app.webhook(&key, &receiver.url, &["user.created"]).await;
    let disabled = app.webhook(&key, &receiver.url, &["user.updated"]).await;
    let path = format!("/v1/webhooks/{}", disabled["id"].as_str().unwrap());
    let (status, body) = app.call("PATCH", &path, Some(&key), Some(json!({"enabled": false}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.publish(&key, json!({"id": "sent", "type": "user.created", "data": {}})).await;
    app.publish(&key, json!({"id": "held", "type": "user.updated", "data": {}})).await;
    receiver.wait_for(1).await;

    let deadline = Instant::now() + WAIT;
    loop {
        let (status, _) = app.call("GET", "/v1/events/sent", Some(&key), None).await;
        if status == StatusCode::NOT_FOUND {
            break;
        }
        assert!(Instant::now() < deadline, "the delivered event was never pruned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, held) = app.call("GET", "/v1/events/held", Some(&key), None).await;
    assert_eq!(status, StatusCode::OK, "the held event stays: {held}");
    let metrics = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("hookline_pruned_total{kind=\"events\"} 1\n"), "{metrics}");
    assert!(metrics.contains("hookline_pruned_total{kind=\"attempts\"} 1\n"), "{metrics}");
    assert!(metrics.contains("hookline_oldest_pending_delivery_seconds 0.000\n"), "nothing pending: {metrics}");
    app.stop().await;
}

/// `/metrics` shows the age of the oldest delivery still to send.
#[tokio::test]
async fn metrics_show_the_oldest_pending_delivery() {
    let app = TestApp::spawn_with(|raw| raw.delivery.retry_schedule = "1h".into()).await;
    let receiver = TestReceiver::start().await;
    receiver.set_fallback(Some(crate::support::Reply::Status(500)));
    let key = app.platform("acme").await;
    app.webhook(&key, &receiver.url, &["*"]).await;
    app.publish(&key, json!({"type": "user.created", "data": {}})).await;
    receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let metrics = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    let age: f64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("hookline_oldest_pending_delivery_seconds "))
        .expect("the gauge is shown")
        .parse()
        .unwrap();
    assert!((1.0..60.0).contains(&age), "{age}");
    app.stop().await;
}

/// A webhook limited to 5 deliveries per second receives 20 events paced over more than 3 s, all of them, while
/// another webhook of the same platform gets its 20 at once. The limit reads back, can be removed, and a
/// value out of range is refused.
#[tokio::test]
async fn a_rate_limited_webhook_is_paced_and_no_other() {
    let app = TestApp::spawn().await;
    let (limited, free) = (TestReceiver::start().await, TestReceiver::start().await);
    let key = app.platform("acme").await;
    let body = json!({"url": limited.url, "events": ["*"], "rate_limit": 5});
    let (status, paced) = app.call("POST", "/v1/webhooks", Some(&key), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{paced}");
    assert_eq!(paced["rate_limit"], 5);
    app.webhook(&key, &free.url, &["*"]).await;
    let (status, refused) = app
        .call("POST", "/v1/webhooks", Some(&key), Some(json!({"url": free.url, "events": ["*"], "rate_limit": 0})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["error"]["field"], "rate_limit");

    let start = Instant::now();
    for n in 0..20 {
        app.publish(&key, json!({"type": "user.created", "data": {"n": n}})).await;
    }
    let fast = free.wait_for(20).await;
    let fast_took = fast.last().unwrap().at - start;
    let slow = limited.wait_for(20).await;
    let slow_took = slow.last().unwrap().at - start;
    assert!(slow_took >= Duration::from_millis(3_600), "20 at 5/s take 19 intervals of 200 ms: {slow_took:?}");
    assert!(fast_took < Duration::from_millis(2_000), "the other webhook is not paced: {fast_took:?}");
    let gaps: Vec<Duration> = slow.windows(2).map(|pair| pair[1].at - pair[0].at).collect();
    assert!(gaps.iter().all(|gap| *gap >= Duration::from_millis(150)), "{gaps:?}");

    let path = format!("/v1/webhooks/{}", paced["id"].as_str().unwrap());
    let (status, updated) = app.call("PATCH", &path, Some(&key), Some(json!({"rate_limit": null}))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(updated.get("rate_limit").is_none(), "{updated}");
    app.stop().await;
}
