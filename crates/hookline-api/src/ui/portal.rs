//! Portal links: one-time URLs that sign their holder into the dashboard for one platform, for a platform to
//! put behind its own admin page (`POST /v1/portal-links`). Only the token's hash is stored; using the link
//! consumes it atomically (`UiStore::consume_portal_link`), starts a session and redirects to the overview.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hookline_core::Timestamp;
use hookline_core::ids::PlatformId;
use hookline_store::{StoreError, UiStore};

use super::errors::UiError;
use super::session;
use crate::{ApiError, AppState};

/// A link that was made.
pub struct PortalLink {
    /// The URL to open (absolute, under the server's public URL).
    pub url: String,
    /// When it stops working if unused.
    pub expires_at: Timestamp,
}

/// Makes a one-time sign-in link for `platform`, valid for `ttl`. Public so that `--dev` can print one.
pub async fn portal_link(
    store: &dyn UiStore,
    public_url: &str,
    platform: &PlatformId,
    ttl: Duration,
) -> Result<PortalLink, StoreError> {
    let token =
        session::new_token().map_err(|e| StoreError::Database(Box::new(std::io::Error::other(e.to_string()))))?;
    let now = Timestamp::now();
    let expires_at = now.plus(ttl);
    store.create_portal_link(session::token_hash(&token), platform, now, expires_at).await?;
    Ok(PortalLink { url: format!("{}/ui/portal/{token}", public_url.trim_end_matches('/')), expires_at })
}

/// The API's side: a link for the calling platform.
pub(crate) async fn create_link(
    state: &AppState,
    platform: &PlatformId,
    ttl: Duration,
) -> Result<PortalLink, ApiError> {
    let store: &dyn UiStore = &*state.inner.store;
    let link = portal_link(store, &state.inner.ui.public_url, platform, ttl).await?;
    tracing::info!(platform_id = %platform, "portal link created");
    Ok(link)
}

/// `GET /ui/portal/{token}`: uses the link up and signs in.
pub(crate) async fn land(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, UiError> {
    if token.len() > 200 {
        return Err(ApiError::NotFound.into());
    }
    let Some(platform) = state
        .inner
        .store
        .consume_portal_link(session::token_hash(&token), Timestamp::now())
        .await
        .map_err(ApiError::from)?
    else {
        let mut error = UiError::from(ApiError::NotFound);
        error.set_message(
            StatusCode::NOT_FOUND,
            "This sign-in link was already used or has expired. Ask for a new one.",
        );
        return Err(error);
    };
    let cookie = session::start(&state, &platform).await?;
    let mut response = Redirect::to("/ui/").into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}
