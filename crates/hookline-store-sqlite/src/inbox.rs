//! `impl InboxStore for SqliteStore`. Writes go through the writer thread like every other write, so a capture's
//! numbering, insert and trimming are one transaction, and captures are numbered in commit order.

use std::sync::Arc;

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::ids::{InboxId, PlatformId, RequestId};
use hookline_core::inbox::{CapturedRequest, Inbox, InboxResponse, WebhookSecrets};
use rusqlite::{Connection, OptionalExtension, Row, params};

use hookline_store::inbox::{self, INBOX_COLUMNS, REQUEST_COLUMNS, REQUEST_INSERT};
use hookline_store::policy::page_limit;
use hookline_store::{InboxStore, Page, StoreError, StoreResult};

use crate::SqliteStore;
use crate::error::DbResult;
use crate::rows::{SqliteRow, lift};

fn request_row(row: &Row<'_>) -> rusqlite::Result<DbResult<CapturedRequest>> {
    let body: Vec<u8> = row.get(14)?;
    let verified: Option<bool> = row.get(15)?;
    Ok(inbox::request(&SqliteRow(row), body, verified).map_err(Into::into))
}

fn collect<T>(rows: impl Iterator<Item = rusqlite::Result<DbResult<T>>>) -> DbResult<Vec<T>> {
    rows.map(|row| row?).collect()
}

fn load_inbox(conn: &Connection, platform: Option<&str>, id: &str, now: i64) -> DbResult<Option<Inbox>> {
    let sql = format!(
        "SELECT {INBOX_COLUMNS} FROM inboxes WHERE id = ?1 AND expires_at > ?2 AND (?3 IS NULL OR platform_id = ?3)"
    );
    conn.prepare_cached(&sql)?.query_row(params![id, now, platform], lift(inbox::inbox)).optional()?.transpose()
}

fn live_inbox(conn: &Connection, platform: &str, id: &str, now: i64) -> DbResult<Inbox> {
    load_inbox(conn, Some(platform), id, now)?.ok_or(StoreError::NotFound.into())
}

