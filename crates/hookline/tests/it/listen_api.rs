//! `/v1/listeners` over HTTP: bad input is a clear 4xx, the engine never POSTs a listener's delivery (not when
//! published, not when retried by hand, although `--dev` lets it reach the loopback URL), and the stream's
//! delivery is answered once through `…/results`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, TestReceiver, WAIT};

/// Reads the first `data:` event of a server-sent event stream.
async fn first_event(response: &mut reqwest::Response) -> Value {
    let mut buffer = String::new();
    let read = async {
        loop {
            if let Some(end) = buffer.find("\n\n") {
                let event = &buffer[..end];
                if let Some(data) = event.lines().find_map(|line| line.strip_prefix("data:")) {
                    return serde_json::from_str::<Value>(data.trim()).unwrap();
                }
                buffer.drain(..end + 2);
                continue;
            }
            let chunk = response.chunk().await.unwrap().expect("the stream stays open");
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(WAIT, read).await.expect("an event arrives")
}

#[tokio::test]
async fn listeners_reject_bad_input_and_are_never_sent_by_the_engine() {
    let app = TestApp::spawn().await;
    let key = app.platform("listen").await;
    let ordinary = app.webhook(&key, "http://127.0.0.1:9/unused", &["order.confirmed"]).await;

    let (status, error) = app.call("POST", "/v1/listeners", Some(&key), Some(json!({"forward_to": "ftp://x"}))).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("forward_to")));
    let unknown = json!({"forward_to": "http://127.0.0.1:9/x", "events": ["nope.nothing"]});
    let (status, error) = app.call("POST", "/v1/listeners", Some(&key), Some(unknown)).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("events")));
    let ordinary_id = ordinary["id"].as_str().unwrap();
    for path in [format!("/v1/listeners/{ordinary_id}"), "/v1/listeners/wh_nope".to_owned()] {
        assert_eq!(app.call("GET", &path, Some(&key), None).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = app.call("DELETE", &format!("/v1/listeners/{ordinary_id}"), Some(&key), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an ordinary webhook is not deleted as a listener");

    // The listener's URL is a live receiver the engine could reach under --dev: it must never be called.
    let local = TestReceiver::start().await;
    let (status, listener) =
        app.call("POST", "/v1/listeners", Some(&key), Some(json!({"forward_to": local.url}))).await;
    assert_eq!(status, StatusCode::CREATED, "{listener}");
    let id = listener["id"].as_str().unwrap().to_owned();
    let secret = listener["secret"].as_str().unwrap().to_owned();
    app.publish(&key, json!({"id": "evt_l1", "type": "user.created", "data": {"a": 1}})).await;
    let event =
        app.eventually("/v1/events/evt_l1", &key, |e| e["deliveries"].as_array().is_some_and(|d| d.len() == 1)).await;
    let delivery = event["deliveries"][0]["id"].as_str().unwrap().to_owned();
    // Ten poll intervals, then a retry by hand, then ten more: the engine takes none of it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, retried) = app.call("POST", &format!("/v1/deliveries/{delivery}/retry"), Some(&key), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{retried}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(local.received().is_empty(), "the engine POSTed a listener's delivery");
    let (_, pending) = app.call("GET", &format!("/v1/deliveries/{delivery}"), Some(&key), None).await;
    assert_eq!((pending["status"].as_str(), pending["attempts"].as_u64()), (Some("pending"), Some(0)), "{pending}");

    // The stream sends it, signed; a wrong attempt or status is refused; the answer is recorded once.
    let mut stream =
        app.http.get(format!("{}/v1/listeners/{id}/stream", app.base)).bearer_auth(&key).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let sent = first_event(&mut stream).await;
    assert_eq!((sent["delivery_id"].as_str(), sent["attempt"].as_u64()), (Some(delivery.as_str()), Some(1)), "{sent}");
    let header = |name: &str| {
        sent["headers"].as_array().unwrap().iter().find(|h| h[0] == name).map(|h| h[1].as_str().unwrap().to_owned())
    };
    hookline_verify::verify_tradly(&secret, "evt_l1", &header("x-tradly-signature").unwrap()).unwrap();
    let body = sent["body"].as_str().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (timestamp, signature) = (header("webhook-timestamp").unwrap(), header("webhook-signature").unwrap());
    hookline_verify::verify_standard(&secret, "evt_l1", &timestamp, body.as_bytes(), &signature, now, 300).unwrap();

    let results = format!("/v1/listeners/{id}/results");
    let wrong = json!({"delivery_id": delivery, "attempt": 2, "status": 200, "duration_ms": 3});
    assert_eq!(app.call("POST", &results, Some(&key), Some(wrong)).await.0, StatusCode::CONFLICT);
    let bad = json!({"delivery_id": delivery, "attempt": 1, "status": 0, "duration_ms": 3});
    let (status, error) = app.call("POST", &results, Some(&key), Some(bad)).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("status")));
    let answer =
        json!({"delivery_id": delivery, "attempt": 1, "status": 204, "duration_ms": 3, "response_excerpt": "ok"});
    assert_eq!(app.call("POST", &results, Some(&key), Some(answer.clone())).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call("POST", &results, Some(&key), Some(answer)).await.0, StatusCode::CONFLICT, "answered once");
    let (_, done) = app.call("GET", &format!("/v1/deliveries/{delivery}"), Some(&key), None).await;
    assert_eq!(done["status"], "delivered", "{done}");
    assert_eq!(done["attempt_log"][0]["status_code"], 204, "{done}");
    assert_eq!(done["attempt_log"][0]["response_excerpt"], "ok", "{done}");
    assert!(local.received().is_empty());
}
