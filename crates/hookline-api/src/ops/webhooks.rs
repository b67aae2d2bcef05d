//! Webhook operations: create, update, rotate the secret, send a test event, recover failed deliveries.

use hookline_core::catalog::EventTypeName;
use hookline_core::event::NewEvent;
use hookline_core::ids::{EventId, PlatformId, WebhookId};
use hookline_core::secret::Secret;
use hookline_core::webhook::{EventFilter, SigningSecrets, Webhook, WebhookUrl};
use hookline_core::{Timestamp, ValidationError};
use hookline_proto as proto;
use hookline_store::{Target, WebhookPatch};

use crate::{ApiError, AppState};

/// Parses a path id; an id of the wrong shape cannot exist, so it is a 404 like any unknown id.
pub(crate) fn webhook_id(text: &str) -> Result<WebhookId, ApiError> {
    WebhookId::parse(text).ok_or(ApiError::NotFound)
}

fn description(text: Option<String>) -> Result<Option<String>, ApiError> {
    match text {
        Some(text) if text.len() > 1000 => {
            Err(ValidationError::new("description", "must be at most 1000 characters").into())
        }
        other => Ok(other.map(|t| t.trim().to_owned())),
    }
}

/// The most attempts in flight a webhook may ask for.
const MAX_CONCURRENCY: u32 = 256;

/// The highest per-webhook rate limit accepted (attempts per second).
const MAX_RATE_LIMIT: u32 = 10_000;

pub(crate) fn rate_limit(value: Option<u32>) -> Result<Option<u32>, ApiError> {
    match value {
        Some(n) if n == 0 || n > MAX_RATE_LIMIT => {
            Err(ValidationError::new("rate_limit", "must be between 1 and 10000 deliveries per second").into())
        }
        other => Ok(other),
    }
}

fn concurrency(value: Option<u32>) -> Result<Option<u32>, ApiError> {
    match value {
        Some(n) if n == 0 || n > MAX_CONCURRENCY => {
            Err(ValidationError::new("concurrency", "must be between 1 and 256").into())
        }
        other => Ok(other),
    }
}

/// Checks a webhook URL under the server's policy; this server's own inbox URLs pass in any mode.
fn url(text: &str, state: &AppState) -> Result<WebhookUrl, ApiError> {
    let inboxes = &state.inner.inboxes.config.base;
    Ok(WebhookUrl::parse_allowing_own_inboxes(text, state.inner.url_policy, inboxes)?)
}

fn filter(events: &[String]) -> Result<EventFilter, ApiError> {
    Ok(EventFilter::parse(events)?)
}

/// Refuses one more webhook (or `hookline listen` listener: each is fanned out to like a webhook) beyond
/// `limits.max_webhooks`. Counted before creating: creates racing on several nodes may pass the limit by the
/// number in flight.
pub(crate) async fn check_webhook_limit(state: &AppState, platform: &PlatformId) -> Result<(), ApiError> {
    let limit = state.inner.max_webhooks;
    if state.inner.store.webhook_count(platform).await? >= limit {
        return Err(ApiError::LimitReached {
            code: "webhook_limit_reached",
            message: format!(
                "this platform has {limit} webhooks, the most allowed (limits.max_webhooks): delete one first"
            ),
        });
    }
    Ok(())
}

/// Creates a webhook with a fresh signing secret and returns it (secret included: the caller shows it once).
pub(crate) async fn create(
    state: &AppState,
    platform: &PlatformId,
    body: proto::CreateWebhook,
) -> Result<Webhook, ApiError> {
    check_webhook_limit(state, platform).await?;
    let now = Timestamp::now();
    let webhook = Webhook {
        id: WebhookId::generate(),
        platform_id: platform.clone(),
        url: url(&body.url, state)?,
        events: filter(&body.events)?,
        description: description(body.description)?.unwrap_or_default(),
        secrets: SigningSecrets { current: Secret::generate(), previous: None },
        enabled: true,
        disabled_reason: None,
        concurrency: concurrency(body.concurrency)?,
        rate_limit: rate_limit(body.rate_limit)?,
        failing_since: None,
        created_at: now,
        updated_at: now,
        listener: false,
    };
    state.inner.store.create_webhook(webhook.clone()).await?;
    tracing::info!(webhook_id = %webhook.id, "webhook created");
    Ok(webhook)
}

