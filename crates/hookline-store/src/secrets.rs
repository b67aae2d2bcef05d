//! Webhook signing secrets at rest: [`SecretCipher`] seals each secret with AES-256-GCM before it is written and
//! opens it when a row is read, in the backends' encoding and decoding of webhook rows (and nowhere else).
//!
//! The stored form is a versioned envelope, `enc:v1:<key id>:<nonce>:<ciphertext and tag>` (base64), whose
//! additional data is the webhook's id, so a sealed secret moved to another webhook's row does not open. The key
//! id is derived from the key (the first 4 bytes of a SHA-256), so nothing but the keys themselves is configured.
//! A row written before encryption (plaintext, `whsec_…`) still reads, and is sealed by the next re-encryption
//! (`ApiStore::reencrypt_secrets`). Several keys may be configured: the first seals, every one opens what it
//! sealed, which is how the key is rotated (configure `[new, old]`, re-encrypt, drop `old`).

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hookline_core::secret::Secret;
use sha2::{Digest, Sha256};

use crate::{StoreError, StoreResult};

/// The prefix of every sealed secret.
pub const ENVELOPE_PREFIX: &str = "enc:v1:";

/// The length of a key, in bytes.
pub const KEY_LEN: usize = 32;

/// Why a secrets key, or a stored secret, could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A configured key is not 32 bytes in base64 or hex.
    #[error("a secrets key must be 32 random bytes, written as base64 (44 characters) or hex (64 characters)")]
    BadKey,
    /// The same key is configured twice.
    #[error("secrets key {0} is configured twice")]
    DuplicateKey(String),
    /// A stored secret was sealed with a key that is not configured.
    #[error(
        "webhook secrets in the database are encrypted with key {0}, which is not configured: configure that key \
         (secrets.key or secrets.previous_keys)"
    )]
    UnknownKey(String),
    /// A stored secret was sealed but no key is configured at all.
    #[error("webhook secrets in the database are encrypted, but no secrets key is configured")]
    NoKey,
    /// A stored secret does not open with the key its id names: the row was altered or moved.
    #[error("a stored webhook secret does not decrypt with key {0}: the row was altered or belongs to another webhook")]
    DoesNotOpen(String),
    /// A stored secret is neither plaintext nor a well-formed envelope.
    #[error("a stored webhook secret is not in a known form")]
    Malformed,
}

impl From<SecretsError> for StoreError {
    fn from(error: SecretsError) -> Self {
        StoreError::Database(Box::new(error))
    }
}

/// One AES-256-GCM key and its id.
struct SealingKey {
    id: String,
    key: RandomizedNonceKey,
}

impl SealingKey {
    fn new(bytes: &[u8; KEY_LEN]) -> Result<Self, SecretsError> {
        let key = RandomizedNonceKey::new(&AES_256_GCM, bytes).map_err(|_| SecretsError::BadKey)?;
        Ok(Self { id: key_id(bytes), key })
    }
}

/// Seals and opens webhook secrets. Built once at start from the configured keys, shared by every connection of a
/// store. [`SecretCipher::plaintext`] seals nothing (for tools and tests that need no encryption); the server
/// always has a key.
pub struct SecretCipher {
    /// Seals every new secret; `None` only in plaintext mode.
    current: Option<SealingKey>,
    /// Open what they sealed, until re-encryption moves it to `current`.
    previous: Vec<SealingKey>,
}

impl fmt::Debug for SecretCipher {
    // The keys are never printed; their ids are not secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretCipher")
            .field("current", &self.current.as_ref().map(|k| &k.id))
            .field("previous", &self.previous.iter().map(|k| &k.id).collect::<Vec<_>>())
            .finish()
    }
}

impl SecretCipher {
    /// A cipher that seals with `current` and opens what `current` or any of `previous` sealed.
    pub fn new(current: &[u8; KEY_LEN], previous: &[[u8; KEY_LEN]]) -> Result<Self, SecretsError> {
        let current = SealingKey::new(current)?;
        let mut ids = vec![current.id.clone()];
        let mut old = Vec::with_capacity(previous.len());
        for bytes in previous {
            let key = SealingKey::new(bytes)?;
            if ids.contains(&key.id) {
                return Err(SecretsError::DuplicateKey(key.id));
            }
            ids.push(key.id.clone());
            old.push(key);
        }
        Ok(Self { current: Some(current), previous: old })
    }

    /// A cipher without a key: secrets are stored as they are. Reading a sealed secret fails with
    /// [`SecretsError::NoKey`].
    pub fn plaintext() -> Self {
        Self { current: None, previous: Vec::new() }
    }

    /// Parses a key as configured: 32 bytes in standard base64 or in hex, surrounding blanks ignored.
    pub fn parse_key(text: &str) -> Result<[u8; KEY_LEN], SecretsError> {
        let text = text.trim();
        let bytes = if text.len() == 2 * KEY_LEN {
            hex::decode(text).map_err(|_| SecretsError::BadKey)?
        } else {
            BASE64.decode(text).map_err(|_| SecretsError::BadKey)?
        };
        bytes.try_into().map_err(|_| SecretsError::BadKey)
    }

