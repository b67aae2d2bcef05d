//! Why a request did or did not verify, in the words a receiver needs.
//!
//! [`verify_standard`] and [`verify_tradly`] answer yes or no, as a
//! receiver's hot path should. This module answers the question a person asks while wiring up a receiver: *why
//! not?* It checks a request against every secret that could have signed it (the current ones, and those a
//! rotation retired) and tells apart a missing header, a malformed one, a stale timestamp, a body changed after
//! signing, and a different or rotated-out secret. hookline's inspector shows this verdict beside each captured
//! request, and `hookline verify` prints it.

use std::fmt;

use crate::{VerifyError, standard_key, verify_standard, verify_tradly};

/// The signature headers of one request, as sent. Header names are matched case-insensitively by
/// [`SignedRequest::from_headers`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignedRequest<'a> {
    /// `webhook-id`: the message id the Standard Webhooks signature covers.
    pub webhook_id: Option<&'a str>,
    /// `webhook-timestamp`: unix seconds, covered by the Standard Webhooks signature.
    pub webhook_timestamp: Option<&'a str>,
    /// `webhook-signature`: space-separated `v1,<base64>` entries.
    pub webhook_signature: Option<&'a str>,
    /// `X-Tradly-Signature`: hex HMAC of the event id.
    pub tradly_signature: Option<&'a str>,
    /// The event id the Tradly signature covers when there is no `webhook-id` (the body's `id` field: the caller
    /// parses it, since this crate reads no JSON).
    pub event_id: Option<&'a str>,
    /// The raw body, exactly as received.
    pub body: &'a [u8],
}

impl<'a> SignedRequest<'a> {
    /// Picks the signature headers out of `(name, value)` pairs, whatever their case.
    pub fn from_headers(headers: impl IntoIterator<Item = (&'a str, &'a str)>, body: &'a [u8]) -> Self {
        let mut request = SignedRequest { body, ..SignedRequest::default() };
        for (name, value) in headers {
            let slot = match name.to_ascii_lowercase().as_str() {
                "webhook-id" => &mut request.webhook_id,
                "webhook-timestamp" => &mut request.webhook_timestamp,
                "webhook-signature" => &mut request.webhook_signature,
                "x-tradly-signature" => &mut request.tradly_signature,
                _ => continue,
            };
            *slot = Some(value);
        }
        request
    }

    fn tradly_message(&self) -> Option<&'a str> {
        self.webhook_id.or(self.event_id)
    }
}

/// Whether a secret still signs deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretState {
    /// The webhook's current secret, or a previous one still inside its rotation overlap.
    Active,
    /// A secret a rotation replaced whose overlap has ended: a receiver still using it is out of date.
    RotatedOut,
}

/// A secret the request may have been signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownSecret<'a> {
    /// The secret as shown to the user (`whsec_…`).
    pub secret: &'a str,
    /// Whether it still signs.
    pub state: SecretState,
}

/// Which scheme a verdict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    Standard,
    /// `X-Tradly-Signature`.
    Tradly,
}

/// The verdict on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diagnosis {
    /// The request carries no signature header at all.
    Unsigned,
    /// Every signature header present verifies with an active secret.
    Verified {
        /// The strongest scheme that verified: `Standard` when its headers were present.
        scheme: Scheme,
        /// The index in the given secrets of the one that verified.
        secret_index: usize,
    },
    /// At least one signature header present does not verify; the reason says why.
    Failed(Failure),
}

impl Diagnosis {
    /// `Some(true)` verified, `Some(false)` failed, `None` unsigned: the inspector's `verified` field.
    pub fn verified(&self) -> Option<bool> {
        match self {
            Diagnosis::Unsigned => None,
            Diagnosis::Verified { .. } => Some(true),
            Diagnosis::Failed(_) => Some(false),
        }
    }

    /// The failure, if the request failed.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Diagnosis::Failed(failure) => Some(failure),
            _ => None,
        }
    }
}

