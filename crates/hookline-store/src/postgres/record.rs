//! Recording attempts and applying the failure policy, all in one transaction: an attempt, the delivery's new
//! state, the webhook's failure tracking, a disable, a notice and the operational events either all commit or
//! none do. The PostgreSQL twin of `sqlite/record.rs`, with two additions for several nodes:
//!
//! - the batch's webhooks, then its deliveries, are locked (`FOR UPDATE`, in id order) before anything is
//!   read, so recorders on different nodes apply the failure policy to one webhook one after the other (one
//!   `webhook.disabled`, one notice), as SQLite's single writer does;
//! - a record moves its delivery on only while the delivery's `attempt_count` is below the attempt's number.
//!   When it is not, another attempt of the same number was recorded first: this node's lease ran out while
//!   the attempt was in flight and another node took the delivery over. The late attempt is kept in the log
//!   (it did reach the receiver, or tried to) but changes neither the delivery nor the webhook.

use deadpool_postgres::Transaction;
use hookline_core::Timestamp;
use hookline_core::catalog::{DELIVERY_FAILED, EventTypeName, WEBHOOK_DISABLED, WEBHOOK_RECOVERED, is_operational};
use hookline_core::delivery::{Attempt, AttemptRecord, DeliveryStatus, NextStep};
use hookline_core::event::NewEvent;
use hookline_core::ids::{EventId, NotificationId, PlatformId, WebhookId};
use hookline_core::notification::{MAX_LISTED_EVENTS, NotificationKind};
use serde_json::json;

use super::rows::{self, ATTEMPT_COLUMNS};
use super::{execute, fanout, query, query_one, query_opt};
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
    attempt_count: i64,
}

