//! `impl Store for SqliteStore`: every query of the SQLite backend.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::catalog::{BUILT_IN_EVENT_TYPES, is_built_in};
use hookline_core::delivery::{AttemptRecord, DeliveryJob, DeliveryStatus, NextStep};
use hookline_core::event::{Event, NewEvent};
use hookline_core::ids::{DeliveryId, EventId, PlatformId, WebhookId};
use hookline_core::platform::{EventType, Platform};
use hookline_core::secret::{KeyHash, Secret};
use hookline_core::webhook::{EventFilter, Webhook};
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use super::rows::{
    self, ATTEMPT_COLUMNS, EVENT_COLUMNS, JOB_COLUMNS, PLATFORM_COLUMNS, SUMMARY_COLUMNS, WEBHOOK_COLUMNS,
};
use crate::{DeliveryDetail, DeliverySummary, Page, Published, Store, StoreError, StoreResult, WebhookPatch};

/// Collects `rows::*` decoders' nested results.
fn collect<T>(rows: impl Iterator<Item = rusqlite::Result<StoreResult<T>>>) -> StoreResult<Vec<T>> {
    rows.map(|row| row?).collect()
}

fn limit(page: &Page) -> i64 {
    page.limit.clamp(1, 1000) as i64
}

/// Whether `name` is in the platform's catalog (built in, or added by the platform).
fn event_type_exists(conn: &Connection, platform: &str, name: &str) -> StoreResult<bool> {
    if is_built_in(name) {
        return Ok(true);
    }
    let found = conn
        .prepare_cached("SELECT 1 FROM event_types WHERE platform_id = ?1 AND name = ?2")?
        .query_row(params![platform, name], |_| Ok(()))
        .optional()?;
    Ok(found.is_some())
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

fn load_webhook(conn: &Connection, platform: &str, id: &str) -> StoreResult<Webhook> {
    conn.prepare_cached(&format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE platform_id = ?1 AND id = ?2"))?
        .query_row(params![platform, id], rows::webhook_row)
        .optional()?
        .ok_or(StoreError::NotFound)?
        .decode()
}

fn load_summary(conn: &Connection, platform: &str, id: &str) -> StoreResult<DeliverySummary> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM deliveries d JOIN events e ON e.pk = d.event_pk \
         JOIN webhooks w ON w.id = d.webhook_id WHERE d.platform_id = ?1 AND d.id = ?2"
    );
    conn.prepare_cached(&sql)?
        .query_row(params![platform, id], rows::summary)
        .optional()?
        .ok_or(StoreError::NotFound)?
}

/// Loads jobs for rows selected by `where_clause` (bound to `params`), leases them until `lease_until`, and
/// renders each event's body once.
fn lease_jobs(
    conn: &Connection,
    where_clause: &str,
    params: impl rusqlite::Params,
    lease_until: Timestamp,
) -> StoreResult<Vec<DeliveryJob>> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM deliveries d JOIN events e ON e.pk = d.event_pk \
         JOIN webhooks w ON w.id = d.webhook_id WHERE {where_clause}"
    );
    let job_rows: Vec<rows::JobRow> =
        conn.prepare_cached(&sql)?.query_map(params, rows::job_row)?.collect::<Result<_, _>>()?;
    let mut lease = conn.prepare_cached("UPDATE deliveries SET leased_until = ?2 WHERE id = ?1")?;
    let mut bodies: HashMap<i64, Arc<[u8]>> = HashMap::new();
    let mut jobs = Vec::with_capacity(job_rows.len());
    for row in job_rows {
        let body = bodies.entry(row.event_pk).or_insert_with(|| row.body()).clone();
        let job = row.decode(body)?;
        lease.execute(params![job.delivery_id.as_str(), lease_until.unix_millis()])?;
        jobs.push(job);
    }
    Ok(jobs)
}

