//! Secrets: webhook signing secrets and API keys. Their `Debug` is redacted so they never reach logs.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use crate::random_bytes;

/// A webhook signing secret, `whsec_` + base64 of 32 random bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A fresh secret from the OS's secure random source.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        random_bytes(&mut bytes);
        Self(format!("{}{}", hookline_verify::SECRET_PREFIX, BASE64.encode(bytes)))
    }

    /// Wraps a stored secret.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    /// The secret exactly as shown to the user. Only the signing code, the store and the one API route that
    /// reveals a secret call this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"whsec_[redacted]\")")
    }
}

/// A platform API key as shown once to its owner: `hk_` + 32 random bytes, base64url.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// The prefix of every API key.
    pub const PREFIX: &'static str = "hk_";

    /// A fresh key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        random_bytes(&mut bytes);
        Self(format!("{}{}", Self::PREFIX, URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Wraps a key presented by a client.
    pub fn from_presented(text: &str) -> Self {
        Self(text.to_owned())
    }

    /// The key in clear, to show its owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The stored form: SHA-256 of the key, hex. Keys carry 256 random bits, so a fast hash is enough; a slow
    /// password hash would only add latency to every request.
    pub fn hash(&self) -> KeyHash {
        KeyHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(\"hk_[redacted]\")")
    }
}

/// The hash of an API key, the only form the store ever sees.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyHash(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_documented_shape_and_never_debug_print() {
        let secret = Secret::generate();
        let encoded = secret.expose().strip_prefix("whsec_").unwrap();
        assert_eq!(BASE64.decode(encoded).unwrap().len(), 32);
        assert_ne!(secret, Secret::generate());
        assert!(!format!("{secret:?}").contains(encoded));
        let key = ApiKey::generate();
        assert!(!format!("{key:?}").contains(&key.expose()[3..]));
        assert_eq!(key.hash(), ApiKey::from_presented(key.expose()).hash());
        assert_eq!(key.hash().0.len(), 64);
    }
}
