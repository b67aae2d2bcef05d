//! `/v1/event-types`: the catalog, each built-in type with a sample payload.

use reqwest::Method;

use crate::{Client, Error, proto};

impl Client {
    /// `GET /v1/event-types`: the built-in types, then the platform's own.
    pub async fn event_types(&self) -> Result<Vec<proto::EventType>, Error> {
        let list: proto::List<proto::EventType> = self.get(&["v1", "event-types"], &[]).await?;
        Ok(list.data)
    }

    /// `POST /v1/event-types`: adds a custom `name.verb` type.
    pub async fn create_event_type(&self, event_type: &proto::CreateEventType) -> Result<proto::EventType, Error> {
        self.send(Method::POST, &["v1", "event-types"], Some(event_type)).await
    }
}
