//! Operations: retention (old finished history goes, work still to send stays), the oldest pending delivery,
//! the webhook count and the write probe.

use hookline_core::delivery::NextStep;
use hookline_store::{Pruned, Store, StoreError};

use crate::inboxes::{new_inbox, request};
use crate::support::{add_webhook, at, context, failed_attempt, new_platform, ok_attempt, only_job, publish, record};

/// Events older than the cut-off whose deliveries are all finished (delivered or failed) are deleted with their
/// deliveries and attempts, a batch at a time; an old event with a delivery still pending stays, with its
/// attempts, until that delivery finishes; younger events stay. Old captured requests go too.
pub async fn retention_prunes_finished_history_and_keeps_pending_work(store: &dyn Store) {
    let platform = new_platform(store).await;
    add_webhook(store, &platform, &["*"]).await;
    let delivered = publish(store, &platform, "user.created", at(100)).await;
    let failed = publish(store, &platform, "user.created", at(110)).await;
    let pending = publish(store, &platform, "user.created", at(120)).await;
    let young = publish(store, &platform, "user.created", at(50_000)).await;
    let finish = |published: &hookline_store::Published, next: NextStep, ok: bool| {
        let job = only_job(published);
        let attempt =
            if ok { ok_attempt(&job.delivery_id, 1, at(200)) } else { failed_attempt(&job.delivery_id, 1, at(200)) };
        record(attempt, next)
    };
    let records = vec![
        finish(&delivered, NextStep::Delivered, true),
        finish(&failed, NextStep::Failed, false),
        finish(&pending, NextStep::RetryAt(at(100_000)), false),
        finish(&young, NextStep::Delivered, true),
    ];
    store.record_attempts(records, context(at(200))).await.unwrap();
    let inbox = new_inbox(&platform, 100);
    store.create_inbox(inbox.clone()).await.unwrap();
    store.capture_request(request(&inbox.id, 1, 150), 500, at(150)).await.unwrap();
    store.capture_request(request(&inbox.id, 2, 50_000), 500, at(50_000)).await.unwrap();

    assert_eq!(store.oldest_pending_delivery().await.unwrap(), Some(at(120)));

    // One event per batch: the oldest prunable first.
    let first = store.prune_before(at(10_000), 1).await.unwrap();
    assert_eq!(first, Pruned { events: 1, deliveries: 1, attempts: 1, inbox_requests: 1 });
    assert!(!first.is_last(1));
    assert_matches!(store.get_event(&platform, &delivered.event.id).await, Err(StoreError::NotFound));
    let second = store.prune_before(at(10_000), 1).await.unwrap();
    assert_eq!(second, Pruned { events: 1, deliveries: 1, attempts: 1, inbox_requests: 0 });
    assert_matches!(store.get_event(&platform, &failed.event.id).await, Err(StoreError::NotFound));
    let rest = store.prune_before(at(10_000), 1).await.unwrap();
    assert_eq!(rest, Pruned::default(), "the pending delivery keeps its old event");
    assert!(rest.is_last(1));

    let (_, deliveries) = store.get_event(&platform, &pending.event.id).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    let pending_id = &only_job(&pending).delivery_id;
    assert_eq!(store.get_delivery(&platform, pending_id).await.unwrap().attempts.len(), 1, "its attempts stay");
    store.get_event(&platform, &young.event.id).await.unwrap();
    let page = hookline_store::Page { limit: 10, after: None };
    assert_eq!(store.list_requests(&platform, &inbox.id, page, at(150)).await.unwrap().len(), 1);

    // Once its delivery finishes, the old event goes on the next round; nothing is left pending.
    let mut retry = failed_attempt(pending_id, 2, at(100_000));
    retry.status = Some(200);
    store.record_attempts(vec![record(retry, NextStep::Delivered)], context(at(100_001))).await.unwrap();
    assert_eq!(store.oldest_pending_delivery().await.unwrap(), None);
    let last = store.prune_before(at(10_000), 1000).await.unwrap();
    assert_eq!(last, Pruned { events: 1, deliveries: 1, attempts: 2, inbox_requests: 0 });
    assert_matches!(store.get_event(&platform, &pending.event.id).await, Err(StoreError::NotFound));
}

