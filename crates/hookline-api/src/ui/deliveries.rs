//! One delivery: the request body as sent, every attempt (request headers as sent, status, duration, error
//! kind, response headers and excerpt), and a retry button.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use hookline_core::event::render_body;
use hookline_core::headers::HeaderList;
use serde::Deserialize;

use super::errors::{UiError, render};
use super::form::FormData;
use super::layout::{self, Layout};
use super::session::Signed;
use super::webhooks::DeliveryRow;
use crate::ops::deliveries::delivery_id;
use crate::{ApiError, AppState, ops};

pub(crate) struct AttemptRow {
    pub number: u32,
    pub started: String,
    pub duration_ms: u64,
    pub status: String,
    pub ok: bool,
    pub error_kind: String,
    pub error_message: String,
    pub excerpt: String,
    /// The request's headers as sent; `None`: not recorded (or nothing was sent).
    pub request_headers: Option<Vec<(String, String)>>,
    /// The response's headers; `None`: no answer, or not recorded.
    pub response_headers: Option<Vec<(String, String)>>,
    /// How many response headers were not kept.
    pub response_headers_omitted: u32,
}

#[derive(Template)]
#[template(path = "delivery.html")]
struct ShowPage {
    layout: Layout,
    delivery: DeliveryRow,
    body: String,
    attempts: Vec<AttemptRow>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ShowQuery {
    #[serde(default)]
    ok: Option<String>,
}

/// `GET /ui/deliveries/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, UiError> {
    let platform = &signed.platform.id;
    let detail = state.inner.store.get_delivery(platform, &delivery_id(&id)?).await.map_err(ApiError::from)?;
    let (event, _) =
        state.inner.store.get_event(platform, &detail.summary.delivery.event_id).await.map_err(ApiError::from)?;
    // The body is a pure function of the event (core's render_body), so this is byte for byte what was sent.
    let body = render_body(event.id.as_str(), &event.event_type, event.created_at, &event.data);
    let attempts = detail
        .attempts
        .into_iter()
        .map(|a| AttemptRow {
            number: a.attempt_number,
            started: layout::time(a.started_at),
            duration_ms: a.duration_ms,
            status: a.status.map(|s| s.to_string()).unwrap_or_else(|| "—".to_owned()),
            ok: a.error_kind.is_none(),
            error_kind: a.error_kind.map(|k| k.as_str().to_owned()).unwrap_or_default(),
            error_message: a.error_message.unwrap_or_default(),
            excerpt: a.response_excerpt,
            request_headers: a.request_headers.as_ref().map(HeaderList::entries),
            response_headers: a.response_headers.as_ref().map(HeaderList::entries),
            response_headers_omitted: a.response_headers.as_ref().map_or(0, HeaderList::omitted),
        })
        .collect();
    let page = ShowPage {
        layout: Layout::signed(&signed, format!("Delivery {id}"), "events").flash(query.ok.as_deref()),
        delivery: DeliveryRow::new(detail.summary),
        body: String::from_utf8_lossy(&body).into_owned(),
        attempts,
    };
    Ok(render(&page))
}

/// `POST /ui/deliveries/{id}/retry`.
pub(crate) async fn retry(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, UiError> {
    signed.check(&form)?;
    ops::deliveries::retry(&state, &signed.platform.id, &delivery_id(&id)?).await?;
    Ok(Redirect::to(&format!("/ui/deliveries/{id}?ok=retried")).into_response())
}
