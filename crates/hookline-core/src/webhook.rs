//! Webhooks: the validated URL, the event filter, and the signing secrets with rotation overlap.

use std::net::IpAddr;

use crate::catalog::EventTypeName;
use crate::ids::{PlatformId, WebhookId};
use crate::secret::Secret;
use crate::{Timestamp, ValidationError};

/// What the URL check allows. Production: HTTPS to public hosts only.
#[derive(Debug, Clone, Copy, Default)]
pub struct UrlPolicy {
    /// Accept `http://` URLs (development only).
    pub allow_http: bool,
    /// Accept loopback, private, link-local and other non-public IP literals (development and tests only).
    pub allow_private: bool,
}

/// A webhook URL that passed [`WebhookUrl::parse`]. The SSRF guard checks the resolved address again at
/// connect time; this early check gives the user a clear error when the URL is saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    /// The longest URL accepted.
    pub const MAX_LEN: usize = 2048;

    /// Validates a user-supplied URL under `policy`.
    pub fn parse(text: &str, policy: UrlPolicy) -> Result<Self, ValidationError> {
        let err = |message: &str| ValidationError::new("url", message);
        if text.len() > Self::MAX_LEN {
            return Err(err("is longer than 2048 characters"));
        }
        let url = url::Url::parse(text).map_err(|e| err(&format!("is not a valid URL ({e})")))?;
        match url.scheme() {
            "https" => {}
            "http" if policy.allow_http => {}
            "http" => {
                return Err(err("must use https:// (plain http:// is allowed only in --dev mode)"));
            }
            _ => return Err(err("must be an https:// URL")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err("must not carry credentials"));
        }
        let Some(host) = url.host() else {
            return Err(err("must have a host"));
        };
        if !policy.allow_private {
            let blocked = match host {
                url::Host::Ipv4(ip) => !is_public_ip(IpAddr::V4(ip)),
                url::Host::Ipv6(ip) => !is_public_ip(IpAddr::V6(ip)),
                url::Host::Domain(name) => {
                    let name = name.trim_end_matches('.').to_ascii_lowercase();
                    name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal")
                }
            };
            if blocked {
                return Err(err("points at a loopback, private or internal address"));
            }
        }
        Ok(Self(url))
    }

    /// Validates a user-supplied URL under `policy`, except that this server's own inbox URLs (see
    /// [`InboxBase`](crate::inbox::InboxBase)) are accepted outside development too, `http://` and loopback
    /// included: hookline delivers to them over its own listener, not through the network.
    pub fn parse_allowing_own_inboxes(
        text: &str,
        policy: UrlPolicy,
        inboxes: &crate::inbox::InboxBase,
    ) -> Result<Self, ValidationError> {
        let open = UrlPolicy { allow_http: true, allow_private: true };
        match Self::parse(text, open) {
            Ok(url) if inboxes.owns(url.as_url()) => Ok(url),
            _ => Self::parse(text, policy),
        }
    }

    /// Wraps a URL read back from the store (validated when it was saved).
    pub fn from_stored(text: &str) -> Option<Self> {
        url::Url::parse(text).ok().map(Self)
    }

    /// The URL.
    pub fn as_url(&self) -> &url::Url {
        &self.0
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The URL for logs and emails: query values, fragment and any credentials masked
    /// (`https://x.example/hook?token=***`); see [`crate::redact`]. Only the API shows the whole URL, to its owner.
    pub fn redacted(&self) -> String {
        crate::redact::redact_url(&self.0)
    }
}

