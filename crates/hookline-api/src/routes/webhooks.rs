//! `/v1/webhooks`: create, list, read, update, delete; read and rotate the secret; send a test event.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hookline_core::Timestamp;
use hookline_core::ValidationError;
use hookline_core::catalog::EventTypeName;
use hookline_core::event::NewEvent;
use hookline_core::ids::{EventId, WebhookId};
use hookline_core::secret::Secret;
use hookline_core::webhook::{EventFilter, SigningSecrets, Webhook, WebhookUrl};
use hookline_proto as proto;
use hookline_store::WebhookPatch;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PageQuery;
use crate::auth::PlatformAuth;
use crate::json::{ApiJson, OptionalJson};
use crate::{ApiError, AppState, convert};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(get_secret))
        .routes(routes!(rotate_secret))
        .routes(routes!(test_webhook))
        .routes(routes!(recover_webhook))
}

/// Parses a path id; an id of the wrong shape cannot exist, so it is a 404 like any unknown id.
pub(super) fn webhook_id(text: &str) -> Result<WebhookId, ApiError> {
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

/// Creates a webhook. The answer is the only one besides `GET …/secret` that carries the signing secret.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = proto::CreateWebhook,
    responses((status = 201, body = proto::Webhook), (status = 422, body = proto::ErrorBody)))]
async fn create_webhook(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    ApiJson(body): ApiJson<proto::CreateWebhook>,
) -> Result<(StatusCode, Json<proto::Webhook>), ApiError> {
    let now = Timestamp::now();
    let webhook = Webhook {
        id: WebhookId::generate(),
        platform_id: platform.id,
        url: url(&body.url, &state)?,
        events: filter(&body.events)?,
        description: description(body.description)?.unwrap_or_default(),
        secrets: SigningSecrets { current: Secret::generate(), previous: None },
        enabled: true,
        disabled_reason: None,
        concurrency: concurrency(body.concurrency)?,
        failing_since: None,
        created_at: now,
        updated_at: now,
    };
    state.inner.store.create_webhook(webhook.clone()).await?;
    tracing::info!(webhook_id = %webhook.id, "webhook created");
    let secret = webhook.secrets.current.expose().to_owned();
    let mut shown = convert::webhook(webhook);
    shown.secret = Some(secret);
    Ok((StatusCode::CREATED, Json(shown)))
}

/// Lists the platform's webhooks, oldest first. Secrets are never listed.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", params(PageQuery),
    responses((status = 200, body = proto::List<proto::Webhook>)))]
async fn list_webhooks(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Query(query): Query<PageQuery>,
) -> Result<Json<proto::List<proto::Webhook>>, ApiError> {
    let webhooks = state.inner.store.list_webhooks(&platform.id, query.page()).await?;
    let next_cursor = query.next_cursor(&webhooks, |w| w.id.to_string());
    Ok(Json(proto::List { data: webhooks.into_iter().map(convert::webhook).collect(), next_cursor }))
}

/// Reads one webhook (without its secret).
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = proto::Webhook), (status = 404, body = proto::ErrorBody)))]
async fn get_webhook(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
) -> Result<Json<proto::Webhook>, ApiError> {
    let webhook = state.inner.store.get_webhook(&platform.id, &webhook_id(&id)?).await?;
    Ok(Json(convert::webhook(webhook)))
}

/// Changes a webhook's URL, events, description or enabled state; absent fields stay as they are.
#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    request_body = proto::UpdateWebhook,
    responses((status = 200, body = proto::Webhook), (status = 404, body = proto::ErrorBody), (status = 422, body = proto::ErrorBody)))]
async fn update_webhook(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<proto::UpdateWebhook>,
) -> Result<Json<proto::Webhook>, ApiError> {
    let id = webhook_id(&id)?;
    let patch = WebhookPatch {
        url: body.url.as_deref().map(|u| url(u, &state)).transpose()?,
        events: body.events.as_deref().map(filter).transpose()?,
        description: description(body.description)?,
        enabled: body.enabled,
        concurrency: body.concurrency.map(concurrency).transpose()?,
    };
    let webhook = state.inner.store.update_webhook(&platform.id, &id, patch, Timestamp::now()).await?;
    Ok(Json(convert::webhook(webhook)))
}

/// Deletes a webhook with its delivery history. Deliveries in flight finish; nothing more is sent.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = proto::ErrorBody)))]
async fn delete_webhook(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.inner.store.delete_webhook(&platform.id, &webhook_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reads the signing secret: the only read that shows it.
#[utoipa::path(get, path = "/v1/webhooks/{id}/secret", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = proto::WebhookSecret), (status = 404, body = proto::ErrorBody)))]
async fn get_secret(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
) -> Result<Json<proto::WebhookSecret>, ApiError> {
    let webhook = state.inner.store.get_webhook(&platform.id, &webhook_id(&id)?).await?;
    Ok(Json(convert::secret(&webhook, Timestamp::now())))
}

/// Generates a new secret. The old one keeps signing `webhook-signature` beside it for the overlap (default
/// 24 h), so receivers can switch without dropping deliveries; `X-Tradly-Signature` uses the new one at once.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = proto::WebhookSecret), (status = 404, body = proto::ErrorBody)))]
async fn rotate_secret(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
) -> Result<Json<proto::WebhookSecret>, ApiError> {
    let now = Timestamp::now();
    let overlap_until = now.plus(state.inner.secret_overlap);
    let webhook = state
        .inner
        .store
        .rotate_secret(&platform.id, &webhook_id(&id)?, Secret::generate(), overlap_until, now)
        .await?;
    tracing::info!(webhook_id = %webhook.id, "secret rotated");
    Ok(Json(convert::secret(&webhook, now)))
}

/// Sends a signed test event to this webhook only. The event is stored and delivered like any other.
#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path)),
    request_body(content = Option<proto::TestWebhook>),
    responses((status = 202, body = proto::EventAccepted), (status = 404, body = proto::ErrorBody)))]
async fn test_webhook(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<proto::TestWebhook>,
) -> Result<(StatusCode, Json<proto::EventAccepted>), ApiError> {
    let id = webhook_id(&id)?;
    let body = body.unwrap_or_default();
    let webhook = state.inner.store.get_webhook(&platform.id, &id).await?;
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
    super::events::publish(&state, &platform.id, event, hookline_store::Target::Only(id)).await
}

/// Re-sends every failed delivery of this webhook created since `since`; each is recorded as a new attempt.
#[utoipa::path(post, path = "/v1/webhooks/{id}/recover", tag = "webhooks", params(("id" = String, Path)),
    request_body = proto::RecoverWebhook,
    responses((status = 202, body = proto::Recovered), (status = 404, body = proto::ErrorBody), (status = 409, body = proto::ErrorBody)))]
async fn recover_webhook(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<proto::RecoverWebhook>,
) -> Result<(StatusCode, Json<proto::Recovered>), ApiError> {
    let id = webhook_id(&id)?;
    let since = Timestamp::parse_rfc3339(&body.since)
        .ok_or_else(|| ValidationError::new("since", "must be an RFC 3339 time, e.g. 2026-11-28T00:00:00Z"))?;
    let deliveries = state.inner.store.recover_webhook(&platform.id, &id, since, Timestamp::now()).await?;
    tracing::info!(webhook_id = %id, deliveries, "failed deliveries recovered");
    Ok((StatusCode::ACCEPTED, Json(proto::Recovered { deliveries })))
}
