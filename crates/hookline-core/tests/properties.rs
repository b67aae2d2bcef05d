//! Properties of everything in core that reads untrusted text (webhook URLs, durations, retry schedules) and
//! of the retry arithmetic, over generated input (proptest, 256 cases each: the short run CI does).

#![cfg(test)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hookline_core::Timestamp;
use hookline_core::delivery::{AttemptOutcome, FailureKind};
use hookline_core::retry::{JITTER_FRACTION, RetryPolicy, next_attempt_at, parse_schedule};
use hookline_core::time::{format_duration, parse_duration};
use hookline_core::webhook::{UrlPolicy, WebhookUrl, is_public_ip};
use proptest::prelude::*;

/// The ways an IPv4 address can be written in a URL host; the URL parser reads them all as the same address.
fn ipv4_spellings(ip: Ipv4Addr) -> Vec<String> {
    let n = u32::from(ip);
    let [a, b, c, d] = ip.octets();
    vec![
        ip.to_string(),
        n.to_string(),
        format!("{n:#x}"),
        format!("0{a:o}.{b}.{c}.{d}"),
        format!("{a}.{}", n & 0xff_ffff),
    ]
}

/// The host an accepted URL points at, if it is an IP literal.
fn literal_host(url: &WebhookUrl) -> Option<IpAddr> {
    match url.as_url().host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

fn special_ipv4() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        any::<u32>().prop_map(Ipv4Addr::from),
        (prop::sample::select(vec![0u8, 10, 100, 127, 169, 172, 192, 198, 203, 224, 240, 255]), any::<[u8; 3]>())
            .prop_map(|(a, [b, c, d])| Ipv4Addr::new(a, b, c, d)),
    ]
}

fn special_ipv6() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        any::<u128>().prop_map(Ipv6Addr::from),
        special_ipv4().prop_map(|v4| v4.to_ipv6_mapped()),
        special_ipv4().prop_map(|v4| Ipv6Addr::from(u128::from(u32::from(v4)))),
        (
            prop::sample::select(vec![0u16, 0x64, 0x100, 0x2001, 0xfc00, 0xfd00, 0xfe80, 0xfec0, 0xff02]),
            any::<[u16; 7]>()
        )
            .prop_map(|(first, rest)| {
                let [b, c, d, e, f, g, h] = rest;
                Ipv6Addr::new(first, b, c, d, e, f, g, h)
            }),
    ]
}

fn failed(retry_after: Option<Duration>) -> AttemptOutcome {
    AttemptOutcome::Failed { kind: FailureKind::Status, status: Some(503), message: "HTTP 503".into(), retry_after }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_is_accepted_or_refused_as_a_url_and_never_names_a_private_host(text in ".{0,80}") {
        for policy in [UrlPolicy::default(), UrlPolicy { allow_http: true, allow_private: false }] {
            if let Ok(url) = WebhookUrl::parse(&text, policy) {
                prop_assert!(literal_host(&url).is_none_or(is_public_ip), "{text} accepted");
            }
        }
        let _ = WebhookUrl::parse(&text, UrlPolicy { allow_http: true, allow_private: true });
    }

    #[test]
    fn an_ipv4_literal_in_any_spelling_is_accepted_exactly_when_public(ip in special_ipv4(), port in any::<u16>()) {
        for host in ipv4_spellings(ip) {
            let text = format!("https://{host}:{port}/hook?x=1");
            match WebhookUrl::parse(&text, UrlPolicy::default()) {
                Ok(url) => {
                    prop_assert!(is_public_ip(IpAddr::V4(ip)), "{text} accepted");
                    prop_assert_eq!(literal_host(&url), Some(IpAddr::V4(ip)));
                }
                Err(_) => prop_assert!(!is_public_ip(IpAddr::V4(ip)), "{text} refused"),
            }
        }
    }

    #[test]
    fn an_ipv6_literal_is_accepted_exactly_when_public(ip in special_ipv6()) {
        let text = format!("https://[{ip}]/hook");
        let accepted = WebhookUrl::parse(&text, UrlPolicy::default());
        prop_assert_eq!(accepted.is_ok(), is_public_ip(IpAddr::V6(ip)), "{}", text);
        if let Ok(url) = accepted {
            prop_assert!(literal_host(&url).is_some_and(is_public_ip));
        }
    }

    #[test]
    fn any_text_parses_as_a_duration_or_not_without_panicking(text in "[0-9]{0,25}[a-z ]{0,4}|.{0,12}") {
        if let Some(duration) = parse_duration(&text) {
            prop_assert_eq!(parse_duration(&format_duration(duration)), Some(duration));
        }
    }

    #[test]
    fn a_formatted_duration_parses_back(millis in 0u64..=u64::MAX / 86_400_000 * 1000) {
        let duration = Duration::from_millis(millis);
        prop_assert_eq!(parse_duration(&format_duration(duration)), Some(duration));
    }

    #[test]
    fn a_schedule_round_trips_and_any_text_is_safe(
        steps in prop::collection::vec(0u64..=10 * 86_400_000, 0..12),
        text in "[0-9a-z, ]{0,40}",
    ) {
        let schedule: Vec<Duration> = steps.iter().copied().map(Duration::from_millis).collect();
        let written = schedule.iter().map(|d| format_duration(*d)).collect::<Vec<_>>().join(",");
        prop_assert_eq!(parse_schedule(&written), Some(schedule));
        if let Some(parsed) = parse_schedule(&text) {
            let rewritten = parsed.iter().map(|d| format_duration(*d)).collect::<Vec<_>>().join(",");
            prop_assert_eq!(parse_schedule(&rewritten), Some(parsed));
        }
    }

    #[test]
    fn the_next_attempt_is_never_in_the_past_and_respects_the_cap(
        steps in prop::collection::vec(0u64..=30 * 86_400_000, 0..10),
        cap in 0u64..=30 * 86_400_000,
        attempts in 0u32..14,
        retry_after in proptest::option::of(0u64..=60 * 86_400_000),
        now in 0i64..=4_000_000_000_000,
        jitter in prop_oneof![-1.0f64..=1.0, any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY)],
    ) {
        let policy = RetryPolicy {
            schedule: steps.iter().copied().map(Duration::from_millis).collect(),
            retry_after_cap: Duration::from_millis(cap),
        };
        let now = Timestamp::from_unix_millis(now);
        let retry_after = retry_after.map(Duration::from_millis);
        prop_assert_eq!(next_attempt_at(&policy, attempts, &AttemptOutcome::Delivered { status: 200 }, now, jitter), None);
        let next = next_attempt_at(&policy, attempts, &failed(retry_after), now, jitter);
        let step = (attempts as usize).checked_sub(1).and_then(|i| policy.schedule.get(i)).copied();
        prop_assert_eq!(next.is_some(), step.is_some(), "a retry exactly while the schedule lasts");
        if let (Some(next), Some(step)) = (next, step) {
            prop_assert!(next >= now, "backwards: {next:?} < {now:?}");
            // The schedule's step with at most +20 % jitter, or the capped Retry-After, whichever is later.
            let longest = step.mul_f64(1.0 + JITTER_FRACTION).max(retry_after.unwrap_or_default().min(policy.retry_after_cap));
            prop_assert!(next <= now.plus(longest + Duration::from_millis(1)), "{next:?} beyond {longest:?}");
            if let Some(asked) = retry_after {
                prop_assert!(next >= now.plus(asked.min(policy.retry_after_cap)), "Retry-After not honoured");
            }
        }
    }
}
