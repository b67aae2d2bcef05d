//! Recording attempts and applying the failure policy, all inside the writer's transaction: an attempt, the
//! delivery's new state, the webhook's failure tracking, a disable, a notice and the operational events either
//! all commit or none do.

use hookline_core::Timestamp;
use hookline_core::catalog::{DELIVERY_FAILED, EventTypeName, WEBHOOK_DISABLED, WEBHOOK_RECOVERED, is_operational};
use hookline_core::delivery::{AttemptRecord, DeliveryStatus, NextStep};
use hookline_core::event::NewEvent;
use hookline_core::ids::{EventId, NotificationId, PlatformId, WebhookId};
use hookline_core::notification::{MAX_LISTED_EVENTS, NotificationKind};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::fanout;
use super::rows::{self, ATTEMPT_COLUMNS};
use crate::{RecordContext, RecordOutcome, StoreResult, Target};

/// The state of a delivery and its webhook at recording time.
struct Current {
    platform_id: String,
    webhook_id: String,
    webhook_url: String,
    enabled: bool,
    failing_since: Option<i64>,
    degraded: bool,
    event_id: String,
    event_type: String,
}

pub(super) fn record(conn: &Connection, records: Vec<AttemptRecord>, ctx: RecordContext) -> StoreResult<RecordOutcome> {
    let mut outcome = RecordOutcome::default();
    for AttemptRecord { attempt, next } in records {
        let current = conn
            .prepare_cached(
                "SELECT d.platform_id, d.webhook_id, w.url, w.enabled, w.failing_since, w.degraded, e.id, e.type \
                 FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN events e ON e.pk = d.event_pk \
                 WHERE d.id = ?1",
            )?
            .query_row([attempt.delivery_id.as_str()], |row| {
                Ok(Current {
                    platform_id: row.get(0)?,
                    webhook_id: row.get(1)?,
                    webhook_url: row.get(2)?,
                    enabled: row.get(3)?,
                    failing_since: row.get(4)?,
                    degraded: row.get(5)?,
                    event_id: row.get(6)?,
                    event_type: row.get(7)?,
                })
            })
            .optional()?;
        // The webhook was deleted while the attempt was in flight: nothing left to record.
        let Some(current) = current else { continue };
        let (status, next_at) = match next {
            NextStep::Delivered => (DeliveryStatus::Delivered, None),
            NextStep::RetryAt(at) if current.enabled => (DeliveryStatus::Pending, Some(at.unix_millis())),
            NextStep::RetryAt(_) | NextStep::Gone => (DeliveryStatus::Held, None),
            NextStep::Failed => (DeliveryStatus::Failed, None),
        };
        conn.prepare_cached(
            "UPDATE deliveries SET status = ?2, attempt_count = ?3, next_attempt_at = ?4, leased_until = NULL, \
             updated_at = ?5 WHERE id = ?1",
        )?
        .execute(params![
            attempt.delivery_id.as_str(),
            status.as_str(),
            attempt.attempt_number,
            next_at,
            ctx.now.unix_millis()
        ])?;
        conn.prepare_cached(&format!(
            "INSERT INTO attempts ({ATTEMPT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ))?
        .execute(params![
            attempt.id.as_str(),
            attempt.delivery_id.as_str(),
            attempt.attempt_number,
            attempt.started_at.unix_millis(),
            attempt.duration_ms as i64,
            attempt.status,
            attempt.error_kind.map(|kind| kind.as_str()),
            attempt.error_message,
            attempt.response_excerpt,
        ])?;

        if attempt.error_kind.is_none() {
            on_success(conn, &current, &ctx, &mut outcome)?;
            continue;
        }
        let since = match current.failing_since {
            Some(since) => since,
            None => {
                let since = attempt.started_at.unix_millis();
                conn.prepare_cached("UPDATE webhooks SET failing_since = ?2 WHERE id = ?1")?
                    .execute(params![current.webhook_id, since])?;
                since
            }
        };
        let last_error = attempt.error_message.clone();
        if next == NextStep::Failed {
            conn.prepare_cached("UPDATE webhooks SET degraded = 1 WHERE id = ?1")?.execute([&current.webhook_id])?;
            if queue_notice(conn, NotificationKind::DeliveriesFailed, &current, last_error.as_deref(), None, &ctx)? {
                outcome.notices += 1;
            }
            if !is_operational(&current.event_type) {
                let data = json!({
                    "delivery_id": attempt.delivery_id.as_str(),
                    "webhook_id": current.webhook_id,
                    "webhook_url": current.webhook_url,
                    "event_id": current.event_id,
                    "event_type": current.event_type,
                    "attempts": attempt.attempt_number,
                    "last_error": last_error,
                });
                emit(conn, &current, DELIVERY_FAILED, data, &ctx, &mut outcome)?;
            }
        }
        let failing_for = ctx.now.unix_millis().saturating_sub(since);
        let reason = if next == NextStep::Gone {
            Some("the endpoint answered 410 Gone".to_owned())
        } else if failing_for >= ctx.failure.disable_after.as_millis() as i64 {
            Some(format!(
                "every attempt failed since {} ({})",
                Timestamp::from_unix_millis(since),
                hookline_core::time::format_duration(std::time::Duration::from_millis(
                    failing_for as u64 / 1000 * 1000
                ))
            ))
        } else {
            None
        };
        if let Some(reason) = reason.filter(|_| current.enabled) {
            disable(conn, &current, &reason, last_error.as_deref(), &ctx, &mut outcome)?;
        }
    }
    Ok(outcome)
}

fn on_success(
    conn: &Connection,
    current: &Current,
    ctx: &RecordContext,
    outcome: &mut RecordOutcome,
) -> StoreResult<()> {
    if current.failing_since.is_none() && !current.degraded {
        return Ok(());
    }
    conn.prepare_cached("UPDATE webhooks SET failing_since = NULL, degraded = 0 WHERE id = ?1")?
        .execute([&current.webhook_id])?;
    if current.degraded {
        let data = json!({
            "webhook_id": current.webhook_id,
            "webhook_url": current.webhook_url,
            "recovered_at": ctx.now.to_rfc3339(),
        });
        emit(conn, current, WEBHOOK_RECOVERED, data, ctx, outcome)?;
    }
    Ok(())
}

/// Disables the webhook, holds its pending deliveries, raises a notice and `webhook.disabled`.
fn disable(
    conn: &Connection,
    current: &Current,
    reason: &str,
    last_error: Option<&str>,
    ctx: &RecordContext,
    outcome: &mut RecordOutcome,
) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE webhooks SET enabled = 0, disabled_reason = ?2, degraded = 1, updated_at = ?3 WHERE id = ?1",
    )?
    .execute(params![current.webhook_id, reason, ctx.now.unix_millis()])?;
    conn.prepare_cached(
        "UPDATE deliveries SET status = 'held', next_attempt_at = NULL, updated_at = ?2 \
         WHERE webhook_id = ?1 AND status = 'pending'",
    )?
    .execute(params![current.webhook_id, ctx.now.unix_millis()])?;
    if queue_notice(conn, NotificationKind::WebhookDisabled, current, last_error, Some(reason), ctx)? {
        outcome.notices += 1;
    }
    let data = json!({
        "webhook_id": current.webhook_id,
        "webhook_url": current.webhook_url,
        "reason": reason,
        "disabled_at": ctx.now.to_rfc3339(),
    });
    emit(conn, current, WEBHOOK_DISABLED, data, ctx, outcome)?;
    if let Some(id) = WebhookId::parse(&current.webhook_id) {
        outcome.disabled.push(id);
    }
    tracing::warn!(webhook_id = %current.webhook_id, reason, "webhook disabled");
    Ok(())
}

