//! Several nodes on one database (PostgreSQL): what the stores of different processes may do at once, and
//! what a node that stops or falls behind leaves for the others. Each "node" here is a store opened on the
//! same database, as a separate hookline process would open it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use hookline_core::delivery::{DeliveryStatus, FailurePolicy, NextStep};
use hookline_core::ids::{DeliveryId, NotificationId};
use hookline_core::notification::NotificationKind;
use hookline_store::{ApiStore, ClaimRequest, DeliveryQueue, Page, RecordContext, Store};

use crate::harness::{Backend, Postgres};
use crate::support::{
    LEASE_MS, add_webhook, at, claim, context, delivery_ids, failed_attempt, new_platform, ok_attempt, only_job,
    publish, record,
};

/// A store opened on the backend's database, shareable between tasks.
async fn node(backend: &dyn Backend) -> Arc<dyn Store> {
    backend.open().await.unwrap().into()
}

/// A node that stops (or dies) leaves its leases in place: after a restart nothing it held is claimable until
/// the lease ends, and then everything is (unlike SQLite, where a restart clears them).
pub async fn leases_survive_reopening(backend: &dyn Backend) {
    let store = backend.open().await.unwrap();
    let platform = new_platform(&*store).await;
    add_webhook(&*store, &platform, &["*"]).await;
    let published = publish(&*store, &platform, "user.created", at(0)).await;
    let delivery = only_job(&published).delivery_id.clone();
    drop(store);

    let store = backend.open().await.unwrap();
    assert!(claim(&*store, at(1), at(LEASE_MS), 10).await.unwrap().is_empty());
    assert!(claim(&*store, at(LEASE_MS - 1), at(2 * LEASE_MS), 10).await.unwrap().is_empty());
    let claimed = claim(&*store, at(LEASE_MS + 1), at(2 * LEASE_MS), 10).await.unwrap();
    assert_eq!(delivery_ids(&claimed), vec![delivery]);
}

/// Two nodes, four pollers each, claiming the same backlog at the same moment: every delivery is handed out
/// exactly once, and all of them are handed out.
pub async fn concurrent_claims_never_hand_out_a_delivery_twice(backend: &dyn Backend) {
    let (first, second) = (node(backend).await, node(backend).await);
    let platform = new_platform(&*first).await;
    for _ in 0..3 {
        add_webhook(&*first, &platform, &["*"]).await;
    }
    let mut backlog: HashSet<DeliveryId> = HashSet::new();
    for n in 0..60 {
        let published = publish(&*first, &platform, "user.created", at(n)).await;
        first.release(delivery_ids(&published.jobs)).await.unwrap();
        backlog.extend(delivery_ids(&published.jobs));
    }
    assert_eq!(backlog.len(), 180);

    let mut pollers = tokio::task::JoinSet::new();
    for store in [&first, &second, &first, &second, &first, &second, &first, &second] {
        let store = Arc::clone(store);
        pollers.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let request = ClaimRequest {
                    now: at(1_000),
                    lease_until: at(1_000 + LEASE_MS),
                    limit: 7,
                    per_webhook: 3,
                    skip: vec![],
                };
                let jobs = store.claim_due(request).await.unwrap();
                if jobs.is_empty() {
                    return mine;
                }
                mine.extend(jobs.into_iter().map(|job| job.delivery_id));
            }
        });
    }
    let mut claimed: Vec<DeliveryId> = Vec::new();
    while let Some(mine) = pollers.join_next().await {
        claimed.extend(mine.unwrap());
    }
    let distinct: HashSet<DeliveryId> = claimed.iter().cloned().collect();
    assert_eq!(distinct.len(), claimed.len(), "a delivery was claimed twice");
    assert_eq!(distinct, backlog, "every due delivery is claimed");
}

