//! A typed async client for hookline's `/v1` API, over the [`hookline_proto`] wire types.
//!
//! One [`Client`] holds one `reqwest` connection pool and the platform's API key. Every call returns the wire
//! type the API documents, or an [`Error`] that keeps the server's `code`, `message` and `field`. Lists come
//! page by page ([`Client::webhooks`], …) or as a stream that follows `next_cursor` ([`Client::webhooks_all`]).
//!
//! Publishing an event:
//!
//! ```no_run
//! # async fn run() -> Result<(), hookline_client::Error> {
//! let client = hookline_client::Client::new("http://localhost:8080", "hk_...")?;
//! let data = serde_json::json!({"user_id": "usr_42", "email": "zoe@example.com"});
//! let accepted = client.publish("user.created", &data).await?;
//! println!("{} stored, {} deliveries", accepted.id, accepted.deliveries);
//! # Ok(()) }
//! ```
//!
//! Invariant: this crate depends on `hookline-proto` and no other hookline crate, so a publisher can use it
//! without building the server.

mod catalog;
mod deliveries;
mod error;
mod events;
mod inboxes;
mod keys;
mod listeners;
mod pages;
mod sse;
mod transport;
mod webhooks;

pub use crate::error::Error;
pub use crate::inboxes::{InboxEvent, InboxStream};
pub use crate::listeners::{ListenerEvent, ListenerStream};
pub use crate::pages::ListOptions;
pub use crate::sse::{EventStream, ServerEvent};
pub use hookline_proto as proto;

/// A connection to one hookline server as one platform.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: url::Url,
    api_key: String,
}

impl std::fmt::Debug for Client {
    /// The API key is a credential: it never reaches a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("server", &self.base.as_str()).field("api_key", &"***").finish()
    }
}

impl Client {
    /// A client for the server at `server` (e.g. `http://localhost:8080`) using `api_key`.
    pub fn new(server: &str, api_key: impl Into<String>) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("hookline-client/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|source| Error::Transport { url: server.to_owned(), source })?;
        Self::with_http(server, api_key, http)
    }

    /// Like [`Client::new`], with a `reqwest::Client` configured by the caller (proxy, TLS roots, timeouts).
    pub fn with_http(server: &str, api_key: impl Into<String>, http: reqwest::Client) -> Result<Self, Error> {
        let base = url::Url::parse(server.trim_end_matches('/'))
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
            .ok_or_else(|| Error::InvalidServer(server.to_owned()))?;
        Ok(Self { http, base, api_key: api_key.into() })
    }

    /// The server's base URL.
    pub fn server(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// `GET /readyz`: whether the server and its database answer.
    pub async fn ready(&self) -> Result<proto::Health, Error> {
        self.get(&["readyz"], &[]).await
    }
}
