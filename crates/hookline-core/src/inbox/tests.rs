use std::time::Duration;

use super::*;
use crate::secret::Secret;
use crate::signing::sign;
use crate::webhook::SigningSecrets;

const NOW_MS: i64 = 1_764_374_400_000;

/// Status, body, content type, delay, and the field the error names.
type BadResponse = (Option<u16>, Option<String>, Option<String>, Option<u32>, &'static str);

/// Name, webhooks pointing here, headers, body, expected `verified`, expected code.
type VerdictCase<'a> = (&'a str, Vec<WebhookSecrets>, Vec<(String, String)>, &'a [u8], Option<bool>, &'a str);

fn now() -> Timestamp {
    Timestamp::from_unix_millis(NOW_MS)
}

#[test]
fn responses_validate_each_field() {
    assert_eq!(InboxResponse::new(None, None, None, None).unwrap(), InboxResponse::default());
    let ok = InboxResponse::new(Some(418), Some("teapot".into()), Some("application/json".into()), Some(30_000));
    assert_eq!(ok.unwrap().delay_ms, 30_000);
    let cases: [BadResponse; 6] = [
        (Some(99), None, None, None, "response.status"),
        (Some(600), None, None, None, "response.status"),
        (None, None, None, Some(30_001), "response.delay_ms"),
        (None, Some("x".repeat(MAX_RESPONSE_BODY + 1)), None, None, "response.body"),
        (None, None, Some("text/plain\r\nSet-Cookie: a=b".into()), None, "response.content_type"),
        (None, None, Some(" ".into()), None, "response.content_type"),
    ];
    for (status, body, content_type, delay, field) in cases {
        assert_eq!(InboxResponse::new(status, body, content_type, delay).unwrap_err().field, field);
    }
}

#[test]
fn only_the_public_origin_under_in_is_an_own_inbox() {
    let id = InboxId::generate();
    let base = InboxBase::parse("http://127.0.0.1:8080/").unwrap();
    assert_eq!(base.inbox_url(&id), format!("http://127.0.0.1:8080/in/{id}"));
    let own = |text: &str| base.owns(&url::Url::parse(text).unwrap());
    assert!(own(&format!("http://127.0.0.1:8080/in/{id}")));
    assert!(own(&format!("http://127.0.0.1:8080/in/{id}/deep/path?x=1")));
    for other in [
        format!("http://127.0.0.1:8081/in/{id}"),
        format!("https://127.0.0.1:8080/in/{id}"),
        format!("http://localhost:8080/in/{id}"),
        format!("http://user:pw@127.0.0.1:8080/in/{id}"),
        "http://127.0.0.1:8080/v1/platforms".to_owned(),
        "http://127.0.0.1:8080/in/".to_owned(),
        "http://127.0.0.1:8080/in/wh_123".to_owned(),
        // The parser resolves dot segments, so this is /v1/webhooks.
        format!("http://127.0.0.1:8080/in/{id}/../../v1/webhooks"),
        format!("http://127.0.0.1:8080/inbox/{id}"),
    ] {
        assert!(!own(&other), "{other}");
    }
    let prefixed = InboxBase::parse("https://hooks.example.com:443/hookline/").unwrap();
    assert_eq!(prefixed.inbox_url(&id), format!("https://hooks.example.com/hookline/in/{id}"));
    assert!(prefixed.owns(&url::Url::parse(&prefixed.inbox_url(&id)).unwrap()));
    assert!(!prefixed.owns(&url::Url::parse(&format!("https://hooks.example.com/in/{id}")).unwrap()));
    assert!(InboxBase::parse("ftp://example.com").is_err());
    assert!(InboxBase::parse("http://a:b@example.com").is_err());
}

/// One webhook's secrets and the headers hookline would send for `body` at `at`.
fn signed(secrets: &SigningSecrets, event_id: &str, at: Timestamp, body: &[u8]) -> Vec<(String, String)> {
    let headers = sign(secrets, event_id, at, body);
    vec![
        ("Content-Type".into(), "application/json".into()),
        ("X-Tradly-Signature".into(), headers.tradly_signature),
        ("webhook-id".into(), event_id.into()),
        ("webhook-timestamp".into(), headers.webhook_timestamp),
        ("webhook-signature".into(), headers.webhook_signature),
    ]
}

fn code(verdict: &Verdict) -> &str {
    verdict.note.as_ref().map_or("", |note| note.code.as_str())
}

