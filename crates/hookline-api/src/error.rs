//! `ApiError`: the one way an error leaves the API, as a status and `{"error": {"code", "message"}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hookline_core::ValidationError;
use hookline_proto::{ErrorBody, ErrorDetail};
use hookline_store::StoreError;

/// An error answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, or not the expected shape.
    #[error("{message}")]
    BadRequest {
        /// A machine-readable code.
        code: &'static str,
        /// The explanation.
        message: String,
    },
    /// A query string parameter is unknown or malformed.
    #[error("{message}")]
    InvalidQuery {
        /// The parameter, when known.
        field: Option<String>,
        /// The explanation.
        message: String,
    },
    /// A field failed validation.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// An event type is not in the platform's catalog.
    #[error("event type {0:?} is not in the catalog; add it with POST /v1/event-types")]
    UnknownEventType(String, &'static str),
    /// No or wrong credentials.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The credentials may not do this (a read-only API key on a write).
    #[error("{0}")]
    Forbidden(&'static str),
    /// No such record for this platform.
    #[error("not found")]
    NotFound,
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than allowed.
    #[error("request body is too large")]
    PayloadTooLarge,
    /// The body is not sent as `Content-Type: application/json`.
    #[error("send the body as JSON with Content-Type: application/json")]
    UnsupportedMediaType,
    /// The path exists but not with this method.
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    /// Too many requests; retry after this many seconds.
    #[error("too many requests; retry after {0} s")]
    RateLimited(u64),
    /// The request, or its body, took longer than the server allows.
    #[error("the request took too long: send it again, faster")]
    RequestTimeout,
    /// The service cannot serve right now (shutting down, database unavailable).
    #[error("service unavailable")]
    Unavailable,
    /// The database cannot take writes right now (disk full, locked, unreachable); it passes by itself, so
    /// the caller tries again after `Retry-After`.
    #[error("storage is unavailable right now; nothing was changed, try again shortly")]
    StorageUnavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A configured limit on how many of something a platform may have is reached.
    #[error("{message}")]
    LimitReached {
        /// A machine-readable code, e.g. `webhook_limit_reached`.
        code: &'static str,
        /// The explanation, with the limit.
        message: String,
    },
    /// An event id was published before with a different type or data.
    #[error("event id {0:?} was already used for a different event (another type or other data); use a new id")]
    EventIdReused(String),
    /// Our failure; logged once here, opaque to the client.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The `Retry-After` of a `storage_unavailable` answer: long enough for a lock to pass, short enough that a
/// publisher's retry lands soon after an operator frees the disk.
pub const STORAGE_RETRY_AFTER_SECS: u64 = 5;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::UnknownEventType(name) => ApiError::UnknownEventType(name, "events"),
            StoreError::Closed => ApiError::Unavailable,
            StoreError::Database(source) => ApiError::Internal(source),
            StoreError::Unavailable(source) => ApiError::StorageUnavailable(source),
            StoreError::EventIdReused(id) => ApiError::EventIdReused(id),
            // Errors of opening a store: a request never meets them, but they are errors of ours, not the caller's.
            error @ (StoreError::InUse { .. } | StoreError::SchemaTooNew { .. } | StoreError::InvalidUrl { .. }) => {
                ApiError::Internal(Box::new(error))
            }
        }
    }
}

impl ApiError {
    /// The HTTP status and the machine-readable code of this error: the one table both the JSON API and the
    /// dashboard's error pages use.
    pub(crate) fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::InvalidQuery { .. } => (StatusCode::BAD_REQUEST, "invalid_query"),
            ApiError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::UnknownEventType(..) => (StatusCode::UNPROCESSABLE_ENTITY, "unknown_event_type"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "read_only_key"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            ApiError::StorageUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable"),
            ApiError::EventIdReused(_) => (StatusCode::CONFLICT, "event_id_reused"),
            ApiError::LimitReached { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        let (status, code) = self.status_and_code();
        let field = match &self {
            ApiError::InvalidQuery { field, .. } => field.clone(),
            ApiError::Validation(error) => Some(error.field.clone()),
            ApiError::UnknownEventType(_, field) => Some((*field).to_owned()),
            ApiError::Internal(source) => {
                tracing::error!(error = ?source, "internal error");
                None
            }
            ApiError::StorageUnavailable(source) => {
                tracing::warn!(error = ?source, "storage unavailable");
                None
            }
            ApiError::EventIdReused(_) => Some("id".to_owned()),
            _ => None,
        };
        let body = ErrorBody { error: ErrorDetail { code: code.to_owned(), message, field } };
        let mut response = (status, Json(body)).into_response();
        let retry_after = match &self {
            ApiError::RateLimited(seconds) => Some(*seconds),
            ApiError::StorageUnavailable(_) => Some(STORAGE_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}
