//! The server defends itself: a silent SMTP server cannot stall notices or shutdown.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Reply, TestApp, TestReceiver};

/// An SMTP "server" on loopback that accepts connections and never says a word (not even its greeting).
struct SilentSmtp {
    url: String,
    connections: Arc<Mutex<Vec<tokio::net::TcpStream>>>,
}

impl SilentSmtp {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let connections = Arc::new(Mutex::new(Vec::new()));
        let held = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                held.lock().unwrap().push(socket);
            }
        });
        Self { url, connections }
    }

    fn connections(&self) -> usize {
        self.connections.lock().unwrap().len()
    }
}

/// An app whose failure notices go to `smtp`, for a webhook that always fails; returns the app and its key.
async fn failing_app(smtp: &SilentSmtp, send_timeout: &str) -> (TestApp, String, TestReceiver) {
    let url = smtp.url.clone();
    let send_timeout = send_timeout.to_owned();
    let app = TestApp::spawn_with(move |raw| {
        raw.notify.smtp_url = Some(url);
        raw.notify.poll_interval = "50ms".into();
        raw.notify.retry_schedule = "100ms".into();
        raw.notify.send_timeout = send_timeout;
        raw.delivery.retry_schedule = "".into();
    })
    .await;
    let key = app.platform("silentmail").await;
    let failing = TestReceiver::scripted(vec![]).await;
    failing.set_fallback(Some(Reply::Status(500)));
    app.webhook(&key, &failing.url, &["*"]).await;
    app.publish(&key, json!({"id": "s-1", "type": "user.created", "data": {}})).await;
    (app, key, failing)
}

