//! The failure email tells the truth, end to end over real SMTP: 16 deliveries failing within a few seconds
//! are all counted, across as many emails as the window allows, each naming the real window; a webhook that
//! keeps failing for `notify_after` is reported once, and its recovery once more; `/metrics` counts the emails.

use std::time::Duration;

use serde_json::{Value, json};

use crate::smtp::{Mail, SmtpSink};
use crate::support::{Reply, TestApp, TestReceiver};

/// The number after `Failed deliveries: ` in a "deliveries failed" email's text.
fn failed_count(mail: &Mail) -> Option<u32> {
    let body = mail.decoded();
    let rest = body.split("Failed deliveries: ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

fn is_kind(mail: &Mail, needle: &str) -> bool {
    mail.decoded().contains(needle)
}

#[tokio::test]
async fn sixteen_failures_are_all_reported_with_the_real_window_then_failing_and_recovery() {
    let smtp = SmtpSink::start().await;
    let url = smtp.url.clone();
    let app = TestApp::spawn_with(move |raw| {
        raw.notify.smtp_url = Some(url);
        raw.notify.poll_interval = "50ms".into();
        // No retries: every failed attempt fails its delivery for good.
        raw.delivery.retry_schedule = "".into();
        raw.failure.notify_window = "3s".into();
        raw.failure.notify_after = "2s".into();
    })
    .await;
    let key = app.platform("truth").await;
    let receiver = TestReceiver::scripted(vec![]).await;
    receiver.set_fallback(Some(Reply::Status(500)));
    app.webhook(&key, &receiver.url, &["user.created"]).await;

    // 16 failures within about 5 s: some before the first email goes out, some while and after it does.
    let mut published = 0;
    let started = std::time::Instant::now();
    for burst in [4, 6, 6] {
        for _ in 0..burst {
            published += 1;
            app.publish(&key, json!({"id": format!("f-{published}"), "type": "user.created", "data": {}})).await;
        }
        receiver.wait_for(published).await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
    assert_eq!(published, 16);
    let span = started.elapsed();
    // The failures span more than notify_after (2 s): the owner is told the webhook keeps failing, once.
    let done = |list: &Value| {
        let data = list["data"].as_array().cloned().unwrap_or_default();
        let counted: u64 = data
            .iter()
            .filter(|n| n["kind"] == "deliveries_failed" && n["status"] == "sent")
            .map(|n| n["failed_count"].as_u64().unwrap_or(0))
            .sum();
        let failing_sent = data.iter().any(|n| n["kind"] == "webhook_failing" && n["status"] == "sent");
        counted == 16 && failing_sent
    };
    let list = app.eventually("/v1/notifications", &key, done).await;
    let notices = list["data"].as_array().unwrap();
    assert!(notices.iter().all(|n| n["status"] == "sent"), "nothing left pending: {list}");

    let mails = smtp.mails();
    let failed: Vec<&Mail> = mails.iter().filter(|m| is_kind(m, "failed after every retry")).collect();
    let counts: Vec<u32> = failed.iter().map(|m| failed_count(m).expect("a count")).collect();
    assert_eq!(counts.iter().sum::<u32>(), 16, "every failure reported exactly once: {counts:?}");
    assert!(counts.len() >= 2, "failures after the first email went into a later one: {counts:?}");
    // At most one email per 3 s window: the first, then one per window the failures spanned after it.
    let most = 2 + (span.as_secs_f64() / 3.0) as usize;
    assert!(counts.len() <= most, "at most {most} emails for failures over {span:?}: {counts:?}");
    for mail in &failed {
        let body = mail.decoded();
        assert!(body.contains("per webhook every 3 seconds"), "the real window:\n{body}");
        assert!(!body.contains("per hour") && !body.contains("1 hour"), "{body}");
    }
    let failing: Vec<&Mail> = mails.iter().filter(|m| is_kind(m, "Your webhook keeps failing")).collect();
    assert_eq!(failing.len(), 1, "told once that it keeps failing");
    assert!(failing[0].decoded().contains("every attempt has failed since"));

    // The receiver heals: the first success tells the owner, once.
    receiver.set_fallback(Some(Reply::Status(200)));
    for n in 0..2 {
        app.publish(&key, json!({"id": format!("ok-{n}"), "type": "user.created", "data": {}})).await;
        receiver.wait_for(17 + n).await;
    }
    let recovered = app
        .eventually("/v1/notifications", &key, |l| {
            l["data"]
                .as_array()
                .is_some_and(|d| d.iter().any(|n| n["kind"] == "webhook_recovered" && n["status"] == "sent"))
        })
        .await;
    let kinds: Vec<&Value> = recovered["data"].as_array().unwrap().iter().map(|n| &n["kind"]).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "webhook_recovered").count(), 1, "{kinds:?}");
    let mails = smtp.mails();
    let healed: Vec<&Mail> = mails.iter().filter(|m| is_kind(m, "Your webhook is delivering again")).collect();
    assert_eq!(healed.len(), 1);
    assert_eq!(
        healed[0].header("subject").as_deref(),
        Some("Tradly webhook delivery issues for https://truth.example.com")
    );

    // /metrics counts every email sent.
    let metrics = reqwest::get(format!("{}/metrics", app.base)).await.unwrap().text().await.unwrap();
    let sent_line = format!("hookline_notifications_sent_total {}", mails.len());
    assert!(metrics.contains(&sent_line), "{sent_line} in:\n{metrics}");
    assert!(metrics.contains("hookline_notifications_failed_total 0"), "{metrics}");
    app.stop().await;
}
