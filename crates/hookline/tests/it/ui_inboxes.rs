//! The dashboard's inbox pages over plain HTTP: create with the API's checks and words (a rejected form keeps
//! what was typed), CSRF, the list's counts, captured requests with their copy-as-curl run by a real shell and
//! curl against the inbox, the live stream under the session cookie, tenant isolation, delete; and the
//! overview paging through every webhook.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::json;

use crate::inbox::{inbox, requests};
use crate::support::{TestApp, TestReceiver};
use crate::ui_http::{form, no_redirects, sign_in};

/// The text of HTML as askama escapes it.
fn unescape(html: &str) -> String {
    html.replace("&#34;", "\"").replace("&#39;", "'").replace("&#60;", "<").replace("&#62;", ">").replace("&#38;", "&")
}

fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn inbox_pages_create_show_copy_as_curl_stream_and_delete() {
    let app = TestApp::spawn().await;
    let key = app.platform("acme").await;
    let other_key = app.platform("globex").await;
    let http = no_redirects();
    let session = sign_in(&app, &key).await;
    let get = |path: String| http.get(format!("{}{path}", app.base)).header("cookie", &session).send();
    let post = |path: &str, body: String| {
        http.post(format!("{}{path}", app.base))
            .header("cookie", &session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };

    let empty = get("/ui/inboxes".to_owned()).await.unwrap();
    assert_eq!(empty.status(), StatusCode::OK);
    let html = empty.text().await.unwrap();
    assert!(html.contains("No inboxes yet"), "{html}");
    assert!(html.contains(r#"href="/ui/inboxes" aria-current="page""#), "the nav marks the page");
    let csrf = csrf_of(&html);

    // A bad value is refused in the API's own words, beside the form, and what was typed is kept.
    let (status, api_error) =
        app.call("POST", "/v1/inboxes", Some(&key), Some(json!({"response": {"delay_ms": 60000}}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let rejected = post(
        "/ui/inboxes",
        form(&[("csrf", &csrf), ("status", "201"), ("delay_ms", "60000"), ("body", "kept body"), ("expires_in", "1h")]),
    )
    .await
    .unwrap();
    assert_eq!(rejected.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = unescape(&rejected.text().await.unwrap());
    assert_eq!(api_error["error"]["field"], "response.delay_ms");
    // The API's message names the field, as the form's does.
    let words = api_error["error"]["message"].as_str().unwrap();
    assert!(page.contains(words), "{words} in {page}");
    assert!(page.contains(r#"id="delay_ms" name="delay_ms" inputmode="numeric" class="short mono" value="60000""#));
    assert!(
        page.contains(">kept body</textarea>") && page.contains(r#"value="201""#) && page.contains(r#"value="1h""#)
    );
    let not_a_number = post("/ui/inboxes", form(&[("csrf", &csrf), ("status", "abc")])).await.unwrap();
    assert_eq!(not_a_number.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(not_a_number.text().await.unwrap().contains("response.status: must be an HTTP status from 100 to 599"));
    let bad_lifetime = post("/ui/inboxes", form(&[("csrf", &csrf), ("expires_in", "forever")])).await.unwrap();
    assert!(bad_lifetime.text().await.unwrap().contains("expires_in: must be a duration like 30m, 12h or 7d"));
    // Without the CSRF token nothing is created.
    let forged = post("/ui/inboxes", form(&[("csrf", "forged"), ("status", "202")])).await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let (_, list) = app.call("GET", "/v1/inboxes", Some(&key), None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "no rejected form created an inbox: {list}");

    let created = post(
        "/ui/inboxes",
        form(&[
            ("csrf", &csrf),
            ("status", "202"),
            ("body", "thanks"),
            ("content_type", "text/x-thanks"),
            ("expires_in", "1h"),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let location = created.headers()[LOCATION].to_str().unwrap().to_owned();
    let id = location.trim_start_matches("/ui/inboxes/").split('?').next().unwrap().to_owned();
    let (status, api_inbox) = app.call("GET", &format!("/v1/inboxes/{id}"), Some(&key), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        api_inbox["response"],
        json!({"status": 202, "body": "thanks", "content_type": "text/x-thanks", "delay_ms": 0})
    );
    let url = api_inbox["url"].as_str().unwrap().to_owned();
    let shown = get(location.clone()).await.unwrap().text().await.unwrap();
    assert!(shown.contains("Inbox created") && shown.contains(&url) && shown.contains("No requests yet"), "{shown}");
    assert!(shown.contains(&format!(r#"data-stream="/ui/inboxes/{id}/stream""#)));

    // The live stream, under the session cookie: a capture arrives as a rendered item.
    let mut stream = get(format!("/ui/inboxes/{id}/stream")).await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let body = r#"{"note":"it's $HOME"}"#;
    let sent = app
        .http
        .post(format!("{url}/orders/7?x=1&y=[2]"))
        .header("content-type", "application/json")
        .header("x-trace", "a 'quoted' value")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::ACCEPTED);
    let mut seen = String::new();
    while !seen.contains("</li>") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk()).await.expect("a live event");
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap().expect("the stream stays open")));
    }
    drop(stream);
    let captured = requests(&app, &key, &json!({"id": id})).await;
    let first_id = captured[0]["id"].as_str().unwrap().to_owned();
    assert!(seen.contains(&format!(r#"<li class="capture" id="{first_id}">"#)), "{seen}");
    assert!(seen.contains("/orders/7?x=1&#38;y=[2]") && seen.contains("unsigned"), "{seen}");

    // The page lists it with its verdict, and its copy-as-curl, run by a real shell and curl, sends it again.
    let page = get(format!("/ui/inboxes/{id}")).await.unwrap().text().await.unwrap();
    assert!(page.contains("Not signed") && page.contains("POST") && page.contains("x-trace"), "{page}");
    // Without JavaScript the copy button stays hidden and the command is plain, selectable text; the script
    // that shows the button is an embedded, versioned, same-origin file (the CSP allows no inline script).
    assert!(page.contains(&format!(r#"<button type="button" class="copy" data-copy="curl-{first_id}" hidden>"#)));
    let script = page.split(r#"<script src=""#).nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(script.starts_with("/ui/assets/") && script.ends_with("/inbox.js"), "{script}");
    let js = http.get(format!("{}{script}", app.base)).send().await.unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert!(js.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(js.text().await.unwrap().contains("new EventSource"));
    assert!(!page.contains("<script>"), "no inline script");
    let curl =
        unescape(page.split(&format!(r#"id="curl-{first_id}">"#)).nth(1).unwrap().split("</pre>").next().unwrap());
    assert!(curl.starts_with(&format!("curl -g -X 'POST' '{url}/orders/7?x=1&y=[2]'")), "{curl}");
    if std::path::Path::new("/usr/bin/curl").exists() {
        let output = tokio::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("{curl} -sS -o /dev/null"))
            .output()
            .await
            .unwrap();
        assert!(output.status.success(), "{curl}: {}", String::from_utf8_lossy(&output.stderr));
        let again = requests(&app, &key, &json!({"id": id})).await;
        assert_eq!(again.len(), 2);
        for field in ["method", "path", "query", "body"] {
            assert_eq!(again[0][field], again[1][field], "{field} is the same when sent again");
        }
        let header = |request: &serde_json::Value, name: &str| {
            request["headers"].as_array().unwrap().iter().find(|h| h[0] == name).map(|h| h[1].clone())
        };
        assert_eq!(header(&again[0], "x-trace"), Some(json!("a 'quoted' value")));
        assert_eq!(header(&again[0], "content-type"), Some(json!("application/json")));
    } else {
        eprintln!("SKIPPED running copy-as-curl: no /usr/bin/curl");
    }

    // The list counts what each inbox holds.
    let list = get("/ui/inboxes".to_owned()).await.unwrap().text().await.unwrap();
    let expected = if std::path::Path::new("/usr/bin/curl").exists() { "2" } else { "1" };
    assert!(list.contains(&format!(r#"<td data-label="Requests" class="num">{expected}</td>"#)), "{list}");

    // Another platform's session sees none of it.
    let other = sign_in(&app, &other_key).await;
    for path in [format!("/ui/inboxes/{id}"), format!("/ui/inboxes/{id}/stream")] {
        let theirs = http.get(format!("{}{path}", app.base)).header("cookie", &other).send().await.unwrap();
        assert_eq!(theirs.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let their_list = http.get(format!("{}/ui/inboxes", app.base)).header("cookie", &other).send().await.unwrap();
    assert!(!their_list.text().await.unwrap().contains(&id));

    // Delete: the inbox is gone from the API too.
    let deleted = post(&format!("/ui/inboxes/{id}/delete"), form(&[("csrf", &csrf)])).await.unwrap();
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(deleted.headers()[LOCATION], "/ui/inboxes?ok=inbox-deleted");
    let (status, _) = app.call("GET", &format!("/v1/inboxes/{id}"), Some(&key), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let gone = get(format!("/ui/inboxes/{id}")).await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn a_signed_request_shows_its_verdict_reason_and_webhook_on_the_inbox_page() {
    let app = TestApp::spawn().await;
    let key = app.platform("acme").await;
    let created = inbox(&app, &key, json!({})).await;
    let (id, url) = (created["id"].as_str().unwrap(), created["url"].as_str().unwrap());
    let hook = app.webhook(&key, url, &["*"]).await;
    let hook_id = hook["id"].as_str().unwrap();
    app.publish(&key, json!({"type": "user.created", "data": {"n": 1}})).await;
    app.eventually(&format!("/v1/inboxes/{id}/requests"), &key, |l| l["data"].as_array().unwrap().len() == 1).await;
    // The same signed headers with another body: the signature no longer matches it.
    let delivered = requests(&app, &key, &created).await;
    let mut forged = app.http.post(url).body(r#"{"tampered":true}"#);
    for pair in delivered[0]["headers"].as_array().unwrap() {
        let name = pair[0].as_str().unwrap();
        if name.starts_with("webhook-") || name.starts_with("x-tradly") {
            forged = forged.header(name, pair[1].as_str().unwrap());
        }
    }
    forged.send().await.unwrap();

    let session = sign_in(&app, &key).await;
    let page = no_redirects()
        .get(format!("{}/ui/inboxes/{id}", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let items: Vec<&str> = page.split(r#"<li class="capture""#).skip(1).collect();
    assert_eq!(items.len(), 2, "{page}");
    assert!(items[0].contains("not verified") && items[0].contains("verdict-failed"), "newest first: {}", items[0]);
    let reason = requests(&app, &key, &created).await[0]["verification"]["code"].as_str().unwrap().to_owned();
    let title = match reason.as_str() {
        "body_changed" => "Body changed since signing",
        "wrong_secret" => "Signed with a different secret",
        other => panic!("a tampered body gives body_changed or wrong_secret, not {other}"),
    };
    assert!(items[0].contains(title), "{}", items[0]);
    assert!(
        items[1].contains("Signature verified") && items[1].contains(&format!("/ui/webhooks/{hook_id}")),
        "{}",
        items[1]
    );
    assert!(
        page.contains("Verifies with") && page.contains(&format!(r#"<a href="/ui/webhooks/{hook_id}" class="mono">"#))
    );
    app.stop().await;
}

#[tokio::test]
async fn the_overview_pages_through_every_webhook() {
    let app = TestApp::spawn_with(|raw| raw.limits.max_webhooks = 200).await;
    let key = app.platform("acme").await;
    let receiver = TestReceiver::start().await;
    let mut ids = Vec::new();
    // More than one page, and more than the 100 the overview used to stop at.
    for n in 0..105 {
        let hook = app.webhook(&key, &format!("{}/hook-{n}", receiver.url), &["*"]).await;
        ids.push(hook["id"].as_str().unwrap().to_owned());
    }
    let session = sign_in(&app, &key).await;
    let http = no_redirects();
    let mut shown = Vec::new();
    let mut path = "/ui/".to_owned();
    for _ in 0..5 {
        let page = http.get(format!("{}{path}", app.base)).header("cookie", &session).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        for chunk in html.split(r#"<td data-label="Webhook"><a href="/ui/webhooks/"#).skip(1) {
            shown.push(chunk.split('"').next().unwrap().to_owned());
        }
        match html.split(r#"<a href="/ui/?after="#).nth(1) {
            Some(rest) => path = format!("/ui/?after={}", rest.split('"').next().unwrap()),
            None => break,
        }
    }
    ids.sort();
    shown.sort();
    assert_eq!(shown, ids, "every webhook, each once, over three pages");
    app.stop().await;
}
