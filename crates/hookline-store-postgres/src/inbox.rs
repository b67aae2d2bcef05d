//! `impl InboxStore for PgStore`: as its SQLite twin (`sqlite/inbox.rs`). Where several nodes need more, the
//! comment says so: a capture locks its inbox's row while it numbers, inserts and trims, so captures of one inbox
//! commit one after the other and their numbers follow commit order.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use hookline_core::Timestamp;
use hookline_core::ids::{InboxId, PlatformId, RequestId};
use hookline_core::inbox::{CapturedRequest, Inbox, InboxResponse, WebhookSecrets};
use tokio_postgres::Row;

use hookline_store::inbox::{self, INBOX_COLUMNS, REQUEST_COLUMNS, REQUEST_INSERT};
use hookline_store::policy::page_limit;
use hookline_store::{InboxStore, Page, StoreError, StoreResult};

use crate::error::database;
use crate::rows::PgRow;
use crate::{PgStore, execute, query, query_opt};

fn request_row(row: &Row) -> StoreResult<CapturedRequest> {
    let body: Vec<u8> = row.try_get(14).map_err(database)?;
    let verified: Option<bool> = row.try_get(15).map_err(database)?;
    inbox::request(&PgRow(row), body, verified)
}

async fn load_inbox<C: GenericClient>(
    client: &C,
    platform: Option<&str>,
    id: &str,
    now: i64,
) -> StoreResult<Option<Inbox>> {
    let sql = format!(
        "SELECT {INBOX_COLUMNS} FROM inboxes WHERE id = $1 AND expires_at > $2 \
         AND ($3::text IS NULL OR platform_id = $3)"
    );
    query_opt(client, &sql, &[&id, &now, &platform]).await?.map(|row| inbox::inbox(&PgRow(&row))).transpose()
}

async fn live_inbox<C: GenericClient>(client: &C, platform: &str, id: &str, now: i64) -> StoreResult<Inbox> {
    load_inbox(client, Some(platform), id, now).await?.ok_or(StoreError::NotFound)
}

