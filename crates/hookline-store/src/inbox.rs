//! [`InboxStore`]: inboxes (hookline's own test bins) and the requests they capture, on both backends.
//!
//! What both backends promise: an inbox is platform-scoped like every record (another platform's inbox is
//! `NotFound`), except for [`InboxStore::find_inbox`], which serves the public capture URL whose id is the
//! capability. An expired inbox is `NotFound` everywhere from the moment it expires, whether or not the pruner
//! has removed it yet. Each capture takes the next number of its inbox (`seq`) and drops what falls beyond the
//! newest `keep`, in one transaction; captures of one inbox are serialised on its row, so numbers are given in
//! commit order, across nodes, and a live stream following an inbox by `seq` misses nothing.

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::ids::{InboxId, PlatformId, RequestId, WebhookId};
use hookline_core::inbox::{CapturedRequest, Inbox, InboxResponse, Verdict, VerdictNote, WebhookSecrets};

use crate::decode::Columns;
use crate::secrets::SecretCipher;
use crate::{Page, StoreError, StoreResult};

/// Inboxes and their captured requests.
#[async_trait]
pub trait InboxStore: Send + Sync + 'static {
    /// Stores a new inbox.
    async fn create_inbox(&self, inbox: Inbox) -> StoreResult<()>;

    /// A page of the platform's live inboxes, newest first (`page.after` is an inbox id).
    async fn list_inboxes(&self, platform: &PlatformId, page: Page, now: Timestamp) -> StoreResult<Vec<Inbox>>;

    /// One of the platform's live inboxes.
    async fn get_inbox(&self, platform: &PlatformId, id: &InboxId, now: Timestamp) -> StoreResult<Inbox>;

    /// A live inbox by id alone, for its public capture URL; `None` when unknown or expired.
    async fn find_inbox(&self, id: &InboxId, now: Timestamp) -> StoreResult<Option<Inbox>>;

    /// Replaces what a live inbox answers and returns it.
    async fn update_inbox(
        &self,
        platform: &PlatformId,
        id: &InboxId,
        response: InboxResponse,
        now: Timestamp,
    ) -> StoreResult<Inbox>;

    /// Deletes an inbox with its captured requests.
    async fn delete_inbox(&self, platform: &PlatformId, id: &InboxId) -> StoreResult<()>;

    /// The secrets of the platform's webhooks whose URL is `inbox_url`, or starts with it followed by `/` or
    /// `?`: the webhooks that point at that inbox.
    async fn webhooks_pointing_at(&self, platform: &PlatformId, inbox_url: &str) -> StoreResult<Vec<WebhookSecrets>>;

    /// How many requests each of `inboxes` holds now, in the order given; 0 for an inbox that is unknown or
    /// another platform's. For the dashboard's list of inboxes (one look for a whole page).
    async fn count_requests(&self, platform: &PlatformId, inboxes: &[InboxId]) -> StoreResult<Vec<u64>>;

    /// Stores a captured request in its inbox under the inbox's next `seq` (returned, set in the request), and
    /// keeps only the newest `keep` requests of the inbox. `NotFound` when the inbox is gone or expired at `now`.
    async fn capture_request(&self, request: CapturedRequest, keep: usize, now: Timestamp) -> StoreResult<i64>;

    /// A page of a live inbox's requests, newest first (`page.after` is a request id).
    async fn list_requests(
        &self,
        platform: &PlatformId,
        inbox: &InboxId,
        page: Page,
        now: Timestamp,
    ) -> StoreResult<Vec<CapturedRequest>>;

    /// One captured request of a live inbox.
    async fn get_request(
        &self,
        platform: &PlatformId,
        inbox: &InboxId,
        id: &RequestId,
        now: Timestamp,
    ) -> StoreResult<CapturedRequest>;

    /// The live inbox's requests captured after `after_seq`, oldest first, at most `limit`: what a live stream
    /// has not sent yet. `NotFound` once the inbox is deleted or expired, which ends the stream.
    async fn requests_after(
        &self,
        platform: &PlatformId,
        inbox: &InboxId,
        after_seq: i64,
        limit: usize,
        now: Timestamp,
    ) -> StoreResult<Vec<CapturedRequest>>;

    /// Deletes every inbox expired at `now`, with its requests; returns how many inboxes.
    async fn prune_inboxes(&self, now: Timestamp) -> StoreResult<u64>;
}

