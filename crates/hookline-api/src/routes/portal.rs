//! `POST /v1/portal-links`: a one-time URL that signs its holder into the dashboard for the calling platform.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hookline_core::ValidationError;
use hookline_core::time::parse_duration;
use hookline_proto as proto;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::PlatformAuth;
use crate::json::OptionalJson;
use crate::{ApiError, AppState, convert};

/// How long a link lasts when the request does not say.
const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);
/// The longest a link may last: it is a bearer credential in a URL.
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_portal_link))
}

fn ttl(text: Option<&str>) -> Result<Duration, ApiError> {
    let Some(text) = text else { return Ok(DEFAULT_TTL) };
    match parse_duration(text) {
        Some(ttl) if !ttl.is_zero() && ttl <= MAX_TTL => Ok(ttl),
        _ => Err(ValidationError::new("expires_in", "must be a duration from 1s to 24h, e.g. 15m").into()),
    }
}

/// Creates a one-time sign-in link to the dashboard for this platform, to put behind the platform's own admin
/// page. Opening it starts a dashboard session and uses the link up; unused, it expires after `expires_in`.
#[utoipa::path(post, path = "/v1/portal-links", tag = "portal", request_body(content = Option<proto::CreatePortalLink>),
    responses((status = 201, body = proto::PortalLink), (status = 422, body = proto::ErrorBody)))]
async fn create_portal_link(
    State(state): State<AppState>,
    PlatformAuth(platform): PlatformAuth,
    OptionalJson(body): OptionalJson<proto::CreatePortalLink>,
) -> Result<(StatusCode, Json<proto::PortalLink>), ApiError> {
    let ttl = ttl(body.unwrap_or_default().expires_in.as_deref())?;
    let link = crate::ui::create_portal_link(&state, &platform.id, ttl).await?;
    Ok((StatusCode::CREATED, Json(proto::PortalLink { url: link.url, expires_at: convert::time(link.expires_at) })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_lifetimes_are_bounded() {
        assert_eq!(ttl(None).unwrap(), DEFAULT_TTL);
        assert_eq!(ttl(Some("5m")).unwrap(), Duration::from_secs(300));
        for bad in ["0s", "25h", "soon"] {
            assert!(matches!(ttl(Some(bad)), Err(ApiError::Validation(e)) if e.field == "expires_in"), "{bad}");
        }
    }
}