/// Publishes an operational event to the platform's webhooks that subscribe to it, never to the webhook it is
/// about. Nothing is stored when no webhook subscribes.
fn emit(
    conn: &Connection,
    current: &Current,
    event_type: &str,
    data: serde_json::Value,
    ctx: &RecordContext,
    outcome: &mut RecordOutcome,
) -> StoreResult<()> {
    let subscribed = conn
        .prepare_cached(
            "SELECT 1 FROM webhooks WHERE platform_id = ?1 AND id <> ?2 AND (' ' || events || ' ') LIKE ?3 LIMIT 1",
        )?
        .query_row(params![current.platform_id, current.webhook_id, format!("% {event_type} %")], |_| Ok(()))
        .optional()?;
    if subscribed.is_none() {
        return Ok(());
    }
    let (Some(platform), Some(webhook), Ok(event_type)) = (
        PlatformId::parse(&current.platform_id),
        WebhookId::parse(&current.webhook_id),
        EventTypeName::parse("type", event_type),
    ) else {
        return Ok(());
    };
    let event = NewEvent { id: EventId::generate(), event_type, data: data.to_string() };
    let published = fanout::publish(conn, &platform, event, Target::AllExcept(webhook), ctx.now, ctx.lease_until)?;
    outcome.jobs.extend(published.jobs);
    Ok(())
}

