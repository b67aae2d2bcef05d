//! Row decoding: PostgreSQL rows to domain types. The column lists are the SQLite backend's, so both backends
//! read the same columns in the same order. Stored values were validated when written, so a value that no
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
use tokio_postgres::Row;

use crate::{DeliverySummary, StoreError, StoreResult};

fn corrupt(what: &str) -> StoreError {
    StoreError::Database(format!("stored {what} does not parse").into())
}

pub(super) fn ts(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(millis)
}

/// A BIGINT column that holds an unsigned 32-bit value.
fn u32_of(value: i64, what: &str) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| corrupt(what))
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

pub(super) fn platform(row: &Row) -> StoreResult<Platform> {
    Ok(Platform {
        id: platform_id(row.try_get(0)?)?,
        name: row.try_get(1)?,
        url: row.try_get(2)?,
        email: row.try_get(3)?,
        created_at: ts(row.try_get(4)?),
    })
}

/// Columns of a webhook row, in the order [`webhook`] reads them.
pub(super) const WEBHOOK_COLUMNS: &str = "id, platform_id, url, events, description, secret, previous_secret, \
     previous_secret_until, enabled, disabled_reason, created_at, updated_at, concurrency, failing_since";

pub(super) fn webhook(row: &Row) -> StoreResult<Webhook> {
    let url: String = row.try_get(2)?;
    let events: String = row.try_get(3)?;
    let concurrency: Option<i64> = row.try_get(12)?;
    Ok(Webhook {
        id: webhook_id(row.try_get(0)?)?,
        platform_id: platform_id(row.try_get(1)?)?,
        url: WebhookUrl::from_stored(&url).ok_or_else(|| corrupt("webhook url"))?,
        events: decode_filter(&events)?,
        description: row.try_get(4)?,
        secrets: secrets(row.try_get(5)?, row.try_get(6)?, row.try_get(7)?),
        enabled: row.try_get(8)?,
        disabled_reason: row.try_get(9)?,
        created_at: ts(row.try_get(10)?),
        updated_at: ts(row.try_get(11)?),
        concurrency: concurrency.map(|c| u32_of(c, "webhook concurrency")).transpose()?,
        failing_since: row.try_get::<_, Option<i64>>(13)?.map(ts),
    })
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

pub(super) fn event(row: &Row) -> StoreResult<Event> {
    Ok(Event {
        id: event_id(row.try_get(0)?)?,
        platform_id: platform_id(row.try_get(1)?)?,
        event_type: row.try_get(2)?,
        data: row.try_get(3)?,
        created_at: ts(row.try_get(4)?),
    })
}

/// Columns of a delivery summary (deliveries `d`, events `e`, webhooks `w`), in the order [`summary`] reads.
pub(super) const SUMMARY_COLUMNS: &str = "d.id, e.id, e.type, d.webhook_id, d.status, d.attempt_count, \
     d.next_attempt_at, d.created_at, d.updated_at, w.url, \
     (SELECT COALESCE(a.error_message, 'HTTP ' || a.status) FROM attempts a \
      WHERE a.delivery_id = d.id AND a.error_kind IS NOT NULL \
      ORDER BY a.attempt_number DESC, a.started_at DESC, a.id DESC LIMIT 1)";

pub(super) fn summary(row: &Row) -> StoreResult<DeliverySummary> {
    let status: String = row.try_get(4)?;
    let status = DeliveryStatus::parse(&status).ok_or_else(|| corrupt("delivery status"))?;
    let next_attempt_at: Option<i64> = row.try_get(6)?;
    Ok(DeliverySummary {
        delivery: Delivery {
            id: delivery_id(row.try_get(0)?)?,
            event_id: event_id(row.try_get(1)?)?,
            event_type: row.try_get(2)?,
            webhook_id: webhook_id(row.try_get(3)?)?,
            status,
            attempt_count: u32_of(row.try_get(5)?, "attempt count")?,
            next_attempt_at: next_attempt_at.filter(|_| status == DeliveryStatus::Pending).map(ts),
            created_at: ts(row.try_get(7)?),
            updated_at: ts(row.try_get(8)?),
        },
        webhook_url: row.try_get(9)?,
        last_error: row.try_get(10)?,
    })
}

/// Columns: id, delivery_id, attempt_number, started_at, duration_ms, status, error_kind, error_message,
/// response_excerpt.
pub(super) const ATTEMPT_COLUMNS: &str =
    "id, delivery_id, attempt_number, started_at, duration_ms, status, error_kind, error_message, response_excerpt";

pub(super) fn attempt(row: &Row) -> StoreResult<Attempt> {
    let id: String = row.try_get(0)?;
    let status: Option<i64> = row.try_get(5)?;
    let error_kind: Option<String> = row.try_get(6)?;
    let duration_ms: i64 = row.try_get(4)?;
    Ok(Attempt {
        id: AttemptId::parse(&id).ok_or_else(|| corrupt("attempt id"))?,
        delivery_id: delivery_id(row.try_get(1)?)?,
        attempt_number: u32_of(row.try_get(2)?, "attempt number")?,
        started_at: ts(row.try_get(3)?),
        duration_ms: duration_ms.max(0) as u64,
        status: status.map(|s| u16::try_from(s).map_err(|_| corrupt("attempt status"))).transpose()?,
        error_kind: error_kind.as_deref().and_then(FailureKind::parse),
        error_message: row.try_get(7)?,
        response_excerpt: row.try_get(8)?,
    })
}

/// Columns of a claimable job (deliveries `d`, events `e`, webhooks `w`), in the order [`JobRow`] reads, then
/// the delivery's due time (for ordering).
pub(super) const JOB_COLUMNS: &str = "d.id, d.platform_id, d.webhook_id, d.attempt_count, e.pk, e.id, e.type, \
     e.data, e.created_at, w.url, w.secret, w.previous_secret, w.previous_secret_until, w.concurrency, \
     d.next_attempt_at";

/// A job row before decoding; `event_pk` lets a batch render each event's body once.
pub(super) struct JobRow {
    delivery_id: String,
    platform_id: String,
    webhook_id: String,
    attempt_count: i64,
    pub(super) event_pk: i64,
    event_id: String,
    event_type: String,
    data: String,
    created_at: i64,
    url: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<i64>,
    concurrency: Option<i64>,
    /// The due time, for ordering a claim's jobs.
    pub(super) next_attempt_at: Option<i64>,
}

pub(super) fn job_row(row: &Row) -> StoreResult<JobRow> {
    Ok(JobRow {
        delivery_id: row.try_get(0)?,
        platform_id: row.try_get(1)?,
        webhook_id: row.try_get(2)?,
        attempt_count: row.try_get(3)?,
        event_pk: row.try_get(4)?,
        event_id: row.try_get(5)?,
        event_type: row.try_get(6)?,
        data: row.try_get(7)?,
        created_at: row.try_get(8)?,
        url: row.try_get(9)?,
        secret: row.try_get(10)?,
        previous_secret: row.try_get(11)?,
        previous_secret_until: row.try_get(12)?,
        concurrency: row.try_get(13)?,
        next_attempt_at: row.try_get(14)?,
    })
}

impl JobRow {
    /// The delivery id, for ordering.
    pub(super) fn delivery_id(&self) -> &str {
        &self.delivery_id
    }

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
            attempt_number: u32_of(self.attempt_count, "attempt count")? + 1,
            concurrency: self.concurrency.map(|c| u32_of(c, "webhook concurrency")).transpose()?,
        })
    }
}

