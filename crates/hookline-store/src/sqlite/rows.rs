//! Row decoding: SQLite rows to domain types. Stored values were validated when written, so a value that no
//! longer parses is reported as a database error rather than trusted.

use std::sync::Arc;

use hookline_core::Timestamp;
use hookline_core::delivery::{Attempt, Delivery, DeliveryJob, DeliveryStatus, FailureKind};
use hookline_core::event::{Event, render_body};
use hookline_core::ids::{AttemptId, DeliveryId, EventId, NotificationId, PlatformId, WebhookId};
use hookline_core::notification::{Notification, NotificationKind, NotificationStatus};
use hookline_core::platform::Platform;
use hookline_core::secret::Secret;
use hookline_core::webhook::{EventFilter, SigningSecrets, Webhook, WebhookUrl};
use rusqlite::Row;

use crate::{DeliverySummary, StoreError, StoreResult};

fn corrupt(what: &str) -> StoreError {
    StoreError::Database(format!("stored {what} does not parse").into())
}

pub(super) fn ts(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(millis)
}

pub(super) fn platform_id(text: String) -> StoreResult<PlatformId> {
    PlatformId::parse(&text).ok_or_else(|| corrupt("platform id"))
}

pub(super) fn webhook_id(text: String) -> StoreResult<WebhookId> {
    WebhookId::parse(&text).ok_or_else(|| corrupt("webhook id"))
}

pub(super) fn delivery_id(text: String) -> StoreResult<DeliveryId> {
    DeliveryId::parse(&text).ok_or_else(|| corrupt("delivery id"))
}

pub(super) fn event_id(text: String) -> StoreResult<EventId> {
    EventId::parse(&text).map_err(|_| corrupt("event id"))
}

/// Columns: id, name, url, email, created_at.
pub(super) const PLATFORM_COLUMNS: &str = "id, name, url, email, created_at";

