//! Failure handling end to end: the failure email over real SMTP (once per window), auto-disable with held
//! deliveries, 410 Gone, Retry-After, isolation of a slow webhook, operational events and recovery.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::smtp::SmtpSink;
use crate::support::{Reply, TestApp, TestReceiver, WAIT};

/// An app that mails through `smtp`, sends notices within 50 ms and retries deliveries every 100 ms.
async fn app_with_mail(smtp: &SmtpSink, adjust: impl FnOnce(&mut hookline::config::RawConfig)) -> TestApp {
    let url = smtp.url.clone();
    TestApp::spawn_with(move |raw| {
        raw.notify.smtp_url = Some(url);
        raw.notify.smtp_from = "hookline <alerts@hookline.test>".into();
        raw.notify.poll_interval = "50ms".into();
        raw.notify.retry_schedule = "200ms,200ms".into();
        raw.delivery.retry_schedule = "100ms".into();
        adjust(raw);
    })
    .await
}

async fn notifications(app: &TestApp, key: &str) -> Vec<Value> {
    let (status, list) = app.call("GET", "/v1/notifications", Some(key), None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["data"].as_array().unwrap().clone()
}

async fn wait_status(app: &TestApp, key: &str, event: &str, status: &str) -> Value {
    app.eventually(&format!("/v1/events/{event}"), key, |e| e["deliveries"][0]["status"] == status).await
}

#[tokio::test]
async fn exhausted_deliveries_send_one_failure_email_per_window() {
    let smtp = SmtpSink::start().await;
    let app = app_with_mail(&smtp, |_| {}).await;
    let key = app.platform("mailer").await;
    let failing = TestReceiver::scripted(vec![]).await;
    failing.set_fallback(Some(Reply::Status(500)));
    let ops = TestReceiver::start().await;
    let webhook = app.webhook(&key, &failing.url, &["order.confirmed", "user.created"]).await;
    let wh = webhook["id"].as_str().unwrap();
    app.webhook(&key, &ops.url, &["delivery.failed"]).await;

    for (id, kind) in [("o-1", "order.confirmed"), ("u-1", "user.created")] {
        app.publish(&key, json!({"id": id, "type": kind, "data": {}})).await;
    }
    for id in ["o-1", "u-1"] {
        wait_status(&app, &key, id, "failed").await;
    }
    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.to, ["ops@mailer.example.com"]);
    assert_eq!(mail.from, "alerts@hookline.test");
    assert_eq!(
        mail.header("subject").as_deref(),
        Some("Tradly webhook delivery issues for https://mailer.example.com")
    );
    let body = mail.decoded();
    assert!(body.contains("multipart/alternative") && body.contains("text/html"), "plain and HTML parts");
    for needle in [failing.url.as_str(), "HTTP 500", &format!("/ui/webhooks/{wh}"), "failed after every retry"] {
        assert!(body.contains(needle), "the email lacks {needle:?}:\n{body}");
    }
    assert!(body.contains("o-1") || body.contains("u-1"));

    // The operational webhook hears of each failure; the failing webhook never receives its own news.
    let reports = ops.wait_for(2).await;
    let mut failed_events: Vec<String> =
        reports.iter().map(|r| r.json()["data"]["event_id"].as_str().unwrap().to_owned()).collect();
    failed_events.sort();
    assert_eq!(failed_events, ["o-1", "u-1"]);
    assert!(reports.iter().all(|r| r.json()["type"] == "delivery.failed" && r.json()["data"]["webhook_id"] == wh));
    assert!(failing.received().iter().all(|r| r.json()["type"] != "delivery.failed"));

    // More failures within the hour: no second email yet. They are counted in the next notice, which waits
    // for the window to end.
    app.publish(&key, json!({"id": "o-2", "type": "order.confirmed", "data": {}})).await;
    wait_status(&app, &key, "o-2", "failed").await;
    ops.wait_for(3).await;
    let list = notifications(&app, &key).await;
    let sent: Vec<&Value> = list.iter().filter(|n| n["status"] == "sent").collect();
    assert_eq!(sent.len(), 1, "one notice per webhook per window: {list:?}");
    assert_eq!(sent[0]["kind"], "deliveries_failed");
    assert_eq!(sent[0]["to"], "ops@mailer.example.com");
    assert_eq!(sent[0]["webhook_id"], wh);
    assert_eq!(sent[0]["subject"], "Tradly webhook delivery issues for https://mailer.example.com");
    let waiting: Vec<&Value> = list.iter().filter(|n| n["status"] == "pending").collect();
    assert_eq!(waiting.len(), 1, "{list:?}");
    let counted: u64 = list.iter().map(|n| n["failed_count"].as_u64().unwrap()).sum();
    assert_eq!(counted, 3, "o-1, u-1 and o-2, each once");
    assert_eq!(smtp.mails().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_failed_send_is_retried_and_its_outcome_is_visible() {
    let smtp = SmtpSink::start().await;
    smtp.refuse_next(1);
    let app = app_with_mail(&smtp, |raw| raw.notify.product_name = "Acme".into()).await;
    let key = app.platform("retrymail").await;
    let failing = TestReceiver::scripted(vec![]).await;
    failing.set_fallback(Some(Reply::Status(503)));
    app.webhook(&key, &failing.url, &["*"]).await;
    app.publish(&key, json!({"id": "a-1", "type": "user.created", "data": {}})).await;
    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(smtp.refused(), 1, "the first send was refused");
    assert_eq!(
        mail.header("subject").as_deref(),
        Some("Acme webhook delivery issues for https://retrymail.example.com")
    );
    let sent = app.eventually("/v1/notifications", &key, |list| list["data"][0]["status"] == "sent").await;
    let notice = &sent["data"][0];
    assert_eq!(notice["attempts"], 2);
    assert!(notice["send_error"].is_null(), "{notice}");
    app.stop().await;
}

#[tokio::test]
async fn without_smtp_notices_are_logged_not_lost() {
    let app = TestApp::spawn_with(|raw| {
        raw.delivery.retry_schedule = "".into();
        raw.notify.poll_interval = "50ms".into();
    })
    .await;
    let key = app.platform("nomail").await;
    let failing = TestReceiver::scripted(vec![Reply::Status(500)]).await;
    app.webhook(&key, &failing.url, &["*"]).await;
    app.publish(&key, json!({"id": "n-1", "type": "user.created", "data": {}})).await;
    let list = app.eventually("/v1/notifications", &key, |l| l["data"][0]["status"] == "logged").await;
    assert_eq!(list["data"][0]["subject"], "Tradly webhook delivery issues for https://nomail.example.com");
    app.stop().await;
}

#[tokio::test]
async fn a_failing_webhook_is_disabled_its_events_held_and_sent_oldest_first_when_enabled() {
    let smtp = SmtpSink::start().await;
    let app = app_with_mail(&smtp, |raw| {
        raw.failure.disable_after = "600ms".into();
        raw.delivery.retry_schedule = "150ms,150ms,150ms,150ms,150ms,150ms,150ms,150ms,150ms,150ms".into();
    })
    .await;
    let key = app.platform("disable").await;
    let failing = TestReceiver::scripted(vec![]).await;
    failing.set_fallback(Some(Reply::Status(500)));
    let ops = TestReceiver::start().await;
    let webhook = app.webhook(&key, &failing.url, &["*"]).await;
    let wh = webhook["id"].as_str().unwrap().to_owned();
    app.webhook(&key, &ops.url, &["webhook.disabled", "webhook.recovered"]).await;
    // One in flight at a time, so "oldest first" is observable.
    app.call("PATCH", &format!("/v1/webhooks/{wh}"), Some(&key), Some(json!({"concurrency": 1}))).await;

    app.publish(&key, json!({"id": "h-1", "type": "user.created", "data": {}})).await;
    let disabled = app.eventually(&format!("/v1/webhooks/{wh}"), &key, |w| w["enabled"] == false).await;
    let reason = disabled["disabled_reason"].as_str().unwrap();
    assert!(reason.starts_with("every attempt failed since"), "{reason}");
    assert!(disabled["failing_since"].is_string());
    assert_eq!(wait_status(&app, &key, "h-1", "held").await["deliveries"][0]["status"], "held");

    // The owner is told by email and by the operational webhook.
    let mail = smtp.wait_for(1).await;
    assert!(mail.iter().any(|m| m.decoded().contains("Your webhook was disabled")), "no disable email");
    let told = ops.wait_for(1).await.remove(0).json();
    assert_eq!(told["type"], "webhook.disabled");
    assert_eq!(told["data"]["webhook_id"], wh.as_str());

    // While disabled, new events are held, never dropped, and not sent.
    let attempts_before = failing.received().len();
    for id in ["h-2", "h-3"] {
        let accepted = app.publish(&key, json!({"id": id, "type": "user.created", "data": {}})).await;
        assert_eq!(accepted["deliveries"], 1);
        assert_eq!(wait_status(&app, &key, id, "held").await["deliveries"][0]["attempts"], 0);
    }
    let (_, held) = app.call("GET", &format!("/v1/webhooks/{wh}/deliveries?status=held"), Some(&key), None).await;
    assert_eq!(held["data"].as_array().unwrap().len(), 3);
    assert_eq!(failing.received().len(), attempts_before);

    // Enabling sends what was held, oldest first, and the webhook is reported recovered.
    failing.set_fallback(None);
    let (status, enabled) =
        app.call("PATCH", &format!("/v1/webhooks/{wh}"), Some(&key), Some(json!({"enabled": true}))).await;
    assert_eq!(status, StatusCode::OK, "{enabled}");
    assert!(enabled.get("failing_since").is_none());
    let received = failing.wait_for(attempts_before + 3).await;
    let order: Vec<String> =
        received[attempts_before..].iter().map(|r| r.json()["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(order, ["h-1", "h-2", "h-3"]);
    for id in ["h-1", "h-2", "h-3"] {
        wait_status(&app, &key, id, "delivered").await;
    }
    let recovered = ops.wait_for(2).await.remove(1).json();
    assert_eq!(recovered["type"], "webhook.recovered");
    app.stop().await;
}

#[tokio::test]
async fn gone_disables_the_webhook_at_once() {
    let app = TestApp::spawn().await;
    let key = app.platform("gone").await;
    let gone = TestReceiver::scripted(vec![Reply::Status(410)]).await;
    let ops = TestReceiver::start().await;
    let webhook = app.webhook(&key, &gone.url, &["*"]).await;
    let wh = webhook["id"].as_str().unwrap();
    app.webhook(&key, &ops.url, &["webhook.disabled", "delivery.failed"]).await;
    app.publish(&key, json!({"id": "g-1", "type": "user.created", "data": {}})).await;
    let disabled = app.eventually(&format!("/v1/webhooks/{wh}"), &key, |w| w["enabled"] == false).await;
    assert_eq!(disabled["disabled_reason"], "the endpoint answered 410 Gone");
    let event = wait_status(&app, &key, "g-1", "held").await;
    assert_eq!(event["deliveries"][0]["attempts"], 1, "no retry after 410");
    let told = ops.wait_for(1).await;
    assert_eq!(told[0].json()["type"], "webhook.disabled");
    assert_eq!(gone.received().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let app = TestApp::spawn_with(|raw| raw.delivery.retry_schedule = "100ms,100ms".into()).await;
    let key = app.platform("later").await;
    let receiver = TestReceiver::scripted(vec![Reply::WithHeader(429, "retry-after", "1".into())]).await;
    app.webhook(&key, &receiver.url, &["*"]).await;
    app.publish(&key, json!({"type": "user.created", "data": {}})).await;
    let received = receiver.wait_for(2).await;
    let gap = received[1].at - received[0].at;
    assert!(gap >= Duration::from_millis(950), "Retry-After: 1 was not honoured: {gap:?}");
    assert!(gap < Duration::from_secs(3), "{gap:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_slow_webhook_does_not_delay_a_fast_one() {
    let app = TestApp::spawn_with(|raw| {
        raw.delivery.timeout = "10s".into();
        raw.delivery.lease = "20s".into();
    })
    .await;
    let key = app.platform("isolation").await;
    let slow = TestReceiver::scripted(vec![]).await;
    slow.set_fallback(Some(Reply::Slow(Duration::from_secs(3))));
    let fast = TestReceiver::start().await;
    app.webhook(&key, &slow.url, &["*"]).await;
    app.webhook(&key, &fast.url, &["*"]).await;
    let started = Instant::now();
    for n in 0..40 {
        app.publish(&key, json!({"type": "user.created", "data": {"n": n}})).await;
    }
    let received = fast.wait_for(40).await;
    let took = received.last().unwrap().at - started;
    // The slow webhook holds 8 requests for 3 s each and has 32 more queued; the fast one must not wait.
    assert!(took < Duration::from_secs(2), "the fast webhook waited behind the slow one: {took:?}");
    assert!(slow.received().len() <= 8, "the slow webhook exceeded its concurrency");
    app.stop().await;
}

#[tokio::test]
async fn recover_resends_failed_deliveries_since_a_time() {
    let app = TestApp::spawn_with(|raw| raw.delivery.retry_schedule = "".into()).await;
    let key = app.platform("recover").await;
    let receiver = TestReceiver::scripted(vec![Reply::Status(500), Reply::Status(500)]).await;
    let webhook = app.webhook(&key, &receiver.url, &["*"]).await;
    let wh = webhook["id"].as_str().unwrap();
    let before = hookline_core::Timestamp::now().minus(Duration::from_secs(1)).to_rfc3339();
    for id in ["r-1", "r-2"] {
        app.publish(&key, json!({"id": id, "type": "user.created", "data": {}})).await;
        wait_status(&app, &key, id, "failed").await;
    }
    let path = format!("/v1/webhooks/{wh}/recover");
    let future = hookline_core::Timestamp::now().plus(Duration::from_secs(3600)).to_rfc3339();
    let (status, none) = app.call("POST", &path, Some(&key), Some(json!({"since": future}))).await;
    assert_eq!((status, none), (StatusCode::ACCEPTED, json!({"deliveries": 0})));
    let (status, error) = app.call("POST", &path, Some(&key), Some(json!({"since": "last week"}))).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("since")));
    let (status, recovered) = app.call("POST", &path, Some(&key), Some(json!({"since": before}))).await;
    assert_eq!((status, recovered), (StatusCode::ACCEPTED, json!({"deliveries": 2})));
    for id in ["r-1", "r-2"] {
        let event = wait_status(&app, &key, id, "delivered").await;
        assert_eq!(event["deliveries"][0]["attempts"], 2, "recorded as a new attempt");
    }
    let deadline = Instant::now() + WAIT;
    while receiver.received().len() < 4 {
        assert!(Instant::now() < deadline);
        receiver.wait_for(4).await;
    }
    app.stop().await;
}

/// A job that waits in its webhook's lane longer than a lease keeps its lease (renewed), so the poller never
/// claims it a second time: each event arrives exactly once.
#[tokio::test]
async fn jobs_waiting_longer_than_a_lease_are_not_sent_twice() {
    let app = TestApp::spawn_with(|raw| {
        raw.delivery.lease = "900ms".into();
        raw.delivery.timeout = "600ms".into();
        raw.delivery.poll_interval = "50ms".into();
    })
    .await;
    let key = app.platform("renew").await;
    let slow = TestReceiver::scripted(vec![]).await;
    slow.set_fallback(Some(Reply::Slow(Duration::from_millis(300))));
    let webhook = app.webhook(&key, &slow.url, &["*"]).await;
    let wh = webhook["id"].as_str().unwrap();
    app.call("PATCH", &format!("/v1/webhooks/{wh}"), Some(&key), Some(json!({"concurrency": 1}))).await;
    // Eight events one at a time, 300 ms each: the last waits about 2.4 s, well over the 900 ms lease.
    for n in 0..8 {
        app.publish(&key, json!({"id": format!("q-{n}"), "type": "user.created", "data": {}})).await;
    }
    slow.wait_for(8).await;
    for n in 0..8 {
        wait_status(&app, &key, &format!("q-{n}"), "delivered").await;
    }
    // A second claim would sit behind the originals in the lane: wait until the engine is idle to see it.
    let deadline = Instant::now() + WAIT;
    loop {
        let metrics = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
        let idle = metrics.lines().any(|l| l == "hookline_jobs_queued 0")
            && metrics.lines().any(|l| l == "hookline_attempts_in_flight 0");
        if idle {
            break;
        }
        assert!(Instant::now() < deadline, "the engine never went idle");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut ids: Vec<String> = slow.received().iter().map(|r| r.json()["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    let expected: Vec<String> = (0..8).map(|n| format!("q-{n}")).collect();
    assert_eq!(ids, expected, "an event was sent twice (or lost)");
    app.stop().await;
}
