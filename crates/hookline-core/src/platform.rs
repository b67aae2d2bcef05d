//! Platforms (tenants) and the event-type catalog entries they own.

use crate::Timestamp;
use crate::ValidationError;
use crate::ids::PlatformId;

/// A stored platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// Its id.
    pub id: PlatformId,
    /// Its display name.
    pub name: String,
    /// Its public URL, e.g. `https://tradly.app`; named in failure notices.
    pub url: String,
    /// Where failure notices go.
    pub email: String,
    /// When it was created.
    pub created_at: Timestamp,
}

impl Platform {
    /// Validates a create request.
    pub fn new(name: &str, url: &str, email: &str, now: Timestamp) -> Result<Self, ValidationError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(ValidationError::new("name", "must be 1 to 200 characters"));
        }
        let parsed = url::Url::parse(url).map_err(|_| ValidationError::new("url", "must be an absolute URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(ValidationError::new("url", "must be an http(s) URL with a host"));
        }
        let email = email.trim();
        let valid_email = email.len() <= 254
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            })
            && !email.contains(char::is_whitespace);
        if !valid_email {
            return Err(ValidationError::new("email", "must be an email address"));
        }
        Ok(Self {
            id: PlatformId::generate(),
            name: name.to_owned(),
            url: url.trim_end_matches('/').to_owned(),
            email: email.to_owned(),
            created_at: now,
        })
    }
}

/// An entry of a platform's event-type catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventType {
    /// `name.verb`.
    pub name: String,
    /// One line for people.
    pub description: String,
    /// Whether it is built in (one of the 14 Tradly types or an operational type).
    pub built_in: bool,
    /// Whether hookline publishes it about the platform's own webhooks.
    pub operational: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_validation_table() {
        let now = Timestamp::from_unix_millis(0);
        assert!(Platform::new("Tradly", "https://tradly.app", "ops@tradly.app", now).is_ok());
        assert_eq!(
            Platform::new("Tradly", "https://tradly.app/", "ops@tradly.app", now).unwrap().url,
            "https://tradly.app"
        );
        for (name, url, email, field) in [
            ("", "https://tradly.app", "a@b.co", "name"),
            ("T", "tradly.app", "a@b.co", "url"),
            ("T", "mailto:x@y.z", "a@b.co", "url"),
            ("T", "https://tradly.app", "nobody", "email"),
            ("T", "https://tradly.app", "a b@c.de", "email"),
        ] {
            assert_eq!(Platform::new(name, url, email, now).unwrap_err().field, field);
        }
    }
}
