//! The dashboard and its API additions over plain HTTP: the event filters and the 400 for unknown query
//! parameters, the security headers and cookie flags, CSRF, tenant isolation on pages, portal links.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::support::{TestApp, TestReceiver};

/// A form body; the values tests send (tokens, keys) need no escaping beyond this.
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace('%', "%25").replace('&', "%26").replace('+', "%2B")))
        .collect::<Vec<_>>()
        .join("&")
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Signs in through the form like a browser: fetch the form (and its cookie), post the key, keep the session.
pub(crate) async fn sign_in(app: &TestApp, key: &str) -> String {
    let http = no_redirects();
    let page = http.get(format!("{}/ui/sign-in", app.base)).send().await.unwrap();
    let cookie = page.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let csrf = cookie.split_once('=').unwrap().1.to_owned();
    let signed = http
        .post(format!("{}/ui/sign-in", app.base))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("csrf", csrf.as_str()), ("api_key", key)]))
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let session = signed
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("hl_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax") && session.contains("Path=/ui"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "--dev serves plain HTTP: {session}");
    session.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn event_filters_and_unknown_parameters() {
    let app = TestApp::spawn().await;
    let key = app.platform("acme").await;
    let receiver = TestReceiver::start().await;
    let hook = app.webhook(&key, &receiver.url, &["*"]).await;
    let user = app.publish(&key, json!({"type": "user.created", "data": {}})).await;
    let order = app.publish(&key, json!({"type": "order.confirmed", "data": {}})).await;

    let (status, list) = app.call("GET", "/v1/events?type=order.confirmed", Some(&key), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["id"], order["id"]);
    let (_, list) = app.call("GET", "/v1/events?since=2999-01-01T00:00:00Z", Some(&key), None).await;
    assert!(list["data"].as_array().unwrap().is_empty(), "since is applied");
    let (_, list) = app.call("GET", "/v1/events?until=2999-01-01T00:00:00Z&limit=1", Some(&key), None).await;
    assert_eq!(list["data"][0]["id"], order["id"]);
    assert_eq!(list["next_cursor"], order["id"]);
    let (_, list) =
        app.call("GET", &format!("/v1/events?after={}", order["id"].as_str().unwrap()), Some(&key), None).await;
    assert_eq!(list["data"][0]["id"], user["id"]);
    receiver.wait_for(2).await;
    app.eventually("/v1/events?status=delivered", &key, |l| l["data"].as_array().unwrap().len() == 2).await;
    let (_, list) = app.call("GET", "/v1/events?status=failed", Some(&key), None).await;
    assert!(list["data"].as_array().unwrap().is_empty());

    let hook_id = hook["id"].as_str().unwrap();
    let deliveries = format!("/v1/webhooks/{hook_id}/deliveries");
    let (_, list) =
        app.call("GET", &format!("{deliveries}?status=delivered&since=2000-01-01T00:00:00Z"), Some(&key), None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    let (_, list) = app.call("GET", &format!("{deliveries}?until=2000-01-01T00:00:00Z"), Some(&key), None).await;
    assert!(list["data"].as_array().unwrap().is_empty(), "until is applied to deliveries");
    let (status, error) = app.call("GET", &format!("{deliveries}?until=soon"), Some(&key), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "until");
    let (status, error) = app.call("GET", "/v1/events?status=lost", Some(&key), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "status");
    let (status, error) = app.call("GET", "/v1/events?since=yesterday", Some(&key), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "since");
    for path in [
        "/v1/events?sinse=2026-01-01T00:00:00Z",
        "/v1/webhooks?sinse=1",
        &format!("/v1/webhooks/{hook_id}/deliveries?sinse=1"),
        "/v1/notifications?sinse=1",
    ] {
        let (status, error) = app.call("GET", path, Some(&key), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {error}");
        assert_eq!(error["error"]["code"], "invalid_query");
        assert_eq!(error["error"]["field"], "sinse");
        assert_eq!(error["error"]["message"], "unknown query parameter `sinse`");
    }
    app.stop().await;
}

#[tokio::test]
async fn pages_are_guarded_by_session_csrf_tenant_and_headers() {
    let app = TestApp::spawn().await;
    let key = app.platform("acme").await;
    let other_key = app.platform("globex").await;
    let receiver = TestReceiver::start().await;
    let hook = app.webhook(&key, &receiver.url, &["*"]).await;
    let other_hook = app.webhook(&other_key, &receiver.url, &["*"]).await;
    let http = no_redirects();

    let anonymous = http.get(format!("{}/ui/", app.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers()[LOCATION], "/ui/sign-in");
    let csp = anonymous.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"));

    let session = sign_in(&app, &key).await;
    let get = |path: String| http.get(format!("{}{path}", app.base)).header("cookie", &session).send();
    let mine = get(format!("/ui/webhooks/{}", hook["id"].as_str().unwrap())).await.unwrap();
    assert_eq!(mine.status(), StatusCode::OK);
    assert_eq!(mine.headers()["cache-control"], "no-store");
    let html = mine.text().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(!html.contains(hook["secret"].as_str().unwrap()), "the secret is shown only on request");
    let theirs = get(format!("/ui/webhooks/{}", other_hook["id"].as_str().unwrap())).await.unwrap();
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND, "another platform's webhook is not found");

    // Without the CSRF token nothing changes; with it the secret rotates.
    let rotate = format!("{}/ui/webhooks/{}/rotate", app.base, hook["id"].as_str().unwrap());
    let forged = http
        .post(&rotate)
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("csrf", "forged")]))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let secret_path = format!("/v1/webhooks/{}/secret", hook["id"].as_str().unwrap());
    let (_, secret) = app.call("GET", &secret_path, Some(&key), None).await;
    assert_eq!(secret["secret"], hook["secret"]);
    let rotated = http
        .post(&rotate)
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("csrf", csrf.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), StatusCode::SEE_OTHER);
    let (_, secret) = app.call("GET", &secret_path, Some(&key), None).await;
    assert_ne!(secret["secret"], hook["secret"]);

    // A rejected form says what the API says, beside the field, and keeps what was typed.
    let (status, api_error) = app
        .call("POST", "/v1/webhooks", Some(&key), Some(json!({"url": "ftp://files.example", "events": ["*"]})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api_error["error"]["field"], "url");
    let words = api_error["error"]["message"].as_str().unwrap().replace("url: ", "");
    let rejected = http
        .post(format!("{}/ui/webhooks", app.base))
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("csrf", csrf.as_str()), ("url", "ftp://files.example"), ("events", "*")]))
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = rejected.text().await.unwrap();
    let escaped = words
        .replace('&', "&#38;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
        .replace('<', "&#60;")
        .replace('>', "&#62;");
    assert!(page.contains(&format!("url: {escaped}")) || page.contains(&format!("url: {words}")), "{words} in {page}");
    assert!(page.contains(r#"value="ftp://files.example""#), "the typed URL is kept");
    assert!(page.contains(r#"aria-invalid="true" aria-describedby="url-error""#));

    // Sign-out ends the session on the server, not just in the browser.
    let out = http
        .post(format!("{}/ui/sign-out", app.base))
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("csrf", csrf.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = get("/ui/".to_owned()).await.unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(after.headers()[LOCATION], "/ui/sign-in?expired=1");

    // Stylesheet: versioned and cached.
    let css_path = html.split("rel=\"stylesheet\" href=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let css = http.get(format!("{}{css_path}", app.base)).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["cache-control"].to_str().unwrap().contains("max-age=31536000"));
    app.stop().await;
}

#[tokio::test]
async fn portal_links_sign_in_once_and_framing_follows_the_setting() {
    let app = TestApp::spawn_with(|raw| raw.ui.frame_ancestors = vec!["https://admin.acme.example".into()]).await;
    let key = app.platform("acme").await;
    let (status, error) = app.call("POST", "/v1/portal-links", Some(&key), Some(json!({"expires_in": "2d"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "expires_in");
    let (status, _) = app.call("POST", "/v1/portal-links", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, link) = app.call("POST", "/v1/portal-links", Some(&key), None).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let path = link["url"].as_str().unwrap().split_once("/ui/").map(|(_, rest)| format!("/ui/{rest}")).unwrap();

    let http = no_redirects();
    let first = http.get(format!("{}{path}", app.base)).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(first.headers()[LOCATION], "/ui/");
    let csp = first.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(csp.ends_with("frame-ancestors https://admin.acme.example"), "{csp}");
    let session = first.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let overview = http.get(format!("{}/ui/", app.base)).header("cookie", &session).send().await.unwrap();
    assert_eq!(overview.status(), StatusCode::OK);
    assert!(overview.text().await.unwrap().contains("acme"));
    let second = http.get(format!("{}{path}", app.base)).send().await.unwrap();
    assert_eq!(second.status(), StatusCode::NOT_FOUND, "a portal link works once");
    app.stop().await;
}
