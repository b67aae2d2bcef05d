//! `/v1/inboxes`: create, list, read, delete inboxes; list what they captured, or follow it live.

use futures_util::stream::Stream;
use reqwest::Method;

use crate::listeners::end_reason;
use crate::sse::EventStream;
use crate::{Client, Error, ListOptions, proto};

/// What an inbox's live stream carries.
#[derive(Debug, Clone)]
pub enum InboxEvent {
    /// A request the inbox captured, with its verdict.
    Request(Box<proto::CapturedRequest>),
    /// The server ended the stream (the inbox was deleted or expired, the server stops, or the stream's time
    /// limit); the reason as the server gave it.
    End(String),
}

/// An open live stream of an inbox's captures.
#[derive(Debug)]
pub struct InboxStream {
    events: EventStream,
    last_event_id: Option<String>,
}

impl InboxStream {
    /// The next captured request or the end; `Ok(None)` when the connection closed without an end event.
    pub async fn next(&mut self) -> Result<Option<InboxEvent>, Error> {
        let Some(event) = self.events.next_event().await? else { return Ok(None) };
        if event.event.as_deref() == Some("end") {
            return Ok(Some(InboxEvent::End(end_reason(&event.data))));
        }
        if event.id.is_some() {
            self.last_event_id = event.id;
        }
        let request = serde_json::from_str(&event.data)
            .map_err(|source| Error::Decode { url: "inbox stream".to_owned(), source })?;
        Ok(Some(InboxEvent::Request(Box::new(request))))
    }

    /// The position of the last request received, to resume from with [`Client::inbox_stream`].
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }
}

impl Client {
    /// `POST /v1/inboxes`.
    pub async fn create_inbox(&self, inbox: &proto::CreateInbox) -> Result<proto::Inbox, Error> {
        self.send(Method::POST, &["v1", "inboxes"], Some(inbox)).await
    }

    /// `GET /v1/inboxes`: one page of live inboxes, newest first.
    pub async fn inboxes(&self, options: &ListOptions) -> Result<proto::List<proto::Inbox>, Error> {
        self.get(&["v1", "inboxes"], &options.query()).await
    }

    /// Every live inbox, following the cursor `page_size` at a time.
    pub fn inboxes_all(&self, page_size: usize) -> impl Stream<Item = Result<proto::Inbox, Error>> + '_ {
        self.all(vec!["v1".into(), "inboxes".into()], Vec::new(), page_size)
    }

    /// `GET /v1/inboxes/{id}`.
    pub async fn inbox(&self, id: &str) -> Result<proto::Inbox, Error> {
        self.get(&["v1", "inboxes", id], &[]).await
    }

    /// `DELETE /v1/inboxes/{id}`, with what it captured.
    pub async fn delete_inbox(&self, id: &str) -> Result<(), Error> {
        self.call(Method::DELETE, self.url(&["v1", "inboxes", id], &[]), None::<&()>).await.map(drop)
    }

    /// `GET /v1/inboxes/{id}/requests`: one page of captures, newest first.
    pub async fn inbox_requests(
        &self,
        id: &str,
        options: &ListOptions,
    ) -> Result<proto::List<proto::CapturedRequest>, Error> {
        self.get(&["v1", "inboxes", id, "requests"], &options.query()).await
    }

    /// `GET /v1/inboxes/{id}/requests/stream`: captures as they arrive (after `last_event_id`, when given).
    pub async fn inbox_stream(&self, id: &str, last_event_id: Option<&str>) -> Result<InboxStream, Error> {
        let events = self.event_stream(&["v1", "inboxes", id, "requests", "stream"], last_event_id).await?;
        Ok(InboxStream { events, last_event_id: last_event_id.map(str::to_owned) })
    }
}
