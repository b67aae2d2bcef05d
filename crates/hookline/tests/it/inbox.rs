//! Inboxes end to end: the real server captures what is sent to `/in/{id}`, tells whether each request's
//! signature verifies and why not, keeps the newest N, expires, rate-limits, answers as configured, and keeps
//! tenants apart.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use hookline_verify::{standard_key, standard_signature, tradly_signature};
use serde_json::{Value, json};

use crate::support::TestApp;

/// Creates an inbox with `body` and returns its JSON.
pub async fn inbox(app: &TestApp, key: &str, body: Value) -> Value {
    let (status, created) = app.call("POST", "/v1/inboxes", Some(key), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

/// The inbox's captured requests, newest first.
pub async fn requests(app: &TestApp, key: &str, inbox: &Value) -> Vec<Value> {
    let (status, list) =
        app.call("GET", &format!("/v1/inboxes/{}/requests", inbox["id"].as_str().unwrap()), Some(key), None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["data"].as_array().unwrap().clone()
}

/// Sends `body` to the inbox URL `url` with `headers`; returns the status, the answer's body and its headers.
pub async fn send(app: &TestApp, url: &str, headers: &[(&str, String)], body: Vec<u8>) -> reqwest::Response {
    let mut request = app.http.post(url).body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.expect("the inbox answers")
}

/// The headers hookline sends, signed with `secret` for event `id` at `timestamp`, over `body`.
fn signed(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    let signature = standard_signature(&standard_key(secret).unwrap(), id, timestamp, body);
    vec![
        ("content-type", "application/json".into()),
        ("webhook-id", id.into()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
        ("x-tradly-signature", tradly_signature(secret, id)),
    ]
}

/// A case of `each_forgery_is_explained`: name, headers, body, expected `verified`, expected code.
type Forgery = (&'static str, Vec<(&'static str, String)>, Vec<u8>, Value, &'static str);

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test]
async fn a_delivery_to_an_inbox_is_captured_verified() {
    let app = TestApp::spawn().await;
    let key = app.platform("tradly").await;
    let inbox = inbox(&app, &key, json!({})).await;
    let url = inbox["url"].as_str().unwrap();
    assert_eq!(url, format!("{}/in/{}", app.base, inbox["id"].as_str().unwrap()));
    assert!(inbox["id"].as_str().unwrap().starts_with("inb_"));
    let webhook = app.webhook(&key, &format!("{url}/orders"), &["order.confirmed"]).await;
    let accepted = app.publish(&key, json!({"type": "order.confirmed", "data": {"order": 7}})).await;

    let path = format!("/v1/inboxes/{}/requests", inbox["id"].as_str().unwrap());
    let list = app.eventually(&path, &key, |list| list["data"].as_array().is_some_and(|d| !d.is_empty())).await;
    let captured = &list["data"][0];
    assert!(captured["id"].as_str().unwrap().starts_with("req_"));
    assert_eq!(captured["inbox_id"], inbox["id"]);
    assert_eq!(captured["method"], "POST");
    assert_eq!(captured["path"], "/orders");
    assert_eq!(captured["query"], "");
    assert_eq!(captured["source_ip"], "127.0.0.1");
    let body: Value = serde_json::from_str(captured["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["id"], accepted["id"]);
    assert_eq!(body["data"], json!({"order": 7}));
    assert_eq!(captured["size"], captured["body"].as_str().unwrap().len());
    assert_eq!(captured["body_truncated"], false);
    let header = |name: &str| {
        captured["headers"].as_array().unwrap().iter().find(|h| h[0] == name).map(|h| h[1].as_str().unwrap().to_owned())
    };
    assert_eq!(header("webhook-id").as_deref(), accepted["id"].as_str());
    assert_eq!(header("x-tradly-event").as_deref(), Some("order.confirmed"));
    assert_eq!(captured["verified"], true, "{captured}");
    assert_eq!(captured["verification"]["code"], "verified");
    assert_eq!(captured["verification"]["webhook_id"], webhook["id"]);
    let one = format!("{path}/{}", captured["id"].as_str().unwrap());
    assert_eq!(app.call("GET", &one, Some(&key), None).await, (StatusCode::OK, captured.clone()));
    let other = app.platform("other").await;
    assert_eq!(app.call("GET", &one, Some(&other), None).await.0, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn each_forgery_is_explained() {
    // Rotated secrets stop signing almost at once, so a receiver still on the old one can be shown.
    let app = TestApp::spawn_with(|raw| raw.webhooks.secret_rotation_overlap = "1ms".into()).await;
    let key = app.platform("tradly").await;
    let inbox = inbox(&app, &key, json!({})).await;
    let url = inbox["url"].as_str().unwrap().to_owned();
    let webhook = app.webhook(&key, &url, &["*"]).await;
    let old = webhook["secret"].as_str().unwrap().to_owned();
    let (status, rotated) = app
        .call("POST", &format!("/v1/webhooks/{}/rotate-secret", webhook["id"].as_str().unwrap()), Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let secret = rotated["secret"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(5)).await;

    let body = br#"{"id":"evt_1","type":"user.created","data":{}}"#.to_vec();
    let now = unix_now();
    let stranger = "whsec_dGhpcyBpcyBhIGRpZmZlcmVudCBzZWNyZXQ=";
    let without =
        |name: &str| signed(&secret, "evt_1", now, &body).into_iter().filter(|(n, _)| *n != name).collect::<Vec<_>>();
    let cases: Vec<Forgery> = vec![
        ("good", signed(&secret, "evt_1", now, &body), body.clone(), json!(true), "verified"),
        ("stranger", signed(stranger, "evt_1", now, &body), body.clone(), json!(false), "wrong_secret"),
        ("old secret", signed(&old, "evt_1", now, &body), body.clone(), json!(false), "rotated_out_secret"),
        (
            "tampered",
            signed(&secret, "evt_1", now, &body),
            br#"{"id":"evt_1","type":"user.deleted"}"#.to_vec(),
            json!(false),
            "body_changed",
        ),
        ("stale", signed(&secret, "evt_1", now - 600, &body), body.clone(), json!(false), "timestamp_out_of_tolerance"),
        ("no timestamp", without("webhook-timestamp"), body.clone(), json!(false), "header_missing"),
        (
            "garbled",
            vec![
                ("webhook-id", "evt_1".into()),
                ("webhook-timestamp", "soon".into()),
                ("webhook-signature", "v1,x".into()),
            ],
            body.clone(),
            json!(false),
            "malformed_header",
        ),
        ("unsigned", vec![("content-type", "text/plain".into())], b"hello".to_vec(), Value::Null, ""),
    ];
    for (name, headers, body, _, _) in &cases {
        let answer = send(&app, &url, headers, body.clone()).await;
        assert_eq!(answer.status(), StatusCode::OK, "{name}");
    }
    let captured = requests(&app, &key, &inbox).await;
    assert_eq!(captured.len(), cases.len());
    for ((name, _, _, verified, code), request) in cases.iter().zip(captured.iter().rev()) {
        assert_eq!(&request["verified"], verified, "{name}: {request}");
        if code.is_empty() {
            assert_eq!(request["verification"], Value::Null, "{name}");
        } else {
            assert_eq!(request["verification"]["code"], *code, "{name}: {request}");
            assert!(!request["verification"]["message"].as_str().unwrap().is_empty());
            assert_eq!(request["verification"]["webhook_id"], webhook["id"], "{name}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn any_method_path_query_and_body_is_captured_and_big_bodies_are_cut() {
    let app = TestApp::spawn_with(|raw| raw.inbox.max_body_bytes = 1024).await;
    let key = app.platform("tradly").await;
    let inbox = inbox(&app, &key, json!({})).await;
    let url = inbox["url"].as_str().unwrap();
    let answer = app
        .http
        .put(format!("{url}/a/b?x=1&y=two"))
        .header("x-custom", "yes")
        .body(vec![0xff, 0x00, 0xfe])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(app.http.get(format!("{url}/")).send().await.unwrap().status(), StatusCode::OK);
    let big = "é".repeat(1500); // 3000 bytes: cut at 1024, inside no character (é is 2 bytes).
    assert_eq!(send(&app, url, &[], big.clone().into_bytes()).await.status(), StatusCode::OK);
    let too_big = vec![b'x'; 1024 * 1024 + 1];
    let refused = send(&app, url, &[], too_big).await;
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let captured = requests(&app, &key, &inbox).await;
    assert_eq!(captured.len(), 3, "the refused body stored nothing");
    let (cut, get, put) = (&captured[0], &captured[1], &captured[2]);
    assert_eq!(put["method"], "PUT");
    assert_eq!(put["path"], "/a/b");
    assert_eq!(put["query"], "x=1&y=two");
    assert!(put["headers"].as_array().unwrap().iter().any(|h| h == &json!(["x-custom", "yes"])));
    // The headers as the sender sent them: not the request id this server adds to requests that carry none.
    let names = |request: &Value| -> Vec<String> {
        request["headers"].as_array().unwrap().iter().map(|h| h[0].as_str().unwrap().to_owned()).collect()
    };
    assert!(!names(put).contains(&"x-request-id".to_owned()), "{:?}", names(put));
    assert!(!names(get).contains(&"x-request-id".to_owned()), "{:?}", names(get));
    assert_eq!(put["body"], Value::Null);
    assert_eq!(put["body_base64"], "/wD+");
    assert_eq!((get["method"].as_str(), get["path"].as_str(), get["size"].as_u64()), (Some("GET"), Some("/"), Some(0)));
    assert_eq!(cut["body_truncated"], true);
    assert_eq!(cut["size"], 3000);
    assert_eq!(cut["body"].as_str().unwrap(), &big[..1024]);

    // A sender's own request id is part of what it sent, and is kept.
    let own = app.http.post(format!("{url}/own")).header("x-request-id", "mine-1").send().await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let newest = &requests(&app, &key, &inbox).await[0];
    assert!(newest["headers"].as_array().unwrap().iter().any(|h| h == &json!(["x-request-id", "mine-1"])));
    app.stop().await;
}

#[tokio::test]
async fn inboxes_keep_the_newest_requests_and_expire() {
    let app = TestApp::spawn_with(|raw| {
        raw.inbox.max_requests = 3;
        raw.inbox.expire_after = "1500ms".into();
    })
    .await;
    let key = app.platform("tradly").await;
    let inbox = inbox(&app, &key, json!({})).await;
    let url = inbox["url"].as_str().unwrap().to_owned();
    for n in 1..=5 {
        assert_eq!(send(&app, &format!("{url}/{n}"), &[], Vec::new()).await.status(), StatusCode::OK);
    }
    let paths: Vec<Value> = requests(&app, &key, &inbox).await.iter().map(|r| r["path"].clone()).collect();
    assert_eq!(paths, vec![json!("/5"), json!("/4"), json!("/3")]);
    let (status, page) = app
        .call("GET", &format!("/v1/inboxes/{}/requests?limit=2", inbox["id"].as_str().unwrap()), Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = app
        .call(
            "GET",
            &format!("/v1/inboxes/{}/requests?limit=2&after={cursor}", inbox["id"].as_str().unwrap()),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(rest["data"][0]["path"], "/3");

    // Expired: the API and the URL forget it.
    let path = format!("/v1/inboxes/{}", inbox["id"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.call("GET", &path, Some(&key), None).await.0 != StatusCode::NOT_FOUND {
        assert!(Instant::now() < deadline, "the inbox never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let gone = send(&app, &url, &[], b"late".to_vec()).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let error: Value = gone.json().await.unwrap();
    assert_eq!(error["error"]["code"], "not_found");
    assert_eq!(app.call("GET", "/v1/inboxes", Some(&key), None).await.1["data"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn captures_beyond_the_rate_are_refused_with_retry_after() {
    let app = TestApp::spawn_with(|raw| {
        raw.inbox.capture_rate = 1;
        raw.inbox.capture_burst = 2;
    })
    .await;
    let key = app.platform("tradly").await;
    let inbox = inbox(&app, &key, json!({})).await;
    let other = self::inbox(&app, &key, json!({})).await;
    let url = inbox["url"].as_str().unwrap();
    assert_eq!(send(&app, url, &[], Vec::new()).await.status(), StatusCode::OK);
    assert_eq!(send(&app, url, &[], Vec::new()).await.status(), StatusCode::OK);
    let limited = send(&app, url, &[], b"dropped".to_vec()).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["retry-after"], "1");
    assert_eq!(limited.json::<Value>().await.unwrap()["error"]["code"], "rate_limited");
    assert_eq!(requests(&app, &key, &inbox).await.len(), 2, "nothing stored beyond the rate");
    assert_eq!(send(&app, other["url"].as_str().unwrap(), &[], Vec::new()).await.status(), StatusCode::OK, "per inbox");
    app.stop().await;
}

#[tokio::test]
async fn the_inbox_answers_as_configured_and_bad_settings_change_nothing() {
    let app = TestApp::spawn().await;
    let key = app.platform("tradly").await;
    for (body, field) in [
        (json!({"response": {"status": 99}}), "response.status"),
        (json!({"response": {"status": 600}}), "response.status"),
        (json!({"response": {"delay_ms": 30001}}), "response.delay_ms"),
        (json!({"expires_in": "forever"}), "expires_in"),
        (json!({"expires_in": "31d"}), "expires_in"),
    ] {
        let (status, error) = app.call("POST", "/v1/inboxes", Some(&key), Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert_eq!(error["error"]["field"], field);
    }
    let (status, error) = app.call("POST", "/v1/inboxes", Some(&key), Some(json!({"nope": 1}))).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_body")));
    assert_eq!(app.call("GET", "/v1/inboxes", Some(&key), None).await.1["data"], json!([]));

    let spec = json!({"status": 418, "body": "{\"tea\":true}", "content_type": "application/json", "delay_ms": 400});
    let inbox = inbox(&app, &key, json!({"response": spec, "expires_in": "2h"})).await;
    assert_eq!(inbox["response"], spec);
    let started = Instant::now();
    let answer = send(&app, inbox["url"].as_str().unwrap(), &[], Vec::new()).await;
    assert!(started.elapsed() >= Duration::from_millis(400), "{:?}", started.elapsed());
    assert_eq!(answer.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(answer.headers()["content-type"], "application/json");
    assert_eq!(answer.text().await.unwrap(), "{\"tea\":true}");

    let path = format!("/v1/inboxes/{}", inbox["id"].as_str().unwrap());
    let (status, updated) = app.call("PATCH", &path, Some(&key), Some(json!({"response": {"status": 201}}))).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        updated["response"],
        json!({"status": 201, "body": "{\"tea\":true}", "content_type": "application/json", "delay_ms": 400}),
        "the rest is kept"
    );
    assert_eq!(send(&app, inbox["url"].as_str().unwrap(), &[], Vec::new()).await.status(), StatusCode::CREATED);
    let (status, _) = app.call("PATCH", &path, Some(&key), Some(json!({"response": {"delay_ms": 40000}}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.call("GET", &path, Some(&key), None).await.1["response"]["status"],
        201,
        "the bad patch changed nothing"
    );
    app.stop().await;
}

#[tokio::test]
async fn another_platforms_inbox_is_not_found() {
    let app = TestApp::spawn().await;
    let owner = app.platform("tradly").await;
    let other = app.platform("other").await;
    let inbox = inbox(&app, &owner, json!({})).await;
    let id = inbox["id"].as_str().unwrap();
    for (method, path) in [
        ("GET", format!("/v1/inboxes/{id}")),
        ("PATCH", format!("/v1/inboxes/{id}")),
        ("DELETE", format!("/v1/inboxes/{id}")),
        ("GET", format!("/v1/inboxes/{id}/requests")),
        ("GET", format!("/v1/inboxes/{id}/requests/stream")),
    ] {
        let body = (method == "PATCH").then(|| json!({"response": {}}));
        let (status, error) = app.call(method, &path, Some(&other), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {error}");
        assert_eq!(error["error"]["code"], "not_found");
    }
    assert_eq!(app.call("GET", "/v1/inboxes", Some(&other), None).await.1["data"], json!([]));
    assert_eq!(app.call("GET", &format!("/v1/inboxes/{id}"), Some(&owner), None).await.0, StatusCode::OK);
    // Unknown inboxes and ids of another kind are 404 JSON at the capture URL too.
    for path in ["/in/inb_01KBNOSUCHINBOX000000000000", "/in/wh_123/x", "/in/"] {
        let answer = app.http.post(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.json::<Value>().await.unwrap()["error"]["code"], "not_found");
    }
    let (status, _) = app.call("DELETE", &format!("/v1/inboxes/{id}"), Some(&owner), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(send(&app, inbox["url"].as_str().unwrap(), &[], Vec::new()).await.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn the_inbox_routes_are_in_the_openapi_document() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.call("GET", "/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    for (path, methods) in [
        ("/v1/inboxes", &["get", "post"][..]),
        ("/v1/inboxes/{id}", &["get", "patch", "delete"]),
        ("/v1/inboxes/{id}/requests", &["get"]),
        ("/v1/inboxes/{id}/requests/{request_id}", &["get"]),
        ("/v1/inboxes/{id}/requests/stream", &["get"]),
    ] {
        for method in methods {
            assert!(doc["paths"][path][*method].is_object(), "{method} {path} missing from OpenAPI");
        }
    }
    for schema in ["Inbox", "CreateInbox", "CapturedRequest", "Verification"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema} missing");
    }
    app.stop().await;
}
