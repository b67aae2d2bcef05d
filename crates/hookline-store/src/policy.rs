//! For the backend crates: the decisions both backends make, kept free of SQL and I/O so that they are written (and tested) once: what
//! a finished attempt does to its delivery and webhook, the operational events' payloads, the notice lists,
//! which webhooks an event goes to, how a patch changes a webhook, and what a notice's send outcome records.
//! Each backend runs these inside its own transactions, in its own execution model.

pub mod plan;

use std::sync::Arc;
use std::time::Duration;

use hookline_core::Timestamp;
use hookline_core::catalog::EventTypeName;
use hookline_core::delivery::{DeliveryJob, DeliveryStatus, FailurePolicy, NextStep};
use hookline_core::event::{Event, NewEvent};
use hookline_core::ids::{DeliveryId, EventId, PlatformId, WebhookId};
use hookline_core::notification::{MAX_LISTED_EVENTS, NotificationKind};
use hookline_core::time::format_duration;
use hookline_core::webhook::Webhook;
use serde_json::{Value, json};

use crate::{NotificationResult, Page, StoreError, StoreResult, Target, WebhookPatch};

/// A page's row limit, clamped.
pub fn page_limit(page: &Page) -> i64 {
    page.limit.clamp(1, 1000) as i64
}

// ---- Webhooks and deliveries changed through the API ----

/// Applies `patch` to `webhook` (its filter already checked against the catalog) and stamps it `now`. Returns
/// `Some(enabled)` when the patch enables or disables the webhook: the caller then releases (enabled) or holds
/// (disabled) its deliveries. Enabling restarts the failure clock, so one more failure does not disable it again
/// at once; disabling by hand records why.
pub fn apply_patch(webhook: &mut Webhook, patch: WebhookPatch, now: Timestamp) -> Option<bool> {
    if let Some(events) = patch.events {
        webhook.events = events;
    }
    if let Some(url) = patch.url {
        webhook.url = url;
    }
    if let Some(description) = patch.description {
        webhook.description = description;
    }
    if let Some(concurrency) = patch.concurrency {
        webhook.concurrency = concurrency;
    }
    if let Some(rate_limit) = patch.rate_limit {
        webhook.rate_limit = rate_limit;
    }
    let toggled = patch.enabled.filter(|enabled| *enabled != webhook.enabled);
    if let Some(enabled) = toggled {
        webhook.disabled_reason = (!enabled).then(|| "disabled by the platform".to_owned());
        webhook.enabled = enabled;
        if enabled {
            webhook.failing_since = None;
        }
    }
    webhook.updated_at = now;
    toggled
}

/// Deliveries of a disabled webhook are neither retried nor recovered by hand.
pub fn require_enabled(webhook_enabled: bool) -> StoreResult<()> {
    if webhook_enabled { Ok(()) } else { Err(StoreError::Conflict("the webhook is disabled; enable it first".into())) }
}

/// Whether a delivery in `status` with lease `leased_until` (unix ms) may be retried by hand at `now`.
pub fn check_retry(status: &str, leased_until: Option<i64>, webhook_enabled: bool, now: Timestamp) -> StoreResult<()> {
    require_enabled(webhook_enabled)?;
    if status == "pending" && leased_until.is_some_and(|until| until > now.unix_millis()) {
        return Err(StoreError::Conflict("the delivery is being attempted right now".into()));
    }
    Ok(())
}

// ---- Fan-out ----

/// The stored form of a newly published event.
pub fn stored_event(platform: &PlatformId, event: NewEvent, now: Timestamp) -> Event {
    Event {
        id: event.id,
        platform_id: platform.clone(),
        event_type: event.event_type.as_str().to_owned(),
        data: event.data,
        created_at: now,
    }
}

/// Whether publishing `new` again under an id already stored as `existing` repeats the same request (the
/// idempotent case, answered with the stored event) rather than reusing the id for another event: the same
/// type and the same `data`, byte for byte or as equal JSON (a client may re-serialise with other spacing or
/// key order).
pub fn same_event(existing: &Event, new: &NewEvent) -> bool {
    if existing.event_type != new.event_type.as_str() {
        return false;
    }
    if existing.data == new.data {
        return true;
    }
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    match (parse(&existing.data), parse(&new.data)) {
        (Some(stored), Some(sent)) => stored == sent,
        _ => false,
    }
}

/// Of the platform's `webhooks`, those an event of `event_type` goes to under `target` (`Matching` or
/// `AllExcept`), each with whether it is sent now (enabled) or held (disabled).
pub fn matching(
    webhooks: impl IntoIterator<Item = StoreResult<Webhook>>,
    event_type: &str,
    target: &Target,
) -> StoreResult<Vec<(Webhook, bool)>> {
    let excluded = match target {
        Target::AllExcept(id) => Some(id.as_str()),
        _ => None,
    };
    let mut matching = Vec::new();
    for webhook in webhooks {
        let webhook = webhook?;
        if webhook.events.matches(event_type) && Some(webhook.id.as_str()) != excluded {
            let enabled = webhook.enabled;
            matching.push((webhook, enabled));
        }
    }
    Ok(matching)
}

