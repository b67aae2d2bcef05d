//! `/v1/listeners`: `hookline listen`'s temporary subscriptions, their stream of deliveries, and the answers
//! reported back.

use reqwest::Method;

use crate::sse::EventStream;
use crate::{Client, Error, proto};

/// What a listener's stream carries.
#[derive(Debug, Clone)]
pub enum ListenerEvent {
    /// A delivery to forward: the exact signed request.
    Delivery(proto::ListenerDelivery),
    /// The server ended the stream (the listener was deleted, the server stops, or the stream's time limit);
    /// the reason as the server gave it. Reconnecting resumes: nothing pending is lost.
    End(String),
}

/// An open stream of a listener's deliveries.
#[derive(Debug)]
pub struct ListenerStream {
    events: EventStream,
}

impl ListenerStream {
    /// The next delivery or the end; `Ok(None)` when the connection closed without an end event.
    pub async fn next(&mut self) -> Result<Option<ListenerEvent>, Error> {
        let Some(event) = self.events.next_event().await? else { return Ok(None) };
        if event.event.as_deref() == Some("end") {
            return Ok(Some(ListenerEvent::End(end_reason(&event.data))));
        }
        let delivery = serde_json::from_str(&event.data)
            .map_err(|source| Error::Decode { url: "listener stream".to_owned(), source })?;
        Ok(Some(ListenerEvent::Delivery(delivery)))
    }
}

/// The `reason` of an `event: end`'s `{"reason": …}`, or its data as it is.
pub(crate) fn end_reason(data: &str) -> String {
    serde_json::from_str::<serde_json::Value>(data)
        .ok()
        .and_then(|value| value.get("reason")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| data.to_owned())
}

impl Client {
    /// `POST /v1/listeners`: a temporary subscription; the answer carries its signing secret.
    pub async fn create_listener(&self, listener: &proto::CreateListener) -> Result<proto::Listener, Error> {
        self.send(Method::POST, &["v1", "listeners"], Some(listener)).await
    }

    /// `GET /v1/listeners/{id}`.
    pub async fn listener(&self, id: &str) -> Result<proto::Listener, Error> {
        self.get(&["v1", "listeners", id], &[]).await
    }

    /// `DELETE /v1/listeners/{id}`: no delivery is created for it from now on.
    pub async fn delete_listener(&self, id: &str) -> Result<(), Error> {
        self.call(Method::DELETE, self.url(&["v1", "listeners", id], &[]), None::<&()>).await.map(drop)
    }

    /// `GET /v1/listeners/{id}/stream`: its pending deliveries, then each new one.
    pub async fn listener_stream(&self, id: &str) -> Result<ListenerStream, Error> {
        Ok(ListenerStream { events: self.event_stream(&["v1", "listeners", id, "stream"], None).await? })
    }

    /// `POST /v1/listeners/{id}/results`: what the local URL answered to one streamed delivery.
    pub async fn report_listener_result(&self, id: &str, result: &proto::ListenerResult) -> Result<(), Error> {
        self.call(Method::POST, self.url(&["v1", "listeners", id, "results"], &[]), Some(result)).await.map(drop)
    }
}
