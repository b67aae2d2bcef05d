//! Conversions between `hookline-proto` wire types and domain types: the only place the two meet.

use hookline_core::Timestamp;
use hookline_core::delivery::Attempt;
use hookline_core::event::Event;
use hookline_core::headers::HeaderList;
use hookline_core::platform::{EventType, Platform};
use hookline_core::webhook::Webhook;
use hookline_proto as proto;
use hookline_store::{DeliveryDetail, DeliverySummary};
use serde_json::value::RawValue;

use crate::ApiError;

pub(crate) fn time(t: Timestamp) -> String {
    t.to_rfc3339()
}

pub(crate) fn platform(platform: Platform, api_key: Option<String>) -> proto::Platform {
    proto::Platform {
        id: platform.id.to_string(),
        name: platform.name,
        url: platform.url,
        email: platform.email,
        api_key,
        created_at: time(platform.created_at),
    }
}

/// An API key's record (never the key itself).
pub(crate) fn api_key(key: hookline_store::ApiKeyRecord) -> proto::ApiKey {
    proto::ApiKey {
        prefix: if key.prefix.is_empty() { "hk_…".to_owned() } else { format!("{}…", key.prefix) },
        id: key.id,
        name: key.name,
        read_only: key.read_only,
        created_at: time(key.created_at),
        last_used_at: key.last_used_at.map(time),
        key: None,
    }
}

/// A catalog entry; a built-in type carries its sample payload (the catalog's samples are tested to parse).
pub(crate) fn event_type(event_type: EventType) -> proto::EventType {
    let sample = event_type
        .built_in
        .then(|| hookline_core::catalog::sample(&event_type.name))
        .flatten()
        .and_then(|text| serde_json::from_str(text).ok());
    proto::EventType {
        name: event_type.name,
        description: event_type.description,
        built_in: event_type.built_in,
        operational: event_type.operational,
        sample,
    }
}

/// A webhook as lists and plain reads show it: never with its secret.
pub(crate) fn webhook(webhook: Webhook) -> proto::Webhook {
    proto::Webhook {
        id: webhook.id.to_string(),
        url: webhook.url.as_str().to_owned(),
        events: webhook.events.to_strings(),
        description: webhook.description,
        enabled: webhook.enabled,
        disabled_reason: webhook.disabled_reason,
        concurrency: webhook.concurrency,
        rate_limit: webhook.rate_limit,
        failing_since: webhook.failing_since.map(time),
        secret: None,
        created_at: time(webhook.created_at),
        updated_at: time(webhook.updated_at),
    }
}

pub(crate) fn secret(webhook: &Webhook, now: Timestamp) -> proto::WebhookSecret {
    proto::WebhookSecret {
        secret: webhook.secrets.current.expose().to_owned(),
        previous_secret_expires_at: webhook
            .secrets
            .previous
            .as_ref()
            .filter(|(_, until)| *until > now)
            .map(|(_, until)| time(*until)),
    }
}

pub(crate) fn raw_json(text: String) -> Result<Box<RawValue>, ApiError> {
    RawValue::from_string(text).map_err(|e| ApiError::Internal(Box::new(e)))
}

pub(crate) fn event(event: Event, deliveries: Option<Vec<DeliverySummary>>) -> Result<proto::Event, ApiError> {
    Ok(proto::Event {
        id: event.id.to_string(),
        event_type: event.event_type,
        created_at: time(event.created_at),
        data: raw_json(event.data)?,
        deliveries: deliveries.map(|list| list.into_iter().map(delivery).collect()),
    })
}

pub(crate) fn delivery(summary: DeliverySummary) -> proto::Delivery {
    let d = summary.delivery;
    proto::Delivery {
        id: d.id.to_string(),
        event_id: d.event_id.to_string(),
        event_type: d.event_type,
        webhook_id: d.webhook_id.to_string(),
        webhook_url: summary.webhook_url,
        status: d.status.as_str().to_owned(),
        attempts: d.attempt_count,
        next_attempt_at: d.next_attempt_at.map(time),
        last_error: summary.last_error,
        created_at: time(d.created_at),
        updated_at: time(d.updated_at),
    }
}

pub(crate) fn delivery_detail(detail: DeliveryDetail) -> proto::DeliveryDetail {
    proto::DeliveryDetail {
        delivery: delivery(detail.summary),
        attempt_log: detail.attempts.into_iter().map(attempt).collect(),
    }
}

