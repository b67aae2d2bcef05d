//! The role traits for `SqliteStore`: every query of the SQLite backend.

use std::sync::Arc;

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::delivery::{DeliveryJob, DeliveryStatus};
use hookline_core::event::{Event, NewEvent};
use hookline_core::ids::{DeliveryId, EventId, PlatformId, WebhookId};
use hookline_core::notification::Notification;
use hookline_core::platform::{EventType, Platform};
use hookline_core::secret::{KeyHash, Secret};
use hookline_core::webhook::{EventFilter, Webhook};
use rusqlite::{Connection, OptionalExtension, params};

use hookline_store::decode::{
    self, ATTEMPT_COLUMNS, EVENT_COLUMNS, JOB_COLUMNS, NOTIFICATION_COLUMNS, WEBHOOK_COLUMNS,
};
use hookline_store::policy::{self, page_limit as limit};
use hookline_store::statements;
use hookline_store::{
    ApiStore, DeliveryDetail, DeliverySummary, Page, Published, SecretCipher, StoreError, StoreResult, Target,
    WebhookPatch,
};

use crate::error::DbResult;
use crate::fanout::{event_type_exists, find_event, load_webhook};
use crate::rows::{SUMMARY_COLUMNS, SqliteRow, lift};
use crate::{SqliteStore, fanout};

/// Collects the nested results of [`lift`]ed decoders.
pub(crate) fn collect<T>(rows: impl Iterator<Item = rusqlite::Result<DbResult<T>>>) -> DbResult<Vec<T>> {
    rows.map(|row| row?).collect()
}

fn check_filter(conn: &Connection, platform: &str, filter: &EventFilter) -> DbResult<()> {
    if let EventFilter::Only(names) = filter {
        for name in names {
            if !event_type_exists(conn, platform, name.as_str())? {
                return Err(StoreError::UnknownEventType(name.as_str().to_owned()).into());
            }
        }
    }
    Ok(())
}

fn load_summary(conn: &Connection, platform: &str, id: &str) -> DbResult<DeliverySummary> {
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
pub(crate) fn lease_jobs(
    conn: &Connection,
    where_clause: &str,
    params: impl rusqlite::Params,
    lease_until: Timestamp,
    secrets: &SecretCipher,
) -> DbResult<Vec<DeliveryJob>> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM deliveries d JOIN events e ON e.pk = d.event_pk \
         JOIN webhooks w ON w.id = d.webhook_id WHERE {where_clause} ORDER BY d.next_attempt_at, d.id"
    );
    let mut bodies = decode::Bodies::new();
    let mut select = conn.prepare_cached(&sql)?;
    let jobs = collect(
        select.query_map(params, |row| Ok(decode::job(&SqliteRow(row), &mut bodies, secrets).map_err(Into::into)))?,
    )?;
    let mut lease = conn.prepare_cached("UPDATE deliveries SET leased_until = ?2 WHERE id = ?1")?;
    for job in &jobs {
        lease.execute(params![job.delivery_id.as_str(), lease_until.unix_millis()])?;
    }
    Ok(jobs)
}

