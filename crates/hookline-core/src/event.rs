//! Events: what a platform publishes, and the exact body every delivery of it carries.

use crate::Timestamp;
use crate::catalog::EventTypeName;
use crate::ids::{EventId, PlatformId};

/// A validated publish request.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The caller's id (the idempotency key), or a generated `evt_…`.
    pub id: EventId,
    /// Its type; the store checks it against the platform's catalog.
    pub event_type: EventTypeName,
    /// The `data` object as the caller sent it: raw JSON text, kept byte for byte.
    pub data: String,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its id, unique within its platform.
    pub id: EventId,
    /// The platform that published it.
    pub platform_id: PlatformId,
    /// Its type.
    pub event_type: String,
    /// The `data` object, raw JSON text.
    pub data: String,
    /// When it was accepted.
    pub created_at: Timestamp,
}

impl Event {
    /// The delivery body, `{"id","type","created_at","data"}`, built once per event and shared by all its
    /// deliveries and attempts. `data` is spliced in as the caller sent it, so receivers see their own bytes.
    pub fn delivery_body(&self) -> Vec<u8> {
        render_body(self.id.as_str(), &self.event_type, self.created_at, &self.data)
    }
}

/// Renders a delivery body from its parts; see [`Event::delivery_body`].
pub fn render_body(id: &str, event_type: &str, created_at: Timestamp, data: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(data.len() + id.len() + event_type.len() + 80);
    body.extend_from_slice(b"{\"id\":");
    push_json_string(&mut body, id);
    body.extend_from_slice(b",\"type\":");
    push_json_string(&mut body, event_type);
    body.extend_from_slice(b",\"created_at\":\"");
    body.extend_from_slice(created_at.to_rfc3339().as_bytes());
    body.extend_from_slice(b"\",\"data\":");
    body.extend_from_slice(data.as_bytes());
    body.push(b'}');
    body
}

fn push_json_string(out: &mut Vec<u8>, text: &str) {
    // Ids and type names are validated to a character set that needs no escaping, but a stored value is
    // escaped anyway rather than trusted.
    match serde_json::to_string(text) {
        Ok(quoted) => out.extend_from_slice(quoted.as_bytes()),
        Err(_) => out.extend_from_slice(b"\"\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_the_contract_shape_with_data_verbatim() {
        let event = Event {
            id: EventId::parse("evt_1").unwrap(),
            platform_id: PlatformId::generate(),
            event_type: "order.confirmed".into(),
            data: r#"{"total": "19.90",  "items":[1,2]}"#.into(),
            created_at: Timestamp::from_unix_millis(1_764_374_400_000),
        };
        let body = String::from_utf8(event.delivery_body()).unwrap();
        assert_eq!(
            body,
            r#"{"id":"evt_1","type":"order.confirmed","created_at":"2025-11-29T00:00:00.000Z","data":{"total": "19.90",  "items":[1,2]}}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["data"]["items"][1], 2);
    }
}