// ---- Shared row decoding (both backends select the same columns in the same order) ----

/// Columns: id, platform_id, response_status, response_body, response_content_type, response_delay_ms,
/// created_at, expires_at.
pub const INBOX_COLUMNS: &str = "id, platform_id, response_status, response_body, response_content_type, \
     response_delay_ms, created_at, expires_at";

/// Columns common to both backends, then each backend's own two: `body` (BLOB / BYTEA) and `verified`.
pub const REQUEST_COLUMNS: &str = "id, inbox_id, seq, method, path, query, headers, body_truncated, size, \
     received_at, source_ip, verification_code, verification_message, verification_webhook_id, body, verified";

/// The insert's column list, in the order of [`REQUEST_COLUMNS`].
pub const REQUEST_INSERT: &str = "INSERT INTO inbox_requests (id, inbox_id, seq, method, path, query, \
     headers, body_truncated, size, received_at, source_ip, verification_code, verification_message, \
     verification_webhook_id, body, verified)";

fn corrupt(what: &str) -> StoreError {
    StoreError::Database(format!("stored {what} does not parse").into())
}

pub fn inbox(row: &dyn Columns) -> StoreResult<Inbox> {
    Ok(Inbox {
        id: InboxId::parse(&row.text(0)?).ok_or_else(|| corrupt("inbox id"))?,
        platform_id: PlatformId::parse(&row.text(1)?).ok_or_else(|| corrupt("platform id"))?,
        response: InboxResponse {
            status: u16::try_from(row.int(2)?).map_err(|_| corrupt("inbox status"))?,
            body: row.text(3)?,
            content_type: row.text(4)?,
            delay_ms: u32::try_from(row.int(5)?).map_err(|_| corrupt("inbox delay"))?,
        },
        created_at: Timestamp::from_unix_millis(row.int(6)?),
        expires_at: Timestamp::from_unix_millis(row.int(7)?),
    })
}

/// Decodes the shared columns of a request row; the backend reads `body` and `verified` itself.
pub fn request(row: &dyn Columns, body: Vec<u8>, verified: Option<bool>) -> StoreResult<CapturedRequest> {
    let headers: Vec<(String, String)> = serde_json::from_str(&row.text(6)?).map_err(|_| corrupt("request headers"))?;
    let note = match row.opt_text(11)? {
        Some(code) => Some(VerdictNote {
            code,
            message: row.opt_text(12)?.unwrap_or_default(),
            webhook_id: row
                .opt_text(13)?
                .map(|id| WebhookId::parse(&id).ok_or_else(|| corrupt("webhook id")))
                .transpose()?,
        }),
        None => None,
    };
    Ok(CapturedRequest {
        id: RequestId::parse(&row.text(0)?).ok_or_else(|| corrupt("request id"))?,
        inbox_id: InboxId::parse(&row.text(1)?).ok_or_else(|| corrupt("inbox id"))?,
        seq: row.int(2)?,
        method: row.text(3)?,
        path: row.text(4)?,
        query: row.text(5)?,
        headers,
        body,
        body_truncated: row.flag(7)?,
        size: u64::try_from(row.int(8)?).map_err(|_| corrupt("request size"))?,
        received_at: Timestamp::from_unix_millis(row.int(9)?),
        source_ip: row.opt_text(10)?,
        verdict: Verdict { verified, note },
    })
}

/// Headers as stored: a JSON array of `[name, value]` pairs.
pub fn headers_json(headers: &[(String, String)]) -> StoreResult<String> {
    serde_json::to_string(headers).map_err(|e| StoreError::Database(Box::new(e)))
}

/// A webhook's secrets from its `secret, previous_secret, previous_secret_until` columns (after its id),
/// opened with `cipher`.
pub fn webhook_secrets(row: &dyn Columns, cipher: &SecretCipher) -> StoreResult<WebhookSecrets> {
    let id = row.text(0)?;
    Ok(WebhookSecrets {
        secrets: crate::decode::secrets(cipher, &id, row.text(1)?, row.opt_text(2)?, row.opt_int(3)?)?,
        webhook_id: WebhookId::parse(&id).ok_or_else(|| corrupt("webhook id"))?,
    })
}
