//! Recording attempts and applying the failure policy, all in one transaction: an attempt, the delivery's new
//! state, the webhook's failure tracking, a disable, a notice and the operational events either all commit or
//! none do. The effects are the failure policy's plan (`hookline_store::policy::plan`), which this file only
//! executes, as the SQLite backend does; what is PostgreSQL's own is what several nodes need:
//!
//! - the batch's deliveries are locked (`FOR UPDATE`, in id order) and read in one statement; the webhooks the
//!   batch may change (one with a failure in the batch, or a failing or degraded one that a success restores)
//!   are locked next and read again, so recorders on different nodes apply the failure policy to one webhook
//!   one after the other (one `webhook.disabled`, one notice, one `webhook.recovered`), as SQLite's single
//!   writer does. Successes for a healthy webhook take no webhook lock, so nodes never queue on a busy
//!   webhook's row;
//! - a record moves its delivery on only while the delivery's `attempt_count` is below the attempt's number.
//!   When it is not, another attempt of the same number was recorded first: this node's lease ran out while
//!   the attempt was in flight and another node took the delivery over. The late attempt is kept in the log
//!   (it did reach the receiver, or tried to) but changes neither the delivery nor the webhook;
//! - delivery updates and attempt inserts are buffered and written a whole batch per statement (`UNNEST`),
//!   flushed before any statement that reads or changes what they touch, so a batch of successes costs a few
//!   round trips, not three per attempt.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::Transaction;
use hookline_core::Timestamp;
use hookline_core::delivery::{Attempt, AttemptRecord, DeliveryStatus};
use hookline_core::headers::HeaderList;
use hookline_core::ids::{NotificationId, WebhookId};
use hookline_core::notification::NotificationKind;

use hookline_store::hourly::HourlyCounts;
use hookline_store::policy::plan::{Effect, FailureState, plan};
use hookline_store::policy::{self, About, LatestNotice, NoticeCount, NoticeSlot};
use hookline_store::statements;
use hookline_store::{RecordContext, RecordOutcome, SecretCipher};

use crate::error::DbResult;
use crate::{execute, fanout, query, query_one, query_opt};

/// A delivery of the batch, as read under its lock.
struct Delivery {
    platform_id: String,
    webhook_id: String,
    event_id: String,
    event_type: String,
    attempt_count: i64,
}

/// A webhook's URL and failure tracking, kept current as the batch is applied.
struct WebhookState {
    url: String,
    state: FailureState,
}

impl WebhookState {
    /// Reads columns url, enabled, failing_since, degraded, failing_notified_at from `first` on.
    fn read(row: &tokio_postgres::Row, first: usize) -> DbResult<Self> {
        Ok(Self {
            url: row.try_get(first)?,
            state: FailureState {
                enabled: row.try_get(first + 1)?,
                failing_since: row.try_get::<_, Option<i64>>(first + 2)?.map(Timestamp::from_unix_millis),
                degraded: row.try_get(first + 3)?,
                failing_notified_at: row.try_get::<_, Option<i64>>(first + 4)?.map(Timestamp::from_unix_millis),
            },
        })
    }
}

/// Delivery updates and attempt inserts not yet written.
#[derive(Default)]
struct Pending {
    ids: Vec<String>,
    /// `ids` again, for a constant-time "is this delivery already buffered?" (batches hold a thousand).
    buffered: HashSet<String>,
    statuses: Vec<&'static str>,
    attempt_counts: Vec<i64>,
    next_at: Vec<Option<i64>>,
    attempts: Vec<Attempt>,
}

impl Pending {
    fn has_delivery(&self, id: &str) -> bool {
        self.buffered.contains(id)
    }

    fn delivery(&mut self, id: &str, status: DeliveryStatus, attempt_count: i64, next_at: Option<Timestamp>) {
        self.ids.push(id.to_owned());
        self.buffered.insert(id.to_owned());
        self.statuses.push(status.as_str());
        self.attempt_counts.push(attempt_count);
        self.next_at.push(next_at.map(Timestamp::unix_millis));
    }

