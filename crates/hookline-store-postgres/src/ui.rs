//! `impl UiStore for PgStore`: as `sqlite/ui.rs`, on a database several nodes share.

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::event::Event;
use hookline_core::ids::{PlatformId, WebhookId};
use hookline_core::secret::KeyHash;

use crate::error::database;
use crate::fanout::load_webhook;
use crate::rows::{PgRow, SUMMARY_COLUMNS};
use crate::{PgStore, execute, query, query_one, query_opt};
use hookline_store::decode::{self, EVENT_COLUMNS, PLATFORM_COLUMNS};
use hookline_store::policy::page_limit;
use hookline_store::statements;
use hookline_store::ui::{self, DeliveryQuery, EventQuery, Session, UiStore, WebhookHealth, fold_health, health_hours};
use hookline_store::{DeliverySummary, StoreResult};

#[async_trait]
impl UiStore for PgStore {
    async fn create_session(
        &self,
        token: KeyHash,
        platform: &PlatformId,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO ui_sessions (token_hash, platform_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            &[&token.0, &platform.as_str(), &now.unix_millis(), &expires_at.unix_millis()],
        )
        .await?;
        Ok(())
    }

    async fn session(&self, token: KeyHash, now: Timestamp) -> StoreResult<Option<Session>> {
        let columns = PLATFORM_COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {columns}, s.expires_at FROM ui_sessions s JOIN platforms p ON p.id = s.platform_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2"
        );
        let client = self.client().await?;
        match query_opt(&client, &sql, &[&token.0, &now.unix_millis()]).await? {
            Some(row) => Ok(Some(Session {
                platform: decode::platform(&PgRow(&row))?,
                expires_at: Timestamp::from_unix_millis(row.try_get(5).map_err(database)?),
            })),
            None => Ok(None),
        }
    }

    async fn delete_session(&self, token: KeyHash, now: Timestamp) -> StoreResult<()> {
        let client = self.client().await?;
        execute(
            &client,
            "DELETE FROM ui_sessions WHERE token_hash = $1 OR expires_at <= $2",
            &[&token.0, &now.unix_millis()],
        )
        .await?;
        Ok(())
    }

    async fn create_portal_link(
        &self,
        token: KeyHash,
        platform: &PlatformId,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO portal_links (token_hash, platform_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            &[&token.0, &platform.as_str(), &now.unix_millis(), &expires_at.unix_millis()],
        )
        .await?;
        Ok(())
    }

    async fn consume_portal_link(&self, token: KeyHash, now: Timestamp) -> StoreResult<Option<PlatformId>> {
        // DELETE … RETURNING takes the row lock: of two nodes using the same link at once, the second finds
        // the row gone and gets nothing.
        let client = self.client().await?;
        let found = query_opt(
            &client,
            "DELETE FROM portal_links WHERE token_hash = $1 RETURNING platform_id, expires_at",
            &[&token.0],
        )
        .await?;
        let Some(row) = found else { return Ok(None) };
        let (platform, expires_at): (String, i64) =
            (row.try_get(0).map_err(database)?, row.try_get(1).map_err(database)?);
        Ok((expires_at > now.unix_millis()).then(|| PlatformId::parse(&platform)).flatten())
    }

    async fn webhook_health(&self, platform: &PlatformId, now: Timestamp) -> StoreResult<Vec<WebhookHealth>> {
        let (first, last) = health_hours(now);
        let client = self.client().await?;
        // The recorder's counters: at most 24 rows per webhook, found by primary key.
        let rows = query(&client, statements::HOURLY_COUNTS.postgres(), &[&platform.as_str(), &first, &last]).await?;
        let rows = rows
            .iter()
            .map(|row| {
                Ok((
                    row.try_get(0).map_err(database)?,
                    row.try_get(1).map_err(database)?,
                    row.try_get(2).map_err(database)?,
                    row.try_get(3).map_err(database)?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(fold_health(rows, now))
    }

    async fn search_events(&self, platform: &PlatformId, query_: EventQuery) -> StoreResult<Vec<Event>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events e WHERE e.platform_id = $1 \
             AND e.pk < CASE WHEN $2::text IS NULL THEN 9223372036854775807 \
                 ELSE (SELECT pk FROM events WHERE platform_id = $1 AND id = $2::text) END \
             AND ($3::text IS NULL OR e.type = $3::text) AND ($4::bigint IS NULL OR e.created_at >= $4::bigint) \
             AND ($5::bigint IS NULL OR e.created_at < $5::bigint) \
             AND ($6::text IS NULL OR EXISTS \
                  (SELECT 1 FROM deliveries d WHERE d.event_pk = e.pk AND d.status = $6::text)) \
             ORDER BY e.pk DESC LIMIT $7"
        );
        let client = self.client().await?;
        let found = query(
            &client,
            &sql,
            &[
                &platform.as_str(),
                &query_.page.after,
                &query_.event_type,
                &query_.since.map(Timestamp::unix_millis),
                &query_.until.map(Timestamp::unix_millis),
                &query_.status.map(|s| s.as_str()),
                &page_limit(&query_.page),
            ],
        )
        .await?;
        found.iter().map(|row| decode::event(&PgRow(row))).collect()
    }

    async fn search_deliveries(
        &self,
        platform: &PlatformId,
        webhook: &WebhookId,
        query_: DeliveryQuery,
    ) -> StoreResult<Vec<DeliverySummary>> {
        let client = self.client().await?;
        load_webhook(&client, &self.secrets, platform.as_str(), webhook.as_str()).await?;
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM deliveries d JOIN events e ON e.pk = d.event_pk \
             JOIN webhooks w ON w.id = d.webhook_id WHERE d.webhook_id = $1 \
             AND ($2::text IS NULL OR d.status = $2::text) AND d.id < COALESCE($3::text, chr(127)) \
             AND ($4::bigint IS NULL OR d.created_at >= $4::bigint) AND ($5::bigint IS NULL OR d.created_at < $5::bigint) \
             ORDER BY d.id DESC LIMIT $6"
        );
        let found = query(
            &client,
            &sql,
            &[
                &webhook.as_str(),
                &query_.status.map(|s| s.as_str()),
                &query_.page.after,
                &query_.since.map(Timestamp::unix_millis),
                &query_.until.map(Timestamp::unix_millis),
                &page_limit(&query_.page),
            ],
        )
        .await?;
        found.iter().map(|row| decode::summary(&PgRow(row))).collect()
    }

    async fn count_recoverable(
        &self,
        platform: &PlatformId,
        webhook: &WebhookId,
        since: Timestamp,
    ) -> StoreResult<usize> {
        let client = self.client().await?;
        load_webhook(&client, &self.secrets, platform.as_str(), webhook.as_str()).await?;
        let row = query_one(
            &client,
            "SELECT count(*) FROM deliveries WHERE webhook_id = $1 AND status = 'failed' AND created_at >= $2",
            &[&webhook.as_str(), &since.unix_millis()],
        )
        .await?;
        Ok(ui::count(row.try_get(0).map_err(database)?))
    }
}
