//! The receiver's library: compute and verify both signature schemes hookline sends.
//!
//! - `X-Tradly-Signature`: lowercase hex HMAC-SHA256, key = the secret string's UTF-8 bytes exactly as shown to
//!   the user, message = the event id. Kept for compatibility with Tradly's documentation. It covers neither the
//!   body nor a time, so it cannot detect a replayed or altered body; prefer the Standard Webhooks scheme.
//! - Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`): `v1,<base64 HMAC-SHA256>` of
//!   `"{id}.{timestamp}.{body}"`, key = the base64-decoded part of the secret after `whsec_`.
//!
//! [`diagnose`] explains a failure: which header is missing or malformed, a stale timestamp, a body changed after
//! signing, a different or rotated-out secret.
//!
//! hookline signs with this crate too, so sender and receiver share one implementation. It depends on hmac,
//! sha2, base64 and hex, nothing else, and does no IO.

pub mod diagnose;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of every secret hookline generates.
pub const SECRET_PREFIX: &str = "whsec_";

/// How far a `webhook-timestamp` may be from the receiver's clock before [`verify_standard`] rejects it.
pub const DEFAULT_TOLERANCE_SECONDS: u64 = 5 * 60;

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// The secret is not `whsec_` followed by valid base64.
    InvalidSecret,
    /// The signature header is missing or no entry in it has the expected form.
    MalformedHeader,
    /// The timestamp is not a unix time in seconds.
    InvalidTimestamp,
    /// The timestamp is further from now than the tolerance (a replay, or a badly skewed clock).
    TimestampOutOfTolerance,
    /// The header is well formed but no signature in it matches.
    Mismatch,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VerifyError::InvalidSecret => "secret is not whsec_ followed by base64",
            VerifyError::MalformedHeader => "signature header is missing or malformed",
            VerifyError::InvalidTimestamp => "webhook-timestamp is not unix seconds",
            VerifyError::TimestampOutOfTolerance => "webhook-timestamp is outside the tolerance",
            VerifyError::Mismatch => "no signature matches",
        })
    }
}

impl std::error::Error for VerifyError {}

/// The `X-Tradly-Signature` value for `event_id`: lowercase hex HMAC-SHA256 keyed with the secret's UTF-8 bytes.
pub fn tradly_signature(secret: &str, event_id: &str) -> String {
    hex::encode(hmac_sha256(secret.as_bytes(), &[event_id.as_bytes()]))
}

/// Checks an `X-Tradly-Signature` header value in constant time.
pub fn verify_tradly(secret: &str, event_id: &str, header_value: &str) -> Result<(), VerifyError> {
    let expected = hex::decode(header_value.trim()).map_err(|_| VerifyError::MalformedHeader)?;
    let mut mac = new_mac(secret.as_bytes());
    mac.update(event_id.as_bytes());
    mac.verify_slice(&expected).map_err(|_| VerifyError::Mismatch)
}

/// The signing key of a `whsec_` secret: the base64-decoded part after the prefix.
pub fn standard_key(secret: &str) -> Result<Vec<u8>, VerifyError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    BASE64.decode(encoded).map_err(|_| VerifyError::InvalidSecret)
}

/// One `v1,<base64>` entry of a `webhook-signature` header.
pub fn standard_signature(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let digest = hmac_sha256(key, &[msg_id.as_bytes(), b".", timestamp.as_bytes(), b".", body]);
    format!("v1,{}", BASE64.encode(digest))
}

/// Verifies a Standard Webhooks delivery: any `v1` entry of the space-separated `signature_header` must match,
/// and `timestamp` must be within `tolerance_seconds` of `now_unix`.
pub fn verify_standard(
    secret: &str,
    msg_id: &str,
    timestamp: &str,
    body: &[u8],
    signature_header: &str,
    now_unix: i64,
    tolerance_seconds: u64,
) -> Result<(), VerifyError> {
    let key = standard_key(secret)?;
    let ts: i64 = timestamp.trim().parse().map_err(|_| VerifyError::InvalidTimestamp)?;
    if now_unix.abs_diff(ts) > tolerance_seconds {
        return Err(VerifyError::TimestampOutOfTolerance);
    }
    let mut saw_v1 = false;
    for entry in signature_header.split_whitespace() {
        let Some(encoded) = entry.strip_prefix("v1,") else {
            continue;
        };
        let Ok(candidate) = BASE64.decode(encoded) else {
            continue;
        };
        saw_v1 = true;
        let mut mac = new_mac(&key);
        for part in [msg_id.as_bytes(), b".", ts.to_string().as_bytes(), b".", body] {
            mac.update(part);
        }
        if mac.verify_slice(&candidate).is_ok() {
            return Ok(());
        }
    }
    Err(if saw_v1 { VerifyError::Mismatch } else { VerifyError::MalformedHeader })
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail; the fallback keeps the no-expect rule honest.
    <HmacSha256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = new_mac(key);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}