#[async_trait]
impl InboxStore for SqliteStore {
    async fn create_inbox(&self, inbox: Inbox) -> StoreResult<()> {
        self.write(move |conn| {
            let sql = format!("INSERT INTO inboxes ({INBOX_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
            conn.prepare_cached(&sql)?.execute(params![
                inbox.id.as_str(),
                inbox.platform_id.as_str(),
                inbox.response.status,
                inbox.response.body,
                inbox.response.content_type,
                inbox.response.delay_ms,
                inbox.created_at.unix_millis(),
                inbox.expires_at.unix_millis(),
            ])?;
            Ok(())
        })
        .await
    }

    async fn list_inboxes(&self, platform: &PlatformId, page: Page, now: Timestamp) -> StoreResult<Vec<Inbox>> {
        let platform = platform.to_string();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {INBOX_COLUMNS} FROM inboxes WHERE platform_id = ?1 AND expires_at > ?2 \
                 AND (?3 IS NULL OR id < ?3) ORDER BY id DESC LIMIT ?4"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let params = params![platform, now.unix_millis(), page.after, page_limit(&page)];
            collect(statement.query_map(params, lift(inbox::inbox))?)
        })
        .await
    }

    async fn get_inbox(&self, platform: &PlatformId, id: &InboxId, now: Timestamp) -> StoreResult<Inbox> {
        let (platform, id) = (platform.to_string(), id.to_string());
        self.read(move |conn| live_inbox(conn, &platform, &id, now.unix_millis())).await
    }

    async fn find_inbox(&self, id: &InboxId, now: Timestamp) -> StoreResult<Option<Inbox>> {
        let id = id.to_string();
        self.read(move |conn| load_inbox(conn, None, &id, now.unix_millis())).await
    }

    async fn update_inbox(
        &self,
        platform: &PlatformId,
        id: &InboxId,
        response: InboxResponse,
        now: Timestamp,
    ) -> StoreResult<Inbox> {
        let (platform, id) = (platform.to_string(), id.to_string());
        self.write(move |conn| {
            let mut inbox = live_inbox(conn, &platform, &id, now.unix_millis())?;
            conn.prepare_cached(
                "UPDATE inboxes SET response_status = ?2, response_body = ?3, response_content_type = ?4, \
                 response_delay_ms = ?5 WHERE id = ?1",
            )?
            .execute(params![
                id,
                response.status,
                response.body,
                response.content_type,
                response.delay_ms
            ])?;
            inbox.response = response;
            Ok(inbox)
        })
        .await
    }

    async fn delete_inbox(&self, platform: &PlatformId, id: &InboxId) -> StoreResult<()> {
        let (platform, id) = (platform.to_string(), id.to_string());
        self.write(move |conn| {
            let deleted = conn
                .prepare_cached("DELETE FROM inboxes WHERE id = ?1 AND platform_id = ?2")?
                .execute(params![id, platform])?;
            if deleted == 0 {
                return Err(StoreError::NotFound.into());
            }
            conn.prepare_cached("DELETE FROM inbox_requests WHERE inbox_id = ?1")?.execute([&id])?;
            Ok(())
        })
        .await
    }

    async fn webhooks_pointing_at(&self, platform: &PlatformId, inbox_url: &str) -> StoreResult<Vec<WebhookSecrets>> {
        let (platform, inbox_url, secrets) = (platform.to_string(), inbox_url.to_owned(), Arc::clone(&self.secrets));
        self.read(move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT id, secret, previous_secret, previous_secret_until FROM webhooks WHERE platform_id = ?1 \
                 AND (url = ?2 OR substr(url, 1, length(?2) + 1) IN (?2 || '/', ?2 || '?')) ORDER BY id",
            )?;
            collect(
                statement.query_map(params![platform, inbox_url], lift(|row| inbox::webhook_secrets(row, &secrets)))?,
            )
        })
        .await
    }

    async fn count_requests(&self, platform: &PlatformId, inboxes: &[InboxId]) -> StoreResult<Vec<u64>> {
        let (platform, inboxes) = (platform.to_string(), inboxes.iter().map(ToString::to_string).collect::<Vec<_>>());
        self.read(move |conn| {
            // One indexed count per inbox (`inbox_requests_seq`), in one read; SQLite runs each in microseconds.
            let mut statement = conn.prepare_cached(
                "SELECT COUNT(*) FROM inbox_requests WHERE inbox_id = ?1 \
                 AND EXISTS (SELECT 1 FROM inboxes WHERE id = ?1 AND platform_id = ?2)",
            )?;
            let mut counts = Vec::with_capacity(inboxes.len());
            for inbox in &inboxes {
                let count: i64 = statement.query_row(params![inbox, platform], |row| row.get(0))?;
                counts.push(u64::try_from(count).unwrap_or(0));
            }
            Ok(counts)
        })
        .await
    }

    async fn capture_request(&self, request: CapturedRequest, keep: usize, now: Timestamp) -> StoreResult<i64> {
        let headers = inbox::headers_json(&request.headers)?;
        self.write(move |conn| {
            let inbox_id = request.inbox_id.as_str();
            let seq: i64 = conn
                .prepare_cached(
                    "UPDATE inboxes SET last_seq = last_seq + 1 WHERE id = ?1 AND expires_at > ?2 RETURNING last_seq",
                )?
                .query_row(params![inbox_id, now.unix_millis()], |row| row.get(0))
                .optional()?
                .ok_or(StoreError::NotFound)?;
            let note = request.verdict.note.as_ref();
            let sql = format!(
                "{REQUEST_INSERT} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
            );
            conn.prepare_cached(&sql)?.execute(params![
                request.id.as_str(),
                inbox_id,
                seq,
                request.method,
                request.path,
                request.query,
                headers,
                request.body_truncated,
                i64::try_from(request.size).unwrap_or(i64::MAX),
                request.received_at.unix_millis(),
                request.source_ip,
                note.map(|n| n.code.as_str()),
                note.map(|n| n.message.as_str()),
                note.and_then(|n| n.webhook_id.as_ref()).map(|id| id.as_str()),
                request.body,
                request.verdict.verified,
            ])?;
            let keep = i64::try_from(keep).unwrap_or(i64::MAX);
            conn.prepare_cached("DELETE FROM inbox_requests WHERE inbox_id = ?1 AND seq <= ?2")?
                .execute(params![inbox_id, seq.saturating_sub(keep)])?;
            Ok(seq)
        })
        .await
    }

    async fn list_requests(
        &self,
        platform: &PlatformId,
        inbox: &InboxId,
        page: Page,
        now: Timestamp,
    ) -> StoreResult<Vec<CapturedRequest>> {
        let (platform, inbox) = (platform.to_string(), inbox.to_string());
        self.read(move |conn| {
            live_inbox(conn, &platform, &inbox, now.unix_millis())?;
            // The cursor is a request id; one trimmed away since had only older requests behind it, now gone too.
            let before = match &page.after {
                None => i64::MAX,
                Some(after) => conn
                    .prepare_cached("SELECT seq FROM inbox_requests WHERE inbox_id = ?1 AND id = ?2")?
                    .query_row(params![inbox, after], |row| row.get(0))
                    .optional()?
                    .unwrap_or(0),
            };
            let sql = format!(
                "SELECT {REQUEST_COLUMNS} FROM inbox_requests WHERE inbox_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            collect(statement.query_map(params![inbox, before, page_limit(&page)], request_row)?)
        })
        .await
    }

    async fn get_request(
        &self,
        platform: &PlatformId,
        inbox: &InboxId,
        id: &RequestId,
        now: Timestamp,
    ) -> StoreResult<CapturedRequest> {
        let (platform, inbox, id) = (platform.to_string(), inbox.to_string(), id.to_string());
        self.read(move |conn| {
            live_inbox(conn, &platform, &inbox, now.unix_millis())?;
            let sql = format!("SELECT {REQUEST_COLUMNS} FROM inbox_requests WHERE inbox_id = ?1 AND id = ?2");
            conn.prepare_cached(&sql)?
                .query_row(params![inbox, id], request_row)
                .optional()?
                .ok_or(StoreError::NotFound)?
        })
        .await
    }

    async fn requests_after(
        &self,
        platform: &PlatformId,
        inbox: &InboxId,
        after_seq: i64,
        limit: usize,
        now: Timestamp,
    ) -> StoreResult<Vec<CapturedRequest>> {
        let (platform, inbox) = (platform.to_string(), inbox.to_string());
        self.read(move |conn| {
            live_inbox(conn, &platform, &inbox, now.unix_millis())?;
            let sql = format!(
                "SELECT {REQUEST_COLUMNS} FROM inbox_requests WHERE inbox_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            collect(statement.query_map(params![inbox, after_seq, limit], request_row)?)
        })
        .await
    }

    async fn prune_inboxes(&self, now: Timestamp) -> StoreResult<u64> {
        self.write_background(move |conn| {
            let now = now.unix_millis();
            conn.prepare_cached(
                "DELETE FROM inbox_requests WHERE inbox_id IN (SELECT id FROM inboxes WHERE expires_at <= ?1)",
            )?
            .execute([now])?;
            let pruned = conn.prepare_cached("DELETE FROM inboxes WHERE expires_at <= ?1")?.execute([now])?;
            Ok(pruned as u64)
        })
        .await
    }
}
