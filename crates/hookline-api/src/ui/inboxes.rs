//! The inspector in the dashboard: the platform's inboxes (create with their response settings, list, delete)
//! and one inbox's captured requests, newest first, each with its signature verdict explained and a
//! copy-as-curl. New captures arrive live over server-sent events (`/ui/inboxes/{id}/stream`, the API's stream
//! code with rows rendered here) when JavaScript is on; without it a reload shows them.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use hookline_core::Timestamp;
use hookline_core::inbox::{CapturedRequest, Inbox};
use hookline_proto as proto;
use hookline_store::Page;
use serde::Deserialize;

use super::curl;
use super::errors::{UiError, render};
use super::form::FormData;
use super::layout::{self, Layout};
use super::session::Signed;
use crate::ops::inboxes::inbox_id;
use crate::routes::inbox_stream::{self, Render};
use crate::{ApiError, AppState, convert, ops};

/// Captured requests per page (each may carry a large body).
const REQUESTS_PER_PAGE: usize = 20;
/// Inboxes per page of the list.
const INBOXES_PER_PAGE: usize = 50;

/// An inbox as the pages show it.
pub(crate) struct InboxView {
    pub id: String,
    pub url: String,
    pub status: u16,
    pub content_type: String,
    pub body: String,
    pub delay_ms: u32,
    pub created: String,
    pub expires: String,
    pub count: u64,
}

impl InboxView {
    fn new(state: &AppState, inbox: Inbox, count: u64) -> Self {
        Self {
            url: state.inner.inboxes.config.base.inbox_url(&inbox.id),
            id: inbox.id.to_string(),
            status: inbox.response.status,
            content_type: inbox.response.content_type,
            body: inbox.response.body,
            delay_ms: inbox.response.delay_ms,
            created: layout::time(inbox.created_at),
            expires: layout::time(inbox.expires_at),
            count,
        }
    }
}

/// One captured request as the inbox page shows it (also rendered alone for the live stream).
pub(crate) struct RequestView {
    pub id: String,
    pub method: String,
    /// Path and query as sent, after the inbox's URL.
    pub target: String,
    pub received: String,
    pub source: String,
    pub headers: Vec<(String, String)>,
    /// The body as text, or a note and its base64 when it is not text.
    pub body: String,
    pub body_base64: bool,
    pub truncated: bool,
    pub kept: usize,
    pub size: u64,
    /// How many bytes were not kept.
    pub cut: u64,
    /// `verified`, `failed` or `unsigned`.
    pub verdict: &'static str,
    /// The reason in a few words (`Body changed since signing`), empty when verified or unsigned.
    pub reason: &'static str,
    /// The verdict's sentence.
    pub message: String,
    /// The webhook whose secret matched (or the only one pointing here, for a failure).
    pub webhook_id: String,
    pub curl: String,
}

/// A failure code of the verdict in a few words, as a receiver would say it.
fn reason(code: &str) -> &'static str {
    match code {
        "header_missing" => "Signature header missing",
        "malformed_header" => "Malformed signature header",
        "timestamp_out_of_tolerance" => "Timestamp outside tolerance",
        "body_changed" => "Body changed since signing",
        "rotated_out_secret" => "Signed with a rotated-out secret",
        "wrong_secret" => "Signed with a different secret",
        "no_secret" => "No webhook points at this inbox",
        _ => "Not verified",
    }
}

impl RequestView {
    pub(crate) fn new(inbox_url: &str, request: CapturedRequest) -> Self {
        let curl = curl::command(inbox_url, &request);
        let kept = request.body.len();
        let mut target = request.path.clone();
        if !request.query.is_empty() {
            target.push('?');
            target.push_str(&request.query);
        }
        let note = request.verdict.note.clone();
        let received = layout::time(request.received_at);
        let verdict = match request.verdict.verified {
            Some(true) => "verified",
            Some(false) => "failed",
            None => "unsigned",
        };
        let wire = convert::captured_request(request);
        let (body, body_base64) = match (wire.body, wire.body_base64) {
            (Some(text), _) => (text, false),
            (None, Some(encoded)) => (encoded, true),
            (None, None) => (String::new(), false),
        };
        Self {
            id: wire.id,
            method: wire.method,
            target,
            received,
            source: wire.source_ip.unwrap_or_default(),
            headers: wire.headers.into_iter().map(|[name, value]| (name, value)).collect(),
            body,
            body_base64,
            truncated: wire.body_truncated,
            kept,
            size: wire.size,
            cut: wire.size.saturating_sub(kept as u64),
            verdict,
            reason: match (verdict, &note) {
                ("failed", Some(note)) => reason(&note.code),
                _ => "",
            },
            message: note.as_ref().map(|n| n.message.clone()).unwrap_or_default(),
            webhook_id: note.and_then(|n| n.webhook_id).map(|id| id.to_string()).unwrap_or_default(),
            curl,
        }
    }
}

/// One captured request's item, alone: what the live stream sends.
#[derive(Template)]
#[template(path = "inbox_request.html")]
struct RequestItem {
    r: RequestView,
}