/// A node whose lease ran out while its attempt was in flight reports late, after another node took the
/// delivery over and recorded its own attempt: the late attempt is logged, but neither the delivery (still
/// delivered, not rescheduled) nor the webhook's failure tracking changes.
pub async fn a_late_result_after_a_takeover_is_logged_but_changes_nothing(backend: &dyn Backend) {
    let (slow, other) = (node(backend).await, node(backend).await);
    let platform = new_platform(&*slow).await;
    let hook = add_webhook(&*slow, &platform, &["*"]).await;
    let published = publish(&*slow, &platform, "user.created", at(0)).await;
    let delivery = only_job(&published).delivery_id.clone();

    let taken_over = claim(&*other, at(LEASE_MS + 1), at(2 * LEASE_MS), 10).await.unwrap();
    assert_eq!(delivery_ids(&taken_over), vec![delivery.clone()]);
    assert_eq!(taken_over[0].attempt_number, 1);
    let delivered = ok_attempt(&delivery, 1, at(LEASE_MS + 2));
    other
        .record_attempts(vec![record(delivered.clone(), NextStep::Delivered)], context(at(LEASE_MS + 10)))
        .await
        .unwrap();

    let late = failed_attempt(&delivery, 1, at(5));
    let outcome = slow
        .record_attempts(vec![record(late.clone(), NextStep::RetryAt(at(LEASE_MS + 100)))], context(at(LEASE_MS + 20)))
        .await
        .unwrap();
    assert!(outcome.jobs.is_empty() && outcome.disabled.is_empty() && outcome.notices == 0);

    let detail = slow.get_delivery(&platform, &delivery).await.unwrap();
    assert_eq!(detail.summary.delivery.status, DeliveryStatus::Delivered);
    assert_eq!(detail.summary.delivery.attempt_count, 1);
    assert_eq!(detail.summary.delivery.next_attempt_at, None);
    assert_eq!(detail.summary.delivery.updated_at, at(LEASE_MS + 10));
    assert_eq!(detail.attempts, vec![late, delivered], "both attempts are in the log, by attempt number then time");
    assert_eq!(slow.get_webhook(&platform, &hook.id).await.unwrap().failing_since, None);
    assert!(claim(&*slow, at(10 * LEASE_MS), at(11 * LEASE_MS), 10).await.unwrap().is_empty());
}

/// Several nodes starting at once on an empty database all open it, and each migration is applied once.
pub async fn nodes_starting_together_migrate_once(database: &Postgres) {
    let opened = futures_join_all((0..4).map(|_| database.open_pg())).await;
    for store in &opened {
        let store = store.as_ref().expect("every node opens the database");
        store.ping().await.unwrap();
    }
    let (client, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let rows = client
        .query("SELECT version, COUNT(*) FROM hookline_schema GROUP BY version ORDER BY version", &[])
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for (index, row) in rows.iter().enumerate() {
        assert_eq!(row.get::<_, i64>(0), index as i64 + 1, "versions are 1..=N");
        assert_eq!(row.get::<_, i64>(1), 1, "version {} applied once", index + 1);
    }
}

/// Runs the futures at once and returns their outputs in order.
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|output| output.expect("every future finished")).collect()
}

/// Two nodes record failures of one webhook at the same moment, each enough to disable it: it is disabled
/// once, with one notice and one `webhook.disabled` event, as if the batches had been recorded one after the
/// other.
pub async fn concurrent_failures_disable_a_webhook_once(backend: &dyn Backend) {
    let (first, second) = (node(backend).await, node(backend).await);
    let platform = new_platform(&*first).await;
    let failing = add_webhook(&*first, &platform, &["user.created"]).await;
    let watcher = add_webhook(&*first, &platform, &["webhook.disabled"]).await;
    let mut deliveries = Vec::new();
    for n in 0..10 {
        deliveries.push(only_job(&publish(&*first, &platform, "user.created", at(n)).await).delivery_id.clone());
    }
    // Every failure disables at once.
    let ctx = RecordContext {
        now: at(100),
        lease_until: at(100 + LEASE_MS),
        failure: FailurePolicy { disable_after: Duration::ZERO, ..FailurePolicy::default() },
    };
    let batch = |ids: &[DeliveryId]| {
        ids.iter().map(|id| record(failed_attempt(id, 1, at(50)), NextStep::RetryAt(at(5_000)))).collect::<Vec<_>>()
    };
    let (one, two) = tokio::join!(
        first.record_attempts(batch(&deliveries[..5]), ctx),
        second.record_attempts(batch(&deliveries[5..]), ctx)
    );
    let (one, two) = (one.unwrap(), two.unwrap());

    assert_eq!([one.disabled.clone(), two.disabled.clone()].concat(), vec![failing.id.clone()]);
    let jobs = [one.jobs, two.jobs].concat();
    assert_eq!(jobs.len(), 1, "one webhook.disabled event: {jobs:?}");
    assert_eq!((jobs[0].webhook_id.clone(), jobs[0].event_type.as_str()), (watcher.id, "webhook.disabled"));
    let notices = first.list_notifications(&platform, Page { limit: 100, after: None }).await.unwrap();
    let kinds: Vec<NotificationKind> = notices.iter().map(|notice| notice.kind).collect();
    assert_eq!(kinds, vec![NotificationKind::WebhookDisabled]);
    assert_eq!(notices[0].failed_count, 10, "counted after every delivery was held");
    for id in &deliveries {
        let delivery = first.get_delivery(&platform, id).await.unwrap().summary.delivery;
        assert_eq!((delivery.status, delivery.attempt_count), (DeliveryStatus::Held, 1));
    }
}

