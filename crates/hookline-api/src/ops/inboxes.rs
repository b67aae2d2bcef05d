//! Inbox operations: create (lifetime and response checked in the API's words), reconfigure, delete. The
//! `/v1/inboxes` handlers and the dashboard's inbox pages both call these.

use std::time::Duration;

use hookline_core::ids::{InboxId, PlatformId};
use hookline_core::inbox::CapturedRequest;
use hookline_core::inbox::{Inbox, InboxResponse};
use hookline_core::time::parse_duration;
use hookline_core::{Timestamp, ValidationError};
use hookline_proto as proto;
use hookline_store::Page;

use crate::{ApiError, AppState};

/// Parses a path id; an id of the wrong shape cannot exist, so it is a 404 like any unknown id.
pub(crate) fn inbox_id(text: &str) -> Result<InboxId, ApiError> {
    InboxId::parse(text).ok_or(ApiError::NotFound)
}

/// A configured response from the wire's spec (absent fields: the defaults).
fn response(spec: Option<proto::InboxResponseSpec>) -> Result<InboxResponse, ApiError> {
    let spec = spec.unwrap_or_default();
    Ok(InboxResponse::new(spec.status, spec.body, spec.content_type, spec.delay_ms)?)
}

/// How long a new inbox lives: `expires_in` (a duration like `30m`, `12h`, `7d`, from 1m to the maximum) or the
/// configured default.
fn lifetime(text: Option<&str>, default: Duration, max: Duration) -> Result<Duration, ApiError> {
    let Some(text) = text else { return Ok(default) };
    let invalid = || ValidationError::new("expires_in", "must be a duration like 30m, 12h or 7d");
    let lifetime = parse_duration(text.trim()).ok_or_else(invalid)?;
    if lifetime < Duration::from_secs(60) || lifetime > max {
        let days = max.as_secs() / 86_400;
        return Err(ValidationError::new("expires_in", format!("must be between 1m and {days}d")).into());
    }
    Ok(lifetime)
}

/// Creates an inbox for `platform`.
pub(crate) async fn create(
    state: &AppState,
    platform: &PlatformId,
    body: proto::CreateInbox,
) -> Result<Inbox, ApiError> {
    let config = &state.inner.inboxes.config;
    let lifetime = lifetime(body.expires_in.as_deref(), config.expire_after, config.max_expire_after)?;
    let now = Timestamp::now();
    let inbox = Inbox {
        id: InboxId::generate(),
        platform_id: platform.clone(),
        response: response(body.response)?,
        created_at: now,
        expires_at: now.plus(lifetime),
    };
    state.inner.store.create_inbox(inbox.clone()).await?;
    tracing::info!(inbox_id = %inbox.id, "inbox created");
    Ok(inbox)
}

/// Changes what an inbox answers; fields left out keep their current values.
pub(crate) async fn update(
    state: &AppState,
    platform: &PlatformId,
    id: &InboxId,
    spec: proto::InboxResponseSpec,
) -> Result<Inbox, ApiError> {
    let now = Timestamp::now();
    let current = state.inner.store.get_inbox(platform, id, now).await?.response;
    let response = InboxResponse::new(
        spec.status.or(Some(current.status)),
        spec.body.or(Some(current.body)),
        spec.content_type.or(Some(current.content_type)),
        spec.delay_ms.or(Some(current.delay_ms)),
    )?;
    Ok(state.inner.store.update_inbox(platform, id, response, now).await?)
}

/// Deletes an inbox and what it captured, and ends its live streams on this node.
pub(crate) async fn delete(state: &AppState, platform: &PlatformId, id: &InboxId) -> Result<(), ApiError> {
    state.inner.store.delete_inbox(platform, id).await?;
    // Wakes this node's streams of the inbox, which then find it gone and end.
    let _ = state.inner.inboxes.captured.send(id.clone());
    Ok(())
}

/// The most captured requests one page holds: bodies may be large (up to `inbox.max_body_bytes` each), so pages
/// are smaller than elsewhere.
pub(crate) const MAX_REQUESTS_PAGE: usize = 100;

/// A page of an inbox's captured requests, newest first, and the cursor of the next page when there may be one.
pub(crate) async fn list_requests(
    state: &AppState,
    platform: &PlatformId,
    id: &InboxId,
    mut page: Page,
) -> Result<(Vec<CapturedRequest>, Option<String>), ApiError> {
    page.limit = page.limit.min(MAX_REQUESTS_PAGE);
    let limit = page.limit;
    let requests = state.inner.store.list_requests(platform, id, page, Timestamp::now()).await?;
    let next = (requests.len() >= limit).then(|| requests.last().map(|r| r.id.to_string())).flatten();
    Ok((requests, next))
}