    async fn flush(&mut self, tx: &Transaction<'_>, now: Timestamp) -> DbResult<()> {
        if !self.ids.is_empty() {
            execute(
                tx,
                "UPDATE deliveries d SET status = u.status, attempt_count = u.attempt_count, \
                 next_attempt_at = u.next_at, leased_until = NULL, updated_at = $1 \
                 FROM UNNEST($2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS u(id, status, attempt_count, next_at) \
                 WHERE d.id = u.id",
                &[&now.unix_millis(), &self.ids, &self.statuses, &self.attempt_counts, &self.next_at],
            )
            .await?;
            self.ids.clear();
            self.buffered.clear();
            self.statuses.clear();
            self.attempt_counts.clear();
            self.next_at.clear();
        }
        if !self.attempts.is_empty() {
            let attempts = std::mem::take(&mut self.attempts);
            let ids: Vec<&str> = attempts.iter().map(|a| a.id.as_str()).collect();
            let deliveries: Vec<&str> = attempts.iter().map(|a| a.delivery_id.as_str()).collect();
            let numbers: Vec<i64> = attempts.iter().map(|a| i64::from(a.attempt_number)).collect();
            let started: Vec<i64> = attempts.iter().map(|a| a.started_at.unix_millis()).collect();
            let durations: Vec<i64> = attempts.iter().map(|a| a.duration_ms.min(i64::MAX as u64) as i64).collect();
            let statuses: Vec<Option<i64>> = attempts.iter().map(|a| a.status.map(i64::from)).collect();
            let kinds: Vec<Option<&str>> = attempts.iter().map(|a| a.error_kind.map(|kind| kind.as_str())).collect();
            let messages: Vec<Option<&str>> = attempts.iter().map(|a| a.error_message.as_deref()).collect();
            let excerpts: Vec<&str> = attempts.iter().map(|a| a.response_excerpt.as_str()).collect();
            let sent: Vec<Option<&str>> =
                attempts.iter().map(|a| a.request_headers.as_ref().map(HeaderList::json)).collect();
            let received: Vec<Option<&str>> =
                attempts.iter().map(|a| a.response_headers.as_ref().map(HeaderList::json)).collect();
            let omitted: Vec<i64> =
                attempts.iter().map(|a| a.response_headers.as_ref().map_or(0, |h| i64::from(h.omitted()))).collect();
            execute(
                tx,
                "INSERT INTO attempts (id, delivery_id, attempt_number, started_at, duration_ms, status, error_kind, \
                 error_message, response_excerpt, request_headers, response_headers, response_headers_omitted) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], \
                 $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[])",
                &[
                    &ids,
                    &deliveries,
                    &numbers,
                    &started,
                    &durations,
                    &statuses,
                    &kinds,
                    &messages,
                    &excerpts,
                    &sent,
                    &received,
                    &omitted,
                ],
            )
            .await?;
        }
        Ok(())
    }
}