/// Columns of a notification row, in the order [`notification`] reads them.
pub(super) const NOTIFICATION_COLUMNS: &str = "id, platform_id, webhook_id, kind, recipient, platform_url, \
     webhook_url, failed_count, event_types, event_ids, last_error, reason, status, attempts, send_error, subject, \
     created_at, sent_at";

pub(super) fn notification(row: &Row) -> StoreResult<Notification> {
    let id: String = row.try_get(0)?;
    let kind: String = row.try_get(3)?;
    let event_types: String = row.try_get(8)?;
    let event_ids: String = row.try_get(9)?;
    let status: String = row.try_get(12)?;
    let split = |text: &str| text.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    Ok(Notification {
        id: NotificationId::parse(&id).ok_or_else(|| corrupt("notification id"))?,
        platform_id: platform_id(row.try_get(1)?)?,
        webhook_id: webhook_id(row.try_get(2)?)?,
        kind: NotificationKind::parse(&kind).ok_or_else(|| corrupt("notification kind"))?,
        recipient: row.try_get(4)?,
        platform_url: row.try_get(5)?,
        webhook_url: row.try_get(6)?,
        failed_count: u32_of(row.try_get(7)?, "notification failed count")?,
        event_types: split(&event_types),
        event_ids: split(&event_ids),
        last_error: row.try_get(10)?,
        reason: row.try_get(11)?,
        status: NotificationStatus::parse(&status).ok_or_else(|| corrupt("notification status"))?,
        attempts: u32_of(row.try_get(13)?, "notification attempts")?,
        send_error: row.try_get(14)?,
        subject: row.try_get(15)?,
        created_at: ts(row.try_get(16)?),
        sent_at: row.try_get::<_, Option<i64>>(17)?.map(ts),
    })
}
