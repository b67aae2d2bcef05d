//! Platforms and their API keys.

use hookline_core::platform::Platform;
use hookline_core::secret::ApiKey;
use hookline_store::Store;

use crate::support::at;

/// An API key's hash finds the platform it was created with, and no other; an unknown hash finds nothing.
pub async fn platform_by_key_finds_only_its_own_key(store: &dyn Store) {
    let tradly = Platform::new("Tradly", "https://tradly.app", "ops@tradly.app", at(1)).unwrap();
    let other = Platform::new("Other", "https://other.example", "ops@other.example", at(2)).unwrap();
    let (tradly_key, other_key) = (ApiKey::generate(), ApiKey::generate());
    store.create_platform(tradly.clone(), tradly_key.hash()).await.unwrap();
    store.create_platform(other.clone(), other_key.hash()).await.unwrap();

    assert_eq!(store.platform_by_key(tradly_key.hash()).await.unwrap(), Some(tradly));
    assert_eq!(store.platform_by_key(other_key.hash()).await.unwrap(), Some(other));
    assert_eq!(store.platform_by_key(ApiKey::generate().hash()).await.unwrap(), None);
}
