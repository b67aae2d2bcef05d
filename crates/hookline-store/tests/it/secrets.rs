//! Webhook secrets at rest, API keys, and the admin's platform operations.

use std::sync::Arc;

use hookline_core::ids::PlatformId;
use hookline_core::platform::Platform;
use hookline_core::secret::{ApiKey, Secret};
use hookline_store::secrets::key_id;
use hookline_store::{ApiKeyRecord, Page, SecretCipher, Store, StoreError};

use crate::harness::{Backend, TEST_KEY};
use crate::support::{add_webhook, at, new_platform, only_job, publish};

fn cipher(current: [u8; 32], previous: &[[u8; 32]]) -> Arc<SecretCipher> {
    Arc::new(SecretCipher::new(&current, previous).unwrap())
}

fn assert_sealed_with(raw: &[String], key: [u8; 32]) {
    assert!(!raw.is_empty());
    for stored in raw {
        assert!(!stored.contains("whsec_"), "plaintext at rest: {stored}");
        assert!(stored.starts_with(&format!("enc:v1:{}:", key_id(&key))), "{stored}");
    }
}

/// The secret columns never hold a `whsec_` plaintext; what the store returns (reads, fan-out jobs) is the
/// secret as created. A rotation to key B (with A still configured) re-encrypts every secret, after which B
/// alone opens them; a database whose secrets need a key that is not configured refuses to open.
pub async fn secrets_are_encrypted_at_rest_and_the_key_rotates(backend: &dyn Backend) {
    let (key_a, key_b) = ([1u8; 32], [2u8; 32]);
    let store = backend.open_with(cipher(key_a, &[])).await.unwrap();
    let platform = new_platform(&*store).await;
    let hook = add_webhook(&*store, &platform, &["*"]).await;
    let rotated = add_webhook(&*store, &platform, &["*"]).await;
    let new_secret = Secret::generate();
    let rotated = store.rotate_secret(&platform, &rotated.id, new_secret.clone(), at(100_000), at(1)).await.unwrap();
    assert_eq!(rotated.secrets.current, new_secret);
    let raw = backend.raw_secrets().await;
    assert_eq!(raw.len(), 3, "two current secrets and one previous");
    assert_sealed_with(&raw, key_a);
    assert_eq!(store.get_webhook(&platform, &hook.id).await.unwrap(), hook);
    let published = publish(&*store, &platform, "user.created", at(2)).await;
    let job = published.jobs.iter().find(|job| job.webhook_id == hook.id).unwrap();
    assert_eq!(job.secrets, hook.secrets);
    let rotated_job = published.jobs.iter().find(|job| job.webhook_id == rotated.id).unwrap();
    assert_eq!(rotated_job.secrets, rotated.secrets);
    drop(store);

    // Key B current, A still configured: everything reads, and re-encryption moves every secret to B.
    let store = backend.open_with(cipher(key_b, &[key_a])).await.unwrap();
    assert_eq!(store.get_webhook(&platform, &hook.id).await.unwrap(), hook);
    assert_eq!(store.reencrypt_secrets(1).await.unwrap(), 1);
    assert_eq!(store.reencrypt_secrets(100).await.unwrap(), 1);
    assert_eq!(store.reencrypt_secrets(100).await.unwrap(), 0);
    assert_sealed_with(&backend.raw_secrets().await, key_b);
    drop(store);

    // B alone opens them.
    let store = backend.open_with(cipher(key_b, &[])).await.unwrap();
    assert_eq!(store.get_webhook(&platform, &hook.id).await.unwrap(), hook);
    assert_eq!(store.get_webhook(&platform, &rotated.id).await.unwrap(), rotated);
    drop(store);

    // A alone, or no key at all: refused at open, naming the key that is missing.
    let refused = backend.open_with(cipher(key_a, &[])).await.err().expect("a wrong key is refused at open");
    let message = format!("{:#}", anyhow_chain(&refused));
    assert!(message.contains(&key_id(&key_b)), "{message}");
    let refused = backend.open_with(Arc::new(SecretCipher::plaintext())).await.err().expect("no key is refused");
    assert!(anyhow_chain(&refused).contains("no secrets key"), "{}", anyhow_chain(&refused));
}

/// Secrets stored in plaintext (before encryption) still read, and re-encryption seals them.
pub async fn plaintext_secrets_still_read_and_are_sealed_by_reencryption(backend: &dyn Backend) {
    let store = backend.open_with(Arc::new(SecretCipher::plaintext())).await.unwrap();
    let platform = new_platform(&*store).await;
    let hook = add_webhook(&*store, &platform, &["*"]).await;
    assert_eq!(backend.raw_secrets().await, vec![hook.secrets.current.expose().to_owned()]);
    drop(store);

    let store = backend.open().await.unwrap();
    assert_eq!(store.get_webhook(&platform, &hook.id).await.unwrap(), hook);
    let published = publish(&*store, &platform, "user.created", at(1)).await;
    assert_eq!(only_job(&published).secrets, hook.secrets);
    assert_eq!(store.reencrypt_secrets(100).await.unwrap(), 1);
    assert_sealed_with(&backend.raw_secrets().await, TEST_KEY);
    assert_eq!(store.get_webhook(&platform, &hook.id).await.unwrap(), hook);
}

