//! The one outbound HTTP client: timeouts, no redirects, no proxy, capped response reads, and an SSRF guard
//! that checks the address actually connected to.
//!
//! The guard has two halves. Host names go through [`GuardedResolver`], which drops non-public addresses from
//! the answer, so DNS rebinding cannot slip a private address in after the URL was saved. IP literals never
//! reach a resolver, so [`HttpSender::send`] checks them itself before connecting.
//!
//! One exception, and only one: a URL of this server's own inboxes (exactly the configured public origin, path
//! under `/in/`; see [`OwnInboxes`]) is sent to this server's own listener, whatever the mode. The request goes
//! to the listen address itself, never to an address the URL's host resolves to, so the exception opens no
//! path to anything else.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hookline_core::Timestamp;
use hookline_core::delivery::{AttemptOutcome, DeliveryJob, FailureKind};
use hookline_core::headers::{HeaderList, HeaderListBuilder};
use hookline_core::inbox::InboxBase;
use hookline_core::webhook::is_public_ip;
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, RETRY_AFTER};

/// The client could not be built (bad TLS setup); a startup failure.
#[derive(Debug, thiserror::Error)]
#[error("failed to build the HTTP client")]
pub struct SendError(#[source] reqwest::Error);

/// The outcome of one attempt with the start of the response body.
#[derive(Debug, Clone)]
pub struct SendResult {
    /// Delivered or failed, and why.
    pub outcome: AttemptOutcome,
    /// Up to `max_response_bytes` of the body, UTF-8 (lossy).
    pub excerpt: String,
    /// Every header of the request, as sent; `None` when nothing was sent (a refused destination).
    pub request_headers: Option<HeaderList>,
    /// The response's headers (bounded), when an answer came.
    pub response_headers: Option<HeaderList>,
}

/// This server's own inboxes: deliveries to their URLs go to its own listener.
#[derive(Debug, Clone)]
pub struct OwnInboxes {
    /// The public URL inbox URLs hang from.
    pub base: InboxBase,
    /// The address this server listens on.
    pub listener: SocketAddr,
}

impl OwnInboxes {
    /// Where to send a delivery for `url` instead, when `url` is one of this server's inbox URLs: the same path
    /// and query on the listener (an unspecified listen address is reached over loopback).
    fn route(&self, url: &url::Url) -> Option<url::Url> {
        if !self.base.owns(url) {
            return None;
        }
        let mut listener = self.listener;
        if listener.ip().is_unspecified() {
            listener.set_ip(match listener {
                SocketAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                SocketAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            });
        }
        let mut local = url::Url::parse(&format!("http://{listener}")).ok()?;
        local.set_path(url.path());
        local.set_query(url.query());
        Some(local)
    }
}

/// Sends delivery requests.
#[derive(Clone)]
pub struct HttpSender {
    client: reqwest::Client,
    max_response_bytes: usize,
    allow_private: bool,
    own_inboxes: Option<OwnInboxes>,
}

impl HttpSender {
    /// Builds the client. `allow_private` lets deliveries reach loopback and private addresses (dev, tests).
    pub fn new(timeout: Duration, max_response_bytes: usize, allow_private: bool) -> Result<Self, SendError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(256)
            .pool_idle_timeout(Duration::from_secs(90))
            .dns_resolver(GuardedResolver { allow_private })
            .build()
            .map_err(SendError)?;
        Ok(Self { client, max_response_bytes, allow_private, own_inboxes: None })
    }

    /// Delivers to this server's own inbox URLs through its own listener (see [`OwnInboxes`]).
    pub fn with_own_inboxes(mut self, own_inboxes: Option<OwnInboxes>) -> Self {
        self.own_inboxes = own_inboxes;
        self
    }

    /// POSTs `job` and classifies the result. Never fails: a receiver's failure is an outcome.
    pub async fn send(&self, job: &DeliveryJob, now: Timestamp) -> SendResult {
        let own_route = self.own_inboxes.as_ref().and_then(|own| own.route(job.url.as_url()));
        if own_route.is_none()
            && let Some(blocked) = self.blocked_literal(job.url.as_url())
        {
            return failed(FailureKind::Blocked, None, format!("destination {blocked} is not a public address"));
        }
        let mut headers = HeaderMap::with_capacity(12);
        for (name, value) in job.request_headers(now) {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        // reqwest would add this one itself; set here, it is in the map the attempt log is built from.
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        let request_headers = Some(sent_headers(job, &headers));
        let body = reqwest::Body::from(bytes::Bytes::from_owner(ArcBytes(Arc::clone(&job.body))));
        let target = match own_route {
            Some(local) => {
                // The inbox sees the host the URL names, as it would through the network.
                if let Some(host) = host_header(job.url.as_url()) {
                    headers.insert(reqwest::header::HOST, host);
                }
                local
            }
            None => job.url.as_url().clone(),
        };
        let response = match self.client.post(target).headers(headers).body(body).send().await {
            Ok(response) => response,
            Err(error) => return SendResult { request_headers, ..classify(&error) },
        };
        let mut received = HeaderListBuilder::response();
        for (name, value) in response.headers() {
            received.push(name.as_str(), value.as_bytes());
        }
        let response_headers = Some(received.finish());
        let status = response.status().as_u16();
        let retry_after = matches!(status, 429 | 503)
            .then(|| response.headers().get(RETRY_AFTER))
            .flatten()
            .and_then(|value| value.to_str().ok())
            .and_then(|text| parse_retry_after(text, std::time::SystemTime::now()));
        let (excerpt, read_error) = read_excerpt(response, self.max_response_bytes).await;
        let outcome = if (200..300).contains(&status) {
            AttemptOutcome::Delivered { status }
        } else {
            let message = if (300..400).contains(&status) {
                format!("HTTP {status} (redirects are not followed)")
            } else {
                format!("HTTP {status}")
            };
            AttemptOutcome::Failed { kind: FailureKind::Status, status: Some(status), message, retry_after }
        };
        match (outcome, read_error) {
            // A 2xx whose body timed out mid-read did not answer "within the timeout".
            (AttemptOutcome::Delivered { status }, Some(error)) if error.is_timeout() => SendResult {
                outcome: AttemptOutcome::Failed {
                    kind: FailureKind::Timeout,
                    status: Some(status),
                    message: "timed out reading the response".into(),
                    retry_after: None,
                },
                excerpt,
                request_headers,
                response_headers,
            },
            (outcome, _) => SendResult { outcome, excerpt, request_headers, response_headers },
        }
    }

    fn blocked_literal(&self, url: &url::Url) -> Option<IpAddr> {
        if self.allow_private {
            return None;
        }
        let ip = match url.host()? {
            url::Host::Ipv4(ip) => IpAddr::V4(ip),
            url::Host::Ipv6(ip) => IpAddr::V6(ip),
            url::Host::Domain(_) => return None,
        };
        (!is_public_ip(ip)).then_some(ip)
    }
}

/// The request's headers as the receiver gets them: `headers` plus the three the HTTP stack adds (`host`, from
/// the URL even for an own inbox, which is sent that host; `content-length`; and `authorization` when the URL
/// carries credentials, whose value is not repeated here). Built once per attempt, straight into the stored
/// text.
fn sent_headers(job: &DeliveryJob, headers: &HeaderMap) -> HeaderList {
    let url = job.url.as_url();
    let mut list = HeaderListBuilder::request();
    if let Some(host) = host_header(url) {
        list.push("host", host.as_bytes());
    }
    for (name, value) in headers {
        list.push(name.as_str(), value.as_bytes());
    }
    if !url.username().is_empty() || url.password().is_some() {
        list.push("authorization", b"Basic (the credentials in the webhook URL)");
    }
    list.push("content-length", job.body.len().to_string().as_bytes());
    list.finish()
}

/// The `Host` header value for `url`: its host, and its port when not the scheme's default.
fn host_header(url: &url::Url) -> Option<HeaderValue> {
    let host = url.host_str()?;
    let value = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    HeaderValue::from_str(&value).ok()
}

/// Reads a `Retry-After` value: delay-seconds, or an HTTP-date (RFC 9110 allows both). A date in the past means
/// "now". Anything else is ignored, and the schedule applies.
fn parse_retry_after(text: &str, now: std::time::SystemTime) -> Option<Duration> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Lets a shared event body be sent without copying it per delivery.
struct ArcBytes(Arc<[u8]>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

async fn read_excerpt(mut response: reqwest::Response, max: usize) -> (String, Option<reqwest::Error>) {
    let mut kept = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = max.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if kept.len() >= max {
                    // Stop reading: the rest of a large body is not worth the bandwidth. The connection is then
                    // not reused, which is the right price for a receiver that answers megabytes.
                    break;
                }
            }
            Ok(None) => break,
            Err(error) => return (String::from_utf8_lossy(&kept).into_owned(), Some(error)),
        }
    }
    (String::from_utf8_lossy(&kept).into_owned(), None)
}