#[tokio::test]
async fn a_silent_smtp_server_fails_the_send_after_the_send_timeout() {
    let smtp = SilentSmtp::start().await;
    let (app, key, _failing) = failing_app(&smtp, "300ms").await;
    let list = app.eventually("/v1/notifications", &key, |l| l["data"][0]["status"] == "failed").await;
    let notice = &list["data"][0];
    assert_eq!(notice["attempts"], 2, "both attempts ran, each cut off by the timeout: {notice}");
    assert!(notice["send_error"].as_str().unwrap().contains("did not finish"), "{notice}");
    assert!(smtp.connections() >= 2);
    app.stop().await;
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_hung_smtp_send() {
    let smtp = SilentSmtp::start().await;
    // A send timeout far longer than the test: only shutdown can end the send.
    let (app, _key, _failing) = failing_app(&smtp, "1h").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while smtp.connections() == 0 {
        assert!(Instant::now() < deadline, "the notice was never sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(8), app.stop()).await.expect("stop finished while SMTP hangs");
    assert!(started.elapsed() < Duration::from_secs(8));
}

mod http {
    //! The HTTP listener's limits, tried with raw sockets on loopback as a slow or hostile client would.

    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use crate::support::TestApp;

    async fn app(adjust: impl FnOnce(&mut hookline::config::RawConfig)) -> TestApp {
        TestApp::spawn_with(|raw| {
            raw.http.header_read_timeout = "300ms".into();
            raw.http.body_timeout = "300ms".into();
            raw.delivery.shutdown_grace = "1s".into();
            adjust(raw);
        })
        .await
    }

    fn addr(app: &TestApp) -> String {
        app.base.trim_start_matches("http://").to_owned()
    }

    /// Reads until the peer closes the connection, or fails after `within`; returns what was read.
    async fn closed_within(stream: &mut TcpStream, within: Duration) -> Vec<u8> {
        let mut seen = Vec::new();
        let mut buffer = [0u8; 1024];
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, stream.read(&mut buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return seen,
                Ok(Ok(n)) => seen.extend_from_slice(&buffer[..n]),
                Err(_) => panic!("the connection was still open after {within:?}"),
            }
        }
    }

    async fn healthz(app: &TestApp) -> Duration {
        let started = Instant::now();
        let response = app.http.get(format!("{}/healthz", app.base)).send().await.unwrap();
        assert!(response.status().is_success());
        started.elapsed()
    }

    #[tokio::test]
    async fn slow_headers_are_cut_off_while_the_api_keeps_answering() {
        let app = app(|_| {}).await;
        let mut slow = Vec::new();
        for _ in 0..50 {
            let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
            stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
            slow.push(stream);
        }
        assert!(healthz(&app).await < Duration::from_secs(2));
        for stream in &mut slow {
            closed_within(stream, Duration::from_secs(3)).await;
        }
        app.stop().await;
    }

    #[tokio::test]
    async fn an_idle_keep_alive_connection_is_closed() {
        let app = app(|_| {}).await;
        let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        // The answer arrives, then the connection idles until the server closes it.
        let seen = closed_within(&mut stream, Duration::from_secs(3)).await;
        assert!(seen.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&seen));
        app.stop().await;
    }

    #[tokio::test]
    async fn a_trickled_body_times_out_with_a_json_408() {
        let app = app(|_| {}).await;
        let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
        let head = "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer hk_nothing\r\n\
                    Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"type\":";
        stream.write_all(head.as_bytes()).await.unwrap();
        let seen = String::from_utf8_lossy(&closed_within(&mut stream, Duration::from_secs(3)).await).into_owned();
        // Authentication runs before the body is read; either way the connection does not hang. With a valid
        // key the body read is what times out.
        assert!(seen.starts_with("HTTP/1.1 401") || seen.starts_with("HTTP/1.1 408"), "{seen}");

        let key = app.platform("trickle").await;
        let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
        let head = format!(
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"type\":"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let seen = String::from_utf8_lossy(&closed_within(&mut stream, Duration::from_secs(3)).await).into_owned();
        assert!(seen.starts_with("HTTP/1.1 408"), "{seen}");
        assert!(seen.contains(r#""code":"request_timeout""#), "{seen}");
        app.stop().await;
    }

    #[tokio::test]
    async fn beyond_the_connection_cap_new_connections_wait_their_turn() {
        let app = app(|raw| {
            raw.http.max_connections = 4;
            raw.http.header_read_timeout = "1s".into();
        })
        .await;
        let mut idle = Vec::new();
        for _ in 0..4 {
            idle.push(TcpStream::connect(addr(&app)).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        // All four slots are taken by silent clients: the next request waits until the header timeout frees
        // one (about 1 s), and is then answered.
        let waited = healthz(&app).await;
        assert!(waited >= Duration::from_millis(500), "answered beyond the cap after {waited:?}");
        assert!(waited < Duration::from_secs(4), "{waited:?}");
        drop(idle);
        app.stop().await;
    }

    #[tokio::test]
    async fn a_half_sent_request_does_not_hold_shutdown() {
        let app = app(|raw| {
            // Long enough that only the shutdown grace (1 s) can end the request.
            raw.http.body_timeout = "1h".into();
            raw.http.request_timeout = "1h".into();
        })
        .await;
        let key = app.platform("halfsent").await;
        let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
        let head = format!(
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        tokio::time::timeout(Duration::from_secs(5), app.stop()).await.expect("stop finished within the grace");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

mod limits {
    //! Per-platform publishing limits on the real server.

    use axum::http::StatusCode;
    use serde_json::json;

    use crate::support::TestApp;

    #[tokio::test]
    async fn publishing_beyond_the_rate_answers_429_with_retry_after_and_stores_nothing() {
        let app = TestApp::spawn_with(|raw| {
            raw.limits.publish_rate = 1;
            raw.limits.publish_burst = 3;
        })
        .await;
        let key = app.platform("ratelimited").await;
        let other = app.platform("unaffected").await;
        for n in 0..3 {
            app.publish(&key, json!({"id": format!("r-{n}"), "type": "user.created", "data": {}})).await;
        }
        let response = app
            .http
            .post(format!("{}/v1/events", app.base))
            .bearer_auth(&key)
            .json(&json!({"id": "r-3", "type": "user.created", "data": {}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=2).contains(&retry_after), "{retry_after}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limited");
        let (status, _) = app.call("GET", "/v1/events/r-3", Some(&key), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "a refused publish stores nothing");
        // Another platform has its own budget.
        app.publish(&other, json!({"type": "user.created", "data": {}})).await;
        app.stop().await;
    }

    #[tokio::test]
    async fn an_event_larger_than_max_event_bytes_is_refused_on_data() {
        let app = TestApp::spawn_with(|raw| raw.limits.max_event_bytes = 1000).await;
        let key = app.platform("bigdata").await;
        let pad = "x".repeat(1000);
        let (status, body) = app
            .call(
                "POST",
                "/v1/events",
                Some(&key),
                Some(json!({"id": "big", "type": "user.created", "data": {"pad": pad}})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "data");
        let (status, _) = app.call("GET", "/v1/events/big", Some(&key), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        app.publish(&key, json!({"type": "user.created", "data": {"pad": "x".repeat(900)}})).await;
        app.stop().await;
    }
}
