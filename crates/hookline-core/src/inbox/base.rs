//! [`InboxBase`]: this server's public URL, and which URLs are its own inboxes.

use crate::ValidationError;
use crate::ids::InboxId;

/// The base every inbox URL hangs from: `http.public_url` (default `http://<listen address>`).
///
/// An own-inbox URL is one with exactly this origin (scheme, host, port) whose path is the base's path followed
/// by `/in/<something>`. Such URLs are the one exception to the rules for webhook URLs and to the SSRF guard:
/// hookline delivers to them by connecting to its own listener, never by resolving or connecting to whatever the
/// host names, so the exception lets nothing else through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxBase {
    /// The public URL with no trailing slash, no query and no fragment, as the URL parser writes it.
    base: url::Url,
}

impl InboxBase {
    /// Parses the configured public URL (`http://` or `https://`, a host, no credentials).
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let err = |message: &str| ValidationError::new("http.public_url", message);
        let mut base = url::Url::parse(text.trim()).map_err(|e| err(&format!("is not a valid URL ({e})")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(err("must be an http:// or https:// URL with a host"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(err("must not carry credentials"));
        }
        base.set_query(None);
        base.set_fragment(None);
        let path = base.path().trim_end_matches('/').to_owned();
        base.set_path(&path);
        Ok(Self { base })
    }

    /// The public URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// The capture URL of an inbox: `<public_url>/in/<id>`. Webhooks pointing at the inbox have URLs that start
    /// with it.
    pub fn inbox_url(&self, id: &InboxId) -> String {
        format!("{}/in/{id}", self.as_str())
    }

    /// The inbox an own-inbox URL points at (its first path segment after `/in/`), or `None` when `url` is not
    /// one of this server's inbox URLs.
    pub fn inbox_of(&self, url: &url::Url) -> Option<InboxId> {
        let same_origin = url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
            && url.username().is_empty()
            && url.password().is_none();
        if !same_origin {
            return None;
        }
        let prefix = format!("{}/in/", self.base.path().trim_end_matches('/'));
        let rest = url.path().strip_prefix(&prefix)?;
        InboxId::parse(rest.split('/').next().unwrap_or_default())
    }

    /// Whether `url` is one of this server's inbox URLs.
    pub fn owns(&self, url: &url::Url) -> bool {
        self.inbox_of(url).is_some()
    }
}