fn attempt(attempt: Attempt) -> proto::Attempt {
    proto::Attempt {
        id: attempt.id.to_string(),
        attempt: attempt.attempt_number,
        started_at: time(attempt.started_at),
        duration_ms: attempt.duration_ms,
        status_code: attempt.status,
        error_kind: attempt.error_kind.map(|kind| kind.as_str().to_owned()),
        error_message: attempt.error_message,
        response_excerpt: attempt.response_excerpt,
        request_headers: attempt.request_headers.as_ref().map(header_pairs),
        response_headers: attempt.response_headers.as_ref().map(header_pairs),
        response_headers_omitted: attempt.response_headers.as_ref().map_or(0, HeaderList::omitted),
    }
}

fn header_pairs(headers: &HeaderList) -> Vec<[String; 2]> {
    headers.entries().into_iter().map(|(name, value)| [name, value]).collect()
}

pub(crate) fn notification(n: hookline_core::notification::Notification) -> proto::Notification {
    proto::Notification {
        id: n.id.to_string(),
        webhook_id: n.webhook_id.to_string(),
        webhook_url: n.webhook_url,
        kind: n.kind.as_str().to_owned(),
        to: n.recipient,
        status: n.status.as_str().to_owned(),
        subject: n.subject,
        failed_count: n.failed_count,
        event_types: n.event_types,
        event_ids: n.event_ids,
        last_error: n.last_error,
        reason: n.reason,
        attempts: n.attempts,
        send_error: n.send_error,
        created_at: time(n.created_at),
        sent_at: n.sent_at.map(time),
    }
}

pub(crate) fn inbox(inbox: hookline_core::inbox::Inbox, base: &hookline_core::inbox::InboxBase) -> proto::Inbox {
    let response = inbox.response;
    proto::Inbox {
        url: base.inbox_url(&inbox.id),
        id: inbox.id.to_string(),
        response: proto::InboxResponse {
            status: response.status,
            body: response.body,
            content_type: response.content_type,
            delay_ms: response.delay_ms,
        },
        created_at: time(inbox.created_at),
        expires_at: time(inbox.expires_at),
    }
}

/// A captured request: the body as text when it is UTF-8, else in base64 (a cut may split a UTF-8 character, so
/// a cut body whose only flaw is an incomplete last character is still shown as text, without it).
pub(crate) fn captured_request(request: hookline_core::inbox::CapturedRequest) -> proto::CapturedRequest {
    use base64::Engine as _;
    let (body, body_base64) = match std::str::from_utf8(&request.body) {
        Ok(text) => (Some(text.to_owned()), None),
        Err(error) if request.body_truncated && error.error_len().is_none() => {
            (Some(String::from_utf8_lossy(&request.body[..error.valid_up_to()]).into_owned()), None)
        }
        Err(_) => (None, Some(base64::engine::general_purpose::STANDARD.encode(&request.body))),
    };
    let note = request.verdict.note;
    proto::CapturedRequest {
        id: request.id.to_string(),
        inbox_id: request.inbox_id.to_string(),
        method: request.method,
        path: request.path,
        query: request.query,
        headers: request.headers.into_iter().map(|(name, value)| [name, value]).collect(),
        body,
        body_base64,
        body_truncated: request.body_truncated,
        size: request.size,
        received_at: time(request.received_at),
        source_ip: request.source_ip,
        verified: request.verdict.verified,
        verification: note.map(|note| proto::Verification {
            code: note.code,
            message: note.message,
            webhook_id: note.webhook_id.map(|id| id.to_string()),
        }),
    }
}

/// A listener as its routes show it: never with its secret (the create answer adds it).
pub(crate) fn listener(webhook: Webhook, idle_expiry: std::time::Duration) -> proto::Listener {
    proto::Listener {
        id: webhook.id.to_string(),
        forward_to: webhook.url.as_str().to_owned(),
        events: webhook.events.to_strings(),
        secret: None,
        created_at: time(webhook.created_at),
        idle_expiry_seconds: idle_expiry.as_secs(),
    }
}

/// One streamed delivery: the request the engine would have sent, signed at `now`.
pub(crate) fn listener_delivery(job: &hookline_core::delivery::DeliveryJob, now: Timestamp) -> proto::ListenerDelivery {
    proto::ListenerDelivery {
        delivery_id: job.delivery_id.to_string(),
        event_id: job.event_id.to_string(),
        event_type: job.event_type.clone(),
        attempt: job.attempt_number,
        headers: job.request_headers(now).into_iter().map(|(name, value)| [name.to_owned(), value]).collect(),
        // The body is the contract's JSON rendering: always UTF-8.
        body: String::from_utf8_lossy(&job.body).into_owned(),
    }
}
