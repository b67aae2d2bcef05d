//! `hookline listen`'s listeners: webhooks whose deliveries the engine never holds; the CLI's stream claims
//! them, the answers are recorded as attempts, and idle listeners are pruned.

use hookline_core::delivery::{DeliveryStatus, NextStep};
use hookline_core::webhook::Webhook;
use hookline_store::{Store, StoreError};

use crate::support::{
    LEASE_MS, add_webhook, at, claim, context, failed_attempt, new_platform, ok_attempt, publish, record, webhook,
};

async fn add_listener(store: &dyn Store, platform: &hookline_core::ids::PlatformId, events: &[&str]) -> Webhook {
    let listener = Webhook { listener: true, ..webhook(platform, events) };
    store.create_webhook(listener.clone()).await.unwrap();
    listener
}

/// Publishing leases and hands over only the ordinary webhook's delivery; the engine's claim never finds the
/// listener's, whatever the time; the listener's own claim does, leases it (so a second claim finds nothing
/// until the lease ends), and is `NotFound` for another platform or an ordinary webhook.
pub async fn listener_deliveries_are_claimed_only_by_their_listener(store: &dyn Store) {
    let platform = new_platform(store).await;
    let ordinary = add_webhook(store, &platform, &["*"]).await;
    let listener = add_listener(store, &platform, &["user.created"]).await;
    assert!(store.get_webhook(&platform, &listener.id).await.unwrap().listener);

    let published = publish(store, &platform, "user.created", at(0)).await;
    assert_eq!(published.delivery_count, 2);
    assert_eq!(published.jobs.len(), 1);
    assert_eq!(published.jobs[0].webhook_id, ordinary.id);
    // Not for the listener's filter: no delivery for it at all.
    assert_eq!(publish(store, &platform, "order.confirmed", at(1)).await.delivery_count, 1);

    let engine = claim(store, at(10 * LEASE_MS), at(11 * LEASE_MS), 100).await.unwrap();
    assert!(engine.iter().all(|job| job.webhook_id == ordinary.id), "{engine:?}");
    assert_eq!(engine.len(), 2);

    let claimed = store.claim_listener_deliveries(&platform, &listener.id, at(2), at(2 + LEASE_MS), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let job = &claimed[0];
    assert_eq!((job.webhook_id.clone(), job.attempt_number), (listener.id.clone(), 1));
    assert_eq!(&job.body[..], &published.event.delivery_body()[..]);
    assert_eq!(job.secrets, listener.secrets);
    assert!(
        store.claim_listener_deliveries(&platform, &listener.id, at(3), at(3 + LEASE_MS), 10).await.unwrap().is_empty()
    );
    let again =
        store.claim_listener_deliveries(&platform, &listener.id, at(3 + LEASE_MS), at(9 * LEASE_MS), 10).await.unwrap();
    assert_eq!(again.len(), 1, "a lease that ended is claimable again");
    assert_eq!(again[0].delivery_id, job.delivery_id);

    let other = new_platform(store).await;
    assert_matches!(
        store.claim_listener_deliveries(&other, &listener.id, at(4), at(5), 10).await,
        Err(StoreError::NotFound)
    );
    assert_matches!(
        store.claim_listener_deliveries(&platform, &ordinary.id, at(4), at(5), 10).await,
        Err(StoreError::NotFound)
    );
    assert_matches!(store.listener_job(&other, &listener.id, &job.delivery_id).await, Err(StoreError::NotFound));
}

/// A claimed delivery is out with the CLI (`listener_job` finds it) until its answer is recorded through the
/// engine's path: a failure schedules a retry the stream claims when due, with the next attempt number; a
/// success delivers it; both are in the attempt log.
pub async fn listener_answers_are_recorded_as_attempts(store: &dyn Store) {
    let platform = new_platform(store).await;
    let listener = add_listener(store, &platform, &["*"]).await;
    publish(store, &platform, "user.created", at(0)).await;
    assert!(
        store.claim_listener_deliveries(&platform, &listener.id, at(0), at(LEASE_MS), 10).await.unwrap().len() == 1
    );
    let claimed = store.claim_listener_deliveries(&platform, &listener.id, at(LEASE_MS), at(2 * LEASE_MS), 10).await;
    let delivery = claimed.unwrap().remove(0).delivery_id;
    let out = store.listener_job(&platform, &listener.id, &delivery).await.unwrap();
    assert_eq!(out.attempt_number, 1);

    let retry_at = at(5 * LEASE_MS);
    let failed = failed_attempt(&delivery, 1, at(LEASE_MS + 1));
    store.record_attempts(vec![record(failed, NextStep::RetryAt(retry_at))], context(at(LEASE_MS + 2))).await.unwrap();
    assert_matches!(store.listener_job(&platform, &listener.id, &delivery).await, Err(StoreError::NotFound));
    assert!(
        store
            .claim_listener_deliveries(&platform, &listener.id, at(4 * LEASE_MS), at(6 * LEASE_MS), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(claim(store, at(100 * LEASE_MS), at(101 * LEASE_MS), 10).await.unwrap().is_empty());
    let retried =
        store.claim_listener_deliveries(&platform, &listener.id, retry_at, at(6 * LEASE_MS), 10).await.unwrap();
    assert_eq!((retried.len(), retried[0].attempt_number), (1, 2));

    let ok = ok_attempt(&delivery, 2, retry_at);
    store.record_attempts(vec![record(ok, NextStep::Delivered)], context(at(5 * LEASE_MS + 1))).await.unwrap();
    let detail = store.get_delivery(&platform, &delivery).await.unwrap();
    assert_eq!(detail.summary.delivery.status, DeliveryStatus::Delivered);
    assert_eq!(detail.attempts.iter().map(|a| a.attempt_number).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(detail.attempts[0].status, Some(500));
}

/// Listeners last seen (or, never seen, created) before the cut are deleted with their deliveries; a
/// listener seen since stays, and ordinary webhooks are never pruned.
pub async fn idle_listeners_are_pruned_with_their_deliveries(store: &dyn Store) {
    let platform = new_platform(store).await;
    let ordinary = add_webhook(store, &platform, &["*"]).await;
    let idle = add_listener(store, &platform, &["*"]).await;
    let alive = add_listener(store, &platform, &["*"]).await;
    store.touch_listener(&platform, &alive.id, at(2_000)).await.unwrap();
    assert_matches!(store.touch_listener(&platform, &ordinary.id, at(2_000)).await, Err(StoreError::NotFound));
    publish(store, &platform, "user.created", at(100)).await;
    let idle_job = store.claim_listener_deliveries(&platform, &idle.id, at(100), at(200), 10).await.unwrap().remove(0);
    store
        .record_attempts(
            vec![record(failed_attempt(&idle_job.delivery_id, 1, at(150)), NextStep::Failed)],
            context(at(160)),
        )
        .await
        .unwrap();

    assert_eq!(store.prune_listeners(at(1_000)).await.unwrap(), 1);
    assert_matches!(store.get_webhook(&platform, &idle.id).await, Err(StoreError::NotFound));
    assert_matches!(store.get_delivery(&platform, &idle_job.delivery_id).await, Err(StoreError::NotFound));
    assert_matches!(store.touch_listener(&platform, &idle.id, at(3_000)).await, Err(StoreError::NotFound));
    assert!(store.get_webhook(&platform, &alive.id).await.unwrap().listener);
    assert!(!store.get_webhook(&platform, &ordinary.id).await.unwrap().listener);
    assert_eq!(store.prune_listeners(at(1_000)).await.unwrap(), 0);
    assert_eq!(store.prune_listeners(at(2_001)).await.unwrap(), 1);
    assert!(store.get_webhook(&platform, &ordinary.id).await.is_ok());
}