/// The first attempt's job for a delivery of `event` just created for `webhook`.
pub fn first_job(delivery_id: DeliveryId, webhook: Webhook, event: &Event, body: &Arc<[u8]>) -> DeliveryJob {
    DeliveryJob {
        delivery_id,
        platform_id: event.platform_id.clone(),
        webhook_id: webhook.id,
        url: webhook.url,
        secrets: webhook.secrets,
        event_id: event.id.clone(),
        event_type: event.event_type.clone(),
        body: Arc::clone(body),
        attempt_number: 1,
        concurrency: webhook.concurrency,
        rate_limit: webhook.rate_limit,
    }
}

// ---- Recording attempts ----

/// What the failure policy needs to know about the delivery an attempt was for (stored text, as read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct About {
    /// The delivery's platform.
    pub platform_id: String,
    /// The delivery's webhook.
    pub webhook_id: String,
    /// The webhook's URL.
    pub webhook_url: String,
    /// The delivery's event.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
}

/// The delivery's new status and due time after an attempt whose outcome says `next`. A retry of a disabled
/// webhook's delivery, or a 410 Gone, holds it.
pub fn delivery_status(next: NextStep, webhook_enabled: bool) -> (DeliveryStatus, Option<Timestamp>) {
    match next {
        NextStep::Delivered => (DeliveryStatus::Delivered, None),
        NextStep::RetryAt(at) if webhook_enabled => (DeliveryStatus::Pending, Some(at)),
        NextStep::RetryAt(_) | NextStep::Gone => (DeliveryStatus::Held, None),
        NextStep::Failed => (DeliveryStatus::Failed, None),
    }
}

/// Why a failed attempt disables its webhook, failing since `failing_since`, if it does: the endpoint answered
/// 410 Gone, or every attempt has failed for `policy.disable_after`.
pub fn disable_reason(
    next: NextStep,
    failing_since: Timestamp,
    now: Timestamp,
    policy: &FailurePolicy,
) -> Option<String> {
    let since = failing_since.unix_millis();
    let failing_for = now.unix_millis().saturating_sub(since);
    if next == NextStep::Gone {
        Some("the endpoint answered 410 Gone".to_owned())
    } else if failing_for >= policy.disable_after.as_millis() as i64 {
        Some(format!(
            "every attempt failed since {} ({})",
            failing_since,
            format_duration(Duration::from_millis(failing_for as u64 / 1000 * 1000))
        ))
    } else {
        None
    }
}

/// A `WebhookFailing` notice's reason: since when, and for how long, every attempt has failed.
pub fn failing_reason(failing_since: Timestamp, now: Timestamp) -> String {
    format!("every attempt has failed since {failing_since} ({})", rounded_duration(failing_since, now))
}

/// A `WebhookRecovered` notice's reason: how long the webhook had been failing.
pub fn recovered_reason(failing_since: Timestamp, now: Timestamp) -> String {
    format!("it had been failing since {failing_since} ({})", rounded_duration(failing_since, now))
}

/// The time from `since` to `now`, in whole seconds, as a duration like `16m` or `3d`.
fn rounded_duration(since: Timestamp, now: Timestamp) -> String {
    let millis = now.unix_millis().saturating_sub(since.unix_millis()).max(0) as u64;
    format_duration(Duration::from_secs(millis / 1000))
}

/// `delivery.failed`: a delivery exhausted its retries after `attempts` attempts.
pub fn delivery_failed(about: &About, delivery_id: &str, attempts: u32, last_error: Option<&str>) -> Value {
    json!({
        "delivery_id": delivery_id,
        "webhook_id": about.webhook_id,
        "webhook_url": about.webhook_url,
        "event_id": about.event_id,
        "event_type": about.event_type,
        "attempts": attempts,
        "last_error": last_error,
    })
}

/// `webhook.disabled`: the webhook was disabled at `now` for `reason`.
pub fn webhook_disabled(about: &About, reason: &str, now: Timestamp) -> Value {
    json!({
        "webhook_id": about.webhook_id,
        "webhook_url": about.webhook_url,
        "reason": reason,
        "disabled_at": now.to_rfc3339(),
    })
}

/// `webhook.recovered`: a degraded webhook delivered again at `now`.
pub fn webhook_recovered(about: &About, now: Timestamp) -> Value {
    json!({
        "webhook_id": about.webhook_id,
        "webhook_url": about.webhook_url,
        "recovered_at": now.to_rfc3339(),
    })
}

