//! An attempt's headers end to end: the request headers a real receiver saw and the response headers it
//! answered, read back through `GET /v1/deliveries/{id}` and the dashboard's delivery page.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{Reply, TestApp, TestReceiver};
use crate::ui_http::sign_in;

/// `[[name, value], …]` as a set of (lower-case name, value).
fn pairs(list: &Value) -> BTreeSet<(String, String)> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a header list, got {list}"))
        .iter()
        .map(|pair| (pair[0].as_str().unwrap().to_ascii_lowercase(), pair[1].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn the_api_and_the_page_show_the_headers_the_receiver_saw_and_answered() {
    let app = TestApp::spawn().await;
    let key = app.platform("headers").await;
    let receiver = TestReceiver::scripted(vec![
        Reply::WithHeader(503, "set-cookie", "sid=receiver-secret".into()),
        Reply::WithHeader(200, "x-receiver-trace", "trace-77".into()),
    ])
    .await;
    app.webhook(&key, &receiver.url, &["*"]).await;
    app.publish(&key, json!({"type": "user.created", "data": {"n": 1}})).await;
    let received = receiver.wait_for(2).await;
    let delivery_id = received[1].header("x-tradly-delivery").to_owned();
    let detail = app.eventually(&format!("/v1/deliveries/{delivery_id}"), &key, |d| d["status"] == "delivered").await;
    let log = detail["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 2);

    // Every header the receiver got, and nothing it did not, for each attempt (the signatures and the attempt
    // number differ between the two).
    for (attempt, seen) in log.iter().zip(&received) {
        let actual: BTreeSet<(String, String)> = seen
            .headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap().to_owned()))
            .collect();
        assert_eq!(pairs(&attempt["request_headers"]), actual, "attempt {}", attempt["attempt"]);
    }
    assert_ne!(log[0]["request_headers"], log[1]["request_headers"]);

    // The answers' headers: the receiver's own header kept, its cookie's value not.
    let first = pairs(&log[0]["response_headers"]);
    assert!(first.contains(&("set-cookie".to_owned(), "(redacted)".to_owned())), "{first:?}");
    assert!(!detail.to_string().contains("receiver-secret"), "a receiver's cookie is never shown");
    let second = pairs(&log[1]["response_headers"]);
    assert!(second.contains(&("x-receiver-trace".to_owned(), "trace-77".to_owned())), "{second:?}");
    assert!(second.contains(&("content-length".to_owned(), "8".to_owned())), "{second:?}");
    assert_eq!(log[1]["response_headers_omitted"], 0);

    // The dashboard's delivery page shows both lists.
    let cookie = sign_in(&app, &key).await;
    let page = app
        .http
        .get(format!("{}/ui/deliveries/{delivery_id}", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Request headers as sent (12)"), "{page}");
    assert!(page.contains(received[1].header("x-tradly-signature")));
    assert!(page.contains("x-receiver-trace") && page.contains("trace-77"));
    assert!(!page.contains("receiver-secret"));
    app.stop().await;
}
