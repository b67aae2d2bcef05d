//! `/v1/listeners`: `hookline listen`'s temporary subscriptions. Create one (a webhook marked as a listener,
//! whose secret the CLI prints), read or delete it, and report what the local URL answered to a streamed
//! delivery. The stream itself is `routes/listener_stream.rs`; the store side is `hookline_store::listen`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hookline_core::delivery::{AttemptOutcome, FailureKind};
use hookline_core::ids::{DeliveryId, WebhookId};
use hookline_core::secret::Secret;
use hookline_core::webhook::{EventFilter, SigningSecrets, UrlPolicy, Webhook, WebhookUrl};
use hookline_core::{Timestamp, ValidationError};
use hookline_proto as proto;
use hookline_store::StoreError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::PlatformAuth;
use crate::json::ApiJson;
use crate::{ApiError, AppState, LISTENER_IDLE_EXPIRY, convert};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_listener))
        .routes(routes!(get_listener, delete_listener))
        .routes(routes!(report_result))
        .routes(routes!(super::listener_stream::stream_deliveries))
}

/// Parses a path id; an id of the wrong shape cannot exist, so it is a 404 like any unknown id.
pub(super) fn listener_id(text: &str) -> Result<WebhookId, ApiError> {
    WebhookId::parse(text).ok_or(ApiError::NotFound)
}

/// One of the platform's listeners; an ordinary webhook is not one (404).
async fn load(
    state: &AppState,
    platform: &hookline_core::ids::PlatformId,
    id: &WebhookId,
) -> Result<Webhook, ApiError> {
    let webhook = state.inner.store.get_webhook(platform, id).await?;
    if !webhook.listener {
        return Err(ApiError::NotFound);
    }
    Ok(webhook)
}

/// Creates a listener: a temporary webhook whose deliveries stream to `GET /v1/listeners/{id}/stream` instead
/// of being POSTed by the server. The answer carries its signing secret. A listener with no stream and no
/// answer for `idle_expiry_seconds` is deleted with its deliveries.
#[utoipa::path(post, path = "/v1/listeners", tag = "listeners", request_body = proto::CreateListener,
    responses((status = 201, body = proto::Listener), (status = 422, body = proto::ErrorBody)))]
async fn create_listener(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    ApiJson(body): ApiJson<proto::CreateListener>,
) -> Result<(StatusCode, Json<proto::Listener>), ApiError> {
    // The server never sends to this URL (the CLI does, on the user's machine): any http(s) URL will do.
    let any = UrlPolicy { allow_http: true, allow_private: true };
    let forward_to =
        WebhookUrl::parse(&body.forward_to, any).map_err(|e| ValidationError::new("forward_to", e.message))?;
    let events = EventFilter::parse(&body.events.unwrap_or_else(|| vec!["*".to_owned()]))?;
    crate::ops::webhooks::check_webhook_limit(&state, &platform.id).await?;
    let now = Timestamp::now();
    let webhook = Webhook {
        id: WebhookId::generate(),
        platform_id: platform.id.clone(),
        description: format!("hookline listen → {}", forward_to.redacted()),
        url: forward_to,
        events,
        secrets: SigningSecrets { current: Secret::generate(), previous: None },
        enabled: true,
        disabled_reason: None,
        concurrency: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
        rate_limit: None,
        listener: true,
    };
    state.inner.store.create_webhook(webhook.clone()).await.map_err(|e| match e {
        StoreError::UnknownEventType(name) => ApiError::UnknownEventType(name, "events"),
        other => other.into(),
    })?;
    tracing::info!(webhook_id = %webhook.id, "listener created");
    let secret = webhook.secrets.current.expose().to_owned();
    let mut shown = convert::listener(webhook, LISTENER_IDLE_EXPIRY);
    shown.secret = Some(secret);
    Ok((StatusCode::CREATED, Json(shown)))
}

/// Reads a listener.
#[utoipa::path(get, path = "/v1/listeners/{id}", tag = "listeners", params(("id" = String, Path)),
    responses((status = 200, body = proto::Listener), (status = 404, body = proto::ErrorBody)))]
async fn get_listener(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
) -> Result<Json<proto::Listener>, ApiError> {
    let webhook = load(&state, &platform.id, &listener_id(&id)?).await?;
    Ok(Json(convert::listener(webhook, LISTENER_IDLE_EXPIRY)))
}