fn anyhow_chain(error: &StoreError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn key_record(platform: &PlatformId, key: &ApiKey, name: &str, read_only: bool, ms: i64) -> ApiKeyRecord {
    ApiKeyRecord {
        id: ApiKeyRecord::id_for(&key.hash()),
        platform_id: platform.clone(),
        name: name.to_owned(),
        prefix: key.expose()[..7].to_owned(),
        read_only,
        created_at: at(ms),
        last_used_at: None,
    }
}

/// A platform's keys: the first (made with the platform) is listed, new ones are named and may be read-only,
/// the last use is recorded, and a revoked key finds nothing. Another platform's key can't be revoked.
pub async fn api_keys_are_listed_used_and_revoked(store: &dyn Store) {
    let tradly = Platform::new("Tradly", "https://tradly.app", "ops@tradly.app", at(1)).unwrap();
    let first = ApiKey::generate();
    store.create_platform(tradly.clone(), first.hash()).await.unwrap();
    let other = new_platform(store).await;

    let listed = store.list_api_keys(&tradly.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, ApiKeyRecord::id_for(&first.hash()));
    assert_eq!((listed[0].name.as_str(), listed[0].prefix.as_str()), ("default", ""));
    assert!(!listed[0].read_only);
    store.set_api_key_prefix(&listed[0].id, &first.expose()[..7]).await.unwrap();
    assert_eq!(store.list_api_keys(&tradly.id).await.unwrap()[0].prefix, first.expose()[..7]);

    let reader = ApiKey::generate();
    let record = key_record(&tradly.id, &reader, "dashboards", true, 5);
    store.create_api_key(record.clone(), reader.hash()).await.unwrap();
    let missing = PlatformId::generate();
    let orphan = key_record(&missing, &ApiKey::generate(), "x", false, 5);
    assert!(matches!(store.create_api_key(orphan, ApiKey::generate().hash()).await, Err(StoreError::NotFound)));
    let listed = store.list_api_keys(&tradly.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1], record);
    assert_eq!(store.list_api_keys(&other).await.unwrap().len(), 1);

    let (platform, found) = store.api_key_by_hash(reader.hash()).await.unwrap().unwrap();
    assert_eq!((platform, found.clone()), (tradly.clone(), record.clone()));
    store.touch_api_key(&record.id, at(60_000)).await.unwrap();
    let (_, touched) = store.api_key_by_hash(reader.hash()).await.unwrap().unwrap();
    assert_eq!(touched.last_used_at, Some(at(60_000)));

    assert!(matches!(store.revoke_api_key(&other, &record.id).await, Err(StoreError::NotFound)));
    store.revoke_api_key(&tradly.id, &record.id).await.unwrap();
    assert_eq!(store.api_key_by_hash(reader.hash()).await.unwrap(), None);
    assert!(matches!(store.revoke_api_key(&tradly.id, &record.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.platform_by_key(first.hash()).await.unwrap(), Some(tradly));
}

/// The admin lists platforms by id in pages, reads and updates one, and deleting one removes everything it owns
/// while other platforms keep theirs.
pub async fn platforms_are_listed_updated_and_deleted_with_what_they_own(store: &dyn Store) {
    let key = ApiKey::generate();
    let doomed = Platform::new("Doomed", "https://doomed.example", "ops@doomed.example", at(0)).unwrap();
    store.create_platform(doomed.clone(), key.hash()).await.unwrap();
    let kept = new_platform(store).await;
    let third = new_platform(store).await;
    let mut ids = [doomed.id.clone(), kept.clone(), third.clone()];
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));

    let first_page = store.list_platforms(Page { limit: 2, after: None }).await.unwrap();
    assert_eq!(first_page.iter().map(|p| p.id.clone()).collect::<Vec<_>>(), ids[..2]);
    let after = Some(first_page[1].id.to_string());
    let second_page = store.list_platforms(Page { limit: 2, after }).await.unwrap();
    assert_eq!(second_page.iter().map(|p| p.id.clone()).collect::<Vec<_>>(), ids[2..]);

    assert_eq!(store.get_platform(&doomed.id).await.unwrap(), doomed);
    let mut renamed = doomed.clone();
    renamed.name = "Renamed".into();
    renamed.email = "new@doomed.example".into();
    store.update_platform(renamed.clone()).await.unwrap();
    assert_eq!(store.get_platform(&doomed.id).await.unwrap(), renamed);
    let mut nobody = renamed.clone();
    nobody.id = PlatformId::generate();
    assert!(matches!(store.update_platform(nobody.clone()).await, Err(StoreError::NotFound)));
    assert!(matches!(store.get_platform(&nobody.id).await, Err(StoreError::NotFound)));

    let doomed_hook = add_webhook(store, &doomed.id, &["*"]).await;
    let kept_hook = add_webhook(store, &kept, &["*"]).await;
    let doomed_event = publish(store, &doomed.id, "user.created", at(1)).await;
    let kept_event = publish(store, &kept, "user.created", at(1)).await;

    store.delete_platform(&doomed.id).await.unwrap();
    assert!(matches!(store.get_platform(&doomed.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.platform_by_key(key.hash()).await.unwrap(), None);
    assert!(matches!(store.get_webhook(&doomed.id, &doomed_hook.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.get_event(&doomed.id, &doomed_event.event.id).await, Err(StoreError::NotFound)));
    let delivery = &only_job(&doomed_event).delivery_id;
    assert!(matches!(store.get_delivery(&doomed.id, delivery).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_platform(&doomed.id).await, Err(StoreError::NotFound)));
    // The others keep everything.
    assert_eq!(store.get_webhook(&kept, &kept_hook.id).await.unwrap(), kept_hook);
    assert!(store.get_event(&kept, &kept_event.event.id).await.is_ok());
    assert_eq!(store.list_platforms(Page { limit: 10, after: None }).await.unwrap().len(), 2);
}
