//! The embedded stylesheet and the inbox page's script, each served under a path versioned by its content hash,
//! so it can be cached for a year and a new build's file is fetched at once.

use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The stylesheet.
const CSS: &str = include_str!("../../assets/app.css");

/// The route; any version segment serves the current file.
pub(crate) const CSS_ROUTE: &str = "/ui/assets/{version}/app.css";

static CSS_VERSION: LazyLock<String> = LazyLock::new(|| hex::encode(&Sha256::digest(CSS.as_bytes())[..6]));

/// The stylesheet's current URL.
pub(crate) fn css_url() -> String {
    format!("/ui/assets/{}/app.css", *CSS_VERSION)
}

pub(crate) async fn css() -> Response {
    let mut response = CSS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    response
}

/// The inbox page's script: live captures over server-sent events and the copy buttons. The only script the
/// dashboard serves; every page works without it.
const JS: &str = include_str!("../../assets/inbox.js");

/// The script's route; any version segment serves the current file.
pub(crate) const JS_ROUTE: &str = "/ui/assets/{version}/inbox.js";

static JS_VERSION: LazyLock<String> = LazyLock::new(|| hex::encode(&Sha256::digest(JS.as_bytes())[..6]));

/// The script's current URL.
pub(crate) fn js_url() -> String {
    format!("/ui/assets/{}/inbox.js", *JS_VERSION)
}

pub(crate) async fn js() -> Response {
    let mut response = JS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    response
}