/// Queues a failure notice unless this webhook was already told within the window (for `DeliveriesFailed`;
/// a notice not yet sent absorbs the new failure instead). Returns whether a new notice was queued.
fn queue_notice(
    conn: &Connection,
    kind: NotificationKind,
    current: &Current,
    last_error: Option<&str>,
    reason: Option<&str>,
    ctx: &RecordContext,
) -> StoreResult<bool> {
    let window_start = ctx.now.minus(ctx.failure.notify_window).unix_millis();
    if kind == NotificationKind::DeliveriesFailed {
        let recent: Option<(String, String, String, String)> = conn
            .prepare_cached(
                "SELECT id, status, event_types, event_ids FROM notifications \
                 WHERE webhook_id = ?1 AND kind = ?2 AND created_at > ?3 ORDER BY created_at DESC LIMIT 1",
            )?
            .query_row(params![current.webhook_id, kind.as_str(), window_start], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .optional()?;
        if let Some((id, status, types, ids)) = recent {
            if status == "pending" {
                conn.prepare_cached(
                    "UPDATE notifications SET failed_count = failed_count + 1, event_types = ?2, event_ids = ?3, \
                     last_error = ?4 WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    add_word(&types, &current.event_type, usize::MAX),
                    add_word(&ids, &current.event_id, MAX_LISTED_EVENTS),
                    last_error
                ])?;
            }
            return Ok(false);
        }
    }
    let platform: Option<(String, String)> = conn
        .prepare_cached("SELECT email, url FROM platforms WHERE id = ?1")?
        .query_row([&current.platform_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((recipient, platform_url)) = platform else { return Ok(false) };
    let failed_count: i64 = match kind {
        NotificationKind::DeliveriesFailed => 1,
        NotificationKind::WebhookDisabled => conn
            .prepare_cached("SELECT COUNT(*) FROM deliveries WHERE webhook_id = ?1 AND status IN ('failed', 'held')")?
            .query_row([&current.webhook_id], |row| row.get(0))?,
    };
    conn.prepare_cached(&format!(
        "INSERT INTO notifications ({}, next_attempt_at) VALUES \
         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'pending', 0, NULL, NULL, ?13, NULL, ?13)",
        rows::NOTIFICATION_COLUMNS
    ))?
    .execute(params![
        NotificationId::generate().as_str(),
        current.platform_id,
        current.webhook_id,
        kind.as_str(),
        recipient,
        platform_url,
        current.webhook_url,
        failed_count,
        current.event_type,
        current.event_id,
        last_error,
        reason,
        ctx.now.unix_millis(),
    ])?;
    Ok(true)
}

/// Appends `word` to a space-separated list unless present or the list is full.
fn add_word(list: &str, word: &str, max: usize) -> String {
    let words: Vec<&str> = list.split(' ').filter(|w| !w.is_empty()).collect();
    if words.contains(&word) || words.len() >= max {
        return list.to_owned();
    }
    if list.is_empty() { word.to_owned() } else { format!("{list} {word}") }
}
