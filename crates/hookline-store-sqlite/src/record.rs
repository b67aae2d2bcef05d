//! Recording attempts, all inside the writer's transaction: an attempt, the delivery's new state, and the
//! effects the failure policy plans for it (`hookline_store::policy::plan`: the webhook's failure tracking, a
//! disable, a notice, the operational events) either all commit or none do. This file decides nothing; it
//! reads the state the plan needs and executes the plan.

use std::collections::HashMap;

use hookline_core::Timestamp;
use hookline_core::delivery::{Attempt, AttemptRecord, DeliveryStatus};
use hookline_core::headers::HeaderList;
use hookline_core::ids::{NotificationId, WebhookId};
use hookline_core::notification::NotificationKind;
use hookline_store::decode::ATTEMPT_COLUMNS;
use hookline_store::hourly::HourlyCounts;
use hookline_store::policy::plan::{Effect, FailureState, Plan, plan};
use hookline_store::policy::{self, About, LatestNotice, NoticeCount, NoticeSlot};
use hookline_store::statements;
use hookline_store::{RecordContext, RecordOutcome};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::DbResult;
use crate::{Writer, fanout};

/// The state of a delivery and its webhook at recording time.
struct Current {
    about: About,
    state: FailureState,
}

/// Whether a webhook has failure state that a success must clear, as read within one recorder batch.
type Clean = HashMap<String, bool>;

pub(super) fn record(conn: &mut Writer, records: Vec<AttemptRecord>, ctx: RecordContext) -> DbResult<RecordOutcome> {
    let mut outcome = RecordOutcome::default();
    // Per webhook: whether it has no failure state to clear. A batch holds hundreds of successes for a handful
    // of webhooks; each success then costs one UPDATE and one INSERT, and the webhook is read once.
    let mut clean = Clean::new();
    // The overview's counters, summed over the batch and written once per webhook at the end.
    let mut hourly = HourlyCounts::default();
    for AttemptRecord { attempt, next } in records {
        // A success (its next step is `Delivered`), as PostgreSQL's record tells them apart.
        if attempt.error_kind.is_none() {
            if let Some(webhook_id) = record_delivered(conn, &attempt, &ctx, &mut clean, &mut outcome)? {
                hourly.add(&webhook_id, DeliveryStatus::Delivered);
            }
            continue;
        }
        // The webhook was deleted while the attempt was in flight: nothing left to record.
        let Some(current) = load_current(conn, attempt.delivery_id.as_str())? else { continue };
        // This path changes the webhook's failure state: read it again for the next success.
        clean.remove(&current.about.webhook_id);
        let (status, next_at) = policy::delivery_status(next, current.state.enabled);
        conn.prepare_cached(
            "UPDATE deliveries SET status = ?2, attempt_count = ?3, next_attempt_at = ?4, leased_until = NULL, \
             updated_at = ?5 WHERE id = ?1",
        )?
        .execute(params![
            attempt.delivery_id.as_str(),
            status.as_str(),
            attempt.attempt_number,
            next_at.map(Timestamp::unix_millis),
            ctx.now.unix_millis()
        ])?;
        insert_attempt(conn, &attempt)?;
        hourly.add(&current.about.webhook_id, status);
        let planned = plan(&attempt, next, &current.state, &current.about, &ctx);
        execute(conn, planned, &current.about, attempt.error_message.as_deref(), &ctx, &mut outcome)?;
    }
    let hour = hookline_store::hourly::hour_of(ctx.now);
    for (webhook_id, delivered, failed) in hourly.into_sorted() {
        conn.prepare_cached(statements::COUNT_HOURLY.sqlite())?
            .execute(params![webhook_id, hour, delivered, failed])?;
    }
    Ok(outcome)
}

