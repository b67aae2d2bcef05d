//! The signature verdict on a captured request: [`verdict`], a thin layer over `hookline_verify::diagnose` that
//! knows which webhook each secret belongs to and whether a rotation retired it.

use hookline_verify::diagnose::{Diagnosis, KnownSecret, SecretState, SignedRequest, diagnose};

use super::{Verdict, VerdictNote};
use crate::Timestamp;
use crate::ids::WebhookId;
use crate::webhook::SigningSecrets;

/// How far `webhook-timestamp` may be from the time of capture: the Standard Webhooks default of 5 minutes.
pub const VERIFY_TOLERANCE_SECONDS: u64 = hookline_verify::DEFAULT_TOLERANCE_SECONDS;

/// The secrets of one webhook that points at the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSecrets {
    /// The webhook.
    pub webhook_id: WebhookId,
    /// Its current secret and, after a rotation, the previous one with the end of its overlap.
    pub secrets: SigningSecrets,
}

/// Judges a request received at `now` against the secrets of `webhooks` (those of the inbox's platform that
/// point at the inbox). The current secret and a previous one inside its overlap are active; a previous one past
/// its overlap is rotated out, so a receiver still signing-checking with it hears exactly that.
pub fn verdict(webhooks: &[WebhookSecrets], headers: &[(String, String)], body: &[u8], now: Timestamp) -> Verdict {
    let mut known = Vec::new();
    let mut owners = Vec::new();
    for webhook in webhooks {
        known.push(KnownSecret { secret: webhook.secrets.current.expose(), state: SecretState::Active });
        owners.push((&webhook.webhook_id, SecretRole::Current));
        if let Some((previous, until)) = &webhook.secrets.previous {
            let state = if now < *until { SecretState::Active } else { SecretState::RotatedOut };
            known.push(KnownSecret { secret: previous.expose(), state });
            owners.push((&webhook.webhook_id, SecretRole::Previous));
        }
    }
    // The Tradly signature covers the event id; without `webhook-id` a receiver takes it from the body.
    let event_id = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value.get("id").and_then(|id| id.as_str()).map(str::to_owned));
    let mut request = SignedRequest::from_headers(headers.iter().map(|(n, v)| (n.as_str(), v.as_str())), body);
    request.event_id = event_id.as_deref();
    // With a single webhook pointing here, every verdict is about it; with several, only a match names one.
    let only_webhook = match webhooks {
        [single] => Some(single.webhook_id.clone()),
        _ => None,
    };
    match diagnose(&request, &known, now.unix_seconds(), VERIFY_TOLERANCE_SECONDS) {
        Diagnosis::Unsigned => Verdict { verified: None, note: None },
        Diagnosis::Verified { secret_index, .. } => {
            let (webhook_id, role) =
                owners.get(secret_index).map_or((None, SecretRole::Current), |(id, role)| (Some((*id).clone()), *role));
            let which = match role {
                SecretRole::Current => "the current secret",
                SecretRole::Previous => "the previous secret, still inside its rotation overlap",
            };
            let message = match &webhook_id {
                Some(id) => format!("the signature verifies with {which} of webhook {id}"),
                None => format!("the signature verifies with {which}"),
            };
            Verdict {
                verified: Some(true),
                note: Some(VerdictNote { code: "verified".to_owned(), message, webhook_id }),
            }
        }
        Diagnosis::Failed(failure) => Verdict {
            verified: Some(false),
            note: Some(VerdictNote {
                code: failure.code().to_owned(),
                message: failure.to_string(),
                webhook_id: only_webhook,
            }),
        },
    }
}

#[derive(Debug, Clone, Copy)]
enum SecretRole {
    Current,
    Previous,
}