#[async_trait]
impl ApiStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read(|conn| Ok(conn.query_row(statements::PING.sqlite(), [], |_| Ok(()))?)).await
    }

    async fn create_platform(&self, platform: Platform, key_hash: KeyHash) -> StoreResult<()> {
        self.write(move |conn| {
            conn.prepare_cached(statements::INSERT_PLATFORM.sqlite())?.execute(params![
                platform.id.as_str(),
                platform.name,
                platform.url,
                platform.email,
                platform.created_at.unix_millis()
            ])?;
            conn.prepare_cached(statements::INSERT_API_KEY.sqlite())?.execute(params![
                key_hash.0,
                platform.id.as_str(),
                platform.created_at.unix_millis()
            ])?;
            Ok(())
        })
        .await
    }

    async fn platform_by_key(&self, key_hash: KeyHash) -> StoreResult<Option<Platform>> {
        self.read(move |conn| {
            let sql = statements::PLATFORM_BY_KEY.sqlite();
            conn.prepare_cached(sql)?.query_row([key_hash.0], lift(decode::platform)).optional()?.transpose()
        })
        .await
    }

    async fn list_event_types(&self, platform: &PlatformId) -> StoreResult<Vec<EventType>> {
        let platform = platform.to_string();
        self.read(move |conn| {
            let mut types = decode::built_in_event_types();
            let mut statement = conn.prepare_cached(statements::CUSTOM_EVENT_TYPES.sqlite())?;
            types.extend(collect(statement.query_map([platform], lift(decode::custom_event_type))?)?);
            Ok(types)
        })
        .await
    }

    async fn create_event_type(&self, platform: &PlatformId, event_type: EventType, now: Timestamp) -> StoreResult<()> {
        let platform = platform.to_string();
        self.write(move |conn| {
            if event_type_exists(conn, &platform, &event_type.name)? {
                return Err(StoreError::Conflict(format!("event type {} already exists", event_type.name)).into());
            }
            conn.prepare_cached(statements::INSERT_EVENT_TYPE.sqlite())?.execute(params![
                platform,
                event_type.name,
                event_type.description,
                now.unix_millis()
            ])?;
            Ok(())
        })
        .await
    }

    async fn create_webhook(&self, webhook: Webhook) -> StoreResult<()> {
        self.write(move |conn| {
            check_filter(conn, webhook.platform_id.as_str(), &webhook.events)?;
            let sql = statements::INSERT_WEBHOOK.sqlite();
            let previous = webhook.secrets.previous.as_ref();
            conn.prepare_cached(sql)?.execute(params![
                webhook.id.as_str(),
                webhook.platform_id.as_str(),
                webhook.url.as_str(),
                decode::encode_filter(&webhook.events),
                webhook.description,
                conn.secrets.seal(webhook.id.as_str(), &webhook.secrets.current)?,
                previous.map(|(secret, _)| conn.secrets.seal(webhook.id.as_str(), secret)).transpose()?,
                previous.map(|(_, until)| until.unix_millis()),
                webhook.enabled,
                webhook.disabled_reason,
                webhook.created_at.unix_millis(),
                webhook.updated_at.unix_millis(),
                webhook.concurrency,
                webhook.failing_since.map(Timestamp::unix_millis),
                webhook.rate_limit,
                webhook.listener,
            ])?;
            Ok(())
        })
        .await
    }

    async fn list_webhooks(&self, platform: &PlatformId, page: Page) -> StoreResult<Vec<Webhook>> {
        let (platform, secrets) = (platform.to_string(), Arc::clone(&self.secrets));
        self.read(move |conn| {
            let sql = format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE platform_id = ?1 AND (?2 IS NULL OR id > ?2) \
                 ORDER BY id LIMIT ?3"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let decode = lift(|row| decode::webhook(row, &secrets));
            collect(statement.query_map(params![platform, page.after, limit(&page)], decode)?)
        })
        .await
    }

    async fn get_webhook(&self, platform: &PlatformId, id: &WebhookId) -> StoreResult<Webhook> {
        let (platform, id, secrets) = (platform.to_string(), id.to_string(), Arc::clone(&self.secrets));
        self.read(move |conn| load_webhook(conn, &secrets, &platform, &id)).await
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
            let mut webhook = load_webhook(conn, &conn.secrets, &platform, &id)?;
            if let Some(events) = &patch.events {
                check_filter(conn, &platform, events)?;
            }
            if let Some(enabled) = policy::apply_patch(&mut webhook, patch, now) {
                if enabled {
                    // What was held goes out now, oldest first (the poller claims by due time, then id).
                    conn.prepare_cached(statements::RELEASE_HELD.sqlite())?.execute(params![id, now.unix_millis()])?;
                } else {
                    conn.prepare_cached(statements::HOLD_PENDING.sqlite())?.execute(params![id, now.unix_millis()])?;
                }
            }
            conn.prepare_cached(statements::UPDATE_WEBHOOK.sqlite())?.execute(params![
                platform,
                id,
                webhook.url.as_str(),
                decode::encode_filter(&webhook.events),
                webhook.description,
                webhook.enabled,
                webhook.disabled_reason,
                now.unix_millis(),
                webhook.concurrency,
                webhook.failing_since.map(Timestamp::unix_millis),
                webhook.rate_limit
            ])?;
            Ok(webhook)
        })
        .await
    }

    async fn delete_webhook(&self, platform: &PlatformId, id: &WebhookId) -> StoreResult<()> {
        let (platform, id) = (platform.to_string(), id.to_string());
        self.write(move |conn| {
            let deleted = conn.prepare_cached(statements::DELETE_WEBHOOK.sqlite())?.execute(params![platform, id])?;
            if deleted == 0 {
                return Err(StoreError::NotFound.into());
            }
            conn.prepare_cached(statements::DELETE_WEBHOOK_ATTEMPTS.sqlite())?.execute([&id])?;
            conn.prepare_cached(statements::DELETE_WEBHOOK_DELIVERIES.sqlite())?.execute([&id])?;
            conn.prepare_cached(statements::DELETE_WEBHOOK_HOURLY.sqlite())?.execute([&id])?;
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
            let changed = conn.prepare_cached(statements::ROTATE_SECRET.sqlite())?.execute(params![
                platform,
                id,
                overlap_until.unix_millis(),
                conn.secrets.seal(&id, &new_secret)?,
                now.unix_millis()
            ])?;
            if changed == 0 {
                return Err(StoreError::NotFound.into());
            }
            load_webhook(conn, &conn.secrets, &platform, &id)
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
        let query = hookline_store::ui::DeliveryQuery { status, page, ..Default::default() };
        hookline_store::UiStore::search_deliveries(self, platform, webhook, query).await
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
                statements::RETRY_DELIVERY.sqlite(),
            )?
            .execute(params![id, now.unix_millis()])?;
            let mut jobs = lease_jobs(conn, "d.id = ?1", [&id], lease_until, &conn.secrets)?;
            Ok(jobs.pop().ok_or(StoreError::NotFound)?)
        })
        .await
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
            policy::require_enabled(load_webhook(conn, &conn.secrets, &platform, &id)?.enabled)?;
            let recovered = conn.prepare_cached(statements::RECOVER_FAILED.sqlite())?.execute(params![
                id,
                since.unix_millis(),
                now.unix_millis()
            ])?;
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
}
