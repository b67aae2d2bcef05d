//! The dashboard in a real headless Chromium: sign in, create a webhook through the form (a rejected form
//! keeps what was typed), reveal the secret, send a test event and see it arrive at a loopback receiver, make
//! a delivery fail and retry it from its page, preview a recovery, filter events, sign out, and open a
//! one-time portal link in a fresh browser. Every page is saved at 1280 and 375 px (see `browser::shoot`).

use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::json;

use crate::browser::{self, click, fill, shoot, text, tick, until_text};
use crate::support::{Reply, TestApp, TestReceiver};

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_end_to_end_in_a_real_browser() {
    let Some(driver) = browser::driver("dashboard_end_to_end_in_a_real_browser").await else { return };
    let app = TestApp::spawn().await;
    let key = app.platform("acme").await;
    let receiver = TestReceiver::start().await;
    let base = app.base.clone();
    let page = |path: &str| format!("{base}{path}");
    let b = driver.browser().await;

    // Signed out, every page sends the browser to sign-in; a wrong key is refused in the API's words.
    b.goto(&page("/ui/webhooks")).await.unwrap();
    assert!(b.current_url().await.unwrap().path().ends_with("/ui/sign-in"));
    shoot(&b, "sign-in").await;
    fill(&b, "api_key", "hk_not-a-real-key").await;
    click(&b, "main button[type=submit]").await;
    assert!(text(&b).await.contains("unknown API key"));
    fill(&b, "api_key", &key).await;
    click(&b, "main button[type=submit]").await;
    assert_eq!(b.current_url().await.unwrap().path(), "/ui/");
    let overview = text(&b).await;
    assert!(overview.contains("No webhooks yet"), "{overview}");
    shoot(&b, "overview-empty").await;

    // Create a webhook: a bad concurrency is refused, the typed URL and ticked boxes are kept.
    b.goto(&page("/ui/webhooks/new")).await.unwrap();
    fill(&b, "url", &receiver.url).await;
    tick(&b, "input[name=events][value='user.created']").await;
    fill(&b, "concurrency", "0").await;
    click(&b, "main button[type=submit]").await;
    let rejected = text(&b).await;
    assert!(rejected.contains("concurrency: must be between 1 and 256"), "{rejected}");
    let kept = b.find(Locator::Id("url")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some(receiver.url.as_str()));
    let still_ticked =
        b.find(Locator::Css("input[name=events][value='user.created']")).await.unwrap().prop("checked").await.unwrap();
    assert_eq!(still_ticked.as_deref(), Some("true"));
    shoot(&b, "webhook-form-error").await;
    fill(&b, "concurrency", "4").await;
    click(&b, "main button[type=submit]").await;
    let created = text(&b).await;
    assert!(created.contains("Webhook created"), "{created}");
    let webhook_url = b.current_url().await.unwrap();
    let webhook_id = webhook_url.path().rsplit('/').next().unwrap().to_owned();
    let (status, api_view) = app.call("GET", &format!("/v1/webhooks/{webhook_id}"), Some(&key), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api_view["events"], json!(["user.created"]));
    assert_eq!(api_view["concurrency"], json!(4));

    // Reveal the secret: the same one the API shows.
    click(&b, "form[action$='/secret'] button").await;
    let shown = b.find(Locator::Id("secret")).await.unwrap().text().await.unwrap();
    let (_, secret) = app.call("GET", &format!("/v1/webhooks/{webhook_id}/secret"), Some(&key), None).await;
    assert_eq!(shown, secret["secret"].as_str().unwrap());

    // Send a test event: it arrives at the receiver and its delivery shows as delivered.
    click(&b, "form[action$='/test'] button").await;
    let arrived = receiver.wait_for(1).await;
    assert_eq!(arrived[0].json()["type"], "user.created");
    let shown = until_text(&b, webhook_url.as_str(), "delivered").await;
    assert!(shown.contains("Test event sent") || shown.contains("delivered"));
    shoot(&b, "webhook").await;

    // A webhook whose receiver fails: the delivery fails for good, then a retry from its page succeeds.
    let failing = TestReceiver::start().await;
    failing.set_fallback(Some(Reply::Status(500)));
    let hook = app.webhook(&key, &failing.url, &["order.confirmed"]).await;
    let accepted = app.publish(&key, json!({"type": "order.confirmed", "data": {"order": 7}})).await;
    let event_id = accepted["id"].as_str().unwrap().to_owned();
    let deliveries = app
        .eventually(&format!("/v1/webhooks/{}/deliveries", hook["id"].as_str().unwrap()), &key, |list| {
            list["data"][0]["status"] == "failed"
        })
        .await;
    let delivery_id = deliveries["data"][0]["id"].as_str().unwrap().to_owned();
    b.goto(&page(&format!("/ui/deliveries/{delivery_id}"))).await.unwrap();
    let failed = text(&b).await;
    assert!(failed.contains("Attempt 3") && failed.contains("500"), "{failed}");
    assert!(failed.contains(r#""order":7"#), "the body as sent: {failed}");
    shoot(&b, "delivery-failed").await;
    failing.set_fallback(None);
    click(&b, "form[action$='/retry'] button").await;
    assert!(text(&b).await.contains("Retry queued"));
    failing.wait_for(4).await;
    let retried = until_text(&b, &page(&format!("/ui/deliveries/{delivery_id}")), "Attempt 4").await;
    assert!(retried.contains("delivered"), "{retried}");
    shoot(&b, "delivery").await;

    // Event list filters and the event page.
    b.goto(&page("/ui/events?type=order.confirmed")).await.unwrap();
    let events = text(&b).await;
    assert!(events.contains(&event_id), "{events}");
    let rows = b.find_all(Locator::Css("table tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 1, "only the order.confirmed event, not the test event: {events}");
    shoot(&b, "events").await;
    b.goto(&page("/ui/events?since=yesterday")).await.unwrap();
    assert!(text(&b).await.contains("since: must be an RFC 3339 time"));
    b.goto(&page(&format!("/ui/events/{event_id}"))).await.unwrap();
    assert!(text(&b).await.contains(&failing.url));
    shoot(&b, "event").await;

    // Recovery preview counts, overview counts and charts, notifications, the webhook list.
    let hook_id = hook["id"].as_str().unwrap();
    b.goto(&page(&format!("/ui/webhooks/{hook_id}/recover?since=2000-01-01T00:00:00Z"))).await.unwrap();
    assert!(text(&b).await.contains("0 failed deliveries"), "the retried delivery no longer counts");
    shoot(&b, "recover").await;
    b.goto(&page("/ui/")).await.unwrap();
    let overview = text(&b).await;
    // The counters count what finished when: the failing webhook's delivery failed for good, then was retried
    // by hand and delivered, so it shows once as failed and once as delivered (in 1 h and in 24 h).
    assert_eq!(overview.matches("1 delivered · 0 failed").count(), 2, "the healthy webhook: {overview}");
    assert_eq!(overview.matches("1 delivered · 1 failed").count(), 2, "the failing webhook: {overview}");
    shoot(&b, "overview").await;
    b.goto(&page("/ui/webhooks")).await.unwrap();
    assert!(text(&b).await.contains(&receiver.url));
    shoot(&b, "webhooks").await;
    b.goto(&page("/ui/notifications")).await.unwrap();
    shoot(&b, "notifications").await;
    b.goto(&page(&format!("/ui/webhooks/{webhook_id}/edit"))).await.unwrap();
    shoot(&b, "webhook-edit").await;

    // Sign out: the session is gone.
    click(&b, "form[action='/ui/sign-out'] button").await;
    b.goto(&page("/ui/")).await.unwrap();
    assert!(b.current_url().await.unwrap().path().ends_with("/ui/sign-in"));
    b.close().await.unwrap();

    // A portal link signs a fresh browser in once.
    let (status, link) = app.call("POST", "/v1/portal-links", Some(&key), Some(json!({"expires_in": "5m"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let path = link["url"].as_str().unwrap().split_once("/ui/").map(|(_, rest)| format!("/ui/{rest}")).unwrap();
    let fresh = driver.browser().await;
    fresh.goto(&page(&path)).await.unwrap();
    assert_eq!(fresh.current_url().await.unwrap().path(), "/ui/");
    assert!(text(&fresh).await.contains("acme"));
    let other = driver.browser().await;
    other.goto(&page(&path)).await.unwrap();
    assert!(text(&other).await.contains("already used or has expired"));
    fresh.close().await.unwrap();
    other.close().await.unwrap();
    app.stop().await;
}
