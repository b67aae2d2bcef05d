//! The notifications page: the failure emails sent to the platform, and how sending went.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use hookline_core::notification::Notification;

use super::errors::{UiError, render};
use super::layout::{self, Layout};
use super::session::Signed;
use crate::routes::PageQuery;
use crate::{ApiError, AppState};

pub(crate) struct NotificationRow {
    pub webhook_id: String,
    pub webhook_url: String,
    pub kind: String,
    pub to: String,
    pub status: String,
    pub subject: String,
    pub detail: String,
    pub created: String,
    pub sent: String,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    layout: Layout,
    rows: Vec<NotificationRow>,
    next: Option<String>,
}

fn row(n: Notification) -> NotificationRow {
    let detail = match (&n.reason, &n.last_error) {
        (Some(reason), _) => reason.clone(),
        (None, Some(error)) => format!("{} failed; last error: {error}", n.failed_count),
        (None, None) => format!("{} failed", n.failed_count),
    };
    NotificationRow {
        webhook_id: n.webhook_id.to_string(),
        webhook_url: n.webhook_url,
        kind: n.kind.as_str().replace('_', " "),
        to: n.recipient,
        status: n.status.as_str().to_owned(),
        subject: n.subject.unwrap_or_else(|| "(not rendered yet)".to_owned()),
        detail: match n.send_error {
            Some(error) => format!("{detail}. Sending failed: {error}"),
            None => detail,
        },
        created: layout::time(n.created_at),
        sent: layout::opt_time(n.sent_at),
    }
}

/// `GET /ui/notifications`.
pub(crate) async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<PageQuery>,
) -> Result<Response, UiError> {
    let list = state.inner.store.list_notifications(&signed.platform.id, query.page()).await.map_err(ApiError::from)?;
    let next = query.next_cursor(&list, |n| n.id.to_string());
    let rows = list.into_iter().map(row).collect();
    Ok(render(&NotificationsPage { layout: Layout::signed(&signed, "Notifications", "notifications"), rows, next }))
}
