//! The webhooks list and one webhook's page: settings, the secret (revealed on request), actions (test
//! send, rotate, enable/disable, recover failed deliveries with a preview) and its deliveries.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use hookline_core::Timestamp;
use hookline_core::webhook::Webhook;
use hookline_proto as proto;
use hookline_store::ui::DeliveryQuery;
use hookline_store::{DeliverySummary, Page};
use serde::Deserialize;

use super::errors::{UiError, render};
use super::form::FormData;
use super::layout::{self, Layout};
use super::session::Signed;
use crate::ops::webhooks::webhook_id;
use crate::routes::PageQuery;
use crate::{ApiError, AppState, ops};

/// A webhook as the pages show it.
pub(crate) struct WebhookView {
    pub id: String,
    pub url: String,
    pub description: String,
    pub events: String,
    pub enabled: bool,
    pub disabled_reason: String,
    pub concurrency: String,
    /// "5/s", or "default".
    pub rate_limit: String,
    pub failing_since: String,
    pub created: String,
}

impl WebhookView {
    pub(crate) fn new(webhook: &Webhook) -> Self {
        Self {
            id: webhook.id.to_string(),
            url: webhook.url.as_str().to_owned(),
            description: webhook.description.clone(),
            events: webhook.events.to_strings().join(", "),
            enabled: webhook.enabled,
            disabled_reason: webhook.disabled_reason.clone().unwrap_or_default(),
            concurrency: webhook.concurrency.map_or_else(|| "default".to_owned(), |n| n.to_string()),
            rate_limit: webhook.rate_limit.map_or_else(|| "default".to_owned(), |n| format!("{n}/s")),
            failing_since: webhook.failing_since.map(layout::time).unwrap_or_default(),
            created: layout::time(webhook.created_at),
        }
    }
}

/// A delivery row of a list.
pub(crate) struct DeliveryRow {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub webhook_id: String,
    pub webhook_url: String,
    pub status: String,
    pub attempts: u32,
    pub last_error: String,
    pub created: String,
    pub next_attempt: String,
}