fn failed(kind: FailureKind, status: Option<u16>, message: String) -> SendResult {
    SendResult {
        outcome: AttemptOutcome::Failed { kind, status, message, retry_after: None },
        excerpt: String::new(),
        request_headers: None,
        response_headers: None,
    }
}

fn classify(error: &reqwest::Error) -> SendResult {
    let mut chain = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut kind = None;
    while let Some(current) = source {
        if current.downcast_ref::<BlockedAddress>().is_some() {
            kind = Some(FailureKind::Blocked);
        } else if current.downcast_ref::<DnsFailure>().is_some() && kind.is_none() {
            kind = Some(FailureKind::Dns);
        } else if is_tls(current) && kind.is_none() {
            kind = Some(FailureKind::Tls);
        }
        if !chain.is_empty() {
            chain.push_str(": ");
        }
        chain.push_str(&current.to_string());
        source = current.source();
    }
    let kind = kind.unwrap_or(if error.is_timeout() { FailureKind::Timeout } else { FailureKind::Connect });
    // reqwest's messages name the URL; keep only the causes, which never contain secrets (they are in headers).
    let message = chain.split(": ").skip(1).collect::<Vec<_>>().join(": ");
    let message = if message.is_empty() { kind.as_str().to_owned() } else { message };
    failed(kind, None, message.chars().take(500).collect())
}