/// Records a delivered attempt: the delivery's new state and the attempt, then (only if the webhook has any)
/// clears the webhook's failure state. Returns the delivery's webhook, `None` when the delivery is gone.
fn record_delivered(
    conn: &mut Writer,
    attempt: &Attempt,
    ctx: &RecordContext,
    clean: &mut Clean,
    outcome: &mut RecordOutcome,
) -> DbResult<Option<String>> {
    let webhook_id: Option<String> = conn
        .prepare_cached(
            "UPDATE deliveries SET status = 'delivered', attempt_count = ?2, next_attempt_at = NULL, \
             leased_until = NULL, updated_at = ?3 WHERE id = ?1 RETURNING webhook_id",
        )?
        .query_row(params![attempt.delivery_id.as_str(), attempt.attempt_number, ctx.now.unix_millis()], |row| {
            row.get(0)
        })
        .optional()?;
    // The webhook (and with it the delivery) was deleted while the attempt was in flight.
    let Some(webhook_id) = webhook_id else { return Ok(None) };
    insert_attempt(conn, attempt)?;
    let is_clean = match clean.get(&webhook_id) {
        Some(is_clean) => *is_clean,
        None => {
            let is_clean = conn
                .prepare_cached("SELECT failing_since IS NULL AND degraded = 0 FROM webhooks WHERE id = ?1")?
                .query_row([&webhook_id], |row| row.get(0))
                .optional()?
                .unwrap_or(true);
            clean.insert(webhook_id.clone(), is_clean);
            is_clean
        }
    };
    if is_clean {
        return Ok(Some(webhook_id));
    }
    if let Some(current) = load_current(conn, attempt.delivery_id.as_str())? {
        let planned = plan(attempt, hookline_core::delivery::NextStep::Delivered, &current.state, &current.about, ctx);
        execute(conn, planned, &current.about, None, ctx, outcome)?;
    }
    clean.insert(webhook_id.clone(), true);
    Ok(Some(webhook_id))
}

/// Executes the failure policy's plan for one attempt of the delivery `about`, whose error was `last_error`.
fn execute(
    conn: &mut Writer,
    planned: Plan,
    about: &About,
    last_error: Option<&str>,
    ctx: &RecordContext,
    outcome: &mut RecordOutcome,
) -> DbResult<()> {
    for effect in planned {
        match effect {
            Effect::StartFailing(since) => {
                conn.prepare_cached(statements::START_FAILING.sqlite())?
                    .execute(params![about.webhook_id, since.unix_millis()])?;
            }
            Effect::Restore => {
                conn.prepare_cached(statements::RESTORE_WEBHOOK.sqlite())?.execute([&about.webhook_id])?;
            }
            Effect::Degrade => {
                conn.prepare_cached(statements::DEGRADE_WEBHOOK.sqlite())?.execute([&about.webhook_id])?;
            }
            Effect::MarkFailingNotified(at) => {
                conn.prepare_cached(statements::MARK_FAILING_NOTIFIED.sqlite())?
                    .execute(params![about.webhook_id, at.unix_millis()])?;
            }
            Effect::Disable { reason } => disable(conn, about, &reason, ctx, outcome)?,
            Effect::Notice { kind, reason } => {
                if queue_notice(conn, kind, about, last_error, reason.as_deref(), ctx)? {
                    outcome.notices += 1;
                }
            }
            Effect::Publish { event_type, data } => emit(conn, about, event_type, data, ctx, outcome)?,
        }
    }
    Ok(())
}

/// The delivery's event and webhook, for the failure policy; `None` if the delivery is gone.
fn load_current(conn: &Connection, delivery_id: &str) -> DbResult<Option<Current>> {
    let current = conn
        .prepare_cached(
            "SELECT d.platform_id, d.webhook_id, w.url, w.enabled, w.failing_since, w.degraded, e.id, e.type, \
             w.failing_notified_at FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN events e ON e.pk = d.event_pk \
             WHERE d.id = ?1",
        )?
        .query_row([delivery_id], |row| {
            Ok(Current {
                about: About {
                    platform_id: row.get(0)?,
                    webhook_id: row.get(1)?,
                    webhook_url: row.get(2)?,
                    event_id: row.get(6)?,
                    event_type: row.get(7)?,
                },
                state: FailureState {
                    enabled: row.get(3)?,
                    failing_since: row.get::<_, Option<i64>>(4)?.map(Timestamp::from_unix_millis),
                    degraded: row.get(5)?,
                    failing_notified_at: row.get::<_, Option<i64>>(8)?.map(Timestamp::from_unix_millis),
                },
            })
        })
        .optional()?;
    Ok(current)
}

fn insert_attempt(conn: &Connection, attempt: &Attempt) -> DbResult<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO attempts ({ATTEMPT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
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
        attempt.request_headers.as_ref().map(HeaderList::json),
        attempt.response_headers.as_ref().map(HeaderList::json),
        attempt.response_headers.as_ref().map_or(0, HeaderList::omitted),
    ])?;
    Ok(())
}

