//! `impl UiStore for SqliteStore`: the dashboard's sessions, portal links, health counts and event search.

use std::sync::Arc;

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::event::Event;
use hookline_core::ids::{PlatformId, WebhookId};
use hookline_core::secret::KeyHash;
use rusqlite::{OptionalExtension, params};

use crate::SqliteStore;
use crate::error::Error;
use crate::fanout::load_webhook;
use crate::rows::{SUMMARY_COLUMNS, SqliteRow, lift};
use hookline_store::decode::{self, EVENT_COLUMNS, PLATFORM_COLUMNS};
use hookline_store::policy::page_limit;
use hookline_store::statements;
use hookline_store::ui::{DeliveryQuery, EventQuery, Session, UiStore, WebhookHealth, fold_health, health_hours};
use hookline_store::{DeliverySummary, StoreResult, ui};

#[async_trait]
impl UiStore for SqliteStore {
    async fn create_session(
        &self,
        token: KeyHash,
        platform: &PlatformId,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        let platform = platform.to_string();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO ui_sessions (token_hash, platform_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![token.0, platform, now.unix_millis(), expires_at.unix_millis()])?;
            Ok(())
        })
        .await
    }

    async fn session(&self, token: KeyHash, now: Timestamp) -> StoreResult<Option<Session>> {
        self.read(move |conn| {
            let columns = PLATFORM_COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "SELECT {columns}, s.expires_at FROM ui_sessions s JOIN platforms p ON p.id = s.platform_id \
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2"
            );
            let found = conn
                .prepare_cached(&sql)?
                .query_row(params![token.0, now.unix_millis()], |row| {
                    Ok((decode::platform(&SqliteRow(row)), row.get::<_, i64>(5)?))
                })
                .optional()?;
            match found {
                Some((platform, expires_at)) => {
                    Ok(Some(Session { platform: platform?, expires_at: Timestamp::from_unix_millis(expires_at) }))
                }
                None => Ok(None),
            }
        })
        .await
    }

    async fn delete_session(&self, token: KeyHash, now: Timestamp) -> StoreResult<()> {
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM ui_sessions WHERE token_hash = ?1 OR expires_at <= ?2")?
                .execute(params![token.0, now.unix_millis()])?;
            Ok(())
        })
        .await
    }

    async fn create_portal_link(
        &self,
        token: KeyHash,
        platform: &PlatformId,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        let platform = platform.to_string();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO portal_links (token_hash, platform_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![token.0, platform, now.unix_millis(), expires_at.unix_millis()])?;
            Ok(())
        })
        .await
    }

    async fn consume_portal_link(&self, token: KeyHash, now: Timestamp) -> StoreResult<Option<PlatformId>> {
        // One writer thread runs every write, so the DELETE … RETURNING cannot interleave with another use.
        self.write(move |conn| {
            let found = conn
                .prepare_cached("DELETE FROM portal_links WHERE token_hash = ?1 RETURNING platform_id, expires_at")?
                .query_row(params![token.0], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
                .optional()?;
            Ok(found.filter(|(_, expires)| *expires > now.unix_millis()).and_then(|(id, _)| PlatformId::parse(&id)))
        })
        .await
    }

    async fn webhook_health(&self, platform: &PlatformId, now: Timestamp) -> StoreResult<Vec<WebhookHealth>> {
        let platform = platform.to_string();
        let (first, last) = health_hours(now);
        self.read(move |conn| {
            // The recorder's counters: at most 24 rows per webhook, found by primary key.
            let mut statement = conn.prepare_cached(statements::HOURLY_COUNTS.sqlite())?;
            let rows = statement
                .query_map(params![platform, first, last], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(fold_health(rows, now))
        })
        .await
    }

    async fn search_events(&self, platform: &PlatformId, query: EventQuery) -> StoreResult<Vec<Event>> {
        let platform = platform.to_string();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {EVENT_COLUMNS} FROM events e WHERE e.platform_id = ?1 \
                 AND e.pk < CASE WHEN ?2 IS NULL THEN 9223372036854775807 \
                     ELSE (SELECT pk FROM events WHERE platform_id = ?1 AND id = ?2) END \
                 AND (?3 IS NULL OR e.type = ?3) AND (?4 IS NULL OR e.created_at >= ?4) \
                 AND (?5 IS NULL OR e.created_at < ?5) \
                 AND (?6 IS NULL OR EXISTS (SELECT 1 FROM deliveries d WHERE d.event_pk = e.pk AND d.status = ?6)) \
                 ORDER BY e.pk DESC LIMIT ?7"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let rows = statement.query_map(
                params![
                    platform,
                    query.page.after,
                    query.event_type,
                    query.since.map(Timestamp::unix_millis),
                    query.until.map(Timestamp::unix_millis),
                    query.status.map(|s| s.as_str()),
                    page_limit(&query.page)
                ],
                lift(decode::event),
            )?;
            rows.map(|row| row.map_err(Error::from).and_then(|event| event)).collect()
        })
        .await
    }

    async fn search_deliveries(
        &self,
        platform: &PlatformId,
        webhook: &WebhookId,
        query: DeliveryQuery,
    ) -> StoreResult<Vec<DeliverySummary>> {
        let (platform, webhook, secrets) = (platform.to_string(), webhook.to_string(), Arc::clone(&self.secrets));
        self.read(move |conn| {
            load_webhook(conn, &secrets, &platform, &webhook)?;
            // Keyset-paged on deliveries_webhook (webhook_id, id): ids are time-ordered, newest first. The cursor
            // is a plain range (no `?3 IS NULL OR …`, which kept the planner from seeking to it: a page deep in a
            // million deliveries took 0.27 s instead of 2 ms); char(127) sorts after every id.
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS} FROM deliveries d JOIN events e ON e.pk = d.event_pk \
                 JOIN webhooks w ON w.id = d.webhook_id WHERE d.webhook_id = ?1 \
                 AND (?2 IS NULL OR d.status = ?2) AND d.id < ifnull(?3, char(127)) \
                 AND (?4 IS NULL OR d.created_at >= ?4) AND (?5 IS NULL OR d.created_at < ?5) \
                 ORDER BY d.id DESC LIMIT ?6"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let rows = statement.query_map(
                params![
                    webhook,
                    query.status.map(|s| s.as_str()),
                    query.page.after,
                    query.since.map(Timestamp::unix_millis),
                    query.until.map(Timestamp::unix_millis),
                    page_limit(&query.page)
                ],
                lift(decode::summary),
            )?;
            rows.map(|row| row.map_err(Error::from).and_then(|summary| summary)).collect()
        })
        .await
    }

    async fn count_recoverable(
        &self,
        platform: &PlatformId,
        webhook: &WebhookId,
        since: Timestamp,
    ) -> StoreResult<usize> {
        let (platform, webhook, secrets) = (platform.to_string(), webhook.to_string(), Arc::clone(&self.secrets));
        self.read(move |conn| {
            load_webhook(conn, &secrets, &platform, &webhook)?;
            let count: i64 = conn
                .prepare_cached(
                    "SELECT count(*) FROM deliveries WHERE webhook_id = ?1 AND status = 'failed' AND created_at >= ?2",
                )?
                .query_row(params![webhook, since.unix_millis()], |row| row.get(0))?;
            Ok(ui::count(count))
        })
        .await
    }
}