pub(super) fn platform(row: &Row<'_>) -> rusqlite::Result<StoreResult<Platform>> {
    let id: String = row.get(0)?;
    let (name, url, email, created_at) = (row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
    Ok(platform_id(id).map(|id| Platform { id, name, url, email, created_at: ts(created_at) }))
}

/// Columns of a webhook row, in the order [`webhook`] reads them.
pub(super) const WEBHOOK_COLUMNS: &str = "id, platform_id, url, events, description, secret, previous_secret, \
     previous_secret_until, enabled, disabled_reason, created_at, updated_at, concurrency, failing_since";

/// The raw columns of a webhook row, decoded outside rusqlite's error type.
pub(super) struct WebhookRow {
    id: String,
    platform_id: String,
    url: String,
    events: String,
    description: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<i64>,
    enabled: bool,
    disabled_reason: Option<String>,
    created_at: i64,
    updated_at: i64,
    concurrency: Option<u32>,
    failing_since: Option<i64>,
}

pub(super) fn webhook_row(row: &Row<'_>) -> rusqlite::Result<WebhookRow> {
    Ok(WebhookRow {
        id: row.get(0)?,
        platform_id: row.get(1)?,
        url: row.get(2)?,
        events: row.get(3)?,
        description: row.get(4)?,
        secret: row.get(5)?,
        previous_secret: row.get(6)?,
        previous_secret_until: row.get(7)?,
        enabled: row.get(8)?,
        disabled_reason: row.get(9)?,
        created_at: row.get(10)?,
        updated_at: row.get(11)?,
        concurrency: row.get(12)?,
        failing_since: row.get(13)?,
    })
}

impl WebhookRow {
    pub(super) fn decode(self) -> StoreResult<Webhook> {
        Ok(Webhook {
            id: webhook_id(self.id)?,
            platform_id: platform_id(self.platform_id)?,
            url: WebhookUrl::from_stored(&self.url).ok_or_else(|| corrupt("webhook url"))?,
            events: decode_filter(&self.events)?,
            description: self.description,
            secrets: secrets(self.secret, self.previous_secret, self.previous_secret_until),
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            created_at: ts(self.created_at),
            updated_at: ts(self.updated_at),
            concurrency: self.concurrency,
            failing_since: self.failing_since.map(ts),
        })
    }
}

pub(super) fn secrets(current: String, previous: Option<String>, until: Option<i64>) -> SigningSecrets {
    SigningSecrets {
        current: Secret::from_stored(current),
        previous: previous.zip(until).map(|(secret, until)| (Secret::from_stored(secret), ts(until))),
    }
}

pub(super) fn encode_filter(filter: &EventFilter) -> String {
    filter.to_strings().join(" ")
}

pub(super) fn decode_filter(text: &str) -> StoreResult<EventFilter> {
    let events: Vec<String> = text.split(' ').map(str::to_owned).collect();
    EventFilter::parse(&events).map_err(|_| corrupt("event filter"))
}

/// Columns: id, platform_id, type, data, created_at (of table `events`, aliased `e`).
pub(super) const EVENT_COLUMNS: &str = "e.id, e.platform_id, e.type, e.data, e.created_at";

pub(super) fn event(row: &Row<'_>) -> rusqlite::Result<StoreResult<Event>> {
    let (id, platform, event_type, data, created_at): (String, String, String, String, i64) =
        (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
    Ok((|| {
        Ok(Event {
            id: event_id(id)?,
            platform_id: platform_id(platform)?,
            event_type,
            data,
            created_at: ts(created_at),
        })
    })())
}

/// Columns of a delivery summary (deliveries `d`, events `e`, webhooks `w`), in the order [`summary`] reads.
pub(super) const SUMMARY_COLUMNS: &str = "d.id, e.id, e.type, d.webhook_id, d.status, d.attempt_count, \
     d.next_attempt_at, d.created_at, d.updated_at, w.url, \
     (SELECT COALESCE(a.error_message, 'HTTP ' || a.status) FROM attempts a \
      WHERE a.delivery_id = d.id AND a.error_kind IS NOT NULL ORDER BY a.attempt_number DESC LIMIT 1)";

pub(super) fn summary(row: &Row<'_>) -> rusqlite::Result<StoreResult<DeliverySummary>> {
    let id: String = row.get(0)?;
    let event: String = row.get(1)?;
    let event_type: String = row.get(2)?;
    let webhook: String = row.get(3)?;
    let status: String = row.get(4)?;
    let attempt_count: u32 = row.get(5)?;
    let next_attempt_at: Option<i64> = row.get(6)?;
    let (created_at, updated_at): (i64, i64) = (row.get(7)?, row.get(8)?);
    let webhook_url: String = row.get(9)?;
    let last_error: Option<String> = row.get(10)?;
    Ok((|| {
        let status = DeliveryStatus::parse(&status).ok_or_else(|| corrupt("delivery status"))?;
        Ok(DeliverySummary {
            delivery: Delivery {
                id: delivery_id(id)?,
                event_id: event_id(event)?,
                event_type,
                webhook_id: webhook_id(webhook)?,
                status,
                attempt_count,
                next_attempt_at: next_attempt_at.filter(|_| status == DeliveryStatus::Pending).map(ts),
                created_at: ts(created_at),
                updated_at: ts(updated_at),
            },
            webhook_url,
            last_error,
        })
    })())
}

/// Columns: id, delivery_id, attempt_number, started_at, duration_ms, status, error_kind, error_message,
/// response_excerpt.
pub(super) const ATTEMPT_COLUMNS: &str =
    "id, delivery_id, attempt_number, started_at, duration_ms, status, error_kind, error_message, response_excerpt";

pub(super) fn attempt(row: &Row<'_>) -> rusqlite::Result<StoreResult<Attempt>> {
    let id: String = row.get(0)?;
    let delivery: String = row.get(1)?;
    let attempt_number: u32 = row.get(2)?;
    let started_at: i64 = row.get(3)?;
    let duration_ms: i64 = row.get(4)?;
    let status: Option<u16> = row.get(5)?;
    let error_kind: Option<String> = row.get(6)?;
    let error_message: Option<String> = row.get(7)?;
    let response_excerpt: String = row.get(8)?;
    Ok((|| {
        Ok(Attempt {
            id: AttemptId::parse(&id).ok_or_else(|| corrupt("attempt id"))?,
            delivery_id: delivery_id(delivery)?,
            attempt_number,
            started_at: ts(started_at),
            duration_ms: duration_ms.max(0) as u64,
            status,
            error_kind: error_kind.as_deref().and_then(FailureKind::parse),
            error_message,
            response_excerpt,
        })
    })())
}

/// Columns of a claimable job (deliveries `d`, events `e`, webhooks `w`), in the order [`JobRow`] reads.
pub(super) const JOB_COLUMNS: &str = "d.id, d.platform_id, d.webhook_id, d.attempt_count, e.pk, e.id, e.type, \
     e.data, e.created_at, w.url, w.secret, w.previous_secret, w.previous_secret_until, w.concurrency";

/// A job row before decoding; `event_pk` lets a batch render each event's body once.
pub(super) struct JobRow {
    delivery_id: String,
    platform_id: String,
    webhook_id: String,
    attempt_count: u32,
    pub(super) event_pk: i64,
    event_id: String,
    event_type: String,
    data: String,
    created_at: i64,
    url: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<i64>,
    concurrency: Option<u32>,
}

pub(super) fn job_row(row: &Row<'_>) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        delivery_id: row.get(0)?,
        platform_id: row.get(1)?,
        webhook_id: row.get(2)?,
        attempt_count: row.get(3)?,
        event_pk: row.get(4)?,
        event_id: row.get(5)?,
        event_type: row.get(6)?,
        data: row.get(7)?,
        created_at: row.get(8)?,
        url: row.get(9)?,
        secret: row.get(10)?,
        previous_secret: row.get(11)?,
        previous_secret_until: row.get(12)?,
        concurrency: row.get(13)?,
    })
}