/// Disables the webhook and holds its pending deliveries (the plan adds the notice and `webhook.disabled`).
fn disable(
    conn: &mut Writer,
    about: &About,
    reason: &str,
    ctx: &RecordContext,
    outcome: &mut RecordOutcome,
) -> DbResult<()> {
    conn.prepare_cached(statements::DISABLE_WEBHOOK.sqlite())?.execute(params![
        about.webhook_id,
        reason,
        ctx.now.unix_millis()
    ])?;
    conn.prepare_cached(statements::HOLD_PENDING.sqlite())?
        .execute(params![about.webhook_id, ctx.now.unix_millis()])?;
    if let Some(id) = WebhookId::parse(&about.webhook_id) {
        outcome.disabled.push(id);
    }
    tracing::warn!(webhook_id = %about.webhook_id, reason, "webhook disabled");
    Ok(())
}

/// Publishes an operational event to the platform's webhooks that subscribe to it, never to the webhook it is
/// about. Nothing is stored when no webhook subscribes.
fn emit(
    conn: &mut Writer,
    about: &About,
    event_type: &str,
    data: serde_json::Value,
    ctx: &RecordContext,
    outcome: &mut RecordOutcome,
) -> DbResult<()> {
    let subscribed = conn
        .prepare_cached(statements::OPERATIONAL_SUBSCRIBER.sqlite())?
        .query_row(params![about.platform_id, about.webhook_id, format!("% {event_type} %")], |_| Ok(()))
        .optional()?;
    if subscribed.is_none() {
        return Ok(());
    }
    let Some((platform, event, target)) = policy::operational_event(about, event_type, data) else { return Ok(()) };
    let published = fanout::publish(conn, &platform, event, target, ctx.now, Some(ctx.lease_until))?;
    outcome.jobs.extend(published.jobs);
    Ok(())
}

/// Queues a notice of `kind` about the delivery `about`. A `DeliveriesFailed` one is counted where
/// `policy::deliveries_failed_slot` says: absorbed into the webhook's notice not yet claimed for sending, or in
/// a new one. Returns whether a new notice was queued.
fn queue_notice(
    conn: &Connection,
    kind: NotificationKind,
    about: &About,
    last_error: Option<&str>,
    reason: Option<&str>,
    ctx: &RecordContext,
) -> DbResult<bool> {
    let mut due_at = ctx.now;
    if kind == NotificationKind::DeliveriesFailed {
        let latest: Option<(LatestNotice, String, String)> = conn
            .prepare_cached(statements::LATEST_NOTICE.sqlite())?
            .query_row(params![about.webhook_id, kind.as_str()], |row| {
                let notice = LatestNotice {
                    id: row.get(0)?,
                    claimed_at: row.get::<_, Option<i64>>(1)?.map(Timestamp::from_unix_millis),
                };
                Ok((notice, row.get(2)?, row.get(3)?))
            })
            .optional()?;
        match policy::deliveries_failed_slot(
            latest.as_ref().map(|(notice, ..)| notice),
            ctx.now,
            ctx.failure.notify_window,
        ) {
            NoticeSlot::Absorb => {
                // The single writer: nothing claims the notice between the read above and this update.
                if let Some((notice, types, ids)) = &latest {
                    let (types, ids) = policy::absorb_failure(types, ids, about);
                    conn.prepare_cached(statements::ABSORB_INTO_NOTICE.sqlite())?
                        .execute(params![notice.id, types, ids, last_error])?;
                }
                return Ok(false);
            }
            NoticeSlot::New { due_at: at } => due_at = at,
        }
    }
    let platform: Option<(String, String)> = conn
        .prepare_cached(statements::NOTICE_RECIPIENT.sqlite())?
        .query_row([&about.platform_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((recipient, platform_url)) = platform else { return Ok(false) };
    let failed_count: i64 = match policy::notice_count(kind) {
        NoticeCount::Fixed(count) => count,
        NoticeCount::Query(statement) => {
            conn.prepare_cached(statement.sqlite())?.query_row([&about.webhook_id], |row| row.get(0))?
        }
    };
    conn.prepare_cached(statements::INSERT_NOTICE.sqlite())?.execute(params![
        NotificationId::generate().as_str(),
        about.platform_id,
        about.webhook_id,
        kind.as_str(),
        recipient,
        platform_url,
        about.webhook_url,
        failed_count,
        about.event_type,
        about.event_id,
        last_error,
        reason,
        ctx.now.unix_millis(),
        due_at.unix_millis(),
    ])?;
    Ok(true)
}
