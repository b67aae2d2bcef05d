//! The event-type catalog: the 14 Tradly types built in, plus a platform's own `name.verb` types.

mod samples;

pub use samples::{SAMPLES, sample};

use crate::ValidationError;

/// The built-in Tradly event types with the one-line descriptions of Tradly's documentation.
pub const BUILT_IN_EVENT_TYPES: [(&str, &str); 14] = [
    ("user.created", "Occurs when a new user is created."),
    ("user.updated", "Occurs when a user is updated."),
    ("listing.created", "Occurs when a new listing is created."),
    ("listing.updated", "Occurs when an existing listing is updated."),
    ("listing.deleted", "Occurs when an existing listing is deleted."),
    ("listing.approved", "Occurs when a listing is approved from the SuperAdmin."),
    ("listing.rejected", "Occurs when a listing is rejected from the SuperAdmin."),
    ("account.created", "Occurs when a new account is created."),
    ("account.updated", "Occurs when an existing account is updated."),
    ("account.deleted", "Occurs when an existing account is deleted."),
    ("account.approved", "Occurs when an account is approved from the SuperAdmin."),
    ("account.rejected", "Occurs when an account is rejected from the SuperAdmin."),
    ("order.confirmed", "Occurs when an order is successfully placed."),
    ("order.canceled", "Occurs when an order is successfully canceled."),
];

/// `webhook.disabled`: hookline disabled one of the platform's webhooks.
pub const WEBHOOK_DISABLED: &str = "webhook.disabled";
/// `delivery.failed`: a delivery exhausted its retries.
pub const DELIVERY_FAILED: &str = "delivery.failed";
/// `webhook.recovered`: a webhook that was failing delivered again.
pub const WEBHOOK_RECOVERED: &str = "webhook.recovered";

/// Operational event types: published by hookline itself about the platform's webhooks (like Svix's
/// operational webhooks). They are delivered only to webhooks that name them; `*` does not include them, so a
/// catch-all webhook never receives hookline's own traffic by surprise.
pub const OPERATIONAL_EVENT_TYPES: [(&str, &str); 3] = [
    (WEBHOOK_DISABLED, "hookline disabled a webhook (every attempt failed for the window, or it answered 410 Gone)."),
    (DELIVERY_FAILED, "A delivery exhausted its retries and is marked failed."),
    (WEBHOOK_RECOVERED, "A webhook that had failing deliveries delivered successfully again."),
];

/// Whether `name` is one of the built-in types (Tradly's or hookline's operational ones).
pub fn is_built_in(name: &str) -> bool {
    BUILT_IN_EVENT_TYPES.iter().chain(OPERATIONAL_EVENT_TYPES.iter()).any(|(built_in, _)| *built_in == name)
}

/// Whether `name` is an operational type.
pub fn is_operational(name: &str) -> bool {
    OPERATIONAL_EVENT_TYPES.iter().any(|(operational, _)| *operational == name)
}

/// A syntactically valid event type name: dot-separated lowercase segments (`a-z`, `0-9`, `_`), at least two
/// (`name.verb`), at most 100 characters. Whether it exists in a platform's catalog is the store's question.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventTypeName(String);

impl EventTypeName {
    /// Validates `text` as an event type name; `field` names the request field in the error.
    pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
        let valid_segment =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let segments: Vec<&str> = text.split('.').collect();
        if text.len() > 100 || segments.len() < 2 || !segments.iter().all(|s| valid_segment(s)) {
            return Err(ValidationError::new(
                field,
                format!("{text:?} is not a valid event type: use lowercase name.verb, e.g. invoice.paid"),
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EventTypeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_are_valid_names() {
        for (name, description) in BUILT_IN_EVENT_TYPES {
            assert!(EventTypeName::parse("name", name).is_ok(), "{name}");
            assert!(description.ends_with('.'));
            assert!(is_built_in(name));
        }
        assert!(!is_built_in("invoice.paid"));
        assert!(is_built_in("webhook.disabled") && is_operational("webhook.disabled"));
        assert!(!is_operational("user.created"));
    }

    #[test]
    fn names_validate() {
        for ok in ["invoice.paid", "a.b.c", "shipment_2.sent"] {
            assert!(EventTypeName::parse("name", ok).is_ok(), "{ok}");
        }
        for bad in ["", "invoice", "Invoice.paid", "invoice.", ".paid", "a..b", "in voice.paid", "*"] {
            assert!(EventTypeName::parse("name", bad).is_err(), "{bad}");
        }
    }
}