/// Whether `ip` is a public unicast address, i.e. not loopback, private (RFC 1918, ULA), link-local, CGNAT,
/// unspecified, multicast, broadcast, documentation, benchmarking or reserved. IPv6 addresses that carry an IPv4
/// address (IPv4-mapped and -compatible, 6to4, Teredo, NAT64) are judged as the IPv4 address they carry. Cloud metadata endpoints (169.254.169.254,
/// fd00:ec2::254) fall in the link-local and ULA ranges.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_ip(IpAddr::V4(v4));
            }
            let segments = v6.segments();
            if segments[..6] == [0, 0, 0, 0, 0, 0] {
                // IPv4-compatible (deprecated) addresses, plus :: and ::1.
                return !v6.is_unspecified()
                    && !v6.is_loopback()
                    && is_public_ip(IpAddr::V4(embedded_v4(&segments, 6)));
            }
            // Forms that route to an IPv4 address they carry: judged as that address, since a relay or a NAT64
            // gateway (or a host that speaks 6to4 itself) would deliver the packet there.
            match segments[..2] {
                // 6to4 (RFC 3056): 2002:AABB:CCDD::/48.
                [0x2002, _] => return is_public_ip(IpAddr::V4(embedded_v4(&segments, 1))),
                // Teredo (RFC 4380): 2001:0::/32, the server's IPv4 in bits 32..64 and the client's, inverted,
                // in the last 32 bits. Both must be public.
                [0x2001, 0x0000] => {
                    let server = embedded_v4(&segments, 2);
                    let client = std::net::Ipv4Addr::from(!u32::from(embedded_v4(&segments, 6)));
                    return is_public_ip(IpAddr::V4(server)) && is_public_ip(IpAddr::V4(client));
                }
                // The NAT64 well-known prefix (RFC 6052): 64:ff9b::/96 carries the IPv4 in its last 32 bits. The
                // rest of 64:ff9b::/32, including the local-use prefix 64:ff9b:1::/48 (RFC 8215), is refused.
                [0x0064, 0xff9b] => {
                    return segments[2..6] == [0, 0, 0, 0] && is_public_ip(IpAddr::V4(embedded_v4(&segments, 6)));
                }
                _ => {}
            }
            let first = segments[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
                || (first == 0x2001 && segments[1] == 0x0db8)
                || first == 0x0100)
        }
    }
}

/// The IPv4 address in `segments[at]` and `segments[at + 1]`.
fn embedded_v4(segments: &[u16; 8], at: usize) -> std::net::Ipv4Addr {
    let [high, low] = [segments[at], segments[at + 1]];
    std::net::Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))
}

/// Which event types a webhook receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFilter {
    /// `*`: every event type, present and future.
    All,
    /// Exactly these types (deduplicated, sorted).
    Only(Vec<EventTypeName>),
}

impl EventFilter {
    /// Builds a filter from the request's `events` list: `["*"]` or one or more type names. Whether each
    /// named type exists in the catalog is checked by the caller against the store.
    pub fn parse(events: &[String]) -> Result<Self, ValidationError> {
        if events.is_empty() {
            return Err(ValidationError::new("events", "must name at least one event type, or \"*\""));
        }
        if events.iter().any(|e| e == "*") {
            if events.len() > 1 {
                return Err(ValidationError::new("events", "\"*\" must be the only entry"));
            }
            return Ok(Self::All);
        }
        let mut names = events
            .iter()
            .enumerate()
            .map(|(index, e)| EventTypeName::parse(&format!("events[{index}]"), e))
            .collect::<Result<Vec<_>, _>>()?;
        names.sort();
        names.dedup();
        Ok(Self::Only(names))
    }

    /// Whether an event of type `event_type` goes to this webhook. This is the whole of fan-out's matching.
    /// `*` matches every type except hookline's operational ones, which must be named.
    pub fn matches(&self, event_type: &str) -> bool {
        match self {
            Self::All => !crate::catalog::is_operational(event_type),
            Self::Only(names) => names.iter().any(|n| n.as_str() == event_type),
        }
    }

    /// The filter as the list the API shows.
    pub fn to_strings(&self) -> Vec<String> {
        match self {
            Self::All => vec!["*".to_owned()],
            Self::Only(names) => names.iter().map(|n| n.as_str().to_owned()).collect(),
        }
    }
}

/// The secrets that sign a webhook's deliveries: the current one, and during a rotation the previous one
/// until its overlap ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningSecrets {
    /// The newest secret; it alone signs `X-Tradly-Signature`.
    pub current: Secret,
    /// The secret replaced by the last rotation, and when it stops signing.
    pub previous: Option<(Secret, Timestamp)>,
}

impl SigningSecrets {
    /// The secrets that sign `webhook-signature` at `now`: the current one, then the previous one while its
    /// overlap lasts.
    pub fn active(&self, now: Timestamp) -> impl Iterator<Item = &Secret> {
        let previous = self.previous.as_ref().filter(|(_, until)| now < *until).map(|(secret, _)| secret);
        std::iter::once(&self.current).chain(previous)
    }
}

