//! The route table: one module per resource, each with its handlers and `fn routes()`.

mod api_keys;
mod capture;
mod deliveries;
mod event_types;
mod events;
mod health;
pub(crate) mod inbox_stream;
mod inboxes;
mod listener_stream;
mod listeners;
mod openapi;
mod platforms;
mod portal;
mod stream_wake;
mod webhooks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::{ApiError, AppState};

#[derive(OpenApi)]
#[openapi(
    info(title = "hookline", description = "Self-hosted webhook delivery: publish events, hookline signs and delivers them."),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// `?limit=&after=` on list routes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    /// At most this many items (1 to 1000, default 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    pub after: Option<String>,
}

impl PageQuery {
    pub(crate) fn page(&self) -> hookline_store::Page {
        hookline_store::Page { limit: self.limit.unwrap_or(100).clamp(1, 1000), after: self.after.clone() }
    }

    /// The next cursor: the last item's id when the page was full.
    pub(crate) fn next_cursor<T>(&self, items: &[T], id: impl Fn(&T) -> String) -> Option<String> {
        (items.len() >= self.page().limit).then(|| items.last().map(id)).flatten()
    }
}

/// The routes with their OpenAPI document, completed (see `openapi`).
fn routes_and_document() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(platforms::routes())
        .merge(api_keys::routes())
        .merge(event_types::routes())
        .merge(webhooks::routes())
        .merge(events::routes())
        .merge(deliveries::routes())
        .merge(inboxes::routes())
        .merge(listeners::routes())
        .merge(health::routes())
        .merge(portal::routes())
        .split_for_parts();
    openapi.info.version = env!("CARGO_PKG_VERSION").to_owned();
    openapi::complete(&mut openapi);
    (router, openapi)
}

/// The OpenAPI document `/v1/openapi.json` serves.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    routes_and_document().1
}

pub(crate) fn router(state: AppState, max_body_bytes: usize) -> Router {
    let (router, openapi) = routes_and_document();
    let openapi_json = openapi.to_json().unwrap_or_else(|_| "{}".to_owned());
    router
        .merge(crate::ui::router(state.clone()))
        .route(
            "/v1/openapi.json",
            axum::routing::get(move || {
                let body = openapi_json.clone();
                async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], body) }
            }),
        )
        .merge(capture::routes())
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::middleware::map_response(too_large_as_json))
        .with_state(state)
}

/// axum answers some bad requests in plain text before a handler runs: an over-long body (413) and a query or
/// path that does not parse (400). Rewrite them to our JSON error body, keeping axum's explanation.
async fn too_large_as_json(response: axum::response::Response) -> axum::response::Response {
    use axum::http::StatusCode;
    let is_plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_none_or(|value| !value.as_bytes().starts_with(b"application/json"));
    if !is_plain {
        return response;
    }
    match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge.into_response(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType.into_response(),
        StatusCode::BAD_REQUEST => {
            let text = axum::body::to_bytes(response.into_body(), 4096).await.unwrap_or_default();
            let message = String::from_utf8_lossy(&text).trim().to_owned();
            let message = if message.is_empty() { "the request is malformed".to_owned() } else { message };
            ApiError::BadRequest { code: "invalid_request", message }.into_response()
        }
        _ => response,
    }
}