/// The webhook count is per platform, and a healthy store takes the write probe (leaving nothing behind).
pub async fn webhook_count_and_write_probe(store: &dyn Store) {
    let platform = new_platform(store).await;
    let other = new_platform(store).await;
    assert_eq!(store.webhook_count(&platform).await.unwrap(), 0);
    add_webhook(store, &platform, &["*"]).await;
    add_webhook(store, &platform, &["*"]).await;
    add_webhook(store, &other, &["*"]).await;
    assert_eq!(store.webhook_count(&platform).await.unwrap(), 2);
    assert_eq!(store.webhook_count(&other).await.unwrap(), 1);
    store.probe_write().await.unwrap();
    store.probe_write().await.unwrap();
}

/// A webhook's rate limit is stored, read back, carried by its jobs, and removed by a patch.
pub async fn a_webhook_rate_limit_round_trips_into_its_jobs(store: &dyn Store) {
    let platform = new_platform(store).await;
    let hook = hookline_core::webhook::Webhook { rate_limit: Some(7), ..crate::support::webhook(&platform, &["*"]) };
    store.create_webhook(hook.clone()).await.unwrap();
    assert_eq!(store.get_webhook(&platform, &hook.id).await.unwrap().rate_limit, Some(7));
    let published = publish(store, &platform, "user.created", at(100)).await;
    assert_eq!(only_job(&published).rate_limit, Some(7));
    let claimed = crate::support::claim(store, at(100_000), at(200_000), 10).await.unwrap();
    assert_eq!(claimed.iter().map(|job| job.rate_limit).collect::<Vec<_>>(), vec![Some(7)], "claimed jobs too");
    let patch = hookline_store::WebhookPatch { rate_limit: Some(None), ..Default::default() };
    let updated = store.update_webhook(&platform, &hook.id, patch, at(200)).await.unwrap();
    assert_eq!(updated.rate_limit, None);
    assert_eq!(store.get_webhook(&platform, &hook.id).await.unwrap().rate_limit, None);
}

/// PostgreSQL turned read-only (as a promoted standby or `default_transaction_read_only` makes it), with its
/// connections cut: the write probe and publishing fail as `Unavailable` (25006, or 57P01 / a closed
/// connection on the first try), reads go on, and once the database takes writes again both recover without
/// reopening the store.
pub async fn a_read_only_postgres_is_unavailable_until_writable_again(database: &crate::harness::Postgres) {
    use crate::harness::Backend as _;
    let store = database.open().await.unwrap();
    let platform = new_platform(&*store).await;
    add_webhook(&*store, &platform, &["*"]).await;
    let (admin, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let cut = async |read_only: &str| {
        let sql = format!(
            "ALTER DATABASE {db} SET default_transaction_read_only = {read_only}",
            db = database.url.rsplit('/').next().unwrap().split('?').next().unwrap()
        );
        admin.batch_execute(&sql).await.unwrap();
        admin
            .batch_execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid()",
            )
            .await
            .unwrap();
    };

    cut("on").await;
    // The first use of a cut connection may fail as 57P01 or closed; every failure here must be Unavailable.
    for _ in 0..3 {
        assert_matches!(store.probe_write().await, Err(StoreError::Unavailable(_)));
    }
    assert_matches!(
        store
            .publish_event(
                &platform,
                crate::support::event("user.created"),
                hookline_store::Target::Matching,
                at(1),
                None
            )
            .await,
        Err(StoreError::Unavailable(_))
    );
    store.ping().await.unwrap();

    cut("off").await;
    let mut recovered = false;
    for _ in 0..5 {
        if store.probe_write().await.is_ok() {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "the probe succeeds again once the database takes writes");
    let published = store
        .publish_event(&platform, crate::support::event("user.created"), hookline_store::Target::Matching, at(2), None)
        .await
        .unwrap();
    assert!(published.created);
}
