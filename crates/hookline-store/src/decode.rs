//! For the backend crates: row decoding for both backends: the column lists (both backends read the same columns in the same order)
//! and the rows-to-domain conversions, written once against [`Columns`], which each backend implements for its
//! row type (`sqlite/rows.rs`, `postgres/rows.rs`). Stored values were validated when written, so a value that
//! no longer parses is reported as a database error rather than trusted.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use hookline_core::Timestamp;
use hookline_core::catalog::{BUILT_IN_EVENT_TYPES, OPERATIONAL_EVENT_TYPES};
use hookline_core::delivery::{Attempt, Delivery, DeliveryJob, DeliveryStatus, FailureKind};
use hookline_core::event::{Event, render_body};
use hookline_core::headers::HeaderList;
use hookline_core::ids::{AttemptId, DeliveryId, EventId, NotificationId, PlatformId, WebhookId};
use hookline_core::notification::{Notification, NotificationKind, NotificationStatus};
use hookline_core::platform::{EventType, Platform};
use hookline_core::webhook::{EventFilter, SigningSecrets, Webhook, WebhookUrl};

use crate::secrets::SecretCipher;
use crate::{DeliverySummary, StoreError, StoreResult};

/// One result row, read by column position. Integers are 64-bit in both schemas; narrower domain values are
/// range-checked here.
pub trait Columns {
    /// A `TEXT NOT NULL` column.
    fn text(&self, i: usize) -> StoreResult<String>;
    /// A nullable text column.
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>>;
    /// An integer column.
    fn int(&self, i: usize) -> StoreResult<i64>;
    /// A nullable integer column.
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>>;
    /// A boolean column (an integer 0/1 on SQLite).
    fn flag(&self, i: usize) -> StoreResult<bool>;
}

/// A stored value that no longer parses: the source of the `StoreError::Database` a decoder returns.
#[derive(Debug, thiserror::Error)]
#[error("stored {what} does not parse")]
pub struct Corrupt {
    /// What did not parse.
    pub what: &'static str,
}

fn corrupt(what: &'static str) -> StoreError {
    StoreError::Database(Box::new(Corrupt { what }))
}

fn ts(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(millis)
}

/// An integer column that holds an unsigned 32-bit value.
fn u32_of(value: i64, what: &'static str) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| corrupt(what))
}

fn opt_u32(value: Option<i64>, what: &'static str) -> StoreResult<Option<u32>> {
    value.map(|v| u32_of(v, what)).transpose()
}

fn platform_id(text: String) -> StoreResult<PlatformId> {
    PlatformId::parse(&text).ok_or_else(|| corrupt("platform id"))
}

fn webhook_id(text: String) -> StoreResult<WebhookId> {
    WebhookId::parse(&text).ok_or_else(|| corrupt("webhook id"))
}

fn delivery_id(text: String) -> StoreResult<DeliveryId> {
    DeliveryId::parse(&text).ok_or_else(|| corrupt("delivery id"))
}

fn event_id(text: String) -> StoreResult<EventId> {
    EventId::parse(&text).map_err(|_| corrupt("event id"))
}

fn webhook_url(text: &str) -> StoreResult<WebhookUrl> {
    WebhookUrl::from_stored(text).ok_or_else(|| corrupt("webhook url"))
}

/// Columns: id, name, url, email, created_at.
pub const PLATFORM_COLUMNS: &str = "id, name, url, email, created_at";

/// A platform row ([`PLATFORM_COLUMNS`]).
pub fn platform(row: &dyn Columns) -> StoreResult<Platform> {
    Ok(Platform {
        id: platform_id(row.text(0)?)?,
        name: row.text(1)?,
        url: row.text(2)?,
        email: row.text(3)?,
        created_at: ts(row.int(4)?),
    })
}

/// The catalog's built-in part: Tradly's types, then the operational ones.
pub fn built_in_event_types() -> Vec<EventType> {
    let built_in = |operational: bool| {
        move |(name, description): &(&str, &str)| EventType {
            name: (*name).to_owned(),
            description: (*description).to_owned(),
            built_in: true,
            operational,
        }
    };
    let mut types: Vec<EventType> = BUILT_IN_EVENT_TYPES.iter().map(built_in(false)).collect();
    types.extend(OPERATIONAL_EVENT_TYPES.iter().map(built_in(true)));
    types
}

