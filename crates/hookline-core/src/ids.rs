//! Typed, prefixed identifiers: `plt_…`, `wh_…`, `dlv_…`, `att_…`, `inb_…`, `req_…`, `ntf_…`, `evt_…`.
//!
//! Generated ids are the prefix followed by a UUIDv7 in Crockford base32 (26 characters), so they sort by
//! creation time as strings and describe themselves in logs and URLs. Mixing up two kinds is a compile error.

use std::fmt;

use crate::ValidationError;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A time-sortable unique suffix: the 128 bits of a UUIDv7 in Crockford base32.
pub fn sortable_unique() -> String {
    let value = uuid::Uuid::now_v7().as_u128();
    let mut out = [0u8; 26];
    for (index, slot) in out.iter_mut().enumerate() {
        // 26 digits × 5 bits = 130 bits; the first digit carries the top 3 bits.
        let shift = 125 - 5 * index as u32;
        *slot = CROCKFORD[((value >> shift) & 0x1f) as usize];
    }
    out.iter().map(|&b| b as char).collect()
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A new, time-sortable id.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, sortable_unique()))
            }

            /// Wraps a stored or requested id. Ids of the wrong kind are refused, so a path like
            /// `/v1/webhooks/dlv_…` is a plain 404 instead of a confusing lookup.
            pub fn parse(text: &str) -> Option<Self> {
                let ok = text.len() <= 64
                    && text.starts_with($prefix)
                    && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                ok.then(|| Self(text.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(
    /// A platform (tenant).
    PlatformId, "plt_"
);
prefixed_id!(
    /// A webhook (endpoint subscription).
    WebhookId, "wh_"
);
prefixed_id!(
    /// One event sent to one webhook.
    DeliveryId, "dlv_"
);
prefixed_id!(
    /// One HTTP attempt of a delivery.
    AttemptId, "att_"
);
prefixed_id!(
    /// A request-recording inbox.
    InboxId, "inb_"
);
prefixed_id!(
    /// A request captured by an inbox.
    RequestId, "req_"
);
prefixed_id!(
    /// A failure notice (email) to a platform.
    NotificationId, "ntf_"
);

/// An event id: caller-supplied (unique per platform, idempotency key) or generated `evt_…`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(String);

impl EventId {
    /// The longest caller-supplied id accepted.
    pub const MAX_LEN: usize = 255;

    /// A new generated id: `evt_` + a time-sortable unique suffix.
    pub fn generate() -> Self {
        Self(format!("evt_{}", sortable_unique()))
    }

    /// Validates a caller-supplied id: 1 to 255 characters of letters, digits and `._:-`. Receivers put it in
    /// headers and signatures, so anything that could need escaping is refused.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        if text.is_empty() || text.len() > Self::MAX_LEN {
            return Err(ValidationError::new("id", "must be 1 to 255 characters"));
        }
        if !text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-')) {
            return Err(ValidationError::new("id", "may contain only letters, digits and . _ : -"));
        }
        Ok(Self(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_prefixed_sortable_and_unique() {
        let ids: Vec<_> = (0..200).map(|_| EventId::generate()).collect();
        for id in &ids {
            assert!(id.as_str().starts_with("evt_"));
            assert_eq!(id.as_str().len(), 4 + 26);
        }
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "ids are unique");
        // UUIDv7 is monotonic within a process, so generation order is sort order.
        assert_eq!(sorted, ids);
    }

    #[test]
    fn typed_ids_refuse_other_kinds() {
        let webhook = WebhookId::generate();
        assert_eq!(WebhookId::parse(webhook.as_str()), Some(webhook.clone()));
        assert_eq!(DeliveryId::parse(webhook.as_str()), None);
        assert_eq!(WebhookId::parse("wh_../../etc"), None);
    }

    #[test]
    fn event_ids_validate() {
        assert!(EventId::parse("user.created-000001").is_ok());
        assert!(EventId::parse("ord:42_a").is_ok());
        for bad in ["", "has space", "slash/x", "quote\"", &"x".repeat(256)] {
            assert!(EventId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
