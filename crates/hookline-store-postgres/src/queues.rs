//! The background workers' roles for `PgStore`: the delivery engine's queue and the notifier's. Claims use
//! `FOR UPDATE SKIP LOCKED`, so nodes claiming at once never take the same row, and never wait for each other.

use std::collections::HashSet;

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::delivery::{AttemptRecord, DeliveryJob};
use hookline_core::ids::{DeliveryId, NotificationId, WebhookId};
use hookline_core::notification::Notification;
use hookline_store::decode::{self, Columns, JOB_COLUMNS, NOTIFICATION_COLUMN_COUNT, NOTIFICATION_COLUMNS};
use hookline_store::policy;
use hookline_store::statements;
use hookline_store::{
    ClaimRequest, DeliveryQueue, NoticeQueue, NotificationResult, RecordContext, RecordOutcome, StoreResult,
};

use crate::rows::PgRow;
use crate::{PgStore, execute, fanout, query, record};

/// The claim, in one statement: for each enabled webhook not skipped and not a listener (`hookline listen`'s
/// stream claims those) (in id order), its oldest due deliveries
/// whose lease has ended, at most `$4` each and `$5` in all, locked with `SKIP LOCKED` (rows another node is
/// claiming or recording right now are passed over, never waited for) and leased until `$2`.
///
/// A row another node claimed and committed after this statement began is re-checked by PostgreSQL against
/// the lease condition once its lock is free, so it is not taken twice. `GREATEST(next_attempt_at, leased_until)`
/// is when a pending delivery becomes claimable, written as in the `deliveries_claimable` index.
const CLAIM_SQL: &str = "WITH picked AS ( \
       SELECT due.id FROM \
         (SELECT w.id FROM webhooks w WHERE w.enabled AND NOT w.listener AND NOT (w.id = ANY($3::text[])) \
         ORDER BY w.id) candidates \
         CROSS JOIN LATERAL ( \
           SELECT d.id FROM deliveries d \
           WHERE d.webhook_id = candidates.id AND d.status = 'pending' \
             AND GREATEST(d.next_attempt_at, d.leased_until) <= $1 \
           ORDER BY GREATEST(d.next_attempt_at, d.leased_until), d.id LIMIT $4 \
           FOR UPDATE SKIP LOCKED \
         ) due \
       LIMIT $5 \
     ) \
     UPDATE deliveries d SET leased_until = $2 FROM picked, events e, webhooks w \
     WHERE d.id = picked.id AND e.pk = d.event_pk AND w.id = d.webhook_id RETURNING ";

#[async_trait]
impl DeliveryQueue for PgStore {
    async fn claim_due(&self, request: ClaimRequest) -> StoreResult<Vec<DeliveryJob>> {
        if request.limit == 0 || request.per_webhook == 0 {
            return Ok(Vec::new());
        }
        let sql = format!("{CLAIM_SQL}{JOB_COLUMNS}, d.next_attempt_at");
        let skip: Vec<&str> = request.skip.iter().map(WebhookId::as_str).collect::<HashSet<_>>().into_iter().collect();
        let now = request.now.unix_millis();
        let lease_until = request.lease_until.unix_millis();
        let per_webhook = request.per_webhook.min(i64::MAX as usize) as i64;
        let limit = request.limit.min(i64::MAX as usize) as i64;
        transaction!(self, |tx| {
            let claimed = query(&tx, &sql, &[&now, &lease_until, &skip, &per_webhook, &limit]).await?;
            fanout::jobs_from_rows(&claimed, &self.secrets)
        })
    }

    async fn record_attempts(&self, records: Vec<AttemptRecord>, context: RecordContext) -> StoreResult<RecordOutcome> {
        if records.is_empty() {
            return Ok(RecordOutcome::default());
        }
        transaction!(self, |tx| record::record(&tx, &self.secrets, records.clone(), context).await)
    }

    async fn renew_leases(&self, deliveries: Vec<DeliveryId>, lease_until: Timestamp) -> StoreResult<u64> {
        self.renew_held_leases(deliveries, lease_until).await
    }

    async fn release(&self, deliveries: Vec<DeliveryId>) -> StoreResult<()> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = deliveries.iter().map(DeliveryId::as_str).collect();
        transaction!(self, |tx| {
            execute(
                &tx,
                "UPDATE deliveries SET leased_until = NULL WHERE id IN \
                 (SELECT id FROM deliveries WHERE id = ANY($1) ORDER BY id FOR UPDATE)",
                &[&ids],
            )
            .await?;
            Ok(())
        })
    }
}

#[async_trait]
impl NoticeQueue for PgStore {
    async fn claim_notifications(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // `SKIP LOCKED`: two nodes claiming at once never both send one notice. Claimed (`claimed_at`), a notice
        // absorbs no more failures: recording's absorbing UPDATE waits for this row lock, then finds it claimed.
        let columns: Vec<String> = NOTIFICATION_COLUMNS.split(", ").map(|c| format!("n.{}", c.trim())).collect();
        let sql = format!(
            "WITH due AS (SELECT id, next_attempt_at FROM notifications WHERE status = 'pending' \
             AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE notifications n SET next_attempt_at = $3, claimed_at = COALESCE(n.claimed_at, $1) \
             FROM due WHERE n.id = due.id \
             RETURNING {}, due.next_attempt_at",
            columns.join(", ")
        );
        let limit = limit.min(i64::MAX as usize) as i64;
        let due = transaction!(self, |tx| {
            query(&tx, &sql, &[&now.unix_millis(), &limit, &lease_until.unix_millis()]).await
        })?;
        let mut claimed = Vec::with_capacity(due.len());
        for row in &due {
            claimed.push((PgRow(row).int(NOTIFICATION_COLUMN_COUNT)?, decode::notification(&PgRow(row))?));
        }
        claimed.sort_by(|a, b| (a.0, a.1.id.as_str()).cmp(&(b.0, b.1.id.as_str())));
        Ok(claimed.into_iter().map(|(_, notification)| notification).collect())
    }

    async fn finish_notification(
        &self,
        id: &NotificationId,
        result: NotificationResult,
        now: Timestamp,
    ) -> StoreResult<()> {
        let update = policy::notification_update(result, now);
        transaction!(self, |tx| {
            execute(
                &tx,
                statements::FINISH_NOTICE.postgres(),
                &[
                    &id.as_str(),
                    &update.status,
                    &update.subject,
                    &update.send_error,
                    &update.next_attempt_at,
                    &update.sent_at,
                ],
            )
            .await?;
            Ok(())
        })
    }
}