/// What the create form holds, as typed.
#[derive(Default)]
struct Values {
    expires_in: String,
    status: String,
    content_type: String,
    body: String,
    delay_ms: String,
}

impl Values {
    fn from_form(form: &FormData) -> Self {
        Self {
            expires_in: form.get("expires_in").unwrap_or_default().trim().to_owned(),
            status: form.get("status").unwrap_or_default().trim().to_owned(),
            content_type: form.get("content_type").unwrap_or_default().trim().to_owned(),
            body: form.get("body").unwrap_or_default().to_owned(),
            delay_ms: form.get("delay_ms").unwrap_or_default().trim().to_owned(),
        }
    }

    /// The API's request body. Blank fields take the API's defaults; a number field holding something that is
    /// not a number is passed on as a value out of range, so the API's own check rejects it in its own words.
    fn request(&self) -> proto::CreateInbox {
        let blank = |text: &str| text.is_empty();
        proto::CreateInbox {
            response: Some(proto::InboxResponseSpec {
                status: (!blank(&self.status)).then(|| self.status.parse().unwrap_or(u16::MAX)),
                body: (!blank(&self.body)).then(|| self.body.clone()),
                content_type: (!blank(&self.content_type)).then(|| self.content_type.clone()),
                delay_ms: (!blank(&self.delay_ms)).then(|| self.delay_ms.parse().unwrap_or(u32::MAX)),
            }),
            expires_in: (!blank(&self.expires_in)).then(|| self.expires_in.clone()),
        }
    }
}

#[derive(Template)]
#[template(path = "inboxes.html")]
struct ListPage {
    layout: Layout,
    inboxes: Vec<InboxView>,
    next: Option<String>,
    values: Values,
    /// The form's field at fault (`expires_in`, `status`, `content_type`, `body`, `delay_ms`) and the API's
    /// message, with the API's field name.
    error_field: String,
    error: String,
}

/// `?ok=&after=` of the list.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    ok: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

async fn list_page(
    state: &AppState,
    signed: &Signed,
    query: ListQuery,
    values: Values,
    error: Option<ApiError>,
) -> Result<Response, UiError> {
    let platform = &signed.platform.id;
    let page = Page { limit: INBOXES_PER_PAGE, after: query.after.filter(|a| !a.is_empty()) };
    let inboxes = state.inner.store.list_inboxes(platform, page, Timestamp::now()).await.map_err(ApiError::from)?;
    let next = (inboxes.len() >= INBOXES_PER_PAGE).then(|| inboxes.last().map(|i| i.id.to_string())).flatten();
    let ids: Vec<_> = inboxes.iter().map(|i| i.id.clone()).collect();
    let counts = state.inner.store.count_requests(platform, &ids).await.map_err(ApiError::from)?;
    let inboxes = inboxes
        .into_iter()
        .zip(counts.into_iter().chain(std::iter::repeat(0)))
        .map(|(inbox, count)| InboxView::new(state, inbox, count))
        .collect();
    let (error_field, error, status) = match error {
        None => (String::new(), String::new(), StatusCode::OK),
        Some(ApiError::Validation(e)) => {
            let field = e.field.rsplit('.').next().unwrap_or_default().to_owned();
            (field, format!("{}: {}", e.field, e.message), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Some(other) => return Err(other.into()),
    };
    let page = ListPage {
        layout: Layout::signed(signed, "Inboxes", "inboxes").flash(query.ok.as_deref()),
        inboxes,
        next,
        values,
        error_field,
        error,
    };
    let mut response = render(&page);
    *response.status_mut() = status;
    Ok(response)
}

/// `GET /ui/inboxes`: the list and the create form.
pub(crate) async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<ListQuery>,
) -> Result<Response, UiError> {
    list_page(&state, &signed, query, Values::default(), None).await
}

/// `POST /ui/inboxes`: creates, then shows the new inbox; a rejected form comes back as typed.
pub(crate) async fn create(State(state): State<AppState>, signed: Signed, form: FormData) -> Result<Response, UiError> {
    signed.check(&form)?;
    let values = Values::from_form(&form);
    match ops::inboxes::create(&state, &signed.platform.id, values.request()).await {
        Ok(inbox) => Ok(Redirect::to(&format!("/ui/inboxes/{}?ok=inbox-created", inbox.id)).into_response()),
        Err(error) => list_page(&state, &signed, ListQuery::default(), values, Some(error)).await,
    }
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct ShowPage {
    layout: Layout,
    inbox: InboxView,
    /// The webhooks whose URL points here: their secrets verify the captures.
    webhooks: Vec<String>,
    requests: Vec<RequestView>,
    /// The live stream's URL, on the first page only.
    stream: String,
    next: Option<String>,
}

/// `?ok=&after=` of an inbox's page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ShowQuery {
    #[serde(default)]
    ok: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

/// `GET /ui/inboxes/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, UiError> {
    let id = inbox_id(&id)?;
    let platform = &signed.platform.id;
    let store = &state.inner.store;
    let inbox = store.get_inbox(platform, &id, Timestamp::now()).await.map_err(ApiError::from)?;
    let after = query.after.filter(|a| !a.is_empty());
    let first_page = after.is_none();
    let page = Page { limit: REQUESTS_PER_PAGE, after };
    let (requests, next) = ops::inboxes::list_requests(&state, platform, &id, page).await?;
    let [count] = store.count_requests(platform, std::slice::from_ref(&id)).await.map_err(ApiError::from)?[..] else {
        return Err(ApiError::Internal("count_requests answered for another number of inboxes".into()).into());
    };
    let view = InboxView::new(&state, inbox, count);
    let webhooks = store.webhooks_pointing_at(platform, &view.url).await.map_err(ApiError::from)?;
    let page = ShowPage {
        layout: Layout::signed(&signed, format!("Inbox {}", view.id), "inboxes")
            .flash(query.ok.as_deref())
            .script(super::assets::js_url()),
        webhooks: webhooks.into_iter().map(|w| w.webhook_id.to_string()).collect(),
        requests: requests.into_iter().map(|r| RequestView::new(&view.url, r)).collect(),
        stream: if first_page { format!("/ui/inboxes/{}/stream", view.id) } else { String::new() },
        inbox: view,
        next,
    };
    Ok(render(&page))
}

/// `POST /ui/inboxes/{id}/delete`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, UiError> {
    signed.check(&form)?;
    ops::inboxes::delete(&state, &signed.platform.id, &inbox_id(&id)?).await?;
    Ok(Redirect::to("/ui/inboxes?ok=inbox-deleted").into_response())
}