/// Applies a partial update; absent fields stay as they are.
pub(crate) async fn update(
    state: &AppState,
    platform: &PlatformId,
    id: &WebhookId,
    body: proto::UpdateWebhook,
) -> Result<Webhook, ApiError> {
    let patch = WebhookPatch {
        url: body.url.as_deref().map(|u| url(u, state)).transpose()?,
        events: body.events.as_deref().map(filter).transpose()?,
        description: description(body.description)?,
        enabled: body.enabled,
        concurrency: body.concurrency.map(concurrency).transpose()?,
        rate_limit: body.rate_limit.map(rate_limit).transpose()?,
    };
    Ok(state.inner.store.update_webhook(platform, id, patch, Timestamp::now()).await?)
}

/// Makes a new secret current; the old one keeps signing beside it for the configured overlap.
pub(crate) async fn rotate_secret(
    state: &AppState,
    platform: &PlatformId,
    id: &WebhookId,
) -> Result<Webhook, ApiError> {
    let now = Timestamp::now();
    let overlap_until = now.plus(state.inner.secret_overlap);
    let webhook = state.inner.store.rotate_secret(platform, id, Secret::generate(), overlap_until, now).await?;
    tracing::info!(webhook_id = %webhook.id, "secret rotated");
    Ok(webhook)
}

/// Sends a signed test event to this webhook only (of the given type, else its first subscribed type).
pub(crate) async fn send_test(
    state: &AppState,
    platform: &PlatformId,
    id: &WebhookId,
    body: proto::TestWebhook,
) -> Result<proto::EventAccepted, ApiError> {
    let webhook = state.inner.store.get_webhook(platform, id).await?;
    let event_type = match body.event_type {
        Some(name) => EventTypeName::parse("type", &name)?,
        None => match &webhook.events {
            EventFilter::Only(names) if !names.is_empty() => names[0].clone(),
            _ => EventTypeName::parse("type", "user.created")?,
        },
    };
    let data = match body.data {
        Some(raw) => super::events::object_data(raw)?,
        None => format!(r#"{{"test":true,"message":"Test event sent from hookline to {}"}}"#, webhook.id),
    };
    let event = NewEvent { id: EventId::generate(), event_type, data };
    super::events::publish(state, platform, event, Target::Only(id.clone())).await
}

/// Parses the `since` of a recovery.
pub(crate) fn recovery_since(text: &str) -> Result<Timestamp, ApiError> {
    Ok(Timestamp::parse_rfc3339(text.trim())
        .ok_or_else(|| ValidationError::new("since", "must be an RFC 3339 time, e.g. 2026-11-28T00:00:00Z"))?)
}

/// Re-sends every failed delivery of the webhook created since `since`; returns how many.
pub(crate) async fn recover(
    state: &AppState,
    platform: &PlatformId,
    id: &WebhookId,
    since: &str,
) -> Result<usize, ApiError> {
    let since = recovery_since(since)?;
    let deliveries = state.inner.store.recover_webhook(platform, id, since, Timestamp::now()).await?;
    tracing::info!(webhook_id = %id, deliveries, "failed deliveries recovered");
    Ok(deliveries)
}

/// How many deliveries [`recover`] with this `since` would send again now.
pub(crate) async fn recover_preview(
    state: &AppState,
    platform: &PlatformId,
    id: &WebhookId,
    since: &str,
) -> Result<usize, ApiError> {
    let since = recovery_since(since)?;
    Ok(state.inner.store.count_recoverable(platform, id, since).await?)
}
