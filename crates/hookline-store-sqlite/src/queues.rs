//! The background workers' roles for `SqliteStore`: the delivery engine's queue and the notifier's. All of
//! them write through the writer's background queue, so API requests go first.

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::delivery::{AttemptRecord, DeliveryJob};
use hookline_core::ids::{DeliveryId, NotificationId, WebhookId};
use hookline_core::notification::Notification;
use hookline_store::decode::{self, NOTIFICATION_COLUMNS};
use hookline_store::policy;
use hookline_store::statements;
use hookline_store::{
    ClaimRequest, DeliveryQueue, NoticeQueue, NotificationResult, RecordContext, RecordOutcome, StoreResult,
};
use rusqlite::params;

use crate::queries::{collect, lease_jobs};
use crate::rows::lift;
use crate::{SqliteStore, record};

#[async_trait]
impl DeliveryQueue for SqliteStore {
    async fn claim_due(&self, request: ClaimRequest) -> StoreResult<Vec<DeliveryJob>> {
        self.write_background(move |conn| {
            let now = request.now.unix_millis();
            // Webhooks with claimable work; each is then claimed on its own, oldest due first, so a large backlog
            // of one webhook never stands in front of another's. `max(next_attempt_at, ifnull(leased_until, 0))`
            // is when a pending delivery becomes claimable: it must be written exactly as in the
            // `deliveries_claimable` index, or SQLite does not use the index.
            let mut candidates = conn.prepare_cached(
                "SELECT w.id FROM webhooks w WHERE w.enabled = 1 AND w.listener = 0 AND EXISTS (SELECT 1 FROM deliveries d \
                 WHERE d.webhook_id = w.id AND d.status = 'pending' \
                 AND max(d.next_attempt_at, ifnull(d.leased_until, 0)) <= ?1)",
            )?;
            let webhooks: Vec<String> = candidates.query_map([now], |row| row.get(0))?.collect::<Result<_, _>>()?;
            let skip: std::collections::HashSet<&str> = request.skip.iter().map(WebhookId::as_str).collect();
            let mut jobs = Vec::new();
            for webhook in webhooks.iter().filter(|w| !skip.contains(w.as_str())) {
                let room = request.limit.saturating_sub(jobs.len()).min(request.per_webhook);
                if room == 0 {
                    break;
                }
                jobs.extend(lease_jobs(
                    conn,
                    "d.id IN (SELECT id FROM deliveries WHERE webhook_id = ?1 AND status = 'pending' \
                     AND max(next_attempt_at, ifnull(leased_until, 0)) <= ?2 \
                     ORDER BY max(next_attempt_at, ifnull(leased_until, 0)), id LIMIT ?3)",
                    params![webhook, now, room as i64],
                    request.lease_until,
                    &conn.secrets,
                )?);
            }
            Ok(jobs)
        })
        .await
    }

    async fn record_attempts(&self, records: Vec<AttemptRecord>, context: RecordContext) -> StoreResult<RecordOutcome> {
        self.write_background(move |conn| record::record(conn, records, context)).await
    }

    async fn renew_leases(&self, deliveries: Vec<DeliveryId>, lease_until: Timestamp) -> StoreResult<u64> {
        self.write_background(move |conn| {
            let mut renew = conn.prepare_cached(
                "UPDATE deliveries SET leased_until = ?2 WHERE id = ?1 AND status = 'pending' AND leased_until IS NOT NULL",
            )?;
            let mut renewed = 0;
            for id in deliveries {
                renewed += renew.execute(params![id.as_str(), lease_until.unix_millis()])? as u64;
            }
            Ok(renewed)
        })
        .await
    }

    async fn release(&self, deliveries: Vec<DeliveryId>) -> StoreResult<()> {
        self.write_background(move |conn| {
            let mut release = conn.prepare_cached("UPDATE deliveries SET leased_until = NULL WHERE id = ?1")?;
            for id in deliveries {
                release.execute([id.as_str()])?;
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl NoticeQueue for SqliteStore {
    async fn claim_notifications(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        self.write_background(move |conn| {
            let sql = format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE status = 'pending' AND next_attempt_at <= ?1 \
                 ORDER BY next_attempt_at LIMIT ?2"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let due =
                collect(statement.query_map(params![now.unix_millis(), limit as i64], lift(decode::notification))?)?;
            // Claimed: from now on the notice absorbs no more failures (the email says what was just read).
            let mut lease = conn.prepare_cached(
                "UPDATE notifications SET next_attempt_at = ?2, claimed_at = COALESCE(claimed_at, ?3) WHERE id = ?1",
            )?;
            for notification in &due {
                lease.execute(params![notification.id.as_str(), lease_until.unix_millis(), now.unix_millis()])?;
            }
            Ok(due)
        })
        .await
    }

    async fn finish_notification(
        &self,
        id: &NotificationId,
        result: NotificationResult,
        now: Timestamp,
    ) -> StoreResult<()> {
        let id = id.to_string();
        self.write_background(move |conn| {
            let update = policy::notification_update(result, now);
            conn.prepare_cached(statements::FINISH_NOTICE.sqlite())?.execute(params![
                id,
                update.status,
                update.subject,
                update.send_error,
                update.next_attempt_at,
                update.sent_at
            ])?;
            Ok(())
        })
        .await
    }
}
