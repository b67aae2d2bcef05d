//! `impl Store for SqliteStore`: every query of the SQLite backend.

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::delivery::{AttemptRecord, DeliveryJob, DeliveryStatus};
use hookline_core::event::{Event, NewEvent};
use hookline_core::ids::{DeliveryId, EventId, NotificationId, PlatformId, WebhookId};
use hookline_core::notification::Notification;
use hookline_core::platform::{EventType, Platform};
use hookline_core::secret::{KeyHash, Secret};
use hookline_core::webhook::{EventFilter, Webhook};
use rusqlite::{Connection, OptionalExtension, params};

use super::fanout::{event_type_exists, find_event, load_webhook};
use super::rows::{SUMMARY_COLUMNS, lift};
use super::{SqliteStore, fanout, record};
use crate::decode::{
    self, ATTEMPT_COLUMNS, EVENT_COLUMNS, JOB_COLUMNS, NOTIFICATION_COLUMNS, PLATFORM_COLUMNS, WEBHOOK_COLUMNS,
};
use crate::policy::{self, page_limit as limit};
use crate::{
    ClaimRequest, DeliveryDetail, DeliverySummary, NotificationResult, Page, Published, RecordContext, RecordOutcome,
    Store, StoreError, StoreResult, Target, WebhookPatch,
};

/// Collects the nested results of [`lift`]ed decoders.
fn collect<T>(rows: impl Iterator<Item = rusqlite::Result<StoreResult<T>>>) -> StoreResult<Vec<T>> {
    rows.map(|row| row?).collect()
}

fn check_filter(conn: &Connection, platform: &str, filter: &EventFilter) -> StoreResult<()> {
    if let EventFilter::Only(names) = filter {
        for name in names {
            if !event_type_exists(conn, platform, name.as_str())? {
                return Err(StoreError::UnknownEventType(name.as_str().to_owned()));
            }
        }
    }
    Ok(())
}

fn load_summary(conn: &Connection, platform: &str, id: &str) -> StoreResult<DeliverySummary> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM deliveries d JOIN events e ON e.pk = d.event_pk \
         JOIN webhooks w ON w.id = d.webhook_id WHERE d.platform_id = ?1 AND d.id = ?2"
    );
    conn.prepare_cached(&sql)?
        .query_row(params![platform, id], lift(decode::summary))
        .optional()?
        .ok_or(StoreError::NotFound)?
}

