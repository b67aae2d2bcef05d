//! `/v1/webhooks`: create, list, read, update, delete; read and rotate the secret; send a test event.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hookline_core::Timestamp;
use hookline_proto as proto;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PageQuery;
use crate::auth::PlatformAuth;
use crate::json::{ApiJson, OptionalJson};
use crate::query::ApiQuery;
use crate::{ApiError, AppState, convert, ops};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(get_secret))
        .routes(routes!(rotate_secret))
        .routes(routes!(test_webhook))
        .routes(routes!(recover_webhook))
}

pub(super) use crate::ops::webhooks::webhook_id;

/// Creates a webhook. The answer is the only one besides `GET …/secret` that carries the signing secret.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = proto::CreateWebhook,
    responses((status = 201, body = proto::Webhook), (status = 422, body = proto::ErrorBody)))]
async fn create_webhook(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    ApiJson(body): ApiJson<proto::CreateWebhook>,
) -> Result<(StatusCode, Json<proto::Webhook>), ApiError> {
    let webhook = ops::webhooks::create(&state, &platform.id, body).await?;
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
    ApiQuery(query): ApiQuery<PageQuery>,
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
    let webhook = ops::webhooks::update(&state, &platform.id, &webhook_id(&id)?, body).await?;
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
    let webhook = ops::webhooks::rotate_secret(&state, &platform.id, &webhook_id(&id)?).await?;
    Ok(Json(convert::secret(&webhook, Timestamp::now())))
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
    let body = body.unwrap_or_default();
    let accepted = ops::webhooks::send_test(&state, &platform.id, &webhook_id(&id)?, body).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
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
    let deliveries = ops::webhooks::recover(&state, &platform.id, &webhook_id(&id)?, &body.since).await?;
    Ok((StatusCode::ACCEPTED, Json(proto::Recovered { deliveries })))
}
