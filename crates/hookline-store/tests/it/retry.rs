//! Retrying a delivery by hand: it becomes due now and is handed straight to the caller.

use hookline_core::delivery::{DeliveryStatus, NextStep};
use hookline_core::ids::DeliveryId;
use hookline_store::{Store, StoreError, WebhookPatch};

use crate::support::{
    LEASE_MS, add_webhook, at, claim, context, failed_attempt, new_platform, only_job, publish, record,
};

/// Publishes one event to one new webhook and fails its only delivery after one attempt.
async fn failed_delivery(store: &dyn Store, platform: &hookline_core::ids::PlatformId) -> DeliveryId {
    let published = publish(store, platform, "user.created", at(0)).await;
    let delivery = only_job(&published).delivery_id.clone();
    let attempt = failed_attempt(&delivery, 1, at(10));
    store.record_attempts(vec![record(attempt, NextStep::Failed)], context(at(20))).await.unwrap();
    delivery
}

/// Retrying a failed delivery makes it pending and due now, and returns the next attempt's job leased to the
/// caller, so the poller does not take it as well.
pub async fn retrying_a_failed_delivery_requeues_it_leased(store: &dyn Store) {
    let platform = new_platform(store).await;
    let hook = add_webhook(store, &platform, &["*"]).await;
    let delivery = failed_delivery(store, &platform).await;

    let (now, lease_until) = (at(100_000), at(100_000 + LEASE_MS));
    let job = store.retry_delivery(&platform, &delivery, now, lease_until).await.unwrap();

    assert_eq!(job.delivery_id, delivery);
    assert_eq!(job.webhook_id, hook.id);
    assert_eq!(job.url, hook.url);
    assert_eq!(job.attempt_number, 2);
    let summary = store.get_delivery(&platform, &delivery).await.unwrap().summary;
    assert_eq!(summary.delivery.status, DeliveryStatus::Pending);
    assert_eq!(summary.delivery.attempt_count, 1);
    assert_eq!(summary.delivery.next_attempt_at, Some(now));
    assert!(claim(store, now, at(200_000), 10).await.unwrap().is_empty());
    let claimed = claim(store, at(100_001 + LEASE_MS), at(200_000), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].delivery_id, delivery);
    assert_eq!(claimed[0].attempt_number, 2);
}

/// A delivery someone holds a lease on is being attempted, so retrying it is a conflict until the lease ends.
pub async fn retrying_an_in_flight_delivery_conflicts(store: &dyn Store) {
    let platform = new_platform(store).await;
    add_webhook(store, &platform, &["*"]).await;
    let published = publish(store, &platform, "user.created", at(0)).await;
    let delivery = only_job(&published).delivery_id.clone();

    assert_matches!(
        store.retry_delivery(&platform, &delivery, at(1_000), at(1_000 + LEASE_MS)).await,
        Err(StoreError::Conflict(_))
    );

    let after_lease = at(LEASE_MS + 1);
    let job = store.retry_delivery(&platform, &delivery, after_lease, at(2 * LEASE_MS)).await.unwrap();
    assert_eq!(job.attempt_number, 1);
    // The retry took a lease of its own, so a second retry is now the one in conflict.
    assert_matches!(
        store.retry_delivery(&platform, &delivery, after_lease, at(2 * LEASE_MS)).await,
        Err(StoreError::Conflict(_))
    );
}

/// A disabled webhook sends nothing, so retrying one of its deliveries is a conflict and changes nothing.
pub async fn retrying_on_a_disabled_webhook_conflicts(store: &dyn Store) {
    let platform = new_platform(store).await;
    let hook = add_webhook(store, &platform, &["*"]).await;
    let delivery = failed_delivery(store, &platform).await;
    let disable = WebhookPatch { enabled: Some(false), ..Default::default() };
    store.update_webhook(&platform, &hook.id, disable, at(30)).await.unwrap();
    let before = store.get_delivery(&platform, &delivery).await.unwrap();

    assert_matches!(
        store.retry_delivery(&platform, &delivery, at(100), at(100 + LEASE_MS)).await,
        Err(StoreError::Conflict(_))
    );
    assert_eq!(store.get_delivery(&platform, &delivery).await.unwrap(), before);
}

/// Another platform's delivery, like one that never existed, is `NotFound` and stays as it was.
pub async fn another_platforms_delivery_is_not_found(store: &dyn Store) {
    let (owner, stranger) = (new_platform(store).await, new_platform(store).await);
    add_webhook(store, &owner, &["*"]).await;
    let delivery = failed_delivery(store, &owner).await;
    let before = store.get_delivery(&owner, &delivery).await.unwrap();

    assert_matches!(store.get_delivery(&stranger, &delivery).await, Err(StoreError::NotFound));
    assert_matches!(
        store.retry_delivery(&stranger, &delivery, at(100), at(100 + LEASE_MS)).await,
        Err(StoreError::NotFound)
    );
    assert_matches!(
        store.retry_delivery(&owner, &DeliveryId::generate(), at(100), at(100 + LEASE_MS)).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.get_delivery(&owner, &delivery).await.unwrap(), before);
}
