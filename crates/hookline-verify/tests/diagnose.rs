//! Table tests of `diagnose`: the known-answer vectors verify, and each way a request can go wrong is told apart.

#![cfg(test)]

use hookline_verify::diagnose::{Diagnosis, Failure, KnownSecret, Scheme, SecretState, SignedRequest, diagnose};
use hookline_verify::{standard_key, standard_signature, tradly_signature};
use serde_json::Value;

const TOLERANCE: u64 = 300;
const OLD: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NEW: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const OTHER: &str = "whsec_dGhpcyBpcyBhIGRpZmZlcmVudCBzZWNyZXQ=";

fn vectors() -> Value {
    serde_json::from_str(include_str!("signatures.json")).expect("vectors file is valid JSON")
}

fn active(secret: &str) -> KnownSecret<'_> {
    KnownSecret { secret, state: SecretState::Active }
}

fn retired(secret: &str) -> KnownSecret<'_> {
    KnownSecret { secret, state: SecretState::RotatedOut }
}

/// The headers hookline sends for `body`, signed with `secret` at `timestamp`.
struct Signed {
    id: String,
    timestamp: String,
    signature: String,
    tradly: String,
}

fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Signed {
    let key = standard_key(secret).unwrap();
    Signed {
        id: id.to_owned(),
        timestamp: timestamp.to_string(),
        signature: standard_signature(&key, id, timestamp, body),
        tradly: tradly_signature(secret, id),
    }
}

impl Signed {
    fn request<'a>(&'a self, body: &'a [u8]) -> SignedRequest<'a> {
        SignedRequest {
            webhook_id: Some(&self.id),
            webhook_timestamp: Some(&self.timestamp),
            webhook_signature: Some(&self.signature),
            tradly_signature: Some(&self.tradly),
            event_id: None,
            body,
        }
    }
}

#[test]
fn standard_vectors_verify_and_name_the_secret() {
    let vectors = vectors();
    for case in vectors["standard_webhooks"].as_array().unwrap() {
        let secret = case["secret"].as_str().unwrap();
        let timestamp = case["webhook_timestamp"].as_str().unwrap();
        let now: i64 = timestamp.parse().unwrap();
        let request = SignedRequest::from_headers(
            [
                ("Webhook-Id", case["webhook_id"].as_str().unwrap()),
                ("webhook-timestamp", timestamp),
                ("WEBHOOK-SIGNATURE", case["webhook_signature"].as_str().unwrap()),
            ],
            case["body"].as_str().unwrap().as_bytes(),
        );
        let secrets = [active(OTHER), active(secret)];
        assert_eq!(
            diagnose(&request, &secrets, now, TOLERANCE),
            Diagnosis::Verified { scheme: Scheme::Standard, secret_index: 1 },
            "{case}"
        );
        // The same vector checked only against a secret that is not its own.
        assert_eq!(
            diagnose(&request, &[active(OTHER)], now, TOLERANCE),
            Diagnosis::Failed(Failure::WrongSecret { header: "webhook-signature" })
        );
    }
}

#[test]
fn tradly_vectors_verify_on_their_own() {
    let vectors = vectors();
    for case in vectors["tradly"].as_array().unwrap() {
        let request = SignedRequest {
            tradly_signature: case["signature_hex"].as_str(),
            event_id: case["event_id"].as_str(),
            ..SignedRequest::default()
        };
        let secret = case["secret"].as_str().unwrap();
        assert_eq!(
            diagnose(&request, &[active(secret)], 0, TOLERANCE),
            Diagnosis::Verified { scheme: Scheme::Tradly, secret_index: 0 }
        );
        assert_eq!(
            diagnose(&request, &[active(OTHER)], 0, TOLERANCE),
            Diagnosis::Failed(Failure::WrongSecret { header: "x-tradly-signature" })
        );
    }
}