pub(super) async fn record(
    tx: &Transaction<'_>,
    secrets: &SecretCipher,
    records: Vec<AttemptRecord>,
    ctx: RecordContext,
) -> DbResult<RecordOutcome> {
    let mut outcome = RecordOutcome::default();
    let ids: Vec<&str> = records.iter().map(|r| r.attempt.delivery_id.as_str()).collect();
    // Every delivery of the batch, locked in id order, with its webhook's and event's state. A delivery whose
    // webhook was deleted is gone: its record is dropped.
    let rows = query(
        tx,
        "SELECT d.id, d.platform_id, d.webhook_id, w.url, w.enabled, w.failing_since, w.degraded, \
         w.failing_notified_at, e.id, e.type, d.attempt_count FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         JOIN events e ON e.pk = d.event_pk WHERE d.id = ANY($1) ORDER BY d.id FOR UPDATE OF d",
        &[&ids],
    )
    .await?;
    let mut deliveries: HashMap<String, Delivery> = HashMap::with_capacity(rows.len());
    let mut webhooks: HashMap<String, WebhookState> = HashMap::new();
    for row in &rows {
        let delivery = Delivery {
            platform_id: row.try_get(1)?,
            webhook_id: row.try_get(2)?,
            event_id: row.try_get(8)?,
            event_type: row.try_get(9)?,
            attempt_count: row.try_get(10)?,
        };
        if !webhooks.contains_key(&delivery.webhook_id) {
            webhooks.insert(delivery.webhook_id.clone(), WebhookState::read(row, 3)?);
        }
        deliveries.insert(row.try_get(0)?, delivery);
    }
    // The webhooks this batch may write, locked in id order and read again under the lock.
    let failing: HashSet<&str> = records
        .iter()
        .filter(|r| r.attempt.error_kind.is_some())
        .filter_map(|r| deliveries.get(r.attempt.delivery_id.as_str()))
        .map(|d| d.webhook_id.as_str())
        .collect();
    let mut to_lock: Vec<String> = webhooks
        .iter()
        .filter(|(id, webhook)| !webhook.state.is_healthy() || failing.contains(id.as_str()))
        .map(|(id, _)| id.clone())
        .collect();
    to_lock.sort_unstable();
    if !to_lock.is_empty() {
        let locked = query(
            tx,
            "SELECT id, url, enabled, failing_since, degraded, failing_notified_at FROM webhooks WHERE id = ANY($1) \
             ORDER BY id FOR UPDATE",
            &[&to_lock],
        )
        .await?;
        for row in &locked {
            webhooks.insert(row.try_get(0)?, WebhookState::read(row, 1)?);
        }
    }

    let mut pending = Pending::default();
    // The overview's counters, summed over the batch and written once per webhook at the end.
    let mut hourly = HourlyCounts::default();
    for AttemptRecord { attempt, next } in records {
        let Some(delivery) = deliveries.get_mut(attempt.delivery_id.as_str()) else { continue };
        let Some(webhook) = webhooks.get_mut(&delivery.webhook_id) else { continue };
        if delivery.attempt_count >= i64::from(attempt.attempt_number) {
            tracing::warn!(
                delivery_id = %attempt.delivery_id,
                attempt = attempt.attempt_number,
                recorded = delivery.attempt_count,
                "a late attempt result (its lease had run out and another node took the delivery over): logged only"
            );
            pending.attempts.push(attempt);
            continue;
        }
        let (status, next_at) = policy::delivery_status(next, webhook.state.enabled);
        delivery.attempt_count = i64::from(attempt.attempt_number);
        if pending.has_delivery(attempt.delivery_id.as_str()) {
            pending.flush(tx, ctx.now).await?;
        }
        pending.delivery(attempt.delivery_id.as_str(), status, delivery.attempt_count, next_at);
        hourly.add(&delivery.webhook_id, status);
        if attempt.error_kind.is_none() && webhook.state.is_healthy() {
            // The hot path: a success that the failure policy has nothing to plan for.
            pending.attempts.push(attempt);
            continue;
        }
        let about = About {
            platform_id: delivery.platform_id.clone(),
            webhook_id: delivery.webhook_id.clone(),
            webhook_url: webhook.url.clone(),
            event_id: delivery.event_id.clone(),
            event_type: delivery.event_type.clone(),
        };
        let planned = plan(&attempt, next, &webhook.state, &about, &ctx);
        if planned.is_empty() {
            // A failure of a webhook already failing (a retry is due later): nothing reads what the batch
            // wrote, so its writes stay buffered.
            pending.attempts.push(attempt);
            continue;
        }
        let last_error = attempt.error_message.clone();
        pending.attempts.push(attempt);
        // What follows reads or writes rows this batch changed: write them first.
        pending.flush(tx, ctx.now).await?;
        for effect in planned {
            webhook.state.apply(&effect);
            execute_effect(tx, secrets, effect, &about, last_error.as_deref(), &ctx, &mut outcome).await?;
        }
    }
    pending.flush(tx, ctx.now).await?;
    // Last, so the counter rows (which every batch for the webhook this hour updates) are locked for as short
    // a time as possible; in webhook id order, so two nodes' batches never deadlock on them.
    let hour = hookline_store::hourly::hour_of(ctx.now);
    for (webhook_id, delivered, failed) in hourly.into_sorted() {
        execute(tx, statements::COUNT_HOURLY.postgres(), &[&webhook_id, &hour, &delivered, &failed]).await?;
    }
    Ok(outcome)
}