pub(super) async fn record(
    tx: &Transaction<'_>,
    records: Vec<AttemptRecord>,
    ctx: RecordContext,
) -> StoreResult<RecordOutcome> {
    let mut outcome = RecordOutcome::default();
    let ids: Vec<&str> = records.iter().map(|r| r.attempt.delivery_id.as_str()).collect();
    query(
        tx,
        "SELECT id FROM webhooks WHERE id IN (SELECT webhook_id FROM deliveries WHERE id = ANY($1)) \
         ORDER BY id FOR UPDATE",
        &[&ids],
    )
    .await?;
    query(tx, "SELECT id FROM deliveries WHERE id = ANY($1) ORDER BY id FOR UPDATE", &[&ids]).await?;
    for AttemptRecord { attempt, next } in records {
        let current = query_opt(
            tx,
            "SELECT d.platform_id, d.webhook_id, w.url, w.enabled, w.failing_since, w.degraded, e.id, e.type, \
             d.attempt_count FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             JOIN events e ON e.pk = d.event_pk WHERE d.id = $1",
            &[&attempt.delivery_id.as_str()],
        )
        .await?;
        // The webhook was deleted while the attempt was in flight: nothing left to record.
        let Some(row) = current else { continue };
        let current = Current {
            platform_id: row.try_get(0)?,
            webhook_id: row.try_get(1)?,
            webhook_url: row.try_get(2)?,
            enabled: row.try_get(3)?,
            failing_since: row.try_get(4)?,
            degraded: row.try_get(5)?,
            event_id: row.try_get(6)?,
            event_type: row.try_get(7)?,
            attempt_count: row.try_get(8)?,
        };
        if current.attempt_count >= i64::from(attempt.attempt_number) {
            tracing::warn!(
                delivery_id = %attempt.delivery_id,
                attempt = attempt.attempt_number,
                recorded = current.attempt_count,
                "a late attempt result (its lease had run out and another node took the delivery over): logged only"
            );
            insert_attempt(tx, &attempt).await?;
            continue;
        }
        let (status, next_at) = match next {
            NextStep::Delivered => (DeliveryStatus::Delivered, None),
            NextStep::RetryAt(at) if current.enabled => (DeliveryStatus::Pending, Some(at.unix_millis())),
            NextStep::RetryAt(_) | NextStep::Gone => (DeliveryStatus::Held, None),
            NextStep::Failed => (DeliveryStatus::Failed, None),
        };
        execute(
            tx,
            "UPDATE deliveries SET status = $2, attempt_count = $3, next_attempt_at = $4, leased_until = NULL, \
             updated_at = $5 WHERE id = $1",
            &[
                &attempt.delivery_id.as_str(),
                &status.as_str(),
                &i64::from(attempt.attempt_number),
                &next_at,
                &ctx.now.unix_millis(),
            ],
        )
        .await?;
        insert_attempt(tx, &attempt).await?;

        if attempt.error_kind.is_none() {
            on_success(tx, &current, &ctx, &mut outcome).await?;
            continue;
        }
        let since = match current.failing_since {
            Some(since) => since,
            None => {
                let since = attempt.started_at.unix_millis();
                execute(tx, "UPDATE webhooks SET failing_since = $2 WHERE id = $1", &[&current.webhook_id, &since])
                    .await?;
                since
            }
        };
        let last_error = attempt.error_message.clone();
        if next == NextStep::Failed {
            execute(tx, "UPDATE webhooks SET degraded = TRUE WHERE id = $1", &[&current.webhook_id]).await?;
            if queue_notice(tx, NotificationKind::DeliveriesFailed, &current, last_error.as_deref(), None, &ctx).await? {
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
                emit(tx, &current, DELIVERY_FAILED, data, &ctx, &mut outcome).await?;
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
            disable(tx, &current, &reason, last_error.as_deref(), &ctx, &mut outcome).await?;
        }
    }
    Ok(outcome)
}

async fn insert_attempt(tx: &Transaction<'_>, attempt: &Attempt) -> StoreResult<()> {
    let sql = format!("INSERT INTO attempts ({ATTEMPT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
    execute(
        tx,
        &sql,
        &[
            &attempt.id.as_str(),
            &attempt.delivery_id.as_str(),
            &i64::from(attempt.attempt_number),
            &attempt.started_at.unix_millis(),
            &(attempt.duration_ms.min(i64::MAX as u64) as i64),
            &attempt.status.map(i64::from),
            &attempt.error_kind.map(|kind| kind.as_str()),
            &attempt.error_message,
            &attempt.response_excerpt,
        ],
    )
    .await?;
    Ok(())
}

async fn on_success(
    tx: &Transaction<'_>,
    current: &Current,
    ctx: &RecordContext,
    outcome: &mut RecordOutcome,
) -> StoreResult<()> {
    if current.failing_since.is_none() && !current.degraded {
        return Ok(());
    }
    execute(tx, "UPDATE webhooks SET failing_since = NULL, degraded = FALSE WHERE id = $1", &[&current.webhook_id])
        .await?;
    if current.degraded {
        let data = json!({
            "webhook_id": current.webhook_id,
            "webhook_url": current.webhook_url,
            "recovered_at": ctx.now.to_rfc3339(),
        });
        emit(tx, current, WEBHOOK_RECOVERED, data, ctx, outcome).await?;
    }
    Ok(())
}

/// Disables the webhook, holds its pending deliveries, raises a notice and `webhook.disabled`.
async fn disable(
    tx: &Transaction<'_>,
    current: &Current,
    reason: &str,
    last_error: Option<&str>,
    ctx: &RecordContext,
    outcome: &mut RecordOutcome,
) -> StoreResult<()> {
    execute(
        tx,
        "UPDATE webhooks SET enabled = FALSE, disabled_reason = $2, degraded = TRUE, updated_at = $3 WHERE id = $1",
        &[&current.webhook_id, &reason, &ctx.now.unix_millis()],
    )
    .await?;
    execute(
        tx,
        "UPDATE deliveries SET status = 'held', next_attempt_at = NULL, updated_at = $2 \
         WHERE webhook_id = $1 AND status = 'pending'",
        &[&current.webhook_id, &ctx.now.unix_millis()],
    )
    .await?;
    if queue_notice(tx, NotificationKind::WebhookDisabled, current, last_error, Some(reason), ctx).await? {
        outcome.notices += 1;
    }
    let data = json!({
        "webhook_id": current.webhook_id,
        "webhook_url": current.webhook_url,
        "reason": reason,
        "disabled_at": ctx.now.to_rfc3339(),
    });
    emit(tx, current, WEBHOOK_DISABLED, data, ctx, outcome).await?;
    if let Some(id) = WebhookId::parse(&current.webhook_id) {
        outcome.disabled.push(id);
    }
    tracing::warn!(webhook_id = %current.webhook_id, reason, "webhook disabled");
    Ok(())
}

/// Publishes an operational event to the platform's webhooks that subscribe to it, never to the webhook it is
/// about. Nothing is stored when no webhook subscribes.
async fn emit(
    tx: &Transaction<'_>,
    current: &Current,
    event_type: &str,
    data: serde_json::Value,
    ctx: &RecordContext,
    outcome: &mut RecordOutcome,
) -> StoreResult<()> {
    let subscribed = query_opt(
        tx,
        "SELECT 1 FROM webhooks WHERE platform_id = $1 AND id <> $2 AND (' ' || events || ' ') LIKE $3 LIMIT 1",
        &[&current.platform_id, &current.webhook_id, &format!("% {event_type} %")],
    )
    .await?;
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
    let published =
        fanout::publish(tx, &platform, event, Target::AllExcept(webhook), ctx.now, ctx.lease_until).await?;
    outcome.jobs.extend(published.jobs);
    Ok(())
}

/// Queues a failure notice unless this webhook was already told within the window (for `DeliveriesFailed`;
/// a notice not yet sent absorbs the new failure instead). Returns whether a new notice was queued.
async fn queue_notice(
    tx: &Transaction<'_>,
    kind: NotificationKind,
    current: &Current,
    last_error: Option<&str>,
    reason: Option<&str>,
    ctx: &RecordContext,
) -> StoreResult<bool> {
    let window_start = ctx.now.minus(ctx.failure.notify_window).unix_millis();
    if kind == NotificationKind::DeliveriesFailed {
        let recent = query_opt(
            tx,
            "SELECT id, status, event_types, event_ids FROM notifications \
             WHERE webhook_id = $1 AND kind = $2 AND created_at > $3 ORDER BY created_at DESC, id DESC LIMIT 1",
            &[&current.webhook_id, &kind.as_str(), &window_start],
        )
        .await?;
        if let Some(row) = recent {
            let (id, status, types, ids): (String, String, String, String) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
            if status == "pending" {
                execute(
                    tx,
                    "UPDATE notifications SET failed_count = failed_count + 1, event_types = $2, event_ids = $3, \
                     last_error = $4 WHERE id = $1",
                    &[
                        &id,
                        &add_word(&types, &current.event_type, usize::MAX),
                        &add_word(&ids, &current.event_id, MAX_LISTED_EVENTS),
                        &last_error,
                    ],
                )
                .await?;
            }
            return Ok(false);
        }
    }
    let platform = query_opt(tx, "SELECT email, url FROM platforms WHERE id = $1", &[&current.platform_id]).await?;
    let Some(platform) = platform else { return Ok(false) };
    let (recipient, platform_url): (String, String) = (platform.try_get(0)?, platform.try_get(1)?);
    let failed_count: i64 = match kind {
        NotificationKind::DeliveriesFailed => 1,
        NotificationKind::WebhookDisabled => query_one(
            tx,
            "SELECT COUNT(*) FROM deliveries WHERE webhook_id = $1 AND status IN ('failed', 'held')",
            &[&current.webhook_id],
        )
        .await?
        .try_get(0)?,
    };
    let sql = format!(
        "INSERT INTO notifications ({}, next_attempt_at) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', 0, NULL, NULL, $13, NULL, $13)",
        rows::NOTIFICATION_COLUMNS
    );
    execute(
        tx,
        &sql,
        &[
            &NotificationId::generate().as_str(),
            &current.platform_id,
            &current.webhook_id,
            &kind.as_str(),
            &recipient,
            &platform_url,
            &current.webhook_url,
            &failed_count,
            &current.event_type,
            &current.event_id,
            &last_error,
            &reason,
            &ctx.now.unix_millis(),
        ],
    )
    .await?;
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