/// Whether `error` is a TLS failure (a bad certificate, a failed handshake, a peer that does not speak TLS):
/// rustls's own error, directly or inside the I/O error that carries it up through tokio-rustls and hyper.
/// Told by type, never by the message's words.
fn is_tls(error: &(dyn std::error::Error + 'static)) -> bool {
    if error.is::<rustls::Error>() {
        return true;
    }
    // `io::Error::source` skips the error it wraps, so look inside it by hand.
    let mut wrapped = error.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref);
    while let Some(inner) = wrapped {
        if inner.is::<rustls::Error>() {
            return true;
        }
        wrapped = inner.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref);
    }
    false
}

/// The resolver refused every address of a name because none is public.
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves only to non-public addresses")]
struct BlockedAddress(String);

/// The name did not resolve.
#[derive(Debug, thiserror::Error)]
#[error("could not resolve {0}")]
struct DnsFailure(String, #[source] std::io::Error);

/// Resolves with the system resolver and drops non-public addresses unless private destinations are allowed.
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|error| DnsFailure(host.clone(), error))?
                .filter(|addr| allow_private || is_public_ip(addr.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(BlockedAddress(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use hookline_core::ids::{DeliveryId, EventId, PlatformId, WebhookId};
    use hookline_core::secret::Secret;
    use hookline_core::webhook::{SigningSecrets, UrlPolicy, WebhookUrl};

    use super::*;

    fn job(url: &str) -> DeliveryJob {
        DeliveryJob {
            delivery_id: DeliveryId::generate(),
            platform_id: PlatformId::generate(),
            webhook_id: WebhookId::generate(),
            url: WebhookUrl::parse(url, UrlPolicy { allow_http: true, allow_private: true }).unwrap(),
            secrets: SigningSecrets { current: Secret::generate(), previous: None },
            event_id: EventId::generate(),
            event_type: "user.created".into(),
            body: Arc::from(&b"{}"[..]),
            attempt_number: 1,
            concurrency: None,
            rate_limit: None,
        }
    }

    /// A loopback listener that counts connections, to prove the guard stops traffic before it leaves.
    async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&count);
        tokio::spawn(async move {
            while let Ok((_socket, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        });
        (port, count)
    }

    #[tokio::test]
    async fn own_inbox_urls_reach_the_own_listener_and_nothing_else_does() {
        let (own_port, own_connections) = counting_listener().await;
        let (other_port, other_connections) = counting_listener().await;
        let listener: SocketAddr = format!("127.0.0.1:{own_port}").parse().unwrap();
        let id = hookline_core::ids::InboxId::generate();
        let own = |base: &str| {
            let base = InboxBase::parse(base).unwrap();
            HttpSender::new(Duration::from_millis(300), 4096, false)
                .unwrap()
                .with_own_inboxes(Some(OwnInboxes { base, listener }))
        };
        let sender = own(&format!("http://127.0.0.1:{own_port}"));
        // Other loopback URLs, an inbox path on another origin, another path on the own origin: all blocked,
        // exactly as without the exception.
        for url in [
            format!("http://127.0.0.1:{other_port}/hook"),
            format!("http://127.0.0.1:{other_port}/in/{id}"),
            format!("http://localhost:{own_port}/in/{id}"),
            format!("http://[::ffff:127.0.0.1]:{own_port}/in/{id}"),
            format!("http://127.0.0.1:{own_port}/v1/platforms"),
            format!("http://127.0.0.1:{own_port}/in/{id}/../../v1/platforms"),
        ] {
            let result = sender.send(&job(&url), Timestamp::now()).await;
            assert!(
                matches!(result.outcome, AttemptOutcome::Failed { kind: FailureKind::Blocked, .. }),
                "{url}: {:?}",
                result.outcome
            );
        }
        assert_eq!(own_connections.load(Ordering::SeqCst), 0);
        assert_eq!(other_connections.load(Ordering::SeqCst), 0);
        // The own inbox URL goes to the listener (which never answers: a timeout, after connecting).
        sender.send(&job(&format!("http://127.0.0.1:{own_port}/in/{id}/x?y=1")), Timestamp::now()).await;
        assert_eq!(own_connections.load(Ordering::SeqCst), 1);
        // With a public URL, the host is never resolved: the request goes straight to the listener.
        let public = own("https://hooks.example.invalid");
        public.send(&job(&format!("https://hooks.example.invalid/in/{id}")), Timestamp::now()).await;
        assert_eq!(own_connections.load(Ordering::SeqCst), 2);
        assert_eq!(other_connections.load(Ordering::SeqCst), 0);
    }

    /// A peer that does not speak TLS fails an https:// delivery as `tls`, told by the error's type.
    #[tokio::test]
    async fn a_peer_that_does_not_speak_tls_is_a_tls_failure() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                use tokio::io::AsyncWriteExt;
                let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
                // Keep the connection open: the client must fail on what it read, not on a closed socket.
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
        let sender = HttpSender::new(Duration::from_secs(3), 4096, true).unwrap();
        let result = sender.send(&job(&format!("https://127.0.0.1:{port}/")), Timestamp::now()).await;
        match result.outcome {
            AttemptOutcome::Failed { kind: FailureKind::Tls, .. } => {}
            other => panic!("expected a TLS failure, got {other:?}"),
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_764_374_400);
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 5 ", now), Some(Duration::from_secs(5)));
        // 2025-11-29T00:02:00Z, two minutes after `now`.
        assert_eq!(parse_retry_after("Sat, 29 Nov 2025 00:02:00 GMT", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Fri, 28 Nov 2025 00:00:00 GMT", now), Some(Duration::ZERO), "a past date is now");
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[tokio::test]
    async fn the_guard_blocks_private_destinations_at_connect_time() {
        let (port, connections) = counting_listener().await;
        let guarded = HttpSender::new(Duration::from_secs(2), 4096, false).unwrap();
        // IP literals (which never reach a resolver), in several spellings, and a name resolving to loopback.
        for url in [
            format!("http://127.0.0.1:{port}/"),
            format!("http://[::ffff:127.0.0.1]:{port}/"),
            format!("http://0x7f000001:{port}/"),
            format!("http://localhost:{port}/"),
            // IPv6 forms that carry 127.0.0.1: 6to4, Teredo (client inverted), NAT64.
            format!("http://[2002:7f00:1::1]:{port}/"),
            format!("http://[2001:0:808:808::80ff:fffe]:{port}/"),
            format!("http://[64:ff9b::7f00:1]:{port}/"),
        ] {
            let result = guarded.send(&job(&url), Timestamp::now()).await;
            match result.outcome {
                AttemptOutcome::Failed { kind: FailureKind::Blocked, .. } => {}
                other => panic!("{url} was not blocked: {other:?}"),
            }
        }
        assert_eq!(connections.load(Ordering::SeqCst), 0, "a blocked request reached the listener");
        // The same requests go through when private destinations are allowed (dev and tests).
        let open = HttpSender::new(Duration::from_millis(300), 4096, true).unwrap();
        let result = open.send(&job(&format!("http://localhost:{port}/")), Timestamp::now()).await;
        assert!(matches!(
            result.outcome,
            AttemptOutcome::Failed { kind: FailureKind::Timeout | FailureKind::Connect, .. }
        ));
        assert!(connections.load(Ordering::SeqCst) >= 1);
    }
}