/// Why a signed request does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A header the scheme needs is absent (for example `webhook-signature` without `webhook-timestamp`).
    HeaderMissing {
        /// The missing header's name, lower case.
        header: &'static str,
    },
    /// A header is present but not in the scheme's form.
    MalformedHeader {
        /// The header's name, lower case.
        header: &'static str,
    },
    /// `webhook-timestamp` is further from now than the tolerance: a replayed request or a skewed clock.
    TimestampOutOfTolerance {
        /// The timestamp minus now, in seconds (negative: in the past).
        skew_seconds: i64,
        /// The tolerance it was checked against.
        tolerance_seconds: u64,
    },
    /// The Standard Webhooks signature does not match but the Tradly one (which covers only the id) does, with
    /// the same secret: the body was changed after it was signed, or the receiver did not check the raw bytes.
    BodyChanged,
    /// The signature was made with a secret that a rotation retired.
    RotatedOutSecret {
        /// The scheme whose signature matched the retired secret.
        scheme: Scheme,
    },
    /// No known secret, current or retired, produces the signature in this header.
    WrongSecret {
        /// The header whose signature matches no known secret.
        header: &'static str,
    },
    /// The request is signed, but no secret is known to check it with (no webhook points here).
    NoSecret,
}

impl Failure {
    /// A stable snake_case code for APIs and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::HeaderMissing { .. } => "header_missing",
            Failure::MalformedHeader { .. } => "malformed_header",
            Failure::TimestampOutOfTolerance { .. } => "timestamp_out_of_tolerance",
            Failure::BodyChanged => "body_changed",
            Failure::RotatedOutSecret { .. } => "rotated_out_secret",
            Failure::WrongSecret { .. } => "wrong_secret",
            Failure::NoSecret => "no_secret",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::HeaderMissing { header } => write!(f, "the {header} header is missing"),
            Failure::MalformedHeader { header } => write!(f, "the {header} header is malformed"),
            Failure::TimestampOutOfTolerance { skew_seconds, tolerance_seconds } => {
                let (amount, direction) = if *skew_seconds < 0 {
                    (skew_seconds.unsigned_abs(), "in the past")
                } else {
                    (skew_seconds.unsigned_abs(), "in the future")
                };
                write!(
                    f,
                    "webhook-timestamp is {amount} s {direction}, outside the {tolerance_seconds} s tolerance: \
                     a replayed request or a skewed clock"
                )
            }
            Failure::BodyChanged => f.write_str(
                "the body was changed after signing: X-Tradly-Signature (which covers only the event id) matches, \
                 but webhook-signature (which covers the body) does not; verify the raw bytes before parsing",
            ),
            Failure::RotatedOutSecret { scheme } => {
                let header = match scheme {
                    Scheme::Standard => "webhook-signature",
                    Scheme::Tradly => "X-Tradly-Signature",
                };
                write!(f, "{header} was made with a secret that has been rotated out; use the webhook's current secret")
            }
            Failure::WrongSecret { header } => {
                write!(f, "the {header} signature was made with a different secret than this webhook's")
            }
            Failure::NoSecret => f.write_str("the request is signed, but no webhook points here to check it against"),
        }
    }
}