/// Loads jobs for rows selected by `where_clause` (bound to `params`), earliest due first, leases them until
/// `lease_until`, and renders each event's body once.
fn lease_jobs(
    conn: &Connection,
    where_clause: &str,
    params: impl rusqlite::Params,
    lease_until: Timestamp,
) -> StoreResult<Vec<DeliveryJob>> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM deliveries d JOIN events e ON e.pk = d.event_pk \
         JOIN webhooks w ON w.id = d.webhook_id WHERE {where_clause} ORDER BY d.next_attempt_at, d.id"
    );
    let mut bodies = decode::Bodies::new();
    let mut select = conn.prepare_cached(&sql)?;
    let jobs = collect(select.query_map(params, |row| Ok(decode::job(row, &mut bodies)))?)?;
    let mut lease = conn.prepare_cached("UPDATE deliveries SET leased_until = ?2 WHERE id = ?1")?;
    for job in &jobs {
        lease.execute(params![job.delivery_id.as_str(), lease_until.unix_millis()])?;
    }
    Ok(jobs)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }

    async fn create_platform(&self, platform: Platform, key_hash: KeyHash) -> StoreResult<()> {
        self.write(move |conn| {
            conn.prepare_cached(&format!("INSERT INTO platforms ({PLATFORM_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"))?
                .execute(params![
                    platform.id.as_str(),
                    platform.name,
                    platform.url,
                    platform.email,
                    platform.created_at.unix_millis()
                ])?;
            conn.prepare_cached("INSERT INTO api_keys (key_hash, platform_id, created_at) VALUES (?1, ?2, ?3)")?
                .execute(params![key_hash.0, platform.id.as_str(), platform.created_at.unix_millis()])?;
            Ok(())
        })
        .await
    }

    async fn platform_by_key(&self, key_hash: KeyHash) -> StoreResult<Option<Platform>> {
        self.read(move |conn| {
            let sql = format!(
                "SELECT {} FROM api_keys k JOIN platforms p ON p.id = k.platform_id WHERE k.key_hash = ?1",
                PLATFORM_COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ")
            );
            conn.prepare_cached(&sql)?.query_row([key_hash.0], lift(decode::platform)).optional()?.transpose()
        })
        .await
    }

    async fn list_event_types(&self, platform: &PlatformId) -> StoreResult<Vec<EventType>> {
        let platform = platform.to_string();
        self.read(move |conn| {
            let mut types = decode::built_in_event_types();
            let mut statement =
                conn.prepare_cached("SELECT name, description FROM event_types WHERE platform_id = ?1 ORDER BY name")?;
            types.extend(collect(statement.query_map([platform], lift(decode::custom_event_type))?)?);
            Ok(types)
        })
        .await
    }

    async fn create_event_type(&self, platform: &PlatformId, event_type: EventType, now: Timestamp) -> StoreResult<()> {
        let platform = platform.to_string();
        self.write(move |conn| {
            if event_type_exists(conn, &platform, &event_type.name)? {
                return Err(StoreError::Conflict(format!("event type {} already exists", event_type.name)));
            }
            conn.prepare_cached(
                "INSERT INTO event_types (platform_id, name, description, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![platform, event_type.name, event_type.description, now.unix_millis()])?;
            Ok(())
        })
        .await
    }

    async fn create_webhook(&self, webhook: Webhook) -> StoreResult<()> {
        self.write(move |conn| {
            fanout::forget_webhooks();
            check_filter(conn, webhook.platform_id.as_str(), &webhook.events)?;
            let sql = format!(
                "INSERT INTO webhooks ({WEBHOOK_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            );
            let previous = webhook.secrets.previous.as_ref();
            conn.prepare_cached(&sql)?.execute(params![
                webhook.id.as_str(),
                webhook.platform_id.as_str(),
                webhook.url.as_str(),
                decode::encode_filter(&webhook.events),
                webhook.description,
                webhook.secrets.current.expose(),
                previous.map(|(secret, _)| secret.expose()),
                previous.map(|(_, until)| until.unix_millis()),
                webhook.enabled,
                webhook.disabled_reason,
                webhook.created_at.unix_millis(),
                webhook.updated_at.unix_millis(),
                webhook.concurrency,
                webhook.failing_since.map(Timestamp::unix_millis),
            ])?;
            Ok(())
        })
        .await
    }

    async fn list_webhooks(&self, platform: &PlatformId, page: Page) -> StoreResult<Vec<Webhook>> {
        let platform = platform.to_string();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE platform_id = ?1 AND (?2 IS NULL OR id > ?2) \
                 ORDER BY id LIMIT ?3"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            collect(statement.query_map(params![platform, page.after, limit(&page)], lift(decode::webhook))?)
        })
        .await
    }

    async fn get_webhook(&self, platform: &PlatformId, id: &WebhookId) -> StoreResult<Webhook> {
        let (platform, id) = (platform.to_string(), id.to_string());
        self.read(move |conn| load_webhook(conn, &platform, &id)).await
    }

    async fn update_webhook(
        &self,
        platform: &PlatformId,
        id: &WebhookId,
        patch: WebhookPatch,
        now: Timestamp,
    ) -> StoreResult<Webhook> {
        let (platform, id) = (platform.to_string(), id.to_string());
        self.write(move |conn| {
            fanout::forget_webhooks();
            let mut webhook = load_webhook(conn, &platform, &id)?;
            if let Some(events) = &patch.events {
                check_filter(conn, &platform, events)?;
            }
            if let Some(enabled) = policy::apply_patch(&mut webhook, patch, now) {
                if enabled {
                    // What was held goes out now, oldest first (the poller claims by due time, then id).
                    conn.prepare_cached(
                        "UPDATE deliveries SET status = 'pending', next_attempt_at = ?2, leased_until = NULL, \
                         updated_at = ?2 WHERE webhook_id = ?1 AND status = 'held'",
                    )?
                    .execute(params![id, now.unix_millis()])?;
                } else {
                    conn.prepare_cached(
                        "UPDATE deliveries SET status = 'held', next_attempt_at = NULL, updated_at = ?2 \
                         WHERE webhook_id = ?1 AND status = 'pending'",
                    )?
                    .execute(params![id, now.unix_millis()])?;
                }
            }
            conn.prepare_cached(
                "UPDATE webhooks SET url = ?3, events = ?4, description = ?5, enabled = ?6, disabled_reason = ?7, \
                 updated_at = ?8, concurrency = ?9, failing_since = ?10 WHERE platform_id = ?1 AND id = ?2",
            )?
            .execute(params![
                platform,
                id,
                webhook.url.as_str(),
                decode::encode_filter(&webhook.events),
                webhook.description,
                webhook.enabled,
                webhook.disabled_reason,
                now.unix_millis(),
                webhook.concurrency,
                webhook.failing_since.map(Timestamp::unix_millis)
            ])?;
            Ok(webhook)
        })
        .await
    }

    async fn delete_webhook(&self, platform: &PlatformId, id: &WebhookId) -> StoreResult<()> {
        let (platform, id) = (platform.to_string(), id.to_string());
        self.write(move |conn| {
            fanout::forget_webhooks();
            let deleted = conn
                .prepare_cached("DELETE FROM webhooks WHERE platform_id = ?1 AND id = ?2")?
                .execute(params![platform, id])?;
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            conn.prepare_cached(
                "DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE webhook_id = ?1)",
            )?
            .execute([&id])?;
            conn.prepare_cached("DELETE FROM deliveries WHERE webhook_id = ?1")?.execute([&id])?;
            Ok(())
        })
        .await
    }

    async fn rotate_secret(
        &self,
        platform: &PlatformId,
        id: &WebhookId,
        new_secret: Secret,
        overlap_until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Webhook> {
        let (platform, id) = (platform.to_string(), id.to_string());
        self.write(move |conn| {
            fanout::forget_webhooks();
            let changed = conn
                .prepare_cached(
                    "UPDATE webhooks SET previous_secret = secret, previous_secret_until = ?3, secret = ?4, \
                     updated_at = ?5 WHERE platform_id = ?1 AND id = ?2",
                )?
                .execute(params![platform, id, overlap_until.unix_millis(), new_secret.expose(), now.unix_millis()])?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            load_webhook(conn, &platform, &id)
        })
        .await
    }

    async fn publish_event(
        &self,
        platform: &PlatformId,
        event: NewEvent,
        target: Target,
        now: Timestamp,
        lease_until: Option<Timestamp>,
    ) -> StoreResult<Published> {
        let platform = platform.clone();
        self.write(move |conn| fanout::publish(conn, &platform, event, target, now, lease_until)).await
    }

    async fn list_events(&self, platform: &PlatformId, page: Page) -> StoreResult<Vec<Event>> {
        let platform = platform.to_string();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {EVENT_COLUMNS} FROM events e WHERE e.platform_id = ?1 \
                 AND (?2 IS NULL OR e.pk < (SELECT pk FROM events WHERE platform_id = ?1 AND id = ?2)) \
                 ORDER BY e.pk DESC LIMIT ?3"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            collect(statement.query_map(params![platform, page.after, limit(&page)], lift(decode::event))?)
        })
        .await
    }

    async fn get_event(&self, platform: &PlatformId, id: &EventId) -> StoreResult<(Event, Vec<DeliverySummary>)> {
        let (platform, id) = (platform.to_string(), id.to_string());
        self.read(move |conn| {
            let (pk, event) = find_event(conn, &platform, &id)?.ok_or(StoreError::NotFound)?;
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS} FROM deliveries d JOIN events e ON e.pk = d.event_pk \
                 JOIN webhooks w ON w.id = d.webhook_id WHERE d.event_pk = ?1 ORDER BY d.id"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let deliveries = collect(statement.query_map([pk], lift(decode::summary))?)?;
            Ok((event, deliveries))
        })
        .await
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
        let (platform, id) = (platform.to_string(), id.to_string());
        self.read(move |conn| {
            let summary = load_summary(conn, &platform, &id)?;
            let sql = format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE delivery_id = ?1 ORDER BY attempt_number");
            let mut statement = conn.prepare_cached(&sql)?;
            let attempts = collect(statement.query_map([&id], lift(decode::attempt))?)?;
            Ok(DeliveryDetail { summary, attempts })
        })
        .await
    }

    async fn retry_delivery(
        &self,
        platform: &PlatformId,
        id: &DeliveryId,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<DeliveryJob> {
        let (platform, id) = (platform.to_string(), id.to_string());
        self.write(move |conn| {
            let state: Option<(String, Option<i64>, bool)> = conn
                .prepare_cached(
                    "SELECT d.status, d.leased_until, w.enabled FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                     WHERE d.platform_id = ?1 AND d.id = ?2",
                )?
                .query_row(params![platform, id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .optional()?;
            let (status, leased_until, enabled) = state.ok_or(StoreError::NotFound)?;
            policy::check_retry(&status, leased_until, enabled, now)?;
            conn.prepare_cached(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = ?2, updated_at = ?2 WHERE id = ?1",
            )?
            .execute(params![id, now.unix_millis()])?;
            let mut jobs = lease_jobs(conn, "d.id = ?1", [&id], lease_until)?;
            jobs.pop().ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn claim_due(&self, request: ClaimRequest) -> StoreResult<Vec<DeliveryJob>> {
        self.write_background(move |conn| {
            let now = request.now.unix_millis();
            // Webhooks with claimable work; each is then claimed on its own, oldest due first, so a large backlog
            // of one webhook never stands in front of another's. `max(next_attempt_at, ifnull(leased_until, 0))`
            // is when a pending delivery becomes claimable: it must be written exactly as in the
            // `deliveries_claimable` index, or SQLite does not use the index.
            let mut candidates = conn.prepare_cached(
                "SELECT w.id FROM webhooks w WHERE w.enabled = 1 AND EXISTS (SELECT 1 FROM deliveries d \
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
                )?);
            }
            Ok(jobs)
        })
        .await
    }

    async fn record_attempts(&self, records: Vec<AttemptRecord>, context: RecordContext) -> StoreResult<RecordOutcome> {
        self.write_background(move |conn| record::record(conn, records, context)).await
    }

    async fn recover_webhook(
        &self,
        platform: &PlatformId,
        id: &WebhookId,
        since: Timestamp,
        now: Timestamp,
    ) -> StoreResult<usize> {
        let (platform, id) = (platform.to_string(), id.to_string());
        self.write(move |conn| {
            policy::require_enabled(load_webhook(conn, &platform, &id)?.enabled)?;
            let recovered = conn
                .prepare_cached(
                    "UPDATE deliveries SET status = 'pending', next_attempt_at = ?3, leased_until = NULL, updated_at = ?3 \
                     WHERE webhook_id = ?1 AND status = 'failed' AND created_at >= ?2",
                )?
                .execute(params![id, since.unix_millis(), now.unix_millis()])?;
            Ok(recovered)
        })
        .await
    }

    async fn list_notifications(&self, platform: &PlatformId, page: Page) -> StoreResult<Vec<Notification>> {
        let platform = platform.to_string();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE platform_id = ?1 AND (?2 IS NULL OR id < ?2) \
                 ORDER BY id DESC LIMIT ?3"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            collect(statement.query_map(params![platform, page.after, limit(&page)], lift(decode::notification))?)
        })
        .await
    }

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
            let mut lease = conn.prepare_cached("UPDATE notifications SET next_attempt_at = ?2 WHERE id = ?1")?;
            for notification in &due {
                lease.execute(params![notification.id.as_str(), lease_until.unix_millis()])?;
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
            conn.prepare_cached(
                "UPDATE notifications SET status = ?2, subject = COALESCE(?3, subject), send_error = ?4, \
                 next_attempt_at = ?5, sent_at = ?6, attempts = attempts + 1 WHERE id = ?1",
            )?
            .execute(params![
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
