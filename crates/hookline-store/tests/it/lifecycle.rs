//! The store across restarts: what a new process finds when it opens the database again.

use hookline_core::delivery::NextStep;
use hookline_core::platform::Platform;
use hookline_core::secret::ApiKey;
use hookline_store::StoreError;

use crate::harness::Backend;
use crate::support::{LEASE_MS, add_webhook, at, claim, context, ok_attempt, only_job, publish, record};

/// Everything committed before the store is closed is there, unchanged, when it is opened again.
pub async fn data_survives_reopening(backend: &dyn Backend) {
    let store = backend.open().await.unwrap();
    let platform = Platform::new("Tradly", "https://tradly.app", "ops@tradly.app", at(0)).unwrap();
    let key = ApiKey::generate();
    store.create_platform(platform.clone(), key.hash()).await.unwrap();
    let hook = add_webhook(&*store, &platform.id, &["*"]).await;
    let published = publish(&*store, &platform.id, "user.created", at(1)).await;
    let delivery = only_job(&published).delivery_id.clone();
    let attempt = ok_attempt(&delivery, 1, at(2));
    store.record_attempts(vec![record(attempt, NextStep::Delivered)], context(at(3))).await.unwrap();
    let event_before = store.get_event(&platform.id, &published.event.id).await.unwrap();
    let delivery_before = store.get_delivery(&platform.id, &delivery).await.unwrap();
    drop(store);

    let store = backend.open().await.unwrap();
    assert_eq!(store.platform_by_key(key.hash()).await.unwrap(), Some(platform.clone()));
    assert_eq!(store.get_webhook(&platform.id, &hook.id).await.unwrap(), hook);
    assert_eq!(store.get_event(&platform.id, &published.event.id).await.unwrap(), event_before);
    assert_eq!(store.get_delivery(&platform.id, &delivery).await.unwrap(), delivery_before);
}

/// Leases in the database at open belong to a process that is gone, so its deliveries are claimable at once
/// rather than after their lease runs out.
pub async fn leases_left_by_a_previous_process_are_cleared(backend: &dyn Backend) {
    let store = backend.open().await.unwrap();
    let platform = crate::support::new_platform(&*store).await;
    add_webhook(&*store, &platform, &["*"]).await;
    let published = publish(&*store, &platform, "user.created", at(0)).await;
    let delivery = only_job(&published).delivery_id.clone();
    assert!(claim(&*store, at(1), at(LEASE_MS), 10).await.unwrap().is_empty());
    drop(store);

    let store = backend.open().await.unwrap();
    let claimed = claim(&*store, at(1), at(LEASE_MS), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].delivery_id, delivery);
}

/// While one store has the database open, opening it again fails (as `InUse`, an error of opening, not a
/// `Conflict` that would read as a 409); once the first is closed, it succeeds.
pub async fn a_second_opener_of_the_same_file_is_refused(backend: &dyn Backend) {
    let first = backend.open().await.unwrap();
    match backend.open().await {
        Err(StoreError::InUse { .. }) => {}
        Err(other) => panic!("expected InUse, got {other:?}"),
        Ok(_) => panic!("a second store opened the same file"),
    }
    first.ping().await.unwrap();
    drop(first);
    backend.open().await.unwrap().ping().await.unwrap();
}