    /// A fresh random key, as base64 (the form [`parse_key`](Self::parse_key) reads).
    pub fn generate_key() -> String {
        let mut bytes = [0u8; KEY_LEN];
        // Only fails without any OS entropy source, where no key can be made safely.
        #[allow(clippy::expect_used)]
        aws_lc_rs::rand::fill(&mut bytes).expect("the operating system must provide secure randomness");
        BASE64.encode(bytes)
    }

    /// The id of the key that seals, if any.
    pub fn current_id(&self) -> Option<&str> {
        self.current.as_ref().map(|k| k.id.as_str())
    }

    /// The stored form of `secret`, the secret of webhook `owner`: sealed with the current key, or as it is in
    /// plaintext mode.
    pub fn seal(&self, owner: &str, secret: &Secret) -> StoreResult<String> {
        let Some(key) = &self.current else {
            return Ok(secret.expose().to_owned());
        };
        let mut in_out = secret.expose().as_bytes().to_vec();
        let nonce = key
            .key
            .seal_in_place_append_tag(Aad::from(aad(owner)), &mut in_out)
            .map_err(|_| SecretsError::Malformed)?;
        Ok(format!("{ENVELOPE_PREFIX}{}:{}:{}", key.id, BASE64.encode(nonce.as_ref()), BASE64.encode(&in_out)))
    }

    /// The secret stored as `stored` for webhook `owner`: opened with the key its envelope names, or taken as it
    /// is when it was written before encryption.
    pub fn open(&self, owner: &str, stored: String) -> StoreResult<Secret> {
        Ok(self.open_stored(owner, stored)?)
    }

    fn open_stored(&self, owner: &str, stored: String) -> Result<Secret, SecretsError> {
        let Some(rest) = stored.strip_prefix(ENVELOPE_PREFIX) else {
            return Ok(Secret::from_stored(stored));
        };
        let mut parts = rest.splitn(3, ':');
        let (Some(id), Some(nonce), Some(sealed)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(SecretsError::Malformed);
        };
        let key = self.key(id)?;
        let nonce: [u8; NONCE_LEN] =
            BASE64.decode(nonce).ok().and_then(|n| n.try_into().ok()).ok_or(SecretsError::Malformed)?;
        let mut in_out = BASE64.decode(sealed).map_err(|_| SecretsError::Malformed)?;
        let plain = key
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad(owner)), &mut in_out)
            .map_err(|_| SecretsError::DoesNotOpen(id.to_owned()))?;
        let text = std::str::from_utf8(plain).map_err(|_| SecretsError::Malformed)?;
        Ok(Secret::from_stored(text.to_owned()))
    }

    /// Whether `stored` is already in its final form: sealed with the current key (or, in plaintext mode,
    /// anything). Re-encryption rewrites every stored secret for which this is false.
    pub fn is_current(&self, stored: &str) -> bool {
        match self.current_id() {
            None => true,
            Some(id) => stored
                .strip_prefix(ENVELOPE_PREFIX)
                .and_then(|rest| rest.strip_prefix(id))
                .is_some_and(|rest| rest.starts_with(':')),
        }
    }

    /// The `LIKE` pattern of a secret sealed with the current key (`None` in plaintext mode), for the query that
    /// finds what re-encryption must rewrite.
    pub fn current_pattern(&self) -> Option<String> {
        self.current_id().map(|id| format!("{ENVELOPE_PREFIX}{id}:%"))
    }

    /// Checks at start that every stored secret can be opened: `stored` lists `(webhook id, stored secret)`. Each
    /// key id met is tried once, so a wrong or missing key is a clear error at start, not garbage signatures later.
    pub fn check(&self, stored: impl IntoIterator<Item = (String, String)>) -> Result<(), SecretsError> {
        let mut tried: Vec<String> = Vec::new();
        for (owner, secret) in stored {
            let Some(rest) = secret.strip_prefix(ENVELOPE_PREFIX) else { continue };
            let id = rest.split(':').next().unwrap_or_default().to_owned();
            if tried.contains(&id) {
                continue;
            }
            self.open_stored(&owner, secret)?;
            tried.push(id);
        }
        Ok(())
    }

    fn key(&self, id: &str) -> Result<&SealingKey, SecretsError> {
        if self.current.is_none() {
            return Err(SecretsError::NoKey);
        }
        self.current
            .iter()
            .chain(&self.previous)
            .find(|k| k.id == id)
            .ok_or_else(|| SecretsError::UnknownKey(id.to_owned()))
    }
}

/// The id of a key: 8 hex digits of a SHA-256 over a label and the key. It names the key in envelopes and
/// errors without revealing anything about it.
pub fn key_id(bytes: &[u8; KEY_LEN]) -> String {
    let mut hash = Sha256::new();
    hash.update(b"hookline secrets key id\0");
    hash.update(bytes);
    hex::encode(&hash.finalize()[..4])
}

fn aad(owner: &str) -> Vec<u8> {
    format!("hookline webhook secret\0{owner}").into_bytes()
}

#[cfg(test)]
mod tests;