/// A stored webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Its id.
    pub id: WebhookId,
    /// The platform it belongs to.
    pub platform_id: PlatformId,
    /// Where deliveries are POSTed.
    pub url: WebhookUrl,
    /// Which event types it receives.
    pub events: EventFilter,
    /// Free text for the owner.
    pub description: String,
    /// The signing secrets.
    pub secrets: SigningSecrets,
    /// Whether deliveries are sent.
    pub enabled: bool,
    /// Why it was disabled, when it is.
    pub disabled_reason: Option<String>,
    /// Its own limit on attempts in flight at once; `None` uses the configured default.
    pub concurrency: Option<u32>,
    /// Since when every attempt has failed; `None` while the last attempt succeeded (or none was made).
    pub failing_since: Option<Timestamp>,
    /// Its receiver's rate limit: at most this many attempts start per second (the lane paces itself; nothing
    /// is dropped); `None` uses the configured default.
    pub rate_limit: Option<u32>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// A `hookline listen` session's temporary subscription: its deliveries are never POSTed by the engine but
    /// streamed to the CLI that holds it (`GET /v1/listeners/{id}/stream`), which reports each local answer back.
    pub listener: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROD: UrlPolicy = UrlPolicy { allow_http: false, allow_private: false };
    const DEV: UrlPolicy = UrlPolicy { allow_http: true, allow_private: true };

    #[test]
    fn url_policy_table() {
        let cases = [
            ("https://example.com/hook", PROD, true),
            ("http://example.com/hook", PROD, false),
            ("http://example.com/hook", DEV, true),
            ("ftp://example.com/hook", DEV, false),
            ("https://user:pw@example.com/", PROD, false),
            ("https://127.0.0.1/", PROD, false),
            ("https://[::1]/", PROD, false),
            ("https://[::ffff:10.0.0.1]/", PROD, false),
            ("https://0x7f000001/", PROD, false),
            ("https://169.254.169.254/latest", PROD, false),
            ("https://localhost:8443/", PROD, false),
            ("https://metadata.google.internal/", PROD, false),
            ("https://93.184.216.34/", PROD, true),
            ("https://[2002:7f00:1::1]/", PROD, false),
            ("https://[2001:0:808:808::80ff:fffe]/", PROD, false),
            ("https://[64:ff9b::a9fe:a9fe]/", PROD, false),
            ("http://127.0.0.1:9000/", DEV, true),
            ("not a url", DEV, false),
        ];
        for (url, policy, ok) in cases {
            assert_eq!(WebhookUrl::parse(url, policy).is_ok(), ok, "{url} {policy:?}");
        }
    }

    #[test]
    fn public_ip_table() {
        for (ip, public) in [
            ("8.8.8.8", true),
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("192.168.1.1", false),
            ("100.64.0.1", false),
            ("127.0.0.1", false),
            ("0.0.0.0", false),
            ("169.254.169.254", false),
            ("2606:4700::1111", true),
            ("::1", false),
            ("fd00:ec2::254", false),
            ("fe80::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:8.8.8.8", true),
            // 6to4: judged as the IPv4 address in bits 16..48.
            ("2002:7f00:1::1", false),
            ("2002:a00:1::", false),
            ("2002:a9fe:a9fe::1", false),
            ("2002:808:808::1", true),
            // Teredo: the server (bits 32..64) and the inverted client (last 32 bits) must both be public.
            ("2001:0:808:808::80ff:fffe", false),
            ("2001:0:7f00:1::f7f7:f7f7", false),
            ("2001:0:808:808::f7f7:f7f7", true),
            // NAT64: the well-known prefix carries the IPv4 in its last 32 bits; the local-use prefix is refused.
            ("64:ff9b::7f00:1", false),
            ("64:ff9b::a9fe:a9fe", false),
            ("64:ff9b::808:808", true),
            ("64:ff9b:1::808:808", false),
        ] {
            assert_eq!(is_public_ip(ip.parse().unwrap()), public, "{ip}");
        }
    }

    #[test]
    fn filters_parse_and_match() {
        let all = EventFilter::parse(&["*".into()]).unwrap();
        assert!(all.matches("anything.at_all"));
        assert!(!all.matches("delivery.failed"), "* leaves out operational types");
        assert!(EventFilter::parse(&["delivery.failed".into()]).unwrap().matches("delivery.failed"));
        let some =
            EventFilter::parse(&["order.confirmed".into(), "user.created".into(), "user.created".into()]).unwrap();
        assert_eq!(some.to_strings(), ["order.confirmed", "user.created"]);
        assert!(some.matches("user.created"));
        assert!(!some.matches("user.updated"));
        assert!(EventFilter::parse(&[]).is_err());
        assert!(EventFilter::parse(&["*".into(), "user.created".into()]).is_err());
        assert_eq!(EventFilter::parse(&["Bad".into()]).unwrap_err().field, "events[0]");
    }

    #[test]
    fn previous_secret_signs_only_during_overlap() {
        let secrets = SigningSecrets {
            current: Secret::from_stored("whsec_new".into()),
            previous: Some((Secret::from_stored("whsec_old".into()), Timestamp::from_unix_millis(1000))),
        };
        assert_eq!(secrets.active(Timestamp::from_unix_millis(999)).count(), 2);
        assert_eq!(secrets.active(Timestamp::from_unix_millis(1000)).count(), 1);
    }
}