/// Two nodes claiming due failure notices at the same moment never both get one, and together get all.
pub async fn two_nodes_claiming_notices_never_share_one(backend: &dyn Backend) {
    let (first, second) = (node(backend).await, node(backend).await);
    for n in 0..12 {
        // A platform each, so that each event goes to its one webhook.
        let platform = new_platform(&*first).await;
        add_webhook(&*first, &platform, &["*"]).await;
        let published = publish(&*first, &platform, "user.created", at(n)).await;
        let delivery = only_job(&published).delivery_id.clone();
        let attempt = failed_attempt(&delivery, 1, at(20));
        first.record_attempts(vec![record(attempt, NextStep::Failed)], context(at(30))).await.unwrap();
    }
    let mut claimers = tokio::task::JoinSet::new();
    for store in [&first, &second, &first, &second] {
        let store = Arc::clone(store);
        claimers.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = store.claim_notifications(at(40), at(40 + LEASE_MS), 2).await.unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|notice| notice.id));
            }
        });
    }
    let mut claimed: Vec<NotificationId> = Vec::new();
    while let Some(mine) = claimers.join_next().await {
        claimed.extend(mine.unwrap());
    }
    let distinct: HashSet<&str> = claimed.iter().map(NotificationId::as_str).collect();
    assert_eq!(distinct.len(), claimed.len(), "a notice was claimed twice");
    assert_eq!(claimed.len(), 12);
}

/// A node that renews the leases of the jobs it holds keeps other nodes off them past the first lease;
/// renewing leaves alone deliveries that are no longer pending.
pub async fn renewed_leases_keep_other_nodes_off(database: &Postgres) {
    let (holder, other) = (database.open_pg().await.unwrap(), database.open_pg().await.unwrap());
    let platform = new_platform(&holder).await;
    add_webhook(&holder, &platform, &["*"]).await;
    add_webhook(&holder, &platform, &["*"]).await;
    let published = publish(&holder, &platform, "user.created", at(0)).await;
    let ids = delivery_ids(&published.jobs);
    let done = ids[1].clone();
    holder
        .record_attempts(vec![record(ok_attempt(&done, 1, at(5)), NextStep::Delivered)], context(at(10)))
        .await
        .unwrap();

    assert_eq!(holder.renew_leases(ids.clone(), at(3 * LEASE_MS)).await.unwrap(), 1);
    assert!(claim(&other, at(LEASE_MS + 1), at(2 * LEASE_MS), 10).await.unwrap().is_empty());
    let claimed = claim(&other, at(3 * LEASE_MS + 1), at(4 * LEASE_MS), 10).await.unwrap();
    assert_eq!(delivery_ids(&claimed), vec![ids[0].clone()]);
    let done = holder.get_delivery(&platform, &done).await.unwrap().summary.delivery;
    assert_eq!(done.status, DeliveryStatus::Delivered);
}