#[test]
fn verdicts_tell_each_failure_apart() {
    let webhook = WebhookId::generate();
    let current = Secret::generate();
    let old = Secret::generate();
    let rotated = |until: Timestamp| SigningSecrets { current: current.clone(), previous: Some((old.clone(), until)) };
    let points_here = |secrets: SigningSecrets| vec![WebhookSecrets { webhook_id: webhook.clone(), secrets }];
    let plain = SigningSecrets { current: current.clone(), previous: None };
    let body = br#"{"id":"evt_1","type":"user.created"}"#;
    let good = signed(&plain, "evt_1", now(), body);
    let by_old = signed(&SigningSecrets { current: old.clone(), previous: None }, "evt_1", now(), body);
    let by_stranger = signed(&SigningSecrets { current: Secret::generate(), previous: None }, "evt_1", now(), body);
    let stale = signed(&plain, "evt_1", now().minus(Duration::from_secs(301)), body);
    let without = |name: &str| good.iter().filter(|(n, _)| n != name).cloned().collect::<Vec<_>>();
    let replaced = |name: &str, value: &str| {
        good.iter().map(|(n, v)| (n.clone(), if n == name { value.to_owned() } else { v.clone() })).collect::<Vec<_>>()
    };
    let tampered = br#"{"id":"evt_1","type":"user.deleted"}"#;
    let overlap_open = now().plus(Duration::from_secs(60));
    let overlap_over = now().minus(Duration::from_secs(60));
    let cases: Vec<VerdictCase> = vec![
        ("signed now", points_here(plain.clone()), good.clone(), body, Some(true), "verified"),
        ("old secret in overlap", points_here(rotated(overlap_open)), by_old.clone(), body, Some(true), "verified"),
        (
            "old secret after overlap",
            points_here(rotated(overlap_over)),
            by_old,
            body,
            Some(false),
            "rotated_out_secret",
        ),
        ("another secret", points_here(plain.clone()), by_stranger, body, Some(false), "wrong_secret"),
        ("body changed", points_here(plain.clone()), good.clone(), tampered, Some(false), "body_changed"),
        ("stale", points_here(plain.clone()), stale, body, Some(false), "timestamp_out_of_tolerance"),
        ("no timestamp", points_here(plain.clone()), without("webhook-timestamp"), body, Some(false), "header_missing"),
        ("no signature", points_here(plain.clone()), without("webhook-signature"), body, Some(false), "header_missing"),
        (
            "bad signature",
            points_here(plain.clone()),
            replaced("webhook-signature", "x"),
            body,
            Some(false),
            "malformed_header",
        ),
        (
            "bad tradly",
            points_here(plain.clone()),
            replaced("X-Tradly-Signature", "zz"),
            body,
            Some(false),
            "malformed_header",
        ),
        ("unsigned", points_here(plain.clone()), vec![("a".into(), "b".into())], body, None, ""),
        ("nobody points here", Vec::new(), good.clone(), body, Some(false), "no_secret"),
    ];
    for (name, webhooks, headers, body, verified, expected) in cases {
        let verdict = verdict(&webhooks, &headers, body, now());
        assert_eq!(verdict.verified, verified, "{name}: {verdict:?}");
        assert_eq!(code(&verdict), expected, "{name}: {verdict:?}");
        if verified == Some(false) && !webhooks.is_empty() {
            let note = verdict.note.as_ref().unwrap();
            assert_eq!(note.webhook_id.as_ref(), Some(&webhook), "{name}");
            assert!(!note.message.is_empty());
        }
    }
}

#[test]
fn a_match_names_its_webhook_among_several() {
    let (first, second) = (WebhookId::generate(), WebhookId::generate());
    let secrets_of = |_: u8| SigningSecrets { current: Secret::generate(), previous: None };
    let (a, b) = (secrets_of(0), secrets_of(1));
    let webhooks = vec![
        WebhookSecrets { webhook_id: first, secrets: a },
        WebhookSecrets { webhook_id: second.clone(), secrets: b.clone() },
    ];
    let body = br#"{"id":"evt_2"}"#;
    let verdict = verdict(&webhooks, &signed(&b, "evt_2", now(), body), body, now());
    assert_eq!(verdict.verified, Some(true));
    assert_eq!(verdict.note.unwrap().webhook_id, Some(second));
}

#[test]
fn the_shared_vectors_verify_through_the_inbox() {
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("../../../hookline-verify/tests/signatures.json")).unwrap();
    for case in vectors["standard_webhooks"].as_array().unwrap() {
        let field = |name: &str| case[name].as_str().unwrap().to_owned();
        let secrets = SigningSecrets { current: Secret::from_stored(field("secret")), previous: None };
        let webhooks = vec![WebhookSecrets { webhook_id: WebhookId::generate(), secrets }];
        let headers = vec![
            ("webhook-id".to_owned(), field("webhook_id")),
            ("webhook-timestamp".to_owned(), field("webhook_timestamp")),
            ("webhook-signature".to_owned(), field("webhook_signature")),
        ];
        let at = Timestamp::from_unix_millis(field("webhook_timestamp").parse::<i64>().unwrap() * 1000);
        let body = field("body");
        assert_eq!(verdict(&webhooks, &headers, body.as_bytes(), at).verified, Some(true), "{case}");
        // Ten minutes later the same request is a replay.
        let late = verdict(&webhooks, &headers, body.as_bytes(), at.plus(Duration::from_secs(600)));
        assert_eq!(code(&late), "timestamp_out_of_tolerance");
    }
    for case in vectors["tradly"].as_array().unwrap() {
        let field = |name: &str| case[name].as_str().unwrap().to_owned();
        let secrets = SigningSecrets { current: Secret::from_stored(field("secret")), previous: None };
        let webhooks = vec![WebhookSecrets { webhook_id: WebhookId::generate(), secrets }];
        let headers = vec![("X-Tradly-Signature".to_owned(), field("signature_hex"))];
        let body = serde_json::json!({"id": field("event_id")}).to_string();
        assert_eq!(verdict(&webhooks, &headers, body.as_bytes(), now()).verified, Some(true), "{case}");
    }
}
