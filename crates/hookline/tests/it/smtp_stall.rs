//! SMTP servers that stall mid-conversation cannot stall the notifier: every step of a send has a deadline
//! (`notify.command_timeout`), on top of the whole send's (`notify.send_timeout`), tried with real sockets on
//! loopback at each step a server can go quiet.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::support::{Reply, TestApp, TestReceiver};

/// Where the server stops answering (it keeps the connection open and reads on, saying nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// Before its greeting.
    Greeting,
    /// After answering EHLO: MAIL gets no answer.
    AfterEhlo,
    /// After `354` to DATA: the end of the message gets no answer.
    AfterData,
}

/// An SMTP server on 127.0.0.1 that speaks until `stall`, then goes quiet.
pub struct StallingSmtp {
    pub url: String,
    /// Connections that reached the stall.
    stalled: Arc<AtomicUsize>,
}

impl StallingSmtp {
    pub async fn start(stall: Stall) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let stalled = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&stalled);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, stall, Arc::clone(&count)));
            }
        });
        Self { url, stalled }
    }

    pub fn stalled(&self) -> usize {
        self.stalled.load(Ordering::SeqCst)
    }

    /// Waits until a connection has reached the stall.
    pub async fn wait_stalled(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.stalled() == 0 {
            assert!(Instant::now() < deadline, "no send reached the stall");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn session(socket: tokio::net::TcpStream, stall: Stall, stalled: Arc<AtomicUsize>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    let mut line = String::new();
    let mut quiet = stall == Stall::Greeting;
    if quiet {
        stalled.fetch_add(1, Ordering::SeqCst);
    } else if write.write_all(b"220 stall.test ESMTP\r\n").await.is_err() {
        return;
    }
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        if quiet {
            continue;
        }
        let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" => b"250-stall.test\r\n250 8BITMIME\r\n",
            "MAIL" if stall == Stall::AfterEhlo => {
                quiet = true;
                stalled.fetch_add(1, Ordering::SeqCst);
                continue;
            }
            "DATA" => {
                quiet = stall == Stall::AfterData;
                if quiet {
                    stalled.fetch_add(1, Ordering::SeqCst);
                }
                b"354 go ahead\r\n"
            }
            "QUIT" => b"221 bye\r\n",
            _ => b"250 OK\r\n",
        };
        if write.write_all(answer).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_server_stalling_at_any_step_fails_the_send_after_the_command_timeout() {
    for (stall, step) in
        [(Stall::Greeting, "greeting"), (Stall::AfterEhlo, "MAIL FROM"), (Stall::AfterData, "the message")]
    {
        let smtp = StallingSmtp::start(stall).await;
        let url = smtp.url.clone();
        // The whole send may take an hour: only the per-command deadline can end these sends in time.
        let app = TestApp::spawn_with(move |raw| {
            raw.notify.smtp_url = Some(url);
            raw.notify.poll_interval = "50ms".into();
            raw.notify.retry_schedule = "100ms".into();
            raw.notify.command_timeout = "300ms".into();
            raw.notify.send_timeout = "1h".into();
            raw.delivery.retry_schedule = "".into();
        })
        .await;
        let key = app.platform("stalling").await;
        let failing = TestReceiver::scripted(vec![]).await;
        failing.set_fallback(Some(Reply::Status(500)));
        app.webhook(&key, &failing.url, &["*"]).await;
        let started = Instant::now();
        app.publish(&key, json!({"id": "s-1", "type": "user.created", "data": {}})).await;
        let list = app.eventually("/v1/notifications", &key, |l| l["data"][0]["status"] == "failed").await;
        let took = started.elapsed();
        let notice = &list["data"][0];
        assert_eq!(notice["attempts"], 2, "{stall:?}: both sends ran, each cut off: {notice}");
        let error = notice["send_error"].as_str().unwrap();
        assert!(error.contains("did not answer") && error.contains(step), "{stall:?}: {error}");
        assert!(error.contains("notify.command_timeout"), "{error}");
        assert!(smtp.stalled() >= 2, "{stall:?}: both sends reached the stall");
        // Two sends, each cut off after at most two command timeouts, plus the wait between them.
        assert!(took < Duration::from_secs(5), "{stall:?}: took {took:?}");
        app.stop().await;
    }
}
