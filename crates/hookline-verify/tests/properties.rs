//! Properties of the receiver's library over generated input (proptest, 256 cases each): whatever the headers
//! hold, nothing panics; a signature hookline makes always verifies; changing any byte of the body breaks it.

#![cfg(test)]

use base64::Engine as _;
use hookline_verify::diagnose::{KnownSecret, SecretState, SignedRequest, diagnose};
use hookline_verify::{
    VerifyError, standard_key, standard_signature, tradly_signature, verify_standard, verify_tradly,
};
use proptest::prelude::*;

const TOLERANCE: u64 = 300;

fn secret(key: &[u8]) -> String {
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_headers_never_panic(
        secret_text in ".{0,60}",
        id in ".{0,40}",
        timestamp in ".{0,20}|-?[0-9]{1,20}",
        signature in "(v1,[A-Za-z0-9+/=]{0,50} ?){0,3}|.{0,80}",
        tradly in "[0-9a-f]{0,70}|.{0,70}",
        body in prop::collection::vec(any::<u8>(), 0..64),
        now in any::<i64>(),
    ) {
        let _ = verify_standard(&secret_text, &id, &timestamp, &body, &signature, now, TOLERANCE);
        let _ = verify_tradly(&secret_text, &id, &tradly);
        let headers = [
            ("webhook-id", id.as_str()),
            ("Webhook-Timestamp", timestamp.as_str()),
            ("WEBHOOK-SIGNATURE", signature.as_str()),
            ("x-tradly-signature", tradly.as_str()),
        ];
        let request = SignedRequest::from_headers(headers, &body);
        let secrets = [
            KnownSecret { secret: &secret_text, state: SecretState::Active },
            KnownSecret { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", state: SecretState::RotatedOut },
        ];
        let _ = diagnose(&request, &secrets, now, TOLERANCE);
        let _ = diagnose(&request, &[], now, TOLERANCE);
    }

    #[test]
    fn a_signature_made_by_standard_signature_verifies_and_any_changed_byte_fails(
        key in prop::collection::vec(any::<u8>(), 1..64),
        id in "[ -~]{1,40}",
        timestamp in 0i64..=4_000_000_000,
        skew in -(TOLERANCE as i64)..=(TOLERANCE as i64),
        body in prop::collection::vec(any::<u8>(), 1..256),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let secret = secret(&key);
        prop_assert_eq!(standard_key(&secret), Ok(key.clone()));
        let signature = standard_signature(&key, &id, timestamp, &body);
        let timestamp_text = timestamp.to_string();
        let now = timestamp + skew;
        prop_assert_eq!(verify_standard(&secret, &id, &timestamp_text, &body, &signature, now, TOLERANCE), Ok(()));
        let tradly = tradly_signature(&secret, &id);
        prop_assert_eq!(verify_tradly(&secret, &id, &tradly), Ok(()));
        let request = SignedRequest::from_headers(
            [("webhook-id", id.as_str()), ("webhook-timestamp", timestamp_text.as_str()), ("webhook-signature", &signature)],
            &body,
        );
        prop_assert_eq!(diagnose(&request, &[KnownSecret { secret: &secret, state: SecretState::Active }], now, TOLERANCE).verified(), Some(true));

        let mut changed = body.clone();
        changed[at.index(body.len())] ^= flip;
        prop_assert_eq!(
            verify_standard(&secret, &id, &timestamp_text, &changed, &signature, now, TOLERANCE),
            Err(VerifyError::Mismatch)
        );
        let request = SignedRequest::from_headers(
            [("webhook-id", id.as_str()), ("webhook-timestamp", timestamp_text.as_str()), ("webhook-signature", &signature)],
            &changed,
        );
        prop_assert_eq!(diagnose(&request, &[KnownSecret { secret: &secret, state: SecretState::Active }], now, TOLERANCE).verified(), Some(false));
    }
}