impl DeliveryRow {
    pub(crate) fn new(summary: DeliverySummary) -> Self {
        let d = summary.delivery;
        Self {
            id: d.id.to_string(),
            event_id: d.event_id.to_string(),
            event_type: d.event_type,
            webhook_id: d.webhook_id.to_string(),
            webhook_url: summary.webhook_url,
            status: d.status.as_str().to_owned(),
            attempts: d.attempt_count,
            last_error: summary.last_error.unwrap_or_default(),
            created: layout::time(d.created_at),
            next_attempt: d.next_attempt_at.map(layout::time).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct ListPage {
    layout: Layout,
    webhooks: Vec<WebhookView>,
    next: Option<String>,
}

/// `GET /ui/webhooks`.
pub(crate) async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<PageQuery>,
) -> Result<Response, UiError> {
    let webhooks = state.inner.store.list_webhooks(&signed.platform.id, query.page()).await.map_err(ApiError::from)?;
    let next = query.next_cursor(&webhooks, |w| w.id.to_string());
    let webhooks = webhooks.iter().map(WebhookView::new).collect();
    Ok(render(&ListPage { layout: Layout::signed(&signed, "Webhooks", "webhooks"), webhooks, next }))
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct ShowPage {
    layout: Layout,
    webhook: WebhookView,
    secret: Option<String>,
    previous_until: String,
    deliveries: Vec<DeliveryRow>,
    status: String,
    status_options: Vec<(&'static str, bool)>,
    since: String,
    until: String,
    next: Option<String>,
    since_default: String,
}

/// `?ok=&status=&after=` on a webhook's page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ShowQuery {
    #[serde(default)]
    ok: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

async fn show_page(
    state: &AppState,
    signed: &Signed,
    id: &str,
    query: ShowQuery,
    secret: Option<String>,
) -> Result<Response, UiError> {
    let id = webhook_id(id)?;
    let platform = &signed.platform.id;
    let webhook = state.inner.store.get_webhook(platform, &id).await.map_err(ApiError::from)?;
    let status = ops::events::optional_status(query.status.as_deref())?;
    let search = DeliveryQuery {
        status,
        since: ops::events::optional_time("since", query.since.as_deref())?,
        until: ops::events::optional_time("until", query.until.as_deref())?,
        page: Page { limit: 50, after: query.after.filter(|a| !a.is_empty()) },
    };
    let deliveries = state.inner.store.search_deliveries(platform, &id, search).await.map_err(ApiError::from)?;
    let next = (deliveries.len() >= 50).then(|| deliveries.last().map(|d| d.delivery.id.to_string())).flatten();
    let (since, until) = (query.since.unwrap_or_default(), query.until.unwrap_or_default());
    let now = Timestamp::now();
    let previous_until =
        webhook.secrets.previous.as_ref().filter(|(_, until)| *until > now).map(|(_, until)| layout::time(*until));
    let view = WebhookView::new(&webhook);
    let page = ShowPage {
        layout: Layout::signed(signed, format!("Webhook {}", view.url), "webhooks").flash(query.ok.as_deref()),
        webhook: view,
        secret,
        previous_until: previous_until.unwrap_or_default(),
        deliveries: deliveries.into_iter().map(DeliveryRow::new).collect(),
        status: status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        status_options: ["pending", "delivered", "failed", "held"]
            .into_iter()
            .map(|s| (s, status.is_some_and(|chosen| chosen.as_str() == s)))
            .collect(),
        since,
        until,
        next,
        since_default: now.minus(std::time::Duration::from_secs(24 * 3600)).to_rfc3339(),
    };
    Ok(render(&page))
}

/// `GET /ui/webhooks/{id}` (the failure email links here).
pub(crate) async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, UiError> {
    show_page(&state, &signed, &id, query, None).await
}

/// `POST /ui/webhooks/{id}/secret`: the page again, with the secret shown (a POST, so it never sits in a URL
/// or the history, and needs the CSRF token).
pub(crate) async fn reveal_secret(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, UiError> {
    signed.check(&form)?;
    let webhook =
        state.inner.store.get_webhook(&signed.platform.id, &webhook_id(&id)?).await.map_err(ApiError::from)?;
    let secret = crate::convert::secret(&webhook, Timestamp::now()).secret;
    show_page(&state, &signed, &id, ShowQuery::default(), Some(secret)).await
}

fn back(id: &str, ok: &str) -> Response {
    Redirect::to(&format!("/ui/webhooks/{id}?ok={ok}")).into_response()
}

/// `POST /ui/webhooks/{id}/rotate`.
pub(crate) async fn rotate(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, UiError> {
    signed.check(&form)?;
    let webhook = ops::webhooks::rotate_secret(&state, &signed.platform.id, &webhook_id(&id)?).await?;
    Ok(back(webhook.id.as_str(), "rotated"))
}

/// `POST /ui/webhooks/{id}/test`.
pub(crate) async fn test(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, UiError> {
    signed.check(&form)?;
    let body = proto::TestWebhook { event_type: form.text("type"), data: None };
    ops::webhooks::send_test(&state, &signed.platform.id, &webhook_id(&id)?, body).await?;
    Ok(back(&id, "test"))
}

/// `POST /ui/webhooks/{id}/enabled` with `enabled=true|false`.
pub(crate) async fn set_enabled(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, UiError> {
    signed.check(&form)?;
    let enabled = form.get("enabled") == Some("true");
    let body = proto::UpdateWebhook { enabled: Some(enabled), ..Default::default() };
    ops::webhooks::update(&state, &signed.platform.id, &webhook_id(&id)?, body).await?;
    Ok(back(&id, if enabled { "enabled" } else { "disabled" }))
}

#[derive(Template)]
#[template(path = "recover.html")]
struct RecoverPage {
    layout: Layout,
    webhook: WebhookView,
    since: String,
    count: Option<usize>,
    error: Option<String>,
}

/// `?since=` of the recovery preview.
#[derive(Debug, Deserialize)]
pub(crate) struct RecoverQuery {
    #[serde(default)]
    since: String,
}

/// `GET /ui/webhooks/{id}/recover?since=`: how many deliveries recovery would resend, and a confirm button.
pub(crate) async fn recover_preview(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(query): Query<RecoverQuery>,
) -> Result<Response, UiError> {
    let webhook_id = webhook_id(&id)?;
    let webhook = state.inner.store.get_webhook(&signed.platform.id, &webhook_id).await.map_err(ApiError::from)?;
    let (count, error) =
        match ops::webhooks::recover_preview(&state, &signed.platform.id, &webhook_id, &query.since).await {
            Ok(count) => (Some(count), None),
            Err(ApiError::Validation(e)) => (None, Some(e.message.to_string())),
            Err(other) => return Err(other.into()),
        };
    let page = RecoverPage {
        layout: Layout::signed(&signed, "Recover failed deliveries", "webhooks"),
        webhook: WebhookView::new(&webhook),
        since: query.since,
        count,
        error,
    };
    let mut response = render(&page);
    if page.error.is_some() {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

/// `POST /ui/webhooks/{id}/recover` with `since`.
pub(crate) async fn recover(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, UiError> {
    signed.check(&form)?;
    let since = form.get("since").unwrap_or_default();
    ops::webhooks::recover(&state, &signed.platform.id, &webhook_id(&id)?, since).await?;
    Ok(back(&id, "recovered"))
}
