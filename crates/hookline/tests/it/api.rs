//! The `/v1` API over HTTP: catalog, webhooks, secrets, bad input, tenant isolation, health and OpenAPI.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN_TOKEN, TestApp, TestReceiver};

#[tokio::test]
async fn health_readiness_and_openapi_describe_every_route() {
    let app = TestApp::spawn().await;
    assert_eq!(app.call("GET", "/healthz", None, None).await, (StatusCode::OK, json!({"status": "ok"})));
    assert_eq!(app.call("GET", "/readyz", None, None).await, (StatusCode::OK, json!({"status": "ok"})));
    let (status, doc) = app.call("GET", "/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/v1/platforms", &["post"][..]),
        ("/v1/event-types", &["get", "post"]),
        ("/v1/webhooks", &["get", "post"]),
        ("/v1/webhooks/{id}", &["get", "patch", "delete"]),
        ("/v1/webhooks/{id}/secret", &["get"]),
        ("/v1/webhooks/{id}/rotate-secret", &["post"]),
        ("/v1/webhooks/{id}/test", &["post"]),
        ("/v1/webhooks/{id}/deliveries", &["get"]),
        ("/v1/events", &["get", "post"]),
        ("/v1/events/{id}", &["get"]),
        ("/v1/deliveries/{id}", &["get"]),
        ("/v1/deliveries/{id}/retry", &["post"]),
        ("/v1/webhooks/{id}/recover", &["post"]),
        ("/v1/notifications", &["get"]),
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
    ] {
        for method in methods {
            assert!(paths.get(path).and_then(|p| p.get(*method)).is_some(), "{method} {path} missing from OpenAPI");
        }
    }
    assert!(doc["components"]["schemas"]["PublishEvent"].is_object());
    app.stop().await;
}