/// A platform's own type. Columns: name, description.
pub fn custom_event_type(row: &dyn Columns) -> StoreResult<EventType> {
    Ok(EventType { name: row.text(0)?, description: row.text(1)?, built_in: false, operational: false })
}

/// An API key row (`statements::API_KEY_COLUMNS`).
pub fn api_key(row: &dyn Columns) -> StoreResult<crate::ApiKeyRecord> {
    Ok(crate::ApiKeyRecord {
        id: row.text(0)?,
        platform_id: platform_id(row.text(1)?)?,
        name: row.text(2)?,
        prefix: row.text(3)?,
        read_only: row.flag(4)?,
        created_at: ts(row.int(5)?),
        last_used_at: row.opt_int(6)?.map(ts),
    })
}

/// A key and its platform (`statements::API_KEY_BY_HASH`: the key's 7 columns, then the platform's).
pub fn api_key_and_platform(row: &dyn Columns) -> StoreResult<(Platform, crate::ApiKeyRecord)> {
    Ok((platform(&Shifted(row, 7))?, api_key(row)?))
}

/// A row read from column `.1` on.
struct Shifted<'a>(&'a dyn Columns, usize);

impl Columns for Shifted<'_> {
    fn text(&self, i: usize) -> StoreResult<String> {
        self.0.text(i + self.1)
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        self.0.opt_text(i + self.1)
    }
    fn int(&self, i: usize) -> StoreResult<i64> {
        self.0.int(i + self.1)
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        self.0.opt_int(i + self.1)
    }
    fn flag(&self, i: usize) -> StoreResult<bool> {
        self.0.flag(i + self.1)
    }
}

/// Columns of a webhook row, in the order [`webhook`] reads them.
pub const WEBHOOK_COLUMNS: &str = "id, platform_id, url, events, description, secret, previous_secret, \
     previous_secret_until, enabled, disabled_reason, created_at, updated_at, concurrency, failing_since, rate_limit, \
     listener";

/// A webhook row ([`WEBHOOK_COLUMNS`]), its secrets opened with `cipher`.
pub fn webhook(row: &dyn Columns, cipher: &SecretCipher) -> StoreResult<Webhook> {
    let id = row.text(0)?;
    Ok(Webhook {
        secrets: secrets(cipher, &id, row.text(5)?, row.opt_text(6)?, row.opt_int(7)?)?,
        id: webhook_id(id)?,
        platform_id: platform_id(row.text(1)?)?,
        url: webhook_url(&row.text(2)?)?,
        events: decode_filter(&row.text(3)?)?,
        description: row.text(4)?,
        enabled: row.flag(8)?,
        disabled_reason: row.opt_text(9)?,
        created_at: ts(row.int(10)?),
        updated_at: ts(row.int(11)?),
        concurrency: opt_u32(row.opt_int(12)?, "webhook concurrency")?,
        failing_since: row.opt_int(13)?.map(ts),
        rate_limit: opt_u32(row.opt_int(14)?, "webhook rate limit")?,
        listener: row.flag(15)?,
    })
}

/// A webhook's signing secrets from their stored forms, opened with `cipher` (`owner`: the webhook's id).
pub fn secrets(
    cipher: &SecretCipher,
    owner: &str,
    current: String,
    previous: Option<String>,
    until: Option<i64>,
) -> StoreResult<SigningSecrets> {
    Ok(SigningSecrets {
        current: cipher.open(owner, current)?,
        previous: match previous.zip(until) {
            Some((secret, until)) => Some((cipher.open(owner, secret)?, ts(until))),
            None => None,
        },
    })
}

/// A filter as stored: its names, space-separated.
pub fn encode_filter(filter: &EventFilter) -> String {
    filter.to_strings().join(" ")
}

fn decode_filter(text: &str) -> StoreResult<EventFilter> {
    let events: Vec<String> = text.split(' ').map(str::to_owned).collect();
    EventFilter::parse(&events).map_err(|_| corrupt("event filter"))
}

