//! The events page (filtered by type, time range and delivery status, with the same filters and words as
//! `GET /v1/events`) and one event with its per-webhook status.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use hookline_core::ids::EventId;

use super::errors::{UiError, render};
use super::layout::{self, Layout};
use super::session::Signed;
use super::webhooks::DeliveryRow;
use crate::ops::events::EventFilters;
use crate::{ApiError, AppState, ops, query};

pub(crate) struct EventRow {
    pub id: String,
    pub event_type: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "events.html")]
struct ListPage {
    layout: Layout,
    since: String,
    until: String,
    type_options: Vec<(String, bool)>,
    status_options: Vec<(&'static str, bool)>,
    events: Vec<EventRow>,
    next_query: Option<String>,
    error_field: String,
    error: String,
}

/// `GET /ui/events?type=&since=&until=&status=&after=`.
pub(crate) async fn list(State(state): State<AppState>, signed: Signed, uri: Uri) -> Result<Response, UiError> {
    let filters: EventFilters = query::parse(uri.query().unwrap_or_default())?;
    let platform = &signed.platform.id;
    let chosen_type = filters.event_type.clone().unwrap_or_default();
    let type_options = state
        .inner
        .store
        .list_event_types(platform)
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .map(|t| {
            let selected = t.name == chosen_type;
            (t.name, selected)
        })
        .collect();
    let chosen_status = filters.status.clone().unwrap_or_default();
    let status_options =
        ["pending", "delivered", "failed", "held"].into_iter().map(|s| (s, s == chosen_status)).collect();
    let (events, next, error) = match ops::events::list(&state, platform, &filters).await {
        Ok((events, next)) => (events, next, None),
        Err(ApiError::Validation(e)) => (Vec::new(), None, Some(e)),
        Err(other) => return Err(other.into()),
    };
    let next_query = next.map(|after| {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("type", &filters.event_type),
            ("since", &filters.since),
            ("until", &filters.until),
            ("status", &filters.status),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                pairs.append_pair(key, value);
            }
        }
        pairs.append_pair("after", &after);
        pairs.finish()
    });
    let page = ListPage {
        layout: Layout::signed(&signed, "Events", "events"),
        since: filters.since.clone().unwrap_or_default(),
        until: filters.until.clone().unwrap_or_default(),
        type_options,
        status_options,
        events: events
            .into_iter()
            .map(|e| EventRow { id: e.id.to_string(), event_type: e.event_type, created: layout::time(e.created_at) })
            .collect(),
        next_query,
        error_field: error.as_ref().map(|e| e.field.clone()).unwrap_or_default(),
        error: error.as_ref().map(|e| e.message.clone()).unwrap_or_default(),
    };
    let mut response = render(&page);
    if !page.error.is_empty() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

#[derive(Template)]
#[template(path = "event.html")]
struct ShowPage {
    layout: Layout,
    id: String,
    event_type: String,
    created: String,
    data: String,
    deliveries: Vec<DeliveryRow>,
}

/// Pretty-prints JSON for reading; falls back to the text as stored.
pub(crate) fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}

/// `GET /ui/events/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let id = EventId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let (event, deliveries) = state.inner.store.get_event(&signed.platform.id, &id).await.map_err(ApiError::from)?;
    let page = ShowPage {
        layout: Layout::signed(&signed, format!("Event {}", event.id), "events"),
        id: event.id.to_string(),
        event_type: event.event_type,
        created: layout::time(event.created_at),
        data: pretty(&event.data),
        deliveries: deliveries.into_iter().map(DeliveryRow::new).collect(),
    };
    Ok(render(&page))
}