/// Tells whether `request` verifies with one of `secrets` at `now_unix`, and if not, why.
///
/// Each scheme whose headers are present is checked; both must verify for the request to verify, since a
/// receiver may rely on either. A request carrying only `X-Tradly-Signature` verifies on it alone (it then proves
/// the sender knew the secret, not that the body is intact).
pub fn diagnose(request: &SignedRequest<'_>, secrets: &[KnownSecret<'_>], now_unix: i64, tolerance: u64) -> Diagnosis {
    let has_standard =
        request.webhook_signature.is_some() || request.webhook_timestamp.is_some() || request.webhook_id.is_some();
    if !has_standard && request.tradly_signature.is_none() {
        return Diagnosis::Unsigned;
    }
    if secrets.is_empty() {
        return Diagnosis::Failed(Failure::NoSecret);
    }
    let tradly = request.tradly_signature.map(|value| check_tradly(request, value, secrets));
    if !has_standard {
        return match tradly {
            Some(Ok(secret_index)) => Diagnosis::Verified { scheme: Scheme::Tradly, secret_index },
            Some(Err(failure)) => Diagnosis::Failed(failure),
            None => Diagnosis::Unsigned,
        };
    }
    match check_standard(request, secrets, now_unix, tolerance) {
        Ok(secret_index) => match tradly {
            Some(Err(failure)) => Diagnosis::Failed(failure),
            _ => Diagnosis::Verified { scheme: Scheme::Standard, secret_index },
        },
        Err(Failure::WrongSecret { .. }) if matches!(tradly, Some(Ok(_))) => Diagnosis::Failed(Failure::BodyChanged),
        Err(failure) => Diagnosis::Failed(failure),
    }
}

/// The index of the active secret that verifies the Standard Webhooks headers, or why none does.
fn check_standard(
    request: &SignedRequest<'_>,
    secrets: &[KnownSecret<'_>],
    now_unix: i64,
    tolerance: u64,
) -> Result<usize, Failure> {
    let id = request.webhook_id.ok_or(Failure::HeaderMissing { header: "webhook-id" })?;
    let timestamp = request.webhook_timestamp.ok_or(Failure::HeaderMissing { header: "webhook-timestamp" })?;
    let signature = request.webhook_signature.ok_or(Failure::HeaderMissing { header: "webhook-signature" })?;
    let seconds: i64 =
        timestamp.trim().parse().map_err(|_| Failure::MalformedHeader { header: "webhook-timestamp" })?;
    if now_unix.abs_diff(seconds) > tolerance {
        return Err(Failure::TimestampOutOfTolerance {
            // Saturating: the header is the sender's text, and `-9223372036854775808` must not overflow.
            skew_seconds: seconds.saturating_sub(now_unix),
            tolerance_seconds: tolerance,
        });
    }
    let mut retired_match = false;
    for (index, known) in secrets.iter().enumerate() {
        if standard_key(known.secret).is_err() {
            continue;
        }
        // The timestamp was checked above; verify the signature itself with an unlimited tolerance.
        match verify_standard(known.secret, id, timestamp, request.body, signature, seconds, u64::MAX) {
            Ok(()) if known.state == SecretState::Active => return Ok(index),
            Ok(()) => retired_match = true,
            Err(VerifyError::MalformedHeader) => return Err(Failure::MalformedHeader { header: "webhook-signature" }),
            Err(_) => {}
        }
    }
    Err(if retired_match {
        Failure::RotatedOutSecret { scheme: Scheme::Standard }
    } else {
        Failure::WrongSecret { header: "webhook-signature" }
    })
}

/// The index of the active secret that verifies `X-Tradly-Signature`, or why none does.
fn check_tradly(request: &SignedRequest<'_>, value: &str, secrets: &[KnownSecret<'_>]) -> Result<usize, Failure> {
    let trimmed = value.trim();
    if trimmed.len() != 64 || !trimmed.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(Failure::MalformedHeader { header: "x-tradly-signature" });
    }
    let id = request.tradly_message().ok_or(Failure::HeaderMissing { header: "webhook-id" })?;
    let mut retired_match = false;
    for (index, known) in secrets.iter().enumerate() {
        if verify_tradly(known.secret, id, trimmed).is_ok() {
            match known.state {
                SecretState::Active => return Ok(index),
                SecretState::RotatedOut => retired_match = true,
            }
        }
    }
    Err(if retired_match {
        Failure::RotatedOutSecret { scheme: Scheme::Tradly }
    } else {
        Failure::WrongSecret { header: "x-tradly-signature" }
    })
}
