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
    let clock_hour = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 3600;
    let first_hour = clock_hour();
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
    fill(&b, "rate_limit", "7").await;
    click(&b, "main button[type=submit]").await;
    let created = text(&b).await;
    assert!(created.contains("Webhook created"), "{created}");
    assert!(created.contains("7/s"), "the rate limit shows: {created}");
    let webhook_url = b.current_url().await.unwrap();
    let webhook_id = webhook_url.path().rsplit('/').next().unwrap().to_owned();
    let (status, api_view) = app.call("GET", &format!("/v1/webhooks/{webhook_id}"), Some(&key), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api_view["events"], json!(["user.created"]));
    assert_eq!(api_view["concurrency"], json!(4));
    assert_eq!(api_view["rate_limit"], json!(7));

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
    // by hand and delivered, so it shows once as failed and once as delivered (this clock hour and 24 h; when
    // the test ran across the turn of an hour, only the 24 h column is sure to hold them all).
    let columns = if clock_hour() == first_hour { 2 } else { 1 };
    let healthy = overview.matches("1 delivered · 0 failed").count();
    assert!(healthy >= columns, "the healthy webhook: {overview}");
    assert!(overview.matches("1 delivered · 1 failed").count() >= columns, "the failing webhook: {overview}");
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

/// Waits, without reloading, until `css` matches `count` elements of the open page; returns their texts.
async fn until_live(b: &fantoccini::Client, css: &str, count: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let found = b.find_all(Locator::Css(css)).await.unwrap();
        if found.len() >= count {
            let mut texts = Vec::new();
            for element in found {
                texts.push(element.text().await.unwrap());
            }
            return texts;
        }
        assert!(std::time::Instant::now() < deadline, "{css} never reached {count} live; page:\n{}", text(b).await);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The inspector in a real browser: create an inbox (a rejected form first), point a webhook at it through the
/// webhook form, open the inbox page, send a test event from the webhook's page in another tab and see it arrive
/// live (no reload) marked verified, then forge a request with a tampered body and see it arrive with its reason.
#[tokio::test(flavor = "multi_thread")]
async fn inbox_pages_show_captures_live_with_their_verdicts_in_a_real_browser() {
    let Some(driver) = browser::driver("inbox_pages_show_captures_live_with_their_verdicts_in_a_real_browser").await
    else {
        return;
    };
    let app = TestApp::spawn().await;
    let key = app.platform("acme").await;
    let base = app.base.clone();
    let page = |path: &str| format!("{base}{path}");
    let b = driver.browser().await;
    b.goto(&page("/ui/sign-in")).await.unwrap();
    fill(&b, "api_key", &key).await;
    click(&b, "main button[type=submit]").await;

    // The inbox list, empty; a rejected form keeps what was typed and says what the API says.
    click(&b, "nav a[href='/ui/inboxes']").await;
    assert!(text(&b).await.contains("No inboxes yet"));
    shoot(&b, "inboxes-empty").await;
    fill(&b, "delay_ms", "45000").await;
    fill(&b, "body", "{\"ok\":true}").await;
    click(&b, "main button[type=submit]").await;
    let rejected = text(&b).await;
    assert!(rejected.contains("response.delay_ms: must be between 0 and 30000 (30 s)"), "{rejected}");
    let kept = b.find(Locator::Id("body")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("{\"ok\":true}"));
    shoot(&b, "inbox-form-error").await;
    fill(&b, "delay_ms", "0").await;
    fill(&b, "content_type", "application/json").await;
    click(&b, "main button[type=submit]").await;
    let created = text(&b).await;
    assert!(created.contains("Inbox created") && created.contains("No requests yet"), "{created}");
    let mut inbox_page = b.current_url().await.unwrap();
    inbox_page.set_query(None);
    let inbox_page = inbox_page.to_string();
    let inbox_id = b.current_url().await.unwrap().path().rsplit('/').next().unwrap().to_owned();
    let inbox_url = b.find(Locator::Id("inbox-url")).await.unwrap().text().await.unwrap();
    assert!(inbox_url.ends_with(&format!("/in/{inbox_id}")), "{inbox_url}");
    shoot(&b, "inbox-empty").await;

    // A webhook pointing at the inbox, through the form.
    b.goto(&page("/ui/webhooks/new")).await.unwrap();
    fill(&b, "url", &inbox_url).await;
    tick(&b, "input[name=events][value='user.created']").await;
    click(&b, "main button[type=submit]").await;
    assert!(text(&b).await.contains("Webhook created"));
    let webhook_page = b.current_url().await.unwrap().to_string();
    let webhook_id = b.current_url().await.unwrap().path().rsplit('/').next().unwrap().to_owned();

    // The inbox page open in the first tab, its stream connected; a marker tells a reload apart.
    b.goto(&inbox_page).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !b.find(Locator::Id("live")).await.unwrap().text().await.unwrap().starts_with("Live:") {
        assert!(std::time::Instant::now() < deadline, "the inbox page's stream never opened");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    b.execute("window.notReloaded = true; return null", vec![]).await.unwrap();
    let inbox_tab = b.window().await.unwrap();

    // The test event, sent from the webhook's page in a second tab.
    let second = b.new_window(true).await.unwrap();
    b.switch_to_window(second.handle).await.unwrap();
    b.goto(&webhook_page).await.unwrap();
    click(&b, "form[action$='/test'] button").await;
    assert!(text(&b).await.contains("Test event sent"));
    b.close_window().await.unwrap();
    b.switch_to_window(inbox_tab).await.unwrap();
    let items = until_live(&b, "#requests li.capture", 1).await;
    assert!(items[0].contains("verified") && !items[0].contains("not verified"), "{}", items[0]);
    assert!(items[0].contains(&webhook_id) && items[0].contains("Signature verified"), "{}", items[0]);
    let still = b.execute("return window.notReloaded === true", vec![]).await.unwrap();
    assert_eq!(still, json!(true), "the request arrived without a reload");

    // A forged request: the test delivery's signature headers with a tampered body.
    let (_, list) = app.call("GET", &format!("/v1/inboxes/{inbox_id}/requests"), Some(&key), None).await;
    let mut forged = app.http.post(&inbox_url).header("content-type", "application/json").body(r#"{"amount":1000000}"#);
    for pair in list["data"][0]["headers"].as_array().unwrap() {
        let name = pair[0].as_str().unwrap();
        if name.starts_with("webhook-") || name.starts_with("x-tradly") {
            forged = forged.header(name, pair[1].as_str().unwrap());
        }
    }
    assert_eq!(forged.send().await.unwrap().status(), StatusCode::OK);
    let items = until_live(&b, "#requests li.capture", 2).await;
    assert!(items[0].contains("not verified"), "the forged one is on top: {}", items[0]);
    assert!(
        items[0].contains("Body changed since signing") || items[0].contains("Signed with a different secret"),
        "the reason is shown: {}",
        items[0]
    );
    let still = b.execute("return window.notReloaded === true", vec![]).await.unwrap();
    assert_eq!(still, json!(true));
    assert_eq!(b.find(Locator::Id("request-count")).await.unwrap().text().await.unwrap(), "2");
    // The live items have working copy buttons (shown by the script), and the command is in the page.
    let copy = b.find(Locator::Css("#requests li.capture button.copy")).await.unwrap();
    assert!(copy.is_displayed().await.unwrap(), "the script shows the copy button");
    let curl = b.find(Locator::Css("#requests li.capture pre[id^='curl-']")).await.unwrap();
    let command = curl.prop("textContent").await.unwrap().unwrap();
    assert!(command.starts_with(&format!("curl -g -X 'POST' '{inbox_url}'")), "{command}");
    b.find(Locator::Css("#requests li.capture details.curl summary")).await.unwrap().click().await.unwrap();
    b.find(Locator::Css("#requests li.capture details summary")).await.unwrap().click().await.unwrap();
    shoot(&b, "inbox").await;

    // After a reload the same two are there (from the store), newest first.
    b.refresh().await.unwrap();
    let items = until_live(&b, "#requests li.capture", 2).await;
    assert!(items[0].contains("not verified") && items[1].contains("Signature verified"));
    b.goto(&page("/ui/inboxes")).await.unwrap();
    let list_text = text(&b).await;
    assert!(list_text.contains(&inbox_url), "{list_text}");
    shoot(&b, "inboxes").await;

    // Delete from its page.
    b.goto(&inbox_page).await.unwrap();
    click(&b, "form[action$='/delete'] button").await;
    assert!(text(&b).await.contains("Inbox deleted"));
    b.close().await.unwrap();
    app.stop().await;
}