impl JobRow {
    /// Renders this row's body (call once per event).
    pub(super) fn body(&self) -> Arc<[u8]> {
        render_body(&self.event_id, &self.event_type, ts(self.created_at), &self.data).into()
    }

    pub(super) fn decode(self, body: Arc<[u8]>) -> StoreResult<DeliveryJob> {
        Ok(DeliveryJob {
            delivery_id: delivery_id(self.delivery_id)?,
            platform_id: platform_id(self.platform_id)?,
            webhook_id: webhook_id(self.webhook_id)?,
            url: WebhookUrl::from_stored(&self.url).ok_or_else(|| corrupt("webhook url"))?,
            secrets: secrets(self.secret, self.previous_secret, self.previous_secret_until),
            event_id: event_id(self.event_id)?,
            event_type: self.event_type,
            body,
            attempt_number: self.attempt_count + 1,
            concurrency: self.concurrency,
        })
    }
}

/// Columns of a notification row, in the order [`notification`] reads them.
pub(super) const NOTIFICATION_COLUMNS: &str = "id, platform_id, webhook_id, kind, recipient, platform_url, \
     webhook_url, failed_count, event_types, event_ids, last_error, reason, status, attempts, send_error, subject, \
     created_at, sent_at";

pub(super) fn notification(row: &Row<'_>) -> rusqlite::Result<StoreResult<Notification>> {
    let id: String = row.get(0)?;
    let platform: String = row.get(1)?;
    let webhook: String = row.get(2)?;
    let kind: String = row.get(3)?;
    let event_types: String = row.get(8)?;
    let event_ids: String = row.get(9)?;
    let status: String = row.get(12)?;
    let (recipient, platform_url, webhook_url) = (row.get(4)?, row.get(5)?, row.get(6)?);
    let (failed_count, last_error, reason) = (row.get(7)?, row.get(10)?, row.get(11)?);
    let (attempts, send_error, subject) = (row.get(13)?, row.get(14)?, row.get(15)?);
    let (created_at, sent_at): (i64, Option<i64>) = (row.get(16)?, row.get(17)?);
    let split = |text: &str| text.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    Ok((|| {
        Ok(Notification {
            id: NotificationId::parse(&id).ok_or_else(|| corrupt("notification id"))?,
            platform_id: platform_id(platform)?,
            webhook_id: webhook_id(webhook)?,
            kind: NotificationKind::parse(&kind).ok_or_else(|| corrupt("notification kind"))?,
            recipient,
            platform_url,
            webhook_url,
            failed_count,
            event_types: split(&event_types),
            event_ids: split(&event_ids),
            last_error,
            reason,
            status: NotificationStatus::parse(&status).ok_or_else(|| corrupt("notification status"))?,
            attempts,
            send_error,
            subject,
            created_at: ts(created_at),
            sent_at: sent_at.map(ts),
        })
    })())
}