/// Executes one effect of the failure policy's plan for an attempt of the delivery `about`, whose error was
/// `last_error`.
async fn execute_effect(
    tx: &Transaction<'_>,
    secrets: &SecretCipher,
    effect: Effect,
    about: &About,
    last_error: Option<&str>,
    ctx: &RecordContext,
    outcome: &mut RecordOutcome,
) -> DbResult<()> {
    match effect {
        Effect::StartFailing(since) => {
            execute(tx, statements::START_FAILING.postgres(), &[&about.webhook_id, &since.unix_millis()]).await?;
        }
        Effect::Restore => {
            execute(tx, statements::RESTORE_WEBHOOK.postgres(), &[&about.webhook_id]).await?;
        }
        Effect::Degrade => {
            execute(tx, statements::DEGRADE_WEBHOOK.postgres(), &[&about.webhook_id]).await?;
        }
        Effect::MarkFailingNotified(at) => {
            execute(tx, statements::MARK_FAILING_NOTIFIED.postgres(), &[&about.webhook_id, &at.unix_millis()]).await?;
        }
        Effect::Disable { reason } => disable(tx, about, &reason, ctx, outcome).await?,
        Effect::Notice { kind, reason } => {
            if queue_notice(tx, kind, about, last_error, reason.as_deref(), ctx).await? {
                outcome.notices += 1;
            }
        }
        Effect::Publish { event_type, data } => emit(tx, secrets, about, event_type, data, ctx, outcome).await?,
    }
    Ok(())
}

/// Disables the webhook and holds its pending deliveries (the plan adds the notice and `webhook.disabled`).
async fn disable(
    tx: &Transaction<'_>,
    about: &About,
    reason: &str,
    ctx: &RecordContext,
    outcome: &mut RecordOutcome,
) -> DbResult<()> {
    execute(tx, statements::DISABLE_WEBHOOK.postgres(), &[&about.webhook_id, &reason, &ctx.now.unix_millis()]).await?;
    execute(tx, statements::HOLD_PENDING.postgres(), &[&about.webhook_id, &ctx.now.unix_millis()]).await?;
    if let Some(id) = WebhookId::parse(&about.webhook_id) {
        outcome.disabled.push(id);
    }
    tracing::warn!(webhook_id = %about.webhook_id, reason, "webhook disabled");
    Ok(())
}

/// Publishes an operational event to the platform's webhooks that subscribe to it, never to the webhook it is
/// about. Nothing is stored when no webhook subscribes.
async fn emit(
    tx: &Transaction<'_>,
    secrets: &SecretCipher,
    about: &About,
    event_type: &str,
    data: serde_json::Value,
    ctx: &RecordContext,
    outcome: &mut RecordOutcome,
) -> DbResult<()> {
    let subscribed = query_opt(
        tx,
        statements::OPERATIONAL_SUBSCRIBER.postgres(),
        &[&about.platform_id, &about.webhook_id, &format!("% {event_type} %")],
    )
    .await?;
    if subscribed.is_none() {
        return Ok(());
    }
    let Some((platform, event, target)) = policy::operational_event(about, event_type, data) else { return Ok(()) };
    let published = fanout::publish(tx, secrets, &platform, event, target, ctx.now, Some(ctx.lease_until)).await?;
    outcome.jobs.extend(published.jobs);
    Ok(())
}