/// Columns: id, platform_id, type, data, created_at (of table `events`, aliased `e`).
pub const EVENT_COLUMNS: &str = "e.id, e.platform_id, e.type, e.data, e.created_at";

/// An event row ([`EVENT_COLUMNS`]).
pub fn event(row: &dyn Columns) -> StoreResult<Event> {
    Ok(Event {
        id: event_id(row.text(0)?)?,
        platform_id: platform_id(row.text(1)?)?,
        event_type: row.text(2)?,
        data: row.text(3)?,
        created_at: ts(row.int(4)?),
    })
}

/// Columns of a delivery summary (deliveries `d`, events `e`, webhooks `w`), in the order [`summary`] reads;
/// the last is the last failed attempt's error, the latest by the backend's `ORDER BY` of `attempts a` (given).
/// For the backend crates.
#[macro_export]
macro_rules! summary_columns {
    ($last_attempt_order:literal) => {
        concat!(
            "d.id, e.id, e.type, d.webhook_id, d.status, d.attempt_count, d.next_attempt_at, d.created_at, \
             d.updated_at, w.url, (SELECT COALESCE(a.error_message, 'HTTP ' || a.status) FROM attempts a \
             WHERE a.delivery_id = d.id AND a.error_kind IS NOT NULL ORDER BY ",
            $last_attempt_order,
            " LIMIT 1)"
        )
    };
}

/// A delivery summary row (`summary_columns!`).
pub fn summary(row: &dyn Columns) -> StoreResult<DeliverySummary> {
    let status = DeliveryStatus::parse(&row.text(4)?).ok_or_else(|| corrupt("delivery status"))?;
    Ok(DeliverySummary {
        delivery: Delivery {
            id: delivery_id(row.text(0)?)?,
            event_id: event_id(row.text(1)?)?,
            event_type: row.text(2)?,
            webhook_id: webhook_id(row.text(3)?)?,
            status,
            attempt_count: u32_of(row.int(5)?, "attempt count")?,
            next_attempt_at: row.opt_int(6)?.filter(|_| status == DeliveryStatus::Pending).map(ts),
            created_at: ts(row.int(7)?),
            updated_at: ts(row.int(8)?),
        },
        webhook_url: row.text(9)?,
        // A delivered delivery has no error to show: the failures before its success are in its attempts.
        last_error: row.opt_text(10)?.filter(|_| status != DeliveryStatus::Delivered),
    })
}

/// Columns: id, delivery_id, attempt_number, started_at, duration_ms, status, error_kind, error_message,
/// response_excerpt, request_headers, response_headers, response_headers_omitted.
pub const ATTEMPT_COLUMNS: &str = "id, delivery_id, attempt_number, started_at, duration_ms, status, error_kind, \
     error_message, response_excerpt, request_headers, response_headers, response_headers_omitted";

/// An attempt row ([`ATTEMPT_COLUMNS`]).
pub fn attempt(row: &dyn Columns) -> StoreResult<Attempt> {
    Ok(Attempt {
        id: AttemptId::parse(&row.text(0)?).ok_or_else(|| corrupt("attempt id"))?,
        delivery_id: delivery_id(row.text(1)?)?,
        attempt_number: u32_of(row.int(2)?, "attempt number")?,
        started_at: ts(row.int(3)?),
        duration_ms: row.int(4)?.max(0) as u64,
        status: row.opt_int(5)?.map(|s| u16::try_from(s).map_err(|_| corrupt("attempt status"))).transpose()?,
        error_kind: row.opt_text(6)?.as_deref().and_then(FailureKind::parse),
        error_message: row.opt_text(7)?,
        response_excerpt: row.text(8)?,
        request_headers: header_list(row.opt_text(9)?, 0, "request headers")?,
        response_headers: header_list(row.opt_text(10)?, row.int(11)?, "response headers")?,
    })
}

