//! `impl Store for PgStore`: every query of the PostgreSQL backend. Each behaves as its SQLite twin in
//! `sqlite/queries.rs`; where several nodes need more (locks, `SKIP LOCKED`), the comment says so.

use std::collections::HashSet;

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::delivery::{AttemptRecord, DeliveryJob, DeliveryStatus};
use hookline_core::event::{Event, NewEvent};
use hookline_core::ids::{DeliveryId, EventId, NotificationId, PlatformId, WebhookId};
use hookline_core::notification::Notification;
use hookline_core::platform::{EventType, Platform};
use hookline_core::secret::{KeyHash, Secret};
use hookline_core::webhook::{EventFilter, Webhook};
use tokio_postgres::error::SqlState;

use super::fanout::{self, event_type_exists, find_event, load_webhook, lock_webhook};
use super::rows::SUMMARY_COLUMNS;
use super::{PgStore, execute, query, query_opt, record, sql_state};
use crate::decode::{
    self, ATTEMPT_COLUMNS, Columns, EVENT_COLUMNS, JOB_COLUMNS, NOTIFICATION_COLUMN_COUNT, NOTIFICATION_COLUMNS,
    PLATFORM_COLUMNS, WEBHOOK_COLUMNS,
};
use crate::policy::{self, page_limit as limit};
use crate::{
    ClaimRequest, DeliveryDetail, DeliverySummary, NotificationResult, Page, Published, RecordContext, RecordOutcome,
    Store, StoreError, StoreResult, Target, WebhookPatch,
};

async fn check_filter<C: deadpool_postgres::GenericClient>(
    client: &C,
    platform: &str,
    filter: &EventFilter,
) -> StoreResult<()> {
    if let EventFilter::Only(names) = filter {
        for name in names {
            if !event_type_exists(client, platform, name.as_str()).await? {
                return Err(StoreError::UnknownEventType(name.as_str().to_owned()));
            }
        }
    }
    Ok(())
}

async fn load_summary<C: deadpool_postgres::GenericClient>(
    client: &C,
    platform: &str,
    id: &str,
) -> StoreResult<DeliverySummary> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM deliveries d JOIN events e ON e.pk = d.event_pk \
         JOIN webhooks w ON w.id = d.webhook_id WHERE d.platform_id = $1 AND d.id = $2"
    );
    decode::summary(&query_opt(client, &sql, &[&platform, &id]).await?.ok_or(StoreError::NotFound)?)
}

