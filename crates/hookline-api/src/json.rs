//! `ApiJson`: axum's JSON extractor with its rejections turned into [`ApiError`]s.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A JSON request body; malformed or mistyped bodies become 4xx `ApiError`s before the handler runs.
pub(crate) struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let request = crate::json_guard::guarded(request, state).await?;
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejection_to_error(rejection)),
        }
    }
}

/// An optional JSON body: an empty body is `None`.
pub(crate) struct OptionalJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(request, state).await.map_err(body_read_error)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        crate::json_guard::check(&bytes)?;
        serde_json::from_slice(&bytes).map(|v| Self(Some(v))).map_err(|e| ApiError::BadRequest {
            code: if e.is_data() { "invalid_body" } else { "invalid_json" },
            message: e.to_string(),
        })
    }
}

fn rejection_to_error(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest {
            code: "invalid_json",
            message: format!("request body is not valid JSON: {}", e.body_text()),
        },
        JsonRejection::JsonDataError(e) => ApiError::BadRequest { code: "invalid_body", message: e.body_text() },
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        JsonRejection::BytesRejection(e) => body_read_error(e),
        other => ApiError::BadRequest { code: "invalid_body", message: other.body_text() },
    }
}

/// Why a request body could not be read: too large (413), sent too slowly (408, the body timeout), or broken.
pub(crate) fn body_read_error(error: axum::extract::rejection::BytesRejection) -> ApiError {
    if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else if crate::limits::is_body_timeout(&error) {
        ApiError::RequestTimeout
    } else {
        ApiError::BadRequest { code: "invalid_body", message: error.body_text() }
    }
}
