//! Renders the signature headers of a delivery, using hookline-verify so both sides share one implementation.

use crate::Timestamp;
use crate::webhook::SigningSecrets;

/// The signature headers of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// `X-Tradly-Signature`: hex HMAC of the event id with the newest secret.
    pub tradly_signature: String,
    /// `webhook-timestamp`: unix seconds.
    pub webhook_timestamp: String,
    /// `webhook-signature`: one `v1,<base64>` per active secret, space-separated, newest first.
    pub webhook_signature: String,
}

/// Signs `body` for event `event_id` at `now` with every secret active at `now`.
pub fn sign(secrets: &SigningSecrets, event_id: &str, now: Timestamp, body: &[u8]) -> SignatureHeaders {
    let timestamp = now.unix_seconds();
    let webhook_signature = secrets
        .active(now)
        .filter_map(|secret| {
            // A secret that is not valid base64 cannot sign the standard scheme; hookline never generates one,
            // so skipping it only matters for hand-edited data.
            let key = hookline_verify::standard_key(secret.expose()).ok()?;
            Some(hookline_verify::standard_signature(&key, event_id, timestamp, body))
        })
        .collect::<Vec<_>>()
        .join(" ");
    SignatureHeaders {
        tradly_signature: hookline_verify::tradly_signature(secrets.current.expose(), event_id),
        webhook_timestamp: timestamp.to_string(),
        webhook_signature,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn rotation_signs_with_both_and_tradly_with_newest() {
        let old = Secret::generate();
        let new = Secret::generate();
        let now = Timestamp::from_unix_millis(1_764_374_400_000);
        let secrets = SigningSecrets {
            current: new.clone(),
            previous: Some((old.clone(), now.plus(std::time::Duration::from_secs(60)))),
        };
        let headers = sign(&secrets, "evt_1", now, b"{}");
        assert_eq!(headers.webhook_signature.split(' ').count(), 2);
        for secret in [&old, &new] {
            hookline_verify::verify_standard(
                secret.expose(),
                "evt_1",
                &headers.webhook_timestamp,
                b"{}",
                &headers.webhook_signature,
                now.unix_seconds(),
                300,
            )
            .unwrap();
        }
        hookline_verify::verify_tradly(new.expose(), "evt_1", &headers.tradly_signature).unwrap();
        assert!(hookline_verify::verify_tradly(old.expose(), "evt_1", &headers.tradly_signature).is_err());
        let later = sign(&secrets, "evt_1", now.plus(std::time::Duration::from_secs(61)), b"{}");
        assert_eq!(later.webhook_signature.split(' ').count(), 1);
    }
}
