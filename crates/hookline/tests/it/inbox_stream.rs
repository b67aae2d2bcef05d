//! The live stream of an inbox's captures (`GET /v1/inboxes/{id}/requests/stream`, server-sent events): on one
//! node, and across two nodes sharing one PostgreSQL database.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::inbox::{inbox, send};
use crate::support::{TestApp, WAIT};

/// One server-sent event.
#[derive(Debug, Default)]
struct SseEvent {
    id: Option<String>,
    event: Option<String>,
    data: String,
}

/// Reads a `text/event-stream` answer event by event.
struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    async fn open(app: &TestApp, key: &str, inbox_id: &str, last_event_id: Option<&str>) -> Self {
        let mut request = app.http.get(format!("{}/v1/inboxes/{inbox_id}/requests/stream", app.base)).bearer_auth(key);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.expect("the stream opens");
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        Self { response, buffer: String::new() }
    }

    /// The next event (keep-alive comments skipped); `None` when the server ended the stream. Fails after `WAIT`.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent::default();
                for line in block.lines() {
                    match line.split_once(':').map(|(field, value)| (field, value.trim_start())) {
                        Some(("id", value)) => event.id = Some(value.to_owned()),
                        Some(("event", value)) => event.event = Some(value.to_owned()),
                        Some(("data", value)) => event.data.push_str(value),
                        _ => {}
                    }
                }
                if event.id.is_some() || event.event.is_some() || !event.data.is_empty() {
                    return Some(event);
                }
                continue;
            }
            let chunk = tokio::time::timeout(WAIT, self.response.chunk()).await.expect("an event within the wait");
            match chunk.expect("the stream reads") {
                Some(bytes) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                None => return None,
            }
        }
    }

    /// The next event's captured request.
    async fn request(&mut self) -> (String, Value) {
        let event = self.next().await.expect("an event");
        assert_eq!(event.event, None, "{event:?}");
        (event.id.expect("an id"), serde_json::from_str(&event.data).expect("JSON data"))
    }
}

#[tokio::test]
async fn the_stream_sends_new_captures_resumes_and_ends_with_the_inbox() {
    let app = TestApp::spawn().await;
    let key = app.platform("tradly").await;
    let inbox = inbox(&app, &key, json!({})).await;
    let (id, url) = (inbox["id"].as_str().unwrap(), inbox["url"].as_str().unwrap());
    send(&app, &format!("{url}/before"), &[], Vec::new()).await;

    let mut stream = SseReader::open(&app, &key, id, None).await;
    send(&app, &format!("{url}/one"), &[], b"1".to_vec()).await;
    send(&app, &format!("{url}/two"), &[], b"2".to_vec()).await;
    let (first_id, first) = stream.request().await;
    let (second_id, second) = stream.request().await;
    assert_eq!((first["path"].as_str(), second["path"].as_str()), (Some("/one"), Some("/two")), "only what came after");
    assert_eq!((first_id.as_str(), second_id.as_str()), ("2", "3"));
    // The same shape as the list.
    let (_, list) = app.call("GET", &format!("/v1/inboxes/{id}/requests"), Some(&key), None).await;
    assert_eq!(list["data"][0], second);

    // A client reconnecting with Last-Event-ID resumes after it.
    let mut resumed = SseReader::open(&app, &key, id, Some(&first_id)).await;
    assert_eq!(resumed.request().await.1["path"], "/two");

    let (status, _) = app.call("DELETE", &format!("/v1/inboxes/{id}"), Some(&key), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for reader in [&mut stream, &mut resumed] {
        let end = reader.next().await.expect("an end event");
        assert_eq!(end.event.as_deref(), Some("end"), "{end:?}");
        assert!(reader.next().await.is_none(), "the stream closes after the end event");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_stream_ends_by_itself_after_stream_max() {
    let app = TestApp::spawn_with(|raw| raw.inbox.stream_max = "300ms".into()).await;
    let key = app.platform("tradly").await;
    let inbox = inbox(&app, &key, json!({})).await;
    let id = inbox["id"].as_str().unwrap();
    let mut stream = SseReader::open(&app, &key, id, None).await;
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.expect("the stream ends in time");
    let end = end.expect("an end event");
    assert_eq!(end.event.as_deref(), Some("end"), "{end:?}");
    assert!(end.data.contains("stream_max"), "{end:?}");
    app.stop().await;
}

#[tokio::test]
async fn an_open_stream_does_not_hold_up_shutdown() {
    let app = TestApp::spawn().await;
    let key = app.platform("tradly").await;
    let inbox = inbox(&app, &key, json!({})).await;
    let mut stream = SseReader::open(&app, &key, inbox["id"].as_str().unwrap(), None).await;
    tokio::time::timeout(Duration::from_secs(10), app.stop()).await.expect("the server stops with a stream open");
    let end = stream.next().await;
    assert!(end.is_none() || end.is_some_and(|e| e.event.as_deref() == Some("end")));
}
