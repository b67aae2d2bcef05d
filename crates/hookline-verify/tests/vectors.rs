//! Known-answer vectors from shared/vectors/signatures.json, copied into this crate's tests/ so a fresh clone
//! that lacks the shared folder still runs them.

// Test code throughout (see clippy.toml): its helpers may expect, as the `#[test]` functions may.
#![cfg(test)]

use hookline_verify::{
    VerifyError, standard_key, standard_signature, tradly_signature, verify_standard, verify_tradly,
};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("signatures.json")).expect("vectors file is valid JSON")
}

#[test]
fn tradly_vectors_match() {
    let vectors = vectors();
    let cases = vectors["tradly"].as_array().expect("tradly array");
    assert!(!cases.is_empty());
    for case in cases {
        let secret = case["secret"].as_str().unwrap();
        let event_id = case["event_id"].as_str().unwrap();
        let expected = case["signature_hex"].as_str().unwrap();
        assert_eq!(tradly_signature(secret, event_id), expected, "secret {secret:?} id {event_id:?}");
        verify_tradly(secret, event_id, expected).unwrap();
        assert_eq!(verify_tradly(secret, "other-id", expected), Err(VerifyError::Mismatch));
    }
}

#[test]
fn standard_vectors_match() {
    let vectors = vectors();
    let cases = vectors["standard_webhooks"].as_array().expect("standard array");
    assert!(!cases.is_empty());
    for case in cases {
        let secret = case["secret"].as_str().unwrap();
        let id = case["webhook_id"].as_str().unwrap();
        let ts = case["webhook_timestamp"].as_str().unwrap();
        let body = case["body"].as_str().unwrap().as_bytes();
        let expected = case["webhook_signature"].as_str().unwrap();
        let key = standard_key(secret).unwrap();
        assert_eq!(standard_signature(&key, id, ts.parse().unwrap(), body), expected);
        let now: i64 = ts.parse().unwrap();
        verify_standard(secret, id, ts, body, expected, now, 300).unwrap();
        // A rotation header carries several signatures; any match is enough.
        let rotated = format!("v1,AAAA {expected}");
        verify_standard(secret, id, ts, body, &rotated, now, 300).unwrap();
        let mut altered = body.to_vec();
        altered.push(b' ');
        assert_eq!(verify_standard(secret, id, ts, &altered, expected, now, 300), Err(VerifyError::Mismatch));
        assert_eq!(
            verify_standard(secret, id, ts, body, expected, now + 301, 300),
            Err(VerifyError::TimestampOutOfTolerance)
        );
        assert_eq!(verify_standard(secret, id, ts, body, "v2,xyz", now, 300), Err(VerifyError::MalformedHeader));
    }
}