/// Deletes a listener with its deliveries: from now on events create no delivery for it, and its open streams
/// end.
#[utoipa::path(delete, path = "/v1/listeners/{id}", tag = "listeners", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = proto::ErrorBody)))]
async fn delete_listener(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = listener_id(&id)?;
    load(&state, &platform.id, &id).await?;
    state.inner.store.delete_webhook(&platform.id, &id).await?;
    tracing::info!(webhook_id = %id, "listener deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// How long a reported local request may have taken; more is a client error.
const MAX_DURATION_MS: u64 = 24 * 3600 * 1000;

/// What the report says happened, as the attempt log records it.
fn outcome(result: &proto::ListenerResult) -> Result<AttemptOutcome, ApiError> {
    match (result.status, result.error.as_deref()) {
        (Some(status), _) if !(100..=599).contains(&status) => {
            Err(ValidationError::new("status", "must be an HTTP status, 100 to 599").into())
        }
        (Some(status), _) if (200..300).contains(&status) => Ok(AttemptOutcome::Delivered { status }),
        (Some(status), _) => Ok(AttemptOutcome::Failed {
            kind: FailureKind::Status,
            status: Some(status),
            message: format!("HTTP {status} (from hookline listen's local URL)"),
            retry_after: None,
        }),
        (None, Some(error)) => {
            let kind = if result.timed_out { FailureKind::Timeout } else { FailureKind::Connect };
            let error: String = error.chars().take(500).collect();
            Ok(AttemptOutcome::Failed {
                kind,
                status: None,
                message: format!("hookline listen could not reach its local URL: {error}"),
                retry_after: None,
            })
        }
        (None, None) => {
            Err(ValidationError::new("status", "give the local status, or an error when there was none").into())
        }
    }
}

/// Reports what the local URL answered to one streamed delivery. It is recorded as an attempt of that delivery,
/// as if the server had made it: a 2xx delivers it; anything else is a failed attempt, retried on the usual
/// schedule (the stream sends it again when it is due) and counted by the failure policy.
#[utoipa::path(post, path = "/v1/listeners/{id}/results", tag = "listeners", params(("id" = String, Path)),
    request_body = proto::ListenerResult,
    responses((status = 204, description = "Recorded in the delivery's attempt log"),
        (status = 404, body = proto::ErrorBody),
        (status = 409, description = "The delivery is not out with this listener at that attempt (already answered, or never streamed)", body = proto::ErrorBody),
        (status = 422, body = proto::ErrorBody)))]
async fn report_result(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<proto::ListenerResult>,
) -> Result<StatusCode, ApiError> {
    let id = listener_id(&id)?;
    let outcome = outcome(&body)?;
    if body.duration_ms > MAX_DURATION_MS {
        return Err(ValidationError::new("duration_ms", "must be at most a day").into());
    }
    let delivery = DeliveryId::parse(&body.delivery_id)
        .ok_or_else(|| ValidationError::new("delivery_id", "is not a delivery id (dlv_…)"))?;
    let now = Timestamp::now();
    // Seen: the CLI is alive (this also answers 404 for anything but one of the platform's listeners).
    state.inner.store.touch_listener(&platform.id, &id, now).await?;
    let not_out = || ApiError::Conflict("the delivery is not out with this listener at that attempt".into());
    let job = match state.inner.store.listener_job(&platform.id, &id, &delivery).await {
        Ok(job) if job.attempt_number == body.attempt => job,
        Ok(_) | Err(StoreError::NotFound) => return Err(not_out()),
        Err(other) => return Err(other.into()),
    };
    let limit = state.inner.engine.config().max_response_bytes;
    let mut excerpt = body.response_excerpt.unwrap_or_default();
    if excerpt.len() > limit {
        let mut cut = limit;
        while !excerpt.is_char_boundary(cut) {
            cut -= 1;
        }
        excerpt.truncate(cut);
    }
    let started_at = Timestamp::from_unix_millis(now.unix_millis() - body.duration_ms as i64);
    state.inner.engine.record_remote(&job, started_at, body.duration_ms, outcome, excerpt).await;
    Ok(StatusCode::NO_CONTENT)
}
