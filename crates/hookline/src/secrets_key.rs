//! The secrets key: which key seals webhook secrets at rest, where it comes from, and re-encryption.
//!
//! The key comes from `[secrets] key` (or `HOOKLINE_SECRETS__KEY`) or `[secrets] key_file`; `previous_keys`
//! still open what they sealed, for a rotation. Without a configured key: with SQLite, a key is generated once
//! into `secrets.key` beside the database (`0600`) and reused, with a warning outside `--dev` (a backup that
//! holds the data directory then holds the key too); with PostgreSQL, `--dev` does the same in `hookline-data/`,
//! and anywhere else the server refuses to start, since every node must share one key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use hookline_store::secrets::KEY_LEN;
use hookline_store::{AdminStore, SecretCipher};

use crate::config::{Config, Database};

/// How many webhooks one re-encryption batch rewrites (one short transaction each).
pub const REENCRYPT_BATCH: usize = 100;

/// The configured keys (never printed).
#[derive(Clone, Default)]
pub struct SecretKeys {
    /// The key that seals, if configured.
    pub current: Option<[u8; KEY_LEN]>,
    /// Keys that only open.
    pub previous: Vec<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids = |keys: &mut dyn Iterator<Item = &[u8; KEY_LEN]>| {
            keys.map(hookline_store::secrets::key_id).collect::<Vec<_>>()
        };
        f.debug_struct("SecretKeys")
            .field("current", &ids(&mut self.current.iter()))
            .field("previous", &ids(&mut self.previous.iter()))
            .finish()
    }
}

impl SecretKeys {
    /// Parses `[secrets]`: `key` or `key_file` (not both), and `previous_keys`.
    pub fn parse(key: Option<&str>, key_file: Option<&Path>, previous: &[String]) -> anyhow::Result<Self> {
        let key = key.map(str::trim).filter(|k| !k.is_empty());
        let current = match (key, key_file) {
            (Some(_), Some(_)) => bail!("set secrets.key or secrets.key_file, not both"),
            (Some(text), None) => Some(SecretCipher::parse_key(text).context("secrets.key")?),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("failed to read secrets.key_file {}", path.display()))?;
                Some(SecretCipher::parse_key(&text).with_context(|| format!("secrets.key_file {}", path.display()))?)
            }
            (None, None) => None,
        };
        let previous = previous
            .iter()
            .map(|text| SecretCipher::parse_key(text).context("secrets.previous_keys"))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if current.is_none() && !previous.is_empty() {
            bail!("secrets.previous_keys needs secrets.key (the key that seals from now on)");
        }
        Ok(Self { current, previous })
    }
}

/// The cipher the store uses, from the configured keys or the generated key file (see the module's comment).
pub fn cipher(config: &Config) -> anyhow::Result<Arc<SecretCipher>> {
    let keys = &config.secrets;
    if let Some(current) = &keys.current {
        return Ok(Arc::new(SecretCipher::new(current, &keys.previous).context("secrets keys")?));
    }
    let path = match &config.database {
        Database::Sqlite { path, .. } => path.parent().unwrap_or(Path::new(".")).join("secrets.key"),
        Database::Postgres { .. } if config.dev => PathBuf::from("hookline-data/secrets.key"),
        Database::Postgres { .. } => bail!(
            "no secrets key is configured: with PostgreSQL every node must share one. Generate one with \
             `openssl rand -base64 32` and set HOOKLINE_SECRETS__KEY (or [secrets] key_file) on every node"
        ),
    };
    let key = generated_key(&path)?;
    if !config.dev {
        tracing::warn!(
            key_file = %path.display(),
            "no secrets key is configured: webhook secrets are encrypted with a key generated beside the database, \
             which a copy of the data directory also holds; set [secrets] key_file to a key kept elsewhere"
        );
    }
    Ok(Arc::new(SecretCipher::new(&key, &[]).context("generated secrets key")?))
}

/// Reads the generated key at `path`, or makes it (`0600`).
fn generated_key(path: &Path) -> anyhow::Result<[u8; KEY_LEN]> {
    if path.exists() {
        let text = std::fs::read_to_string(path).with_context(|| format!("failed to read {}", path.display()))?;
        return SecretCipher::parse_key(&text).with_context(|| format!("{} holds no valid key", path.display()));
    }
    if let Some(dir) = path.parent() {
        crate::files::create_private_dir(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    }
    let text = SecretCipher::generate_key();
    crate::files::write_private(path, format!("{text}\n").as_bytes())
        .with_context(|| format!("failed to write {}", path.display()))?;
    SecretCipher::parse_key(&text).context("generated key")
}

/// Re-encrypts every stored secret that is not sealed with the current key, in batches; returns how many
/// webhooks were rewritten. Safe beside running servers (each row is rewritten only if unchanged).
pub async fn reencrypt_all(store: &dyn AdminStore) -> anyhow::Result<usize> {
    let mut total = 0;
    loop {
        let rewritten = store.reencrypt_secrets(REENCRYPT_BATCH).await.context("failed to re-encrypt secrets")?;
        if rewritten == 0 {
            return Ok(total);
        }
        total += rewritten;
    }
}

#[cfg(test)]
mod tests;