/// The claim, in one statement: for each enabled webhook not skipped (in id order), its oldest due deliveries
/// whose lease has ended, at most `$4` each and `$5` in all, locked with `SKIP LOCKED` (rows another node is
/// claiming or recording right now are passed over, never waited for) and leased until `$2`.
///
/// A row another node claimed and committed after this statement began is re-checked by PostgreSQL against
/// the lease condition once its lock is free, so it is not taken twice. `GREATEST(next_attempt_at, leased_until)`
/// is when a pending delivery becomes claimable, written as in the `deliveries_claimable` index.
const CLAIM_SQL: &str = "WITH picked AS ( \
       SELECT due.id FROM \
         (SELECT w.id FROM webhooks w WHERE w.enabled AND NOT (w.id = ANY($3::text[])) ORDER BY w.id) candidates \
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
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        let client = self.client().await?;
        query(&client, "SELECT 1", &[]).await?;
        Ok(())
    }

    async fn create_platform(&self, platform: Platform, key_hash: KeyHash) -> StoreResult<()> {
        let sql = format!("INSERT INTO platforms ({PLATFORM_COLUMNS}) VALUES ($1, $2, $3, $4, $5)");
        transaction!(self, |tx| {
            let created_at = platform.created_at.unix_millis();
            execute(&tx, &sql, &[&platform.id.as_str(), &platform.name, &platform.url, &platform.email, &created_at])
                .await?;
            execute(
                &tx,
                "INSERT INTO api_keys (key_hash, platform_id, created_at) VALUES ($1, $2, $3)",
                &[&key_hash.0, &platform.id.as_str(), &created_at],
            )
            .await?;
            Ok(())
        })
    }

    async fn platform_by_key(&self, key_hash: KeyHash) -> StoreResult<Option<Platform>> {
        let sql = format!(
            "SELECT {} FROM api_keys k JOIN platforms p ON p.id = k.platform_id WHERE k.key_hash = $1",
            PLATFORM_COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ")
        );
        let client = self.client().await?;
        query_opt(&client, &sql, &[&key_hash.0]).await?.map(|row| decode::platform(&row)).transpose()
    }

    async fn list_event_types(&self, platform: &PlatformId) -> StoreResult<Vec<EventType>> {
        let mut types = decode::built_in_event_types();
        let client = self.client().await?;
        let custom = query(
            &client,
            "SELECT name, description FROM event_types WHERE platform_id = $1 ORDER BY name",
            &[&platform.as_str()],
        )
        .await?;
        for row in &custom {
            types.push(decode::custom_event_type(row)?);
        }
        Ok(types)
    }

    async fn create_event_type(&self, platform: &PlatformId, event_type: EventType, now: Timestamp) -> StoreResult<()> {
        let conflict = || StoreError::Conflict(format!("event type {} already exists", event_type.name));
        let result = transaction!(self, |tx| {
            if event_type_exists(&tx, platform.as_str(), &event_type.name).await? {
                return Err(conflict());
            }
            execute(
                &tx,
                "INSERT INTO event_types (platform_id, name, description, created_at) VALUES ($1, $2, $3, $4)",
                &[&platform.as_str(), &event_type.name, &event_type.description, &now.unix_millis()],
            )
            .await?;
            Ok(())
        });
        // Two nodes adding the same name at once: the second insert hits the key.
        match result {
            Err(error) if sql_state(&error) == Some(&SqlState::UNIQUE_VIOLATION) => Err(conflict()),
            other => other,
        }
    }

    async fn create_webhook(&self, webhook: Webhook) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO webhooks ({WEBHOOK_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        );
        transaction!(self, |tx| {
            check_filter(&tx, webhook.platform_id.as_str(), &webhook.events).await?;
            let previous = webhook.secrets.previous.as_ref();
            execute(
                &tx,
                &sql,
                &[
                    &webhook.id.as_str(),
                    &webhook.platform_id.as_str(),
                    &webhook.url.as_str(),
                    &decode::encode_filter(&webhook.events),
                    &webhook.description,
                    &webhook.secrets.current.expose(),
                    &previous.map(|(secret, _)| secret.expose()),
                    &previous.map(|(_, until)| until.unix_millis()),
                    &webhook.enabled,
                    &webhook.disabled_reason,
                    &webhook.created_at.unix_millis(),
                    &webhook.updated_at.unix_millis(),
                    &webhook.concurrency.map(i64::from),
                    &webhook.failing_since.map(Timestamp::unix_millis),
                ],
            )
            .await?;
            Ok(())
        })
    }

    async fn list_webhooks(&self, platform: &PlatformId, page: Page) -> StoreResult<Vec<Webhook>> {
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE platform_id = $1 AND ($2::text IS NULL OR id > $2::text) \
             ORDER BY id LIMIT $3"
        );
        let client = self.client().await?;
        let found = query(&client, &sql, &[&platform.as_str(), &page.after, &limit(&page)]).await?;
        found.iter().map(|row| decode::webhook(row)).collect()
    }

    async fn get_webhook(&self, platform: &PlatformId, id: &WebhookId) -> StoreResult<Webhook> {
        let client = self.client().await?;
        load_webhook(&client, platform.as_str(), id.as_str()).await
    }

    async fn update_webhook(
        &self,
        platform: &PlatformId,
        id: &WebhookId,
        patch: WebhookPatch,
        now: Timestamp,
    ) -> StoreResult<Webhook> {
        let (platform, id) = (platform.as_str(), id.as_str());
        transaction!(self, |tx| {
            let patch = patch.clone();
            let mut webhook = lock_webhook(&tx, platform, id).await?;
            if let Some(events) = &patch.events {
                check_filter(&tx, platform, events).await?;
            }
            if let Some(enabled) = policy::apply_patch(&mut webhook, patch, now) {
                if enabled {
                    // What was held goes out now, oldest first (the poller claims by due time, then id).
                    execute(
                        &tx,
                        "UPDATE deliveries SET status = 'pending', next_attempt_at = $2, leased_until = NULL, \
                         updated_at = $2 WHERE webhook_id = $1 AND status = 'held'",
                        &[&id, &now.unix_millis()],
                    )
                    .await?;
                } else {
                    execute(
                        &tx,
                        "UPDATE deliveries SET status = 'held', next_attempt_at = NULL, updated_at = $2 \
                         WHERE webhook_id = $1 AND status = 'pending'",
                        &[&id, &now.unix_millis()],
                    )
                    .await?;
                }
            }
            execute(
                &tx,
                "UPDATE webhooks SET url = $3, events = $4, description = $5, enabled = $6, disabled_reason = $7, \
                 updated_at = $8, concurrency = $9, failing_since = $10 WHERE platform_id = $1 AND id = $2",
                &[
                    &platform,
                    &id,
                    &webhook.url.as_str(),
                    &decode::encode_filter(&webhook.events),
                    &webhook.description,
                    &webhook.enabled,
                    &webhook.disabled_reason,
                    &now.unix_millis(),
                    &webhook.concurrency.map(i64::from),
                    &webhook.failing_since.map(Timestamp::unix_millis),
                ],
            )
            .await?;
            Ok(webhook)
        })
    }

    async fn delete_webhook(&self, platform: &PlatformId, id: &WebhookId) -> StoreResult<()> {
        let (platform, id) = (platform.as_str(), id.as_str());
        transaction!(self, |tx| {
            let deleted =
                execute(&tx, "DELETE FROM webhooks WHERE platform_id = $1 AND id = $2", &[&platform, &id]).await?;
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            execute(
                &tx,
                "DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE webhook_id = $1)",
                &[&id],
            )
            .await?;
            execute(&tx, "DELETE FROM deliveries WHERE webhook_id = $1", &[&id]).await?;
            Ok(())
        })
    }

    async fn rotate_secret(
        &self,
        platform: &PlatformId,
        id: &WebhookId,
        new_secret: Secret,
        overlap_until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Webhook> {
        let (platform, id) = (platform.as_str(), id.as_str());
        transaction!(self, |tx| {
            let changed = execute(
                &tx,
                "UPDATE webhooks SET previous_secret = secret, previous_secret_until = $3, secret = $4, \
                 updated_at = $5 WHERE platform_id = $1 AND id = $2",
                &[&platform, &id, &overlap_until.unix_millis(), &new_secret.expose(), &now.unix_millis()],
            )
            .await?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            load_webhook(&tx, platform, id).await
        })
    }

    async fn publish_event(
        &self,
        platform: &PlatformId,
        event: NewEvent,
        target: Target,
        now: Timestamp,
        lease_until: Option<Timestamp>,
    ) -> StoreResult<Published> {
        transaction!(self, |tx| fanout::publish(&tx, platform, event.clone(), target.clone(), now, lease_until).await)
    }

    async fn list_events(&self, platform: &PlatformId, page: Page) -> StoreResult<Vec<Event>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events e WHERE e.platform_id = $1 \
             AND ($2::text IS NULL OR e.pk < (SELECT pk FROM events WHERE platform_id = $1 AND id = $2::text)) \
             ORDER BY e.pk DESC LIMIT $3"
        );
        let client = self.client().await?;
        let found = query(&client, &sql, &[&platform.as_str(), &page.after, &limit(&page)]).await?;
        found.iter().map(|row| decode::event(row)).collect()
    }

    async fn get_event(&self, platform: &PlatformId, id: &EventId) -> StoreResult<(Event, Vec<DeliverySummary>)> {
        let client = self.client().await?;
        let (pk, event) = find_event(&client, platform.as_str(), id.as_str()).await?.ok_or(StoreError::NotFound)?;
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM deliveries d JOIN events e ON e.pk = d.event_pk \
             JOIN webhooks w ON w.id = d.webhook_id WHERE d.event_pk = $1 ORDER BY d.id"
        );
        let deliveries =
            query(&client, &sql, &[&pk]).await?.iter().map(|row| decode::summary(row)).collect::<StoreResult<_>>()?;
        Ok((event, deliveries))
    }

    async fn list_deliveries(
        &self,
        platform: &PlatformId,
        webhook: &WebhookId,
        status: Option<DeliveryStatus>,
        page: Page,
    ) -> StoreResult<Vec<DeliverySummary>> {
        // One query for both lists: the dashboard's search adds time bounds to the same keyset page.
        let query = crate::ui::DeliveryQuery { status, page, ..Default::default() };
        crate::UiStore::search_deliveries(self, platform, webhook, query).await
    }

    async fn get_delivery(&self, platform: &PlatformId, id: &DeliveryId) -> StoreResult<DeliveryDetail> {
        let client = self.client().await?;
        let summary = load_summary(&client, platform.as_str(), id.as_str()).await?;
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE delivery_id = $1 ORDER BY attempt_number, started_at, id"
        );
        let found = query(&client, &sql, &[&id.as_str()]).await?;
        let attempts = found.iter().map(|row| decode::attempt(row)).collect::<StoreResult<_>>()?;
        Ok(DeliveryDetail { summary, attempts })
    }

    async fn retry_delivery(
        &self,
        platform: &PlatformId,
        id: &DeliveryId,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<DeliveryJob> {
        let (platform, id) = (platform.as_str(), id.as_str());
        transaction!(self, |tx| {
            let state = query_opt(
                &tx,
                "SELECT d.status, d.leased_until, w.enabled FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                 WHERE d.platform_id = $1 AND d.id = $2 FOR UPDATE OF d",
                &[&platform, &id],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
            let (status, leased_until, enabled): (String, Option<i64>, bool) =
                (state.try_get(0)?, state.try_get(1)?, state.try_get(2)?);
            policy::check_retry(&status, leased_until, enabled, now)?;
            execute(
                &tx,
                "UPDATE deliveries SET status = 'pending', next_attempt_at = $2, updated_at = $2 WHERE id = $1",
                &[&id, &now.unix_millis()],
            )
            .await?;
            let mut jobs = fanout::lease_jobs(&tx, &[id], lease_until).await?;
            jobs.pop().ok_or(StoreError::NotFound)
        })
    }

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
            fanout::jobs_from_rows(&claimed)
        })
    }

    async fn record_attempts(&self, records: Vec<AttemptRecord>, context: RecordContext) -> StoreResult<RecordOutcome> {
        if records.is_empty() {
            return Ok(RecordOutcome::default());
        }
        transaction!(self, |tx| record::record(&tx, records.clone(), context).await)
    }

    async fn recover_webhook(
        &self,
        platform: &PlatformId,
        id: &WebhookId,
        since: Timestamp,
        now: Timestamp,
    ) -> StoreResult<usize> {
        let (platform, id) = (platform.as_str(), id.as_str());
        transaction!(self, |tx| {
            policy::require_enabled(lock_webhook(&tx, platform, id).await?.enabled)?;
            let recovered = execute(
                &tx,
                "UPDATE deliveries SET status = 'pending', next_attempt_at = $3, leased_until = NULL, updated_at = $3 \
                 WHERE webhook_id = $1 AND status = 'failed' AND created_at >= $2",
                &[&id, &since.unix_millis(), &now.unix_millis()],
            )
            .await?;
            Ok(recovered as usize)
        })
    }

    async fn list_notifications(&self, platform: &PlatformId, page: Page) -> StoreResult<Vec<Notification>> {
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE platform_id = $1 \
             AND ($2::text IS NULL OR id < $2::text) ORDER BY id DESC LIMIT $3"
        );
        let client = self.client().await?;
        let found = query(&client, &sql, &[&platform.as_str(), &page.after, &limit(&page)]).await?;
        found.iter().map(|row| decode::notification(row)).collect()
    }

    async fn claim_notifications(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // `SKIP LOCKED`: two nodes claiming at once never both send one notice.
        let columns: Vec<String> = NOTIFICATION_COLUMNS.split(", ").map(|c| format!("n.{}", c.trim())).collect();
        let sql = format!(
            "WITH due AS (SELECT id, next_attempt_at FROM notifications WHERE status = 'pending' \
             AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE notifications n SET next_attempt_at = $3 FROM due WHERE n.id = due.id \
             RETURNING {}, due.next_attempt_at",
            columns.join(", ")
        );
        let limit = limit.min(i64::MAX as usize) as i64;
        let due = transaction!(self, |tx| {
            query(&tx, &sql, &[&now.unix_millis(), &limit, &lease_until.unix_millis()]).await
        })?;
        let mut claimed = Vec::with_capacity(due.len());
        for row in &due {
            claimed.push((row.int(NOTIFICATION_COLUMN_COUNT)?, decode::notification(row)?));
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
                "UPDATE notifications SET status = $2, subject = COALESCE($3, subject), send_error = $4, \
                 next_attempt_at = $5, sent_at = $6, attempts = attempts + 1 WHERE id = $1",
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