/// A stored header list (NULL for an attempt recorded before headers were kept).
fn header_list(json: Option<String>, omitted: i64, what: &'static str) -> StoreResult<Option<HeaderList>> {
    json.map(|json| HeaderList::from_stored(json, u32_of(omitted, what)?).ok_or_else(|| corrupt(what))).transpose()
}

/// Columns of a claimable job (deliveries `d`, events `e`, webhooks `w`), in the order [`job`] reads them.
pub const JOB_COLUMNS: &str = "d.id, d.platform_id, d.webhook_id, d.attempt_count, e.pk, e.id, e.type, \
     e.data, e.created_at, w.url, w.secret, w.previous_secret, w.previous_secret_until, w.concurrency, w.rate_limit";

/// How many columns [`JOB_COLUMNS`] has: a backend may select more after them.
pub const JOB_COLUMN_COUNT: usize = 15;

/// Event bodies already rendered in a batch of jobs, by event key, so each event's body is rendered once.
pub type Bodies = HashMap<i64, Arc<[u8]>>;

/// A job row ([`JOB_COLUMNS`]), its event body rendered once per batch in `bodies`, its secrets opened with
/// `cipher`.
pub fn job(row: &dyn Columns, bodies: &mut Bodies, cipher: &SecretCipher) -> StoreResult<DeliveryJob> {
    let (event, event_type) = (row.text(5)?, row.text(6)?);
    let body = match bodies.entry(row.int(4)?) {
        Entry::Occupied(rendered) => Arc::clone(rendered.get()),
        Entry::Vacant(slot) => {
            Arc::clone(slot.insert(render_body(&event, &event_type, ts(row.int(8)?), &row.text(7)?).into()))
        }
    };
    let webhook = row.text(2)?;
    Ok(DeliveryJob {
        delivery_id: delivery_id(row.text(0)?)?,
        platform_id: platform_id(row.text(1)?)?,
        secrets: secrets(cipher, &webhook, row.text(10)?, row.opt_text(11)?, row.opt_int(12)?)?,
        webhook_id: webhook_id(webhook)?,
        url: webhook_url(&row.text(9)?)?,
        event_id: event_id(event)?,
        event_type,
        body,
        attempt_number: u32_of(row.int(3)?, "attempt count")? + 1,
        concurrency: opt_u32(row.opt_int(13)?, "webhook concurrency")?,
        rate_limit: opt_u32(row.opt_int(14)?, "webhook rate limit")?,
    })
}

/// Columns of a notification row, in the order [`notification`] reads them.
pub const NOTIFICATION_COLUMNS: &str = "id, platform_id, webhook_id, kind, recipient, platform_url, \
     webhook_url, failed_count, event_types, event_ids, last_error, reason, status, attempts, send_error, subject, \
     created_at, sent_at";

/// How many columns [`NOTIFICATION_COLUMNS`] has: a backend may select more after them.
pub const NOTIFICATION_COLUMN_COUNT: usize = 18;

/// A notice row ([`NOTIFICATION_COLUMNS`]).
pub fn notification(row: &dyn Columns) -> StoreResult<Notification> {
    let split = |text: String| text.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    Ok(Notification {
        id: NotificationId::parse(&row.text(0)?).ok_or_else(|| corrupt("notification id"))?,
        platform_id: platform_id(row.text(1)?)?,
        webhook_id: webhook_id(row.text(2)?)?,
        kind: NotificationKind::parse(&row.text(3)?).ok_or_else(|| corrupt("notification kind"))?,
        recipient: row.text(4)?,
        platform_url: row.text(5)?,
        webhook_url: row.text(6)?,
        failed_count: u32_of(row.int(7)?, "notification failed count")?,
        event_types: split(row.text(8)?),
        event_ids: split(row.text(9)?),
        last_error: row.opt_text(10)?,
        reason: row.opt_text(11)?,
        status: NotificationStatus::parse(&row.text(12)?).ok_or_else(|| corrupt("notification status"))?,
        attempts: u32_of(row.int(13)?, "notification attempts")?,
        send_error: row.opt_text(14)?,
        subject: row.opt_text(15)?,
        created_at: ts(row.int(16)?),
        sent_at: row.opt_int(17)?.map(ts),
    })
}
