//! `UiError`: how a dashboard request fails, as an HTML page with the right status (never JSON).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::layout::Layout;
use crate::ApiError;

/// A failed dashboard request.
#[derive(Debug)]
pub(crate) struct UiError {
    status: StatusCode,
    message: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    message: String,
}

impl UiError {
    pub(crate) fn forbidden(message: &str) -> Self {
        Self { status: StatusCode::FORBIDDEN, message: message.to_owned() }
    }

    /// Replaces the status and the message shown.
    pub(crate) fn set_message(&mut self, status: StatusCode, message: &str) {
        self.status = status;
        message.clone_into(&mut self.message);
    }

    pub(crate) fn bad_request(message: &str) -> Self {
        Self { status: StatusCode::BAD_REQUEST, message: message.to_owned() }
    }
}

impl From<ApiError> for UiError {
    fn from(error: ApiError) -> Self {
        let message = error.to_string();
        let status = match &error {
            ApiError::NotFound => {
                return Self {
                    status: StatusCode::NOT_FOUND,
                    message: "Not found. It may have been deleted, or the link is wrong.".to_owned(),
                };
            }
            ApiError::Validation(e) => {
                return Self {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    message: format!("{}: {}", e.field, e.message),
                };
            }
            ApiError::Internal(source) => {
                tracing::error!(error = ?source, "internal error on a dashboard page");
                return Self {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message: "Something went wrong on our side. Try again; if it persists, check the server log."
                        .to_owned(),
                };
            }
            other => other.status_and_code().0,
        };
        Self { status, message }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let page = ErrorPage { layout: Layout::public(title), status: self.status.as_u16(), message: self.message };
        match page.render() {
            Ok(html) => (self.status, Html(html)).into_response(),
            Err(_) => (self.status, "error").into_response(),
        }
    }
}

/// Renders a page template, or a 500 page if rendering fails.
pub(crate) fn render<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => UiError::from(ApiError::Internal(Box::new(error))).into_response(),
    }
}

/// The 404 of unknown dashboard paths.
pub(crate) async fn not_found() -> UiError {
    UiError::from(ApiError::NotFound)
}