/// The operational event `event_type` with `data`, to publish to the platform's other webhooks (never to the
/// one it is about); `None` when a stored id or the type does not parse.
pub fn operational_event(about: &About, event_type: &str, data: Value) -> Option<(PlatformId, NewEvent, Target)> {
    let (Some(platform), Some(webhook), Ok(event_type)) = (
        PlatformId::parse(&about.platform_id),
        WebhookId::parse(&about.webhook_id),
        EventTypeName::parse("type", event_type),
    ) else {
        return None;
    };
    let event = NewEvent { id: EventId::generate(), event_type, data: data.to_string() };
    Some((platform, event, Target::AllExcept(webhook)))
}

/// A pending notice's event type and event id lists (space-separated) once it absorbs the failure `about`:
/// every type, and at most [`MAX_LISTED_EVENTS`] ids.
pub fn absorb_failure(event_types: &str, event_ids: &str, about: &About) -> (String, String) {
    (add_word(event_types, &about.event_type, usize::MAX), add_word(event_ids, &about.event_id, MAX_LISTED_EVENTS))
}

/// Appends `word` to a space-separated list unless present or the list is full.
fn add_word(list: &str, word: &str, max: usize) -> String {
    let words: Vec<&str> = list.split(' ').filter(|w| !w.is_empty()).collect();
    if words.contains(&word) || words.len() >= max {
        return list.to_owned();
    }
    if list.is_empty() { word.to_owned() } else { format!("{list} {word}") }
}

// ---- Notices ----

/// A webhook's latest `deliveries_failed` notice, as recording reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestNotice {
    /// Its id.
    pub id: String,
    /// When a notifier first claimed it for sending: from then on its content is what the email says, so it
    /// absorbs nothing more.
    pub claimed_at: Option<Timestamp>,
}

/// Where a delivery that failed for good is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeSlot {
    /// In the webhook's latest notice, which no notifier has claimed yet.
    Absorb,
    /// In a new notice, due at this time: at once, or, when the webhook's last notice was claimed for sending
    /// less than a window ago, when that window ends (failures until then are absorbed into it).
    New {
        /// When the new notice is due.
        due_at: Timestamp,
    },
}

/// Where a failure for good, recorded at `now`, is counted, given the webhook's latest `deliveries_failed`
/// notice and the window (`failure.notify_window`). Every such failure lands in exactly one notice, and two
/// notices of one webhook are sent at least a window apart.
pub fn deliveries_failed_slot(latest: Option<&LatestNotice>, now: Timestamp, window: Duration) -> NoticeSlot {
    match latest.map(|notice| notice.claimed_at) {
        Some(None) => NoticeSlot::Absorb,
        Some(Some(claimed_at)) => NoticeSlot::New { due_at: claimed_at.plus(window).max(now) },
        None => NoticeSlot::New { due_at: now },
    }
}

/// What a new notice of a kind counts (its `failed_count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeCount {
    /// This number.
    Fixed(i64),
    /// What this statement, given the webhook id, answers.
    Query(crate::statements::Statement),
}

/// What a new notice of `kind` counts: the one failure that raised a `DeliveriesFailed` one (later ones are
/// absorbed), the deliveries that did not get through for `WebhookDisabled`, those waiting for a retry for
/// `WebhookFailing`, none for `WebhookRecovered`.
pub fn notice_count(kind: NotificationKind) -> NoticeCount {
    use crate::statements::{COUNT_RETRYING, COUNT_UNDELIVERED};
    match kind {
        NotificationKind::DeliveriesFailed => NoticeCount::Fixed(1),
        NotificationKind::WebhookDisabled => NoticeCount::Query(COUNT_UNDELIVERED),
        NotificationKind::WebhookFailing => NoticeCount::Query(COUNT_RETRYING),
        NotificationKind::WebhookRecovered => NoticeCount::Fixed(0),
    }
}

/// The columns a notice's send outcome sets (times in unix ms). `subject: None` keeps the stored one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationUpdate {
    /// The notice's new status.
    pub status: &'static str,
    /// The subject sent, if any.
    pub subject: Option<String>,
    /// Why sending failed.
    pub send_error: Option<String>,
    /// When to try again.
    pub next_attempt_at: Option<i64>,
    /// When it was sent or logged.
    pub sent_at: Option<i64>,
}

/// What sending a notice at `now` with `result` records: sent or logged, pending again for a retry, or failed.
pub fn notification_update(result: NotificationResult, now: Timestamp) -> NotificationUpdate {
    let (status, subject, send_error, next_attempt_at, sent_at) = match result {
        NotificationResult::Sent { subject } => ("sent", Some(subject), None, None, Some(now.unix_millis())),
        NotificationResult::Logged { subject } => ("logged", Some(subject), None, None, Some(now.unix_millis())),
        NotificationResult::Failed { error, retry_at: Some(at) } => {
            ("pending", None, Some(error), Some(at.unix_millis()), None)
        }
        NotificationResult::Failed { error, retry_at: None } => ("failed", None, Some(error), None, None),
    };
    NotificationUpdate { status, subject, send_error, next_attempt_at, sent_at }
}

#[cfg(test)]
mod tests;