/// Queues a notice of `kind` about the delivery `about`. A `DeliveriesFailed` one is counted where
/// `policy::deliveries_failed_slot` says: absorbed into the webhook's notice not yet claimed for sending, or in
/// a new one. Returns whether a new notice was queued.
async fn queue_notice(
    tx: &Transaction<'_>,
    kind: NotificationKind,
    about: &About,
    last_error: Option<&str>,
    reason: Option<&str>,
    ctx: &RecordContext,
) -> DbResult<bool> {
    let due_at = match kind {
        NotificationKind::DeliveriesFailed => match deliveries_failed_due(tx, about, last_error, ctx).await? {
            Some(due_at) => due_at,
            None => return Ok(false),
        },
        _ => ctx.now,
    };
    let platform = query_opt(tx, statements::NOTICE_RECIPIENT.postgres(), &[&about.platform_id]).await?;
    let Some(platform) = platform else { return Ok(false) };
    let (recipient, platform_url): (String, String) = (platform.try_get(0)?, platform.try_get(1)?);
    let failed_count: i64 = match policy::notice_count(kind) {
        NoticeCount::Fixed(count) => count,
        NoticeCount::Query(statement) => query_one(tx, statement.postgres(), &[&about.webhook_id]).await?.try_get(0)?,
    };
    let sql = statements::INSERT_NOTICE.postgres();
    execute(
        tx,
        sql,
        &[
            &NotificationId::generate().as_str(),
            &about.platform_id,
            &about.webhook_id,
            &kind.as_str(),
            &recipient,
            &platform_url,
            &about.webhook_url,
            &failed_count,
            &about.event_type,
            &about.event_id,
            &last_error,
            &reason,
            &ctx.now.unix_millis(),
            &due_at.unix_millis(),
        ],
    )
    .await?;
    Ok(true)
}

/// Counts a delivery failed for good in the webhook's notice not yet claimed, and answers `None`; or answers
/// when the new notice that must count it is due. A notifier on another node may claim the notice between
/// the read and the absorbing update: the update then changes nothing (it waits for the claim's row lock,
/// then sees `claimed_at`), and the second read finds the notice claimed.
async fn deliveries_failed_due(
    tx: &Transaction<'_>,
    about: &About,
    last_error: Option<&str>,
    ctx: &RecordContext,
) -> DbResult<Option<Timestamp>> {
    let kind = NotificationKind::DeliveriesFailed.as_str();
    for _ in 0..2 {
        let row = query_opt(tx, statements::LATEST_NOTICE.postgres(), &[&about.webhook_id, &kind]).await?;
        let latest = match &row {
            Some(row) => Some((
                LatestNotice {
                    id: row.try_get(0)?,
                    claimed_at: row.try_get::<_, Option<i64>>(1)?.map(Timestamp::from_unix_millis),
                },
                row.try_get::<_, String>(2)?,
                row.try_get::<_, String>(3)?,
            )),
            None => None,
        };
        let notice = latest.as_ref().map(|(notice, ..)| notice);
        match (policy::deliveries_failed_slot(notice, ctx.now, ctx.failure.notify_window), &latest) {
            (NoticeSlot::Absorb, Some((notice, types, ids))) => {
                let (types, ids) = policy::absorb_failure(types, ids, about);
                let changed =
                    execute(tx, statements::ABSORB_INTO_NOTICE.postgres(), &[&notice.id, &types, &ids, &last_error])
                        .await?;
                if changed == 1 {
                    return Ok(None);
                }
            }
            (NoticeSlot::New { due_at }, _) => return Ok(Some(due_at)),
            (NoticeSlot::Absorb, None) => break,
        }
    }
    // Claimed twice over between reads: count it in a new notice a window from now.
    Ok(Some(ctx.now.plus(ctx.failure.notify_window)))
}
