//! What every page shares: the layout's fields (title, navigation, platform, the sign-out form's CSRF token,
//! a flash message) and the small formatting helpers the templates use.

use hookline_core::Timestamp;

use super::assets;
use super::session::Signed;

/// The base template's fields; each page struct has one as `layout`.
pub(crate) struct Layout {
    /// The page title (before " · hookline").
    pub title: String,
    /// Which navigation entry is current: overview, webhooks, events, inboxes, notifications.
    pub nav: &'static str,
    /// The signed-in platform's name.
    pub platform: String,
    /// The CSRF token of this session's forms.
    pub csrf: String,
    /// Whether to show navigation and sign-out.
    pub signed_in: bool,
    /// The stylesheet's versioned URL.
    pub css: String,
    /// A one-line confirmation of the action that led here.
    pub flash: Option<String>,
    /// The versioned URL of the page's script, if it has one (only the inbox page, for live updates).
    pub script: Option<String>,
}

impl Layout {
    /// The layout of a signed-in page.
    pub(crate) fn signed(signed: &Signed, title: impl Into<String>, nav: &'static str) -> Self {
        Self {
            title: title.into(),
            nav,
            platform: signed.platform.name.clone(),
            csrf: signed.csrf.clone(),
            signed_in: true,
            css: assets::css_url(),
            flash: None,
            script: None,
        }
    }

    /// The layout of a page shown without a session (sign-in, errors).
    pub(crate) fn public(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            nav: "",
            platform: String::new(),
            csrf: String::new(),
            signed_in: false,
            css: assets::css_url(),
            flash: None,
            script: None,
        }
    }

    /// Shows the confirmation for `?ok=<code>` (after a form's redirect), if the code is known.
    pub(crate) fn flash(mut self, code: Option<&str>) -> Self {
        self.flash = code.and_then(flash_text).map(str::to_owned);
        self
    }

    /// Adds the embedded script at `url` (deferred; the page works without it).
    pub(crate) fn script(mut self, url: String) -> Self {
        self.script = Some(url);
        self
    }
}

fn flash_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "created" => "Webhook created. Its signing secret is below.",
        "saved" => "Changes saved.",
        "rotated" => "Secret rotated. The previous secret keeps signing webhook-signature until the overlap ends.",
        "test" => "Test event sent. Its delivery is listed below.",
        "enabled" => "Webhook enabled. Held deliveries are being sent.",
        "disabled" => "Webhook disabled. New deliveries are held until it is enabled again.",
        "retried" => "Retry queued. The new attempt appears below when it finishes.",
        "recovered" => "Recovery started. The failed deliveries are being sent again.",
        "inbox-created" => "Inbox created. Send anything to its URL; requests show below as they arrive.",
        "inbox-deleted" => "Inbox deleted, with everything it captured. Its URL answers 404 from now on.",
        _ => return None,
    })
}

/// A time as the pages show it: `2026-12-04 18:20:01 UTC`.
pub(crate) fn time(t: Timestamp) -> String {
    let text = t.to_rfc3339();
    let (date, rest) = text.split_once('T').unwrap_or((&text, ""));
    let clock = rest.trim_end_matches('Z').split('.').next().unwrap_or_default();
    format!("{date} {clock} UTC")
}

/// An optional time, or a dash.
pub(crate) fn opt_time(t: Option<Timestamp>) -> String {
    t.map(time).unwrap_or_else(|| "—".to_owned())
}
