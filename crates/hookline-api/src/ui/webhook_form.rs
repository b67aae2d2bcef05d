//! Creating and editing a webhook: one form with the catalog's event types as checkboxes. A rejected form is
//! shown again with what was typed and the API's own message beside the field at fault.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hookline_core::ValidationError;
use hookline_core::ids::PlatformId;
use hookline_proto as proto;

use super::errors::{UiError, render};
use super::form::FormData;
use super::layout::Layout;
use super::session::Signed;
use crate::ops::webhooks::webhook_id;
use crate::{ApiError, AppState, ops};

/// One checkbox of the event types.
pub(crate) struct TypeChoice {
    pub name: String,
    pub description: String,
    pub operational: bool,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "webhook_form.html")]
struct FormPage {
    layout: Layout,
    /// The webhook being edited; empty when creating.
    id: String,
    url: String,
    description: String,
    concurrency: String,
    rate_limit: String,
    all_events: bool,
    types: Vec<TypeChoice>,
    /// The field at fault (`url`, `events`, `description`, `concurrency`, `rate_limit`) and the message.
    error_field: String,
    error: String,
}

/// What the form holds, as typed.
struct Values {
    url: String,
    description: String,
    concurrency: String,
    rate_limit: String,
    events: Vec<String>,
}

impl Values {
    fn from_form(form: &FormData) -> Self {
        Self {
            url: form.get("url").unwrap_or_default().trim().to_owned(),
            description: form.get("description").unwrap_or_default().to_owned(),
            concurrency: form.get("concurrency").unwrap_or_default().trim().to_owned(),
            rate_limit: form.get("rate_limit").unwrap_or_default().trim().to_owned(),
            events: form.all("events"),
        }
    }

    /// The in-flight limit: blank means the server's default.
    fn concurrency(&self) -> Result<Option<u32>, ApiError> {
        if self.concurrency.is_empty() {
            return Ok(None);
        }
        self.concurrency
            .parse::<u32>()
            .map(Some)
            .map_err(|_| ValidationError::new("concurrency", "must be between 1 and 256").into())
    }

    /// The rate limit (deliveries per second): blank means the server's default. The range is checked by the
    /// operation, as for the JSON API.
    fn rate_limit(&self) -> Result<Option<u32>, ApiError> {
        if self.rate_limit.is_empty() {
            return Ok(None);
        }
        self.rate_limit
            .parse::<u32>()
            .map(Some)
            .map_err(|_| ValidationError::new("rate_limit", "must be between 1 and 10000 deliveries per second").into())
    }
}

async fn form_page(
    state: &AppState,
    signed: &Signed,
    id: Option<&str>,
    values: Values,
    error: Option<ApiError>,
) -> Result<Response, UiError> {
    let catalog = state.inner.store.list_event_types(&signed.platform.id).await.map_err(ApiError::from)?;
    let all_events = values.events.iter().any(|e| e == "*");
    let types = catalog
        .into_iter()
        .map(|t| TypeChoice {
            checked: values.events.contains(&t.name),
            name: t.name,
            description: t.description,
            operational: t.operational,
        })
        .collect();
    let (error_field, error_text, status) = match error {
        None => (String::new(), String::new(), StatusCode::OK),
        Some(ApiError::Validation(e)) => {
            let field = e.field.split('[').next().unwrap_or_default().to_owned();
            (field, e.message, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Some(error @ ApiError::UnknownEventType(..)) => {
            ("events".to_owned(), error.to_string(), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Some(other) => return Err(other.into()),
    };
    let title = if id.is_some() { "Edit webhook" } else { "New webhook" };
    let page = FormPage {
        layout: Layout::signed(signed, title, "webhooks"),
        id: id.unwrap_or_default().to_owned(),
        url: values.url,
        description: values.description,
        concurrency: values.concurrency,
        rate_limit: values.rate_limit,
        all_events,
        types,
        error_field,
        error: error_text,
    };
    let mut response = render(&page);
    *response.status_mut() = status;
    Ok(response)
}

/// `GET /ui/webhooks/new`.
pub(crate) async fn new(State(state): State<AppState>, signed: Signed) -> Result<Response, UiError> {
    let values = Values {
        url: String::new(),
        description: String::new(),
        concurrency: String::new(),
        rate_limit: String::new(),
        events: Vec::new(),
    };
    form_page(&state, &signed, None, values, None).await
}

async fn create_from(state: &AppState, platform: &PlatformId, values: &Values) -> Result<String, ApiError> {
    let body = proto::CreateWebhook {
        url: values.url.clone(),
        events: values.events.clone(),
        description: Some(values.description.clone()),
        concurrency: values.concurrency()?,
        rate_limit: values.rate_limit()?,
    };
    Ok(ops::webhooks::create(state, platform, body).await?.id.to_string())
}

/// `POST /ui/webhooks`: creates, then shows the new webhook.
pub(crate) async fn create(State(state): State<AppState>, signed: Signed, form: FormData) -> Result<Response, UiError> {
    signed.check(&form)?;
    let values = Values::from_form(&form);
    match create_from(&state, &signed.platform.id, &values).await {
        Ok(id) => Ok(Redirect::to(&format!("/ui/webhooks/{id}?ok=created")).into_response()),
        Err(error) => form_page(&state, &signed, None, values, Some(error)).await,
    }
}

/// `GET /ui/webhooks/{id}/edit`.
pub(crate) async fn edit(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let webhook =
        state.inner.store.get_webhook(&signed.platform.id, &webhook_id(&id)?).await.map_err(ApiError::from)?;
    let values = Values {
        url: webhook.url.as_str().to_owned(),
        description: webhook.description.clone(),
        concurrency: webhook.concurrency.map(|n| n.to_string()).unwrap_or_default(),
        rate_limit: webhook.rate_limit.map(|n| n.to_string()).unwrap_or_default(),
        events: webhook.events.to_strings(),
    };
    form_page(&state, &signed, Some(&id), values, None).await
}

async fn save_from(state: &AppState, platform: &PlatformId, id: &str, values: &Values) -> Result<(), ApiError> {
    let body = proto::UpdateWebhook {
        url: Some(values.url.clone()),
        events: Some(values.events.clone()),
        description: Some(values.description.clone()),
        enabled: None,
        concurrency: Some(values.concurrency()?),
        rate_limit: Some(values.rate_limit()?),
    };
    ops::webhooks::update(state, platform, &webhook_id(id)?, body).await?;
    Ok(())
}

/// `POST /ui/webhooks/{id}/edit`.
pub(crate) async fn save(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, UiError> {
    signed.check(&form)?;
    let values = Values::from_form(&form);
    match save_from(&state, &signed.platform.id, &id, &values).await {
        Ok(()) => Ok(Redirect::to(&format!("/ui/webhooks/{id}?ok=saved")).into_response()),
        Err(error) => form_page(&state, &signed, Some(&id), values, Some(error)).await,
    }
}