#[tokio::test]
async fn platforms_need_the_admin_token_and_keys_are_shown_once() {
    let app = TestApp::spawn().await;
    let body = json!({"name": "Tradly", "url": "https://tradly.app", "email": "ops@tradly.app"});
    let (status, error) = app.call("POST", "/v1/platforms", None, Some(body.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "unauthorized");
    let (status, _) = app.call("POST", "/v1/platforms", Some("wrong"), Some(body.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, created) = app.call("POST", "/v1/platforms", Some(ADMIN_TOKEN), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["name"], "Tradly");
    assert_eq!(created["url"], "https://tradly.app");
    assert!(created["id"].as_str().unwrap().starts_with("plt_"));
    let key = created["api_key"].as_str().unwrap();
    assert!(key.starts_with("hk_"));
    // The key works; the admin token is not a platform key.
    assert_eq!(app.call("GET", "/v1/webhooks", Some(key), None).await.0, StatusCode::OK);
    assert_eq!(app.call("GET", "/v1/webhooks", Some(ADMIN_TOKEN), None).await.0, StatusCode::UNAUTHORIZED);
    // Stored hashed: the clear key appears nowhere in the database files.
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(app.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("hookline.db") {
            stored.extend(std::fs::read(path).unwrap_or_default());
        }
    }
    assert!(!stored.is_empty());
    assert!(!stored.windows(key.len()).any(|w| w == key.as_bytes()), "API key stored in clear");
    app.stop().await;
}

#[tokio::test]
async fn catalog_has_the_tradly_types_and_takes_custom_ones() {
    let app = TestApp::spawn().await;
    let key = app.platform("cat").await;
    let (status, list) = app.call("GET", "/v1/event-types", Some(&key), None).await;
    assert_eq!(status, StatusCode::OK);
    let types = list["data"].as_array().unwrap();
    let names: Vec<&str> = types.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "user.created",
            "user.updated",
            "listing.created",
            "listing.updated",
            "listing.deleted",
            "listing.approved",
            "listing.rejected",
            "account.created",
            "account.updated",
            "account.deleted",
            "account.approved",
            "account.rejected",
            "order.confirmed",
            "order.canceled",
            "webhook.disabled",
            "delivery.failed",
            "webhook.recovered"
        ]
    );
    let operational: Vec<bool> = types.iter().map(|t| t["operational"].as_bool().unwrap()).collect();
    assert_eq!(operational, [vec![false; 14], vec![true; 3]].concat());
    assert_eq!(types[0]["description"], "Occurs when a new user is created.");
    assert!(types.iter().all(|t| t["built_in"] == true && !t["description"].as_str().unwrap().is_empty()));

    let (status, created) = app
        .call(
            "POST",
            "/v1/event-types",
            Some(&key),
            Some(json!({"name": "invoice.paid", "description": "An invoice was paid."})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created,
        json!({"name": "invoice.paid", "description": "An invoice was paid.", "built_in": false, "operational": false})
    );
    let (status, error) = app.call("POST", "/v1/event-types", Some(&key), Some(json!({"name": "invoice.paid"}))).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
    let (status, error) = app.call("POST", "/v1/event-types", Some(&key), Some(json!({"name": "user.created"}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    let (status, error) = app.call("POST", "/v1/event-types", Some(&key), Some(json!({"name": "Invoice Paid"}))).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("name")));
    let (_, list) = app.call("GET", "/v1/event-types", Some(&key), None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 18);
    // A custom type can be subscribed to and published.
    let receiver = TestReceiver::start().await;
    app.webhook(&key, &receiver.url, &["invoice.paid"]).await;
    let accepted = app.publish(&key, json!({"type": "invoice.paid", "data": {"n": 1}})).await;
    assert_eq!(accepted["deliveries"], 1);
    app.stop().await;
}

#[tokio::test]
async fn webhook_crud_and_secrets_only_where_documented() {
    let app = TestApp::spawn().await;
    let key = app.platform("crud").await;
    let created = app.webhook(&key, "https://example.com/hooks/a", &["order.confirmed", "user.created"]).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("wh_"));
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(base64_len(&secret), 32);
    assert_eq!(created["events"], json!(["order.confirmed", "user.created"]));
    assert_eq!(created["enabled"], true);

    // Plain reads and lists never carry the secret.
    let (status, read) = app.call("GET", &format!("/v1/webhooks/{id}"), Some(&key), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(read.get("secret").is_none());
    assert!(!read.to_string().contains(&secret));
    let (_, list) = app.call("GET", "/v1/webhooks", Some(&key), None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(&secret));
    let (_, shown) = app.call("GET", &format!("/v1/webhooks/{id}/secret"), Some(&key), None).await;
    assert_eq!(shown, json!({"secret": secret}));

    // Update: each field, and disabling records a reason.
    let (status, updated) = app
        .call(
            "PATCH",
            &format!("/v1/webhooks/{id}"),
            Some(&key),
            Some(json!({"url": "https://example.com/hooks/b", "events": ["*"], "description": "all events", "enabled": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["url"], "https://example.com/hooks/b");
    assert_eq!(updated["events"], json!(["*"]));
    assert_eq!(updated["description"], "all events");
    assert_eq!(updated["enabled"], false);
    assert_eq!(updated["disabled_reason"], "disabled by the platform");
    let (_, enabled) =
        app.call("PATCH", &format!("/v1/webhooks/{id}"), Some(&key), Some(json!({"enabled": true}))).await;
    assert_eq!(enabled["enabled"], true);
    assert!(enabled.get("disabled_reason").is_none());
    assert_eq!(enabled["url"], "https://example.com/hooks/b", "absent fields are unchanged");

    // Rotation: a new current secret, the old one overlapping for 24 h.
    let (status, rotated) = app.call("POST", &format!("/v1/webhooks/{id}/rotate-secret"), Some(&key), None).await;
    assert_eq!(status, StatusCode::OK);
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let expires = rotated["previous_secret_expires_at"].as_str().unwrap();
    let hours = (parse_rfc3339_secs(expires) - now_secs()) as f64 / 3600.0;
    assert!((23.9..=24.1).contains(&hours), "overlap is 24 h, got {hours}");
    let (_, shown) = app.call("GET", &format!("/v1/webhooks/{id}/secret"), Some(&key), None).await;
    assert_eq!(shown["secret"], new_secret);

    // Delete.
    assert_eq!(app.call("DELETE", &format!("/v1/webhooks/{id}"), Some(&key), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call("GET", &format!("/v1/webhooks/{id}"), Some(&key), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.call("DELETE", &format!("/v1/webhooks/{id}"), Some(&key), None).await.0, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn outside_dev_mode_webhooks_must_be_https_and_public() {
    let app = TestApp::spawn_with(|raw| raw.dev = false).await;
    let key = app.platform("prod").await;
    for url in [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://[::1]/",
        "https://10.0.0.8/",
    ] {
        let (status, error) =
            app.call("POST", "/v1/webhooks", Some(&key), Some(json!({"url": url, "events": ["*"]}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {error}");
        assert_eq!(error["error"]["field"], "url", "{url}");
    }
    app.webhook(&key, "https://example.com/hook", &["*"]).await;
    app.stop().await;
}

/// Every bad request gets the right 4xx with `{"error": {code, message}}` and changes nothing.
#[tokio::test]
async fn bad_inputs_are_rejected_with_clear_errors_and_change_nothing() {
    let app = TestApp::spawn().await;
    let key = app.platform("bad").await;
    let webhook = app.webhook(&key, "https://example.com/hook", &["user.created"]).await;
    let wh = webhook["id"].as_str().unwrap();
    let before = snapshot(&app, &key).await;

    struct Case {
        method: &'static str,
        path: String,
        key: Option<&'static str>,
        body: Option<&'static str>,
        content_type: &'static str,
        status: u16,
        code: &'static str,
    }
    let case = |method, path: &str, body, status, code| Case {
        method,
        path: path.to_owned(),
        key: None,
        body,
        content_type: "application/json",
        status,
        code,
    };
    let mut cases = vec![
        case("POST", "/v1/webhooks", Some("{not json"), 400, "invalid_json"),
        case("POST", "/v1/webhooks", Some(r#"{"url": 42, "events": ["*"]}"#), 400, "invalid_body"),
        case("POST", "/v1/webhooks", Some(r#"{"events": ["*"]}"#), 400, "invalid_body"),
        case(
            "POST",
            "/v1/webhooks",
            Some(r#"{"url": "https://example.com", "events": ["*"], "extra": 1}"#),
            400,
            "invalid_body",
        ),
        case(
            "POST",
            "/v1/webhooks",
            Some(r#"{"url": "ftp://example.com", "events": ["*"]}"#),
            422,
            "validation_failed",
        ),
        case("POST", "/v1/webhooks", Some(r#"{"url": "not a url", "events": ["*"]}"#), 422, "validation_failed"),
        case("POST", "/v1/webhooks", Some(r#"{"url": "https://example.com", "events": []}"#), 422, "validation_failed"),
        case(
            "POST",
            "/v1/webhooks",
            Some(r#"{"url": "https://example.com", "events": ["nope.never"]}"#),
            422,
            "unknown_event_type",
        ),
        case(
            "POST",
            "/v1/webhooks",
            Some(r#"{"url": "https://example.com", "events": ["*", "user.created"]}"#),
            422,
            "validation_failed",
        ),
        case("POST", "/v1/events", Some(r#"{"type": "user.created"}"#), 400, "invalid_body"),
        case("POST", "/v1/events", Some(r#"{"type": "user.created", "data": [1, 2]}"#), 422, "validation_failed"),
        case("POST", "/v1/events", Some(r#"{"type": "user.created", "data": "x"}"#), 422, "validation_failed"),
        case("POST", "/v1/events", Some(r#"{"type": "nope.never", "data": {}}"#), 422, "unknown_event_type"),
        case("POST", "/v1/events", Some(r#"{"type": "NOT A TYPE", "data": {}}"#), 422, "validation_failed"),
        case(
            "POST",
            "/v1/events",
            Some(r#"{"id": "has space", "type": "user.created", "data": {}}"#),
            422,
            "validation_failed",
        ),
        case("POST", "/v1/events", Some(r#"{"id": 7, "type": "user.created", "data": {}}"#), 400, "invalid_body"),
        case("PATCH", &format!("/v1/webhooks/{wh}"), Some(r#"{"url": "gopher://x"}"#), 422, "validation_failed"),
        case("PATCH", &format!("/v1/webhooks/{wh}"), Some(r#"{"events": ["nope.never"]}"#), 422, "unknown_event_type"),
        case("PATCH", &format!("/v1/webhooks/{wh}"), Some(r#"{"enabled": "yes"}"#), 400, "invalid_body"),
        case("GET", "/v1/webhooks/wh_doesnotexist", None, 404, "not_found"),
        case("GET", "/v1/webhooks/dlv_wrongkind", None, 404, "not_found"),
        case("GET", "/v1/events/unknown-event", None, 404, "not_found"),
        case("GET", "/v1/deliveries/dlv_doesnotexist", None, 404, "not_found"),
        case("POST", "/v1/deliveries/dlv_doesnotexist/retry", None, 404, "not_found"),
        case("GET", &format!("/v1/webhooks/{wh}/deliveries?status=weird"), None, 422, "validation_failed"),
        case("GET", "/v1/nothing-here", None, 404, "not_found"),
        case("PUT", "/v1/events", Some("{}"), 405, "method_not_allowed"),
        case("POST", "/v1/event-types", Some(r#"{"name": "bad"}"#), 422, "validation_failed"),
        case(
            "POST",
            "/v1/webhooks",
            Some(r#"{"url": "https://example.com", "events": ["*"], "concurrency": 0}"#),
            422,
            "validation_failed",
        ),
        case("PATCH", &format!("/v1/webhooks/{wh}"), Some(r#"{"concurrency": 999}"#), 422, "validation_failed"),
        case(
            "POST",
            &format!("/v1/webhooks/{wh}/recover"),
            Some(r#"{"since": "yesterday"}"#),
            422,
            "validation_failed",
        ),
        case("POST", &format!("/v1/webhooks/{wh}/recover"), Some(r#"{}"#), 400, "invalid_body"),
    ];
    // Missing and unknown API keys.
    for (key, body) in [(Some("hk_unknown"), r#"{"type": "user.created", "data": {}}"#), (Some("Basic abc"), "{}")] {
        cases.push(Case { key, ..case("POST", "/v1/events", Some(body), 401, "unauthorized") });
    }
    cases.push(Case { key: Some(""), ..case("GET", "/v1/webhooks", None, 401, "unauthorized") });
    // JSON with the wrong content type.
    cases.push(Case {
        content_type: "text/plain",
        ..case("POST", "/v1/webhooks", Some("{}"), 415, "unsupported_media_type")
    });
    // A query that does not parse is a JSON 400, not axum's plain text.
    cases.push(case("GET", "/v1/webhooks?limit=many", None, 400, "invalid_query"));
    cases.push(case("GET", "/v1/events?limit=-1", None, 400, "invalid_query"));

    for case in cases {
        let mut request = app.http.request(
            reqwest::Method::from_bytes(case.method.as_bytes()).unwrap(),
            format!("{}{}", app.base, case.path),
        );
        request = match case.key {
            Some("") => request,
            Some(other) if other.starts_with("Basic") => request.header("authorization", other),
            Some(other) => request.bearer_auth(other),
            None => request.bearer_auth(&key),
        };
        if let Some(body) = case.body {
            request = request.header("content-type", case.content_type).body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        let label = format!("{} {} {:?}", case.method, case.path, case.body);
        assert_eq!(status, case.status, "{label}: {text}");
        assert_eq!(content_type.as_deref(), Some("application/json"), "{label}");
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{label}: not JSON: {text}"));
        assert_eq!(body["error"]["code"], case.code, "{label}: {text}");
        assert!(!body["error"]["message"].as_str().unwrap_or_default().is_empty(), "{label}: no message");
    }
    // An oversized body is refused before it is read.
    let huge = format!(r#"{{"type": "user.created", "data": {{"pad": "{}"}}}}"#, "x".repeat(2 * 1024 * 1024));
    let response = app
        .http
        .post(format!("{}/v1/events", app.base))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");

    assert_eq!(snapshot(&app, &key).await, before, "a rejected request changed stored data");
    app.stop().await;
}

/// One platform never reads, changes or learns of another's records: always 404, never 403.
#[tokio::test]
async fn platforms_are_isolated() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.platform("alice").await, app.platform("bob").await);
    let receiver = TestReceiver::start().await;
    let webhook = app.webhook(&alice, &receiver.url, &["*"]).await;
    let wh = webhook["id"].as_str().unwrap();
    app.publish(&alice, json!({"id": "shared-id", "type": "user.created", "data": {"owner": "alice"}})).await;
    let sent = receiver.wait_for(1).await;
    let delivery = sent[0].header("x-tradly-delivery").to_owned();
    app.call("POST", "/v1/event-types", Some(&alice), Some(json!({"name": "alice.only"}))).await;

    for (method, path, body) in [
        ("GET", format!("/v1/webhooks/{wh}"), None),
        ("PATCH", format!("/v1/webhooks/{wh}"), Some(json!({"enabled": false}))),
        ("DELETE", format!("/v1/webhooks/{wh}"), None),
        ("GET", format!("/v1/webhooks/{wh}/secret"), None),
        ("POST", format!("/v1/webhooks/{wh}/rotate-secret"), None),
        ("POST", format!("/v1/webhooks/{wh}/test"), None),
        ("GET", format!("/v1/webhooks/{wh}/deliveries"), None),
        ("GET", "/v1/events/shared-id".to_owned(), None),
        ("GET", format!("/v1/deliveries/{delivery}"), None),
        ("POST", format!("/v1/deliveries/{delivery}/retry"), None),
    ] {
        let (status, error) = app.call(method, &path, Some(&bob), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "bob {method} {path}: {error}");
    }
    for path in ["/v1/webhooks", "/v1/events"] {
        let (_, list) = app.call("GET", path, Some(&bob), None).await;
        assert_eq!(list["data"], json!([]), "bob sees alice's {path}");
    }
    let (_, types) = app.call("GET", "/v1/event-types", Some(&bob), None).await;
    assert!(!types.to_string().contains("alice.only"));
    let (status, _) = app.call("POST", "/v1/events", Some(&bob), Some(json!({"type": "alice.only", "data": {}}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Event ids are unique per platform: bob's "shared-id" is his own event and reaches none of alice's webhooks.
    let accepted =
        app.publish(&bob, json!({"id": "shared-id", "type": "user.created", "data": {"owner": "bob"}})).await;
    assert_eq!(accepted["deliveries"], 0);
    let (_, alice_event) = app.call("GET", "/v1/events/shared-id", Some(&alice), None).await;
    assert_eq!(alice_event["data"]["owner"], "alice");
    // Alice's webhook is untouched by bob's attempts.
    let (_, still) = app.call("GET", &format!("/v1/webhooks/{wh}"), Some(&alice), None).await;
    assert_eq!(still["enabled"], true);
    app.stop().await;
}

/// Everything a platform can list, for "nothing changed" comparisons.
async fn snapshot(app: &TestApp, key: &str) -> Value {
    let (_, webhooks) = app.call("GET", "/v1/webhooks", Some(key), None).await;
    let (_, events) = app.call("GET", "/v1/events", Some(key), None).await;
    let (_, types) = app.call("GET", "/v1/event-types", Some(key), None).await;
    json!({"webhooks": webhooks, "events": events, "types": types})
}

fn base64_len(secret: &str) -> usize {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap().len()
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn parse_rfc3339_secs(text: &str) -> i64 {
    hookline_core::Timestamp::parse_rfc3339(text).unwrap().unix_seconds()
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_callers_id_is_kept() {
    let app = TestApp::spawn().await;
    let request_id = |response: &reqwest::Response| {
        response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned)
    };
    let first = app.http.get(format!("{}/healthz", app.base)).send().await.unwrap();
    let second = app.http.get(format!("{}/v1/no-such-route", app.base)).send().await.unwrap();
    let (first, second) = (request_id(&first).unwrap(), request_id(&second).unwrap());
    assert!(first.starts_with("req_") && second.starts_with("req_"), "{first} {second}");
    assert_ne!(first, second, "each request gets its own id");
    let theirs = app.http.get(format!("{}/healthz", app.base)).header("x-request-id", "caller-7").send().await.unwrap();
    assert_eq!(request_id(&theirs).as_deref(), Some("caller-7"), "the caller's id is echoed, not replaced");
    app.stop().await;
}
