//! Dashboard sessions: a random token in an HttpOnly cookie, only its SHA-256 stored (`UiStore`), and a CSRF
//! token derived from it that every form carries in a hidden field.
//!
//! Why derive the CSRF token instead of storing it: it is a keyed function of the session token, which only
//! the browser holding the cookie knows, so a page on another origin cannot compute it, and nothing more needs
//! storing. It is compared in constant time.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hookline_core::Timestamp;
use hookline_core::ids::PlatformId;
use hookline_core::platform::Platform;
use hookline_core::secret::KeyHash;
use sha2::{Digest, Sha256};

use super::errors::UiError;
use super::form::FormData;
use crate::{ApiError, AppState};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "hl_session";
/// The cookie of the sign-in form's CSRF token (there is no session yet to derive one from).
pub(crate) const SIGN_IN_COOKIE: &str = "hl_signin";

/// A fresh random token: 32 bytes, base64url.
pub(crate) fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(Box::new(std::io::Error::other(e.to_string()))))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a session or portal token.
pub(crate) fn token_hash(token: &str) -> KeyHash {
    KeyHash(hex::encode(Sha256::digest(token.as_bytes())))
}

fn csrf_for(token: &str) -> String {
    hex::encode(Sha256::digest(format!("hookline-csrf\0{token}").as_bytes()))
}

/// Equality whose time does not depend on where the inputs first differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A cookie's value from the request headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

/// A `Set-Cookie` value under `/ui`: HttpOnly, SameSite (None when the dashboard may be framed by another
/// origin, which only works over HTTPS), Secure outside `--dev`.
pub(crate) fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: u64) -> HeaderValue {
    let ui = &state.inner.ui;
    let same_site = if ui.frame_ancestors.is_empty() || !ui.secure_cookies { "Lax" } else { "None" };
    let secure = if ui.secure_cookies { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/ui; HttpOnly; SameSite={same_site}; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("hl_invalid=; Max-Age=0"))
}

/// Starts a session for `platform` and returns the `Set-Cookie` that carries it.
pub(crate) async fn start(state: &AppState, platform: &PlatformId) -> Result<HeaderValue, ApiError> {
    let token = new_token()?;
    let now = Timestamp::now();
    let ttl = state.inner.ui.session_ttl;
    state.inner.store.create_session(token_hash(&token), platform, now, now.plus(ttl)).await?;
    tracing::info!(platform_id = %platform, "dashboard session started");
    Ok(set_cookie(state, SESSION_COOKIE, &token, ttl.as_secs()))
}

/// A signed-in browser. Every dashboard page but sign-in and the portal landing takes one; without a live
/// session the browser is sent to the sign-in page.
pub(crate) struct Signed {
    /// The platform signed in to.
    pub platform: Platform,
    /// The CSRF token its forms carry.
    pub csrf: String,
    token: String,
}

impl Signed {
    /// Checks the form's `csrf` field against this session's token.
    pub(crate) fn check(&self, form: &FormData) -> Result<(), UiError> {
        let sent = form.get("csrf").unwrap_or_default();
        if constant_time_eq(sent.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(UiError::forbidden(
                "This form has expired or did not come from this dashboard. Reload the page and try again.",
            ))
        }
    }

    /// Ends the session (sign-out).
    pub(crate) async fn end(self, state: &AppState) -> Result<(), ApiError> {
        Ok(state.inner.store.delete_session(token_hash(&self.token), Timestamp::now()).await?)
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).filter(|t| !t.is_empty() && t.len() < 200) else {
            return Err(Redirect::to("/ui/sign-in").into_response());
        };
        match state.inner.store.session(token_hash(token), Timestamp::now()).await {
            Ok(Some(session)) => {
                Ok(Self { platform: session.platform, csrf: csrf_for(token), token: token.to_owned() })
            }
            Ok(None) => Err(Redirect::to("/ui/sign-in?expired=1").into_response()),
            Err(error) => Err(UiError::from(ApiError::from(error)).into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_differ_per_session_and_compare_exactly() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_ne!(csrf_for(&a), csrf_for(&b));
        assert!(constant_time_eq(csrf_for(&a).as_bytes(), csrf_for(&a).as_bytes()));
        assert!(!constant_time_eq(csrf_for(&a).as_bytes(), csrf_for(&b).as_bytes()));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert_eq!(token_hash("x"), token_hash("x"));
        assert_ne!(token_hash("x").0, "x");
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; hl_session=tok; b=2"));
        assert_eq!(cookie(&headers, "hl_session"), Some("tok"));
        assert_eq!(cookie(&headers, "hl"), None);
    }
}
