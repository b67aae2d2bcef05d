//! `/v1/events`: publish, list, read.

use futures_util::stream::Stream;
use reqwest::Method;
use serde::Serialize;

use crate::{Client, Error, ListOptions, proto};

/// The body of a publish, borrowing its data (the wire type owns raw JSON text).
#[derive(Serialize)]
struct Publish<'a, D: Serialize> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type")]
    event_type: &'a str,
    data: &'a D,
}

impl Client {
    /// `POST /v1/events` with a generated id: answered once the event and its deliveries are stored.
    pub async fn publish<D: Serialize>(&self, event_type: &str, data: &D) -> Result<proto::EventAccepted, Error> {
        self.publish_with_id(None, event_type, data).await
    }

    /// `POST /v1/events` with the caller's id (an idempotency key: publishing it again creates nothing).
    pub async fn publish_with_id<D: Serialize>(
        &self,
        id: Option<&str>,
        event_type: &str,
        data: &D,
    ) -> Result<proto::EventAccepted, Error> {
        let body = Publish { id, event_type, data };
        self.send(Method::POST, &["v1", "events"], Some(&body)).await
    }

    /// `GET /v1/events`: one page, newest first.
    pub async fn events(&self, options: &ListOptions) -> Result<proto::List<proto::Event>, Error> {
        self.get(&["v1", "events"], &options.query()).await
    }

    /// Every event, newest first, following the cursor `page_size` at a time.
    pub fn events_all(&self, page_size: usize) -> impl Stream<Item = Result<proto::Event, Error>> + '_ {
        self.all(vec!["v1".into(), "events".into()], Vec::new(), page_size)
    }

    /// `GET /v1/events/{id}`, with each webhook's delivery status.
    pub async fn event(&self, id: &str) -> Result<proto::Event, Error> {
        self.get(&["v1", "events", id], &[]).await
    }
}