#[test]
fn each_failure_is_told_apart() {
    let now = 1_764_374_400;
    let body = br#"{"id":"evt_1","type":"user.created","created_at":"2025-11-29T00:00:00Z","data":{"user_id":42}}"#;
    let fresh = sign(NEW, "evt_1", now, body);
    let stale = sign(NEW, "evt_1", now - 301, body);
    let future = sign(NEW, "evt_1", now + 600, body);
    let by_old = sign(OLD, "evt_1", now, body);
    let by_other = sign(OTHER, "evt_1", now, body);
    let tampered: &[u8] =
        br#"{"id":"evt_1","type":"user.created","created_at":"2025-11-29T00:00:00Z","data":{"user_id":43}}"#;
    let current = [active(NEW)];
    let rotating = [active(NEW), active(OLD)];
    let rotated_out = [active(NEW), retired(OLD)];

    let missing_timestamp = SignedRequest { webhook_timestamp: None, ..fresh.request(body) };
    let missing_id = SignedRequest { webhook_id: None, ..fresh.request(body) };
    let bad_timestamp = SignedRequest { webhook_timestamp: Some("yesterday"), ..fresh.request(body) };
    let bad_signature = SignedRequest { webhook_signature: Some("sha256=abc"), ..fresh.request(body) };
    let bad_tradly = SignedRequest { tradly_signature: Some("not-hex"), ..fresh.request(body) };
    let standard_only = SignedRequest { tradly_signature: None, ..fresh.request(body) };
    let unsigned = SignedRequest { body, ..SignedRequest::default() };

    use Failure::*;
    let table: Vec<(&str, SignedRequest<'_>, &[KnownSecret<'_>], Diagnosis)> = vec![
        ("fresh", fresh.request(body), &current, Diagnosis::Verified { scheme: Scheme::Standard, secret_index: 0 }),
        ("standard only", standard_only, &current, Diagnosis::Verified { scheme: Scheme::Standard, secret_index: 0 }),
        ("unsigned", unsigned, &current, Diagnosis::Unsigned),
        ("no secret known", fresh.request(body), &[], Diagnosis::Failed(NoSecret)),
        ("tampered body", fresh.request(tampered), &current, Diagnosis::Failed(BodyChanged)),
        (
            "stale",
            stale.request(body),
            &current,
            Diagnosis::Failed(TimestampOutOfTolerance { skew_seconds: -301, tolerance_seconds: TOLERANCE }),
        ),
        (
            "future",
            future.request(body),
            &current,
            Diagnosis::Failed(TimestampOutOfTolerance { skew_seconds: 600, tolerance_seconds: TOLERANCE }),
        ),
        (
            "old secret in overlap",
            by_old.request(body),
            &rotating,
            Diagnosis::Verified { scheme: Scheme::Standard, secret_index: 1 },
        ),
        (
            "old secret rotated out",
            by_old.request(body),
            &rotated_out,
            Diagnosis::Failed(RotatedOutSecret { scheme: Scheme::Standard }),
        ),
        (
            "other secret",
            by_other.request(body),
            &rotated_out,
            Diagnosis::Failed(WrongSecret { header: "webhook-signature" }),
        ),
        (
            "missing timestamp",
            missing_timestamp,
            &current,
            Diagnosis::Failed(HeaderMissing { header: "webhook-timestamp" }),
        ),
        ("missing id", missing_id, &current, Diagnosis::Failed(HeaderMissing { header: "webhook-id" })),
        ("bad timestamp", bad_timestamp, &current, Diagnosis::Failed(MalformedHeader { header: "webhook-timestamp" })),
        ("bad signature", bad_signature, &current, Diagnosis::Failed(MalformedHeader { header: "webhook-signature" })),
        ("bad tradly", bad_tradly, &current, Diagnosis::Failed(MalformedHeader { header: "x-tradly-signature" })),
    ];
    for (name, request, secrets, expected) in table {
        assert_eq!(diagnose(&request, secrets, now, TOLERANCE), expected, "{name}");
    }
}

#[test]
fn a_stale_tradly_signature_after_rotation_is_named() {
    // A receiver that kept the old secret: the Standard signature still verifies in the overlap (both secrets
    // sign it), but X-Tradly-Signature switched to the new secret at once, so the old secret cannot match it.
    let now = 1_764_374_400;
    let body = b"{}";
    let by_new = sign(NEW, "evt_9", now, body);
    let request = SignedRequest { tradly_signature: Some(&by_new.tradly), ..by_new.request(body) };
    assert_eq!(
        diagnose(&request, &[active(OLD)], now, TOLERANCE),
        Diagnosis::Failed(Failure::WrongSecret { header: "webhook-signature" })
    );
    let old_tradly = tradly_signature(OLD, "evt_9");
    let request = SignedRequest { tradly_signature: Some(&old_tradly), ..by_new.request(body) };
    assert_eq!(
        diagnose(&request, &[active(NEW), retired(OLD)], now, TOLERANCE),
        Diagnosis::Failed(Failure::RotatedOutSecret { scheme: Scheme::Tradly })
    );
}

#[test]
fn every_failure_has_a_code_and_a_sentence() {
    let failures = [
        Failure::HeaderMissing { header: "webhook-id" },
        Failure::MalformedHeader { header: "webhook-signature" },
        Failure::TimestampOutOfTolerance { skew_seconds: -400, tolerance_seconds: 300 },
        Failure::BodyChanged,
        Failure::RotatedOutSecret { scheme: Scheme::Tradly },
        Failure::WrongSecret { header: "webhook-signature" },
        Failure::NoSecret,
    ];
    let mut codes: Vec<&str> = failures.iter().map(Failure::code).collect();
    codes.dedup();
    assert_eq!(codes.len(), failures.len());
    assert_eq!(
        failures[2].to_string().split(':').next(),
        Some("webhook-timestamp is 400 s in the past, outside the 300 s tolerance")
    );
}

#[test]
fn tolerance_edges_and_partial_headers() {
    let now = 1_764_374_400;
    let body = br#"{"id":"evt_5"}"#;
    // Exactly at the tolerance, on either side, still verifies; one second beyond does not.
    for skew in [-300, 300] {
        let signed = sign(NEW, "evt_5", now + skew, body);
        assert_eq!(
            diagnose(&signed.request(body), &[active(NEW)], now, TOLERANCE),
            Diagnosis::Verified { scheme: Scheme::Standard, secret_index: 0 },
            "{skew}"
        );
    }
    // A valid Tradly signature does not excuse a Standard header set with one header missing.
    let signed = sign(NEW, "evt_5", now, body);
    let no_signature = SignedRequest { webhook_signature: None, ..signed.request(body) };
    assert_eq!(
        diagnose(&no_signature, &[active(NEW)], now, TOLERANCE),
        Diagnosis::Failed(Failure::HeaderMissing { header: "webhook-signature" })
    );
    // Tradly alone: the event id comes from the body; a signature over another id matches no secret.
    let tradly_only = |event_id| SignedRequest {
        tradly_signature: Some(&signed.tradly),
        event_id: Some(event_id),
        body,
        ..SignedRequest::default()
    };
    assert_eq!(
        diagnose(&tradly_only("evt_5"), &[active(OTHER), active(NEW)], now, TOLERANCE),
        Diagnosis::Verified { scheme: Scheme::Tradly, secret_index: 1 }
    );
    assert_eq!(
        diagnose(&tradly_only("evt_6"), &[active(NEW)], now, TOLERANCE),
        Diagnosis::Failed(Failure::WrongSecret { header: "x-tradly-signature" })
    );
}