/// `GET /ui/inboxes/{id}/stream`: the API's live stream under the session cookie, each event a rendered item
/// of the inbox page's list (inserted at its top by `inbox.js`).
pub(crate) async fn stream(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let id = inbox_id(&id)?;
    let inbox_url = state.inner.inboxes.config.base.inbox_url(&id);
    let item: Render =
        Arc::new(move |request| RequestItem { r: RequestView::new(&inbox_url, request) }.render().unwrap_or_default());
    Ok(inbox_stream::follow(&state, signed.platform.id, id, &headers, item).await?.into_response())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hookline_core::ids::{InboxId, RequestId, WebhookId};
    use hookline_core::inbox::{WebhookSecrets, verdict};
    use hookline_core::secret::Secret;
    use hookline_core::signing::sign;
    use hookline_core::webhook::SigningSecrets;

    use super::*;

    /// Every failure code the inspector gives (`VerdictNote::code`) has its own words.
    #[test]
    fn each_failure_code_has_its_own_reason() {
        let codes = [
            "header_missing",
            "malformed_header",
            "timestamp_out_of_tolerance",
            "body_changed",
            "rotated_out_secret",
            "wrong_secret",
            "no_secret",
        ];
        let reasons: std::collections::BTreeSet<_> = codes.iter().map(|code| reason(code)).collect();
        assert_eq!(reasons.len(), codes.len());
        assert!(!reasons.contains("Not verified"));
    }

    /// A real verdict reaches the page: a stale signature shows its reason and the webhook, a fresh one verifies.
    #[test]
    fn a_request_view_carries_the_verdict_and_its_reason() {
        let secrets = SigningSecrets { current: Secret::generate(), previous: None };
        let webhook = WebhookId::generate();
        let points_here = [WebhookSecrets { webhook_id: webhook.clone(), secrets: secrets.clone() }];
        let body = br#"{"id":"evt_1"}"#.to_vec();
        let now = Timestamp::now();
        let view = |signed_at: Timestamp| {
            let signature = sign(&secrets, "evt_1", signed_at, &body);
            let headers = vec![
                ("webhook-id".to_owned(), "evt_1".to_owned()),
                ("webhook-timestamp".to_owned(), signature.webhook_timestamp),
                ("webhook-signature".to_owned(), signature.webhook_signature),
            ];
            let request = CapturedRequest {
                id: RequestId::generate(),
                inbox_id: InboxId::generate(),
                seq: 1,
                method: "POST".to_owned(),
                path: "/x".to_owned(),
                query: "a=1".to_owned(),
                verdict: verdict(&points_here, &headers, &body, now),
                headers,
                body: body.clone(),
                body_truncated: false,
                size: body.len() as u64,
                received_at: now,
                source_ip: Some("127.0.0.1".to_owned()),
            };
            RequestView::new("http://h/in/inb_1", request)
        };
        let stale = view(now.minus(Duration::from_secs(600)));
        assert_eq!((stale.verdict, stale.reason), ("failed", "Timestamp outside tolerance"));
        assert_eq!(stale.webhook_id, webhook.to_string());
        assert_eq!(stale.target, "/x?a=1");
        let fresh = view(now);
        assert_eq!((fresh.verdict, fresh.reason), ("verified", ""));
        assert!(fresh.message.contains(webhook.as_str()), "{}", fresh.message);
        let item = RequestItem { r: fresh }.render().unwrap();
        assert!(item.starts_with(r#"<li class="capture" id="req_"#), "{item}");
    }
}