#[async_trait]
impl InboxStore for PgStore {
    async fn create_inbox(&self, inbox: Inbox) -> StoreResult<()> {
        let sql = format!("INSERT INTO inboxes ({INBOX_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
        let client = self.client().await?;
        execute(
            &client,
            &sql,
            &[
                &inbox.id.as_str(),
                &inbox.platform_id.as_str(),
                &i64::from(inbox.response.status),
                &inbox.response.body,
                &inbox.response.content_type,
                &i64::from(inbox.response.delay_ms),
                &inbox.created_at.unix_millis(),
                &inbox.expires_at.unix_millis(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn list_inboxes(&self, platform: &PlatformId, page: Page, now: Timestamp) -> StoreResult<Vec<Inbox>> {
        let sql = format!(
            "SELECT {INBOX_COLUMNS} FROM inboxes WHERE platform_id = $1 AND expires_at > $2 \
             AND ($3::text IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
        );
        let client = self.client().await?;
        let rows =
            query(&client, &sql, &[&platform.as_str(), &now.unix_millis(), &page.after, &page_limit(&page)]).await?;
        rows.iter().map(|row| inbox::inbox(&PgRow(row))).collect()
    }

    async fn get_inbox(&self, platform: &PlatformId, id: &InboxId, now: Timestamp) -> StoreResult<Inbox> {
        let client = self.client().await?;
        live_inbox(&client, platform.as_str(), id.as_str(), now.unix_millis()).await
    }

    async fn find_inbox(&self, id: &InboxId, now: Timestamp) -> StoreResult<Option<Inbox>> {
        let client = self.client().await?;
        load_inbox(&client, None, id.as_str(), now.unix_millis()).await
    }

    async fn update_inbox(
        &self,
        platform: &PlatformId,
        id: &InboxId,
        response: InboxResponse,
        now: Timestamp,
    ) -> StoreResult<Inbox> {
        let sql = format!(
            "UPDATE inboxes SET response_status = $4, response_body = $5, response_content_type = $6, \
             response_delay_ms = $7 WHERE id = $1 AND platform_id = $2 AND expires_at > $3 RETURNING {INBOX_COLUMNS}"
        );
        let client = self.client().await?;
        let row = query_opt(
            &client,
            &sql,
            &[
                &id.as_str(),
                &platform.as_str(),
                &now.unix_millis(),
                &i64::from(response.status),
                &response.body,
                &response.content_type,
                &i64::from(response.delay_ms),
            ],
        )
        .await?
        .ok_or(StoreError::NotFound)?;
        inbox::inbox(&PgRow(&row))
    }

    async fn delete_inbox(&self, platform: &PlatformId, id: &InboxId) -> StoreResult<()> {
        let (platform, id) = (platform.as_str(), id.as_str());
        transaction!(self, |tx| {
            // The inbox row first: it waits for a capture holding the row, so that capture's request is committed
            // (and visible to the next statement, which takes a new snapshot) before the requests are deleted.
            if execute(&tx, "DELETE FROM inboxes WHERE id = $1 AND platform_id = $2", &[&id, &platform]).await? == 0 {
                return Err(StoreError::NotFound.into());
            }
            execute(&tx, "DELETE FROM inbox_requests WHERE inbox_id = $1", &[&id]).await?;
            Ok(())
        })
    }

    async fn webhooks_pointing_at(&self, platform: &PlatformId, inbox_url: &str) -> StoreResult<Vec<WebhookSecrets>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT id, secret, previous_secret, previous_secret_until FROM webhooks WHERE platform_id = $1 \
             AND (url = $2::text OR starts_with(url, $2::text || '/') OR starts_with(url, $2::text || '?')) ORDER BY id",
            &[&platform.as_str(), &inbox_url],
        )
        .await?;
        rows.iter().map(|row| inbox::webhook_secrets(&PgRow(row), &self.secrets)).collect()
    }

    async fn count_requests(&self, platform: &PlatformId, inboxes: &[InboxId]) -> StoreResult<Vec<u64>> {
        if inboxes.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = inboxes.iter().map(InboxId::as_str).collect();
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT r.inbox_id, COUNT(*) FROM inbox_requests r JOIN inboxes i ON i.id = r.inbox_id \
             WHERE i.platform_id = $1 AND r.inbox_id = ANY($2) GROUP BY r.inbox_id",
            &[&platform.as_str(), &ids],
        )
        .await?;
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get(0).map_err(database)?;
            let count: i64 = row.try_get(1).map_err(database)?;
            found.insert(id, u64::try_from(count).unwrap_or(0));
        }
        Ok(ids.iter().map(|id| found.get(*id).copied().unwrap_or(0)).collect())
    }

    async fn capture_request(&self, request: CapturedRequest, keep: usize, now: Timestamp) -> StoreResult<i64> {
        let headers = inbox::headers_json(&request.headers)?;
        let note = request.verdict.note.as_ref();
        let (code, message) = (note.map(|n| n.code.as_str()), note.map(|n| n.message.as_str()));
        let webhook_id = note.and_then(|n| n.webhook_id.as_ref()).map(|id| id.as_str());
        let size = i64::try_from(request.size).unwrap_or(i64::MAX);
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let insert =
            format!("{REQUEST_INSERT} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)");
        transaction!(self, |tx| {
            let inbox_id = request.inbox_id.as_str();
            // Locks the inbox row until commit: the next capture of this inbox waits, so numbers follow commits.
            let seq: i64 = query_opt(
                &tx,
                "UPDATE inboxes SET last_seq = last_seq + 1 WHERE id = $1 AND expires_at > $2 RETURNING last_seq",
                &[&inbox_id, &now.unix_millis()],
            )
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get(0)?;
            execute(
                &tx,
                &insert,
                &[
                    &request.id.as_str(),
                    &inbox_id,
                    &seq,
                    &request.method,
                    &request.path,
                    &request.query,
                    &headers,
                    &request.body_truncated,
                    &size,
                    &request.received_at.unix_millis(),
                    &request.source_ip,
                    &code,
                    &message,
                    &webhook_id,
                    &request.body,
                    &request.verdict.verified,
                ],
            )
            .await?;
            execute(
                &tx,
                "DELETE FROM inbox_requests WHERE inbox_id = $1 AND seq <= $2",
                &[&inbox_id, &seq.saturating_sub(keep)],
            )
            .await?;
            Ok(seq)
        })
    }

    async fn list_requests(
        &self,
        platform: &PlatformId,
        inbox: &InboxId,
        page: Page,
        now: Timestamp,
    ) -> StoreResult<Vec<CapturedRequest>> {
        let client = self.client().await?;
        let inbox = inbox.as_str();
        live_inbox(&client, platform.as_str(), inbox, now.unix_millis()).await?;
        // The cursor is a request id; one trimmed away since had only older requests behind it, now gone too.
        let before: i64 = match &page.after {
            None => i64::MAX,
            Some(after) => {
                query_opt(&client, "SELECT seq FROM inbox_requests WHERE inbox_id = $1 AND id = $2", &[&inbox, after])
                    .await?
                    .map(|row| row.try_get(0).map_err(database))
                    .transpose()?
                    .unwrap_or(0)
            }
        };
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM inbox_requests WHERE inbox_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
        );
        let rows = query(&client, &sql, &[&inbox, &before, &page_limit(&page)]).await?;
        rows.iter().map(request_row).collect()
    }

    async fn get_request(
        &self,
        platform: &PlatformId,
        inbox: &InboxId,
        id: &RequestId,
        now: Timestamp,
    ) -> StoreResult<CapturedRequest> {
        let client = self.client().await?;
        let inbox = inbox.as_str();
        live_inbox(&client, platform.as_str(), inbox, now.unix_millis()).await?;
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM inbox_requests WHERE inbox_id = $1 AND id = $2");
        request_row(&query_opt(&client, &sql, &[&inbox, &id.as_str()]).await?.ok_or(StoreError::NotFound)?)
    }

    async fn requests_after(
        &self,
        platform: &PlatformId,
        inbox: &InboxId,
        after_seq: i64,
        limit: usize,
        now: Timestamp,
    ) -> StoreResult<Vec<CapturedRequest>> {
        let client = self.client().await?;
        let inbox = inbox.as_str();
        live_inbox(&client, platform.as_str(), inbox, now.unix_millis()).await?;
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM inbox_requests WHERE inbox_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = query(&client, &sql, &[&inbox, &after_seq, &limit]).await?;
        rows.iter().map(request_row).collect()
    }

    async fn prune_inboxes(&self, now: Timestamp) -> StoreResult<u64> {
        transaction!(self, |tx| {
            // Inboxes first (waiting for captures that hold their rows), then, in a new snapshot that sees those
            // captures, their requests.
            let gone: Vec<String> =
                query(&tx, "DELETE FROM inboxes WHERE expires_at <= $1 RETURNING id", &[&now.unix_millis()])
                    .await?
                    .iter()
                    .map(|row| row.try_get(0).map_err(database))
                    .collect::<Result<_, _>>()?;
            if !gone.is_empty() {
                execute(&tx, "DELETE FROM inbox_requests WHERE inbox_id = ANY($1)", &[&gone]).await?;
            }
            Ok(gone.len() as u64)
        })
    }
}