fn find_event(conn: &Connection, platform: &str, id: &str) -> StoreResult<Option<(i64, Event)>> {
    // `pk` comes last so that `rows::event` reads the same column positions as everywhere else.
    let sql = format!("SELECT {EVENT_COLUMNS}, e.pk FROM events e WHERE e.platform_id = ?1 AND e.id = ?2");
    let found = conn
        .prepare_cached(&sql)?
        .query_row(params![platform, id], |row| Ok((row.get::<_, i64>(5)?, rows::event(row)?)))
        .optional()?;
    found.map(|(pk, event)| event.map(|event| (pk, event))).transpose()
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
            conn.prepare_cached(&sql)?.query_row([key_hash.0], rows::platform).optional()?.transpose()
        })
        .await
    }

    async fn list_event_types(&self, platform: &PlatformId) -> StoreResult<Vec<EventType>> {
        let platform = platform.to_string();
        self.read(move |conn| {
            let mut types: Vec<EventType> = BUILT_IN_EVENT_TYPES
                .iter()
                .map(|(name, description)| EventType {
                    name: (*name).to_owned(),
                    description: (*description).to_owned(),
                    built_in: true,
                })
                .collect();
            let mut statement =
                conn.prepare_cached("SELECT name, description FROM event_types WHERE platform_id = ?1 ORDER BY name")?;
            let custom = statement.query_map([platform], |row| {
                Ok(EventType { name: row.get(0)?, description: row.get(1)?, built_in: false })
            })?;
            for event_type in custom {
                types.push(event_type?);
            }
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
            check_filter(conn, webhook.platform_id.as_str(), &webhook.events)?;
            let sql = format!(
                "INSERT INTO webhooks ({WEBHOOK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            );
            let previous = webhook.secrets.previous.as_ref();
            conn.prepare_cached(&sql)?.execute(params![
                webhook.id.as_str(),
                webhook.platform_id.as_str(),
                webhook.url.as_str(),
                rows::encode_filter(&webhook.events),
                webhook.description,
                webhook.secrets.current.expose(),
                previous.map(|(secret, _)| secret.expose()),
                previous.map(|(_, until)| until.unix_millis()),
                webhook.enabled,
                webhook.disabled_reason,
                webhook.created_at.unix_millis(),
                webhook.updated_at.unix_millis(),
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
            let rows = statement.query_map(params![platform, page.after, limit(&page)], rows::webhook_row)?;
            rows.map(|row| row?.decode()).collect()
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
            let mut webhook = load_webhook(conn, &platform, &id)?;
            if let Some(events) = patch.events {
                check_filter(conn, &platform, &events)?;
                webhook.events = events;
            }
            if let Some(url) = patch.url {
                webhook.url = url;
            }
            if let Some(description) = patch.description {
                webhook.description = description;
            }
            if let Some(enabled) = patch.enabled {
                if enabled != webhook.enabled {
                    webhook.disabled_reason = (!enabled).then(|| "disabled by the platform".to_owned());
                }
                webhook.enabled = enabled;
            }
            webhook.updated_at = now;
            conn.prepare_cached(
                "UPDATE webhooks SET url = ?3, events = ?4, description = ?5, enabled = ?6, disabled_reason = ?7, \
                 updated_at = ?8 WHERE platform_id = ?1 AND id = ?2",
            )?
            .execute(params![
                platform,
                id,
                webhook.url.as_str(),
                rows::encode_filter(&webhook.events),
                webhook.description,
                webhook.enabled,
                webhook.disabled_reason,
                now.unix_millis()
            ])?;
            Ok(webhook)
        })
        .await
    }

    async fn delete_webhook(&self, platform: &PlatformId, id: &WebhookId) -> StoreResult<()> {
        let (platform, id) = (platform.to_string(), id.to_string());
        self.write(move |conn| {
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
        only: Option<WebhookId>,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<Published> {
        let platform = platform.clone();
        self.write(move |conn| {
            let platform_str = platform.as_str();
            let only_webhook = match &only {
                Some(id) => Some(load_webhook(conn, platform_str, id.as_str())?),
                None => None,
            };
            if !event_type_exists(conn, platform_str, event.event_type.as_str())? {
                return Err(StoreError::UnknownEventType(event.event_type.as_str().to_owned()));
            }
            let inserted: Option<i64> = conn
                .prepare_cached(
                    "INSERT INTO events (platform_id, id, type, data, created_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (platform_id, id) DO NOTHING RETURNING pk",
                )?
                .query_row(
                    params![platform_str, event.id.as_str(), event.event_type.as_str(), event.data, now.unix_millis()],
                    |row| row.get(0),
                )
                .optional()?;
            let Some(event_pk) = inserted else {
                let (pk, existing) = find_event(conn, platform_str, event.id.as_str())?.ok_or(StoreError::NotFound)?;
                let delivery_count: i64 = conn
                    .prepare_cached("SELECT COUNT(*) FROM deliveries WHERE event_pk = ?1")?
                    .query_row([pk], |row| row.get(0))?;
                return Ok(Published {
                    event: existing,
                    created: false,
                    delivery_count: delivery_count as usize,
                    jobs: Vec::new(),
                });
            };
            let stored = Event {
                id: event.id,
                platform_id: platform.clone(),
                event_type: event.event_type.as_str().to_owned(),
                data: event.data,
                created_at: now,
            };
            let body: Arc<[u8]> = stored.delivery_body().into();
            let targets: Vec<Webhook> = match only_webhook {
                Some(webhook) => vec![webhook],
                None => {
                    let mut select = conn.prepare_cached(&format!(
                        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE platform_id = ?1 AND enabled = 1"
                    ))?;
                    let rows = select.query_map([platform_str], rows::webhook_row)?;
                    let mut matching = Vec::new();
                    for row in rows {
                        let webhook = row?.decode()?;
                        if webhook.events.matches(&stored.event_type) {
                            matching.push(webhook);
                        }
                    }
                    matching
                }
            };
            let mut insert = conn.prepare_cached(
                "INSERT INTO deliveries (id, platform_id, event_pk, webhook_id, status, attempt_count, \
                 next_attempt_at, leased_until, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?6, ?5, ?5)",
            )?;
            let mut jobs = Vec::new();
            for webhook in targets {
                let delivery_id = DeliveryId::generate();
                insert.execute(params![
                    delivery_id.as_str(),
                    platform_str,
                    event_pk,
                    webhook.id.as_str(),
                    now.unix_millis(),
                    lease_until.unix_millis()
                ])?;
                jobs.push(DeliveryJob {
                    delivery_id,
                    platform_id: platform.clone(),
                    webhook_id: webhook.id,
                    url: webhook.url,
                    secrets: webhook.secrets,
                    event_id: stored.id.clone(),
                    event_type: stored.event_type.clone(),
                    body: Arc::clone(&body),
                    attempt_number: 1,
                });
            }
            Ok(Published { event: stored, created: true, delivery_count: jobs.len(), jobs })
        })
        .await
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
            collect(statement.query_map(params![platform, page.after, limit(&page)], rows::event)?)
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
            let deliveries = collect(statement.query_map([pk], rows::summary)?)?;
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
        let (platform, webhook) = (platform.to_string(), webhook.to_string());
        self.read(move |conn| {
            load_webhook(conn, &platform, &webhook)?;
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS} FROM deliveries d JOIN events e ON e.pk = d.event_pk \
                 JOIN webhooks w ON w.id = d.webhook_id WHERE d.webhook_id = ?1 \
                 AND (?2 IS NULL OR d.status = ?2) AND (?3 IS NULL OR d.id < ?3) ORDER BY d.id DESC LIMIT ?4"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let status = status.map(DeliveryStatus::as_str);
            collect(statement.query_map(params![webhook, status, page.after, limit(&page)], rows::summary)?)
        })
        .await
    }

    async fn get_delivery(&self, platform: &PlatformId, id: &DeliveryId) -> StoreResult<DeliveryDetail> {
        let (platform, id) = (platform.to_string(), id.to_string());
        self.read(move |conn| {
            let summary = load_summary(conn, &platform, &id)?;
            let sql = format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE delivery_id = ?1 ORDER BY attempt_number");
            let mut statement = conn.prepare_cached(&sql)?;
            let attempts = collect(statement.query_map([&id], rows::attempt)?)?;
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
            if !enabled {
                return Err(StoreError::Conflict("the webhook is disabled; enable it first".into()));
            }
            if status == "pending" && leased_until.is_some_and(|until| until > now.unix_millis()) {
                return Err(StoreError::Conflict("the delivery is being attempted right now".into()));
            }
            conn.prepare_cached(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = ?2, updated_at = ?2 WHERE id = ?1",
            )?
            .execute(params![id, now.unix_millis()])?;
            let mut jobs = lease_jobs(conn, "d.id = ?1", [&id], lease_until)?;
            jobs.pop().ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn claim_due(&self, now: Timestamp, lease_until: Timestamp, limit: usize) -> StoreResult<Vec<DeliveryJob>> {
        self.write(move |conn| {
            lease_jobs(
                conn,
                "d.id IN (SELECT d2.id FROM deliveries d2 JOIN webhooks w2 ON w2.id = d2.webhook_id \
                 WHERE d2.status = 'pending' AND d2.next_attempt_at <= ?1 \
                 AND (d2.leased_until IS NULL OR d2.leased_until <= ?1) AND w2.enabled = 1 \
                 ORDER BY d2.next_attempt_at LIMIT ?2)",
                params![now.unix_millis(), limit as i64],
                lease_until,
            )
        })
        .await
    }

    async fn record_attempts(&self, records: Vec<AttemptRecord>, now: Timestamp) -> StoreResult<()> {
        self.write(move |conn| {
            let mut update = conn.prepare_cached(
                "UPDATE deliveries SET status = ?2, attempt_count = ?3, next_attempt_at = ?4, leased_until = NULL, \
                 updated_at = ?5 WHERE id = ?1",
            )?;
            let mut insert = conn.prepare_cached(&format!(
                "INSERT INTO attempts ({ATTEMPT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))?;
            for AttemptRecord { attempt, next } in records {
                let (status, next_at) = match next {
                    NextStep::Delivered => (DeliveryStatus::Delivered, None),
                    NextStep::RetryAt(at) => (DeliveryStatus::Pending, Some(at.unix_millis())),
                    NextStep::Failed => (DeliveryStatus::Failed, None),
                };
                let changed = update.execute(params![
                    attempt.delivery_id.as_str(),
                    status.as_str(),
                    attempt.attempt_number,
                    next_at,
                    now.unix_millis()
                ])?;
                if changed == 0 {
                    continue;
                }
                insert.execute(params![
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
            }
            Ok(())
        })
        .await
    }

    async fn release(&self, deliveries: Vec<DeliveryId>) -> StoreResult<()> {
        self.write(move |conn| {
            let mut release = conn.prepare_cached("UPDATE deliveries SET leased_until = NULL WHERE id = ?1")?;
            for id in deliveries {
                release.execute([id.as_str()])?;
            }
            Ok(())
        })
        .await
    }
}
