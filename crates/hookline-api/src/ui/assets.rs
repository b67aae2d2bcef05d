//! The embedded stylesheet, served under a path versioned by its content hash, so it can be cached for a year
//! and a new build's stylesheet is fetched at once.

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
