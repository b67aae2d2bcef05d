//! Failure notices tell the truth: every delivery that failed for good is counted in exactly one
//! `deliveries_failed` notice, two of them are sent at least a window apart, a webhook that keeps failing is
//! reported once, and its recovery once more.

use std::collections::HashSet;
use std::time::Duration;

use hookline_core::Timestamp;
use hookline_core::delivery::{FailurePolicy, NextStep};
use hookline_core::ids::{DeliveryId, PlatformId};
use hookline_core::notification::{Notification, NotificationKind};
use hookline_store::{NotificationResult, Page, RecordContext, Store};

use crate::support::{
    LEASE_MS, add_webhook, at, at_plus, failed_attempt, new_platform, ok_attempt, only_job, publish, record,
};

const WINDOW_MS: i64 = 3_600_000;
const MINUTE: i64 = 60_000;

fn ctx(now: Timestamp) -> RecordContext {
    RecordContext {
        now,
        lease_until: at_plus(now, LEASE_MS),
        failure: FailurePolicy {
            notify_window: Duration::from_millis(WINDOW_MS as u64),
            notify_after: Duration::from_secs(15 * 60),
            ..FailurePolicy::default()
        },
    }
}

/// Publishes one event to the platform's only webhook and records its delivery as failed for good at `now`.
async fn fail_one(store: &dyn Store, platform: &PlatformId, now: Timestamp) -> String {
    let published = publish(store, platform, "user.created", now).await;
    let delivery = only_job(&published).delivery_id.clone();
    let attempt = failed_attempt(&delivery, 1, now);
    store.record_attempts(vec![record(attempt, NextStep::Failed)], ctx(now)).await.unwrap();
    published.event.id.to_string()
}

/// Claims every notice due at `now` and marks it sent; returns those of `kind`.
async fn send_due_of(store: &dyn Store, now: Timestamp, kind: NotificationKind) -> Vec<Notification> {
    let claimed = store.claim_notifications(now, at_plus(now, 120_000), 100).await.unwrap();
    for notice in &claimed {
        let result = NotificationResult::Sent { subject: "sent".into() };
        store.finish_notification(&notice.id, result, now).await.unwrap();
    }
    claimed.into_iter().filter(|notice| notice.kind == kind).collect()
}

/// The `deliveries_failed` notices sent at `now` (a webhook failing that long is also told so, apart).
async fn send_due(store: &dyn Store, now: Timestamp) -> Vec<Notification> {
    send_due_of(store, now, NotificationKind::DeliveriesFailed).await
}

async fn notices(store: &dyn Store, platform: &PlatformId, kind: NotificationKind) -> Vec<Notification> {
    let all = store.list_notifications(platform, Page { limit: 1000, after: None }).await.unwrap();
    all.into_iter().filter(|notice| notice.kind == kind).collect()
}

/// Failures before a notice is claimed join it; failures while it is being sent, and until its window ends,
/// go into the next one, due when that window ends (not before); a failure a window after the last claim
/// raises a notice due at once. What each claim reads is what it sends: the counts of the notices claimed add
/// up to the failures recorded, and no event is listed in two notices.
pub async fn every_failed_delivery_is_counted_in_exactly_one_notice(store: &dyn Store) {
    let platform = new_platform(store).await;
    add_webhook(store, &platform, &["*"]).await;
    let mut failed: Vec<String> = Vec::new();
    let mut sent: Vec<Notification> = Vec::new();

    // Two failures, then the notifier claims the first notice: it says 2.
    failed.push(fail_one(store, &platform, at(1_000)).await);
    failed.push(fail_one(store, &platform, at(2_000)).await);
    let first_claim = at(3_000);
    let claimed = store.claim_notifications(first_claim, at_plus(first_claim, 120_000), 100).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].failed_count, 2);
    // Failures while it is being sent (claimed, not finished) are not lost: they wait for the next one.
    for n in 0..5 {
        failed.push(fail_one(store, &platform, at(4_000 + n)).await);
    }
    store
        .finish_notification(&claimed[0].id, NotificationResult::Sent { subject: "s".into() }, at(5_000))
        .await
        .unwrap();
    sent.extend(claimed);
    // More failures within the window join the same waiting notice.
    for n in 0..9 {
        failed.push(fail_one(store, &platform, at_plus(at(10 * MINUTE), n)).await);
    }
    // Nothing is sent before the window since the last claim ends ...
    let window_end = at_plus(first_claim, WINDOW_MS);
    assert!(send_due(store, at_plus(window_end, -1)).await.is_empty(), "a second email within the window");
    // ... and then the 14 gathered failures go in one notice.
    let second = send_due(store, window_end).await;
    assert_eq!(second.iter().map(|n| n.failed_count).collect::<Vec<_>>(), vec![14]);
    sent.extend(second);
    // A failure just after: its notice waits for the next window end too.
    failed.push(fail_one(store, &platform, at_plus(window_end, 1)).await);
    assert!(send_due(store, at_plus(window_end, WINDOW_MS - 1)).await.is_empty());
    let third = send_due(store, at_plus(window_end, WINDOW_MS)).await;
    assert_eq!(third.iter().map(|n| n.failed_count).collect::<Vec<_>>(), vec![1]);
    sent.extend(third);
    // Long after every window: a failure is reported at once.
    let late = at_plus(window_end, 10 * WINDOW_MS);
    failed.push(fail_one(store, &platform, late).await);
    let fourth = send_due(store, late).await;
    assert_eq!(fourth.iter().map(|n| n.failed_count).collect::<Vec<_>>(), vec![1]);
    sent.extend(fourth);

    let total: u32 = sent.iter().map(|n| n.failed_count).sum();
    assert_eq!(total as usize, failed.len(), "every failure counted once: {sent:#?}");
    let stored = notices(store, &platform, NotificationKind::DeliveriesFailed).await;
    assert_eq!(stored.len(), 4, "no notice left behind: {stored:#?}");
    assert_eq!(stored.iter().map(|n| n.failed_count).sum::<u32>() as usize, failed.len());
    // Each failed event is listed in at most one notice (a notice lists its first ten).
    let mut listed = HashSet::new();
    for notice in &stored {
        for id in &notice.event_ids {
            assert!(failed.contains(id), "{id} did not fail");
            assert!(listed.insert(id.clone()), "{id} listed in two notices");
        }
    }
    assert_eq!(listed.len(), 2 + 10 + 1 + 1, "each notice lists its first ten failures");
    // What was claimed is what is stored: nothing was absorbed after a claim.
    for notice in &sent {
        let now = stored.iter().find(|s| s.id == notice.id).unwrap();
        assert_eq!((now.failed_count, &now.event_ids), (notice.failed_count, &notice.event_ids));
    }
}

/// Records a failed attempt (a retry is due later) of a fresh event's delivery at `now`.
async fn fail_attempt(store: &dyn Store, platform: &PlatformId, now: Timestamp) -> DeliveryId {
    let published = publish(store, platform, "user.created", now).await;
    let delivery = only_job(&published).delivery_id.clone();
    let attempt = failed_attempt(&delivery, 1, now);
    store.record_attempts(vec![record(attempt, NextStep::RetryAt(at_plus(now, MINUTE)))], ctx(now)).await.unwrap();
    delivery
}

/// A webhook whose every attempt fails is reported once it has failed for `notify_after` (not before, and
/// once per failing streak), its recovery is reported once, and a new streak is reported again, unless it
/// starts within the window since the last report. A webhook that failed briefly and recovered before anyone
/// was told sends nothing.
pub async fn a_webhook_failing_for_notify_after_is_reported_once_and_its_recovery_too(store: &dyn Store) {
    let platform = new_platform(store).await;
    let hook = add_webhook(store, &platform, &["*"]).await;
    let failing = |store, platform| async move { notices(store, platform, NotificationKind::WebhookFailing).await };

    // A short failure, then a success: no email at all.
    fail_attempt(store, &platform, at(0)).await;
    fail_attempt(store, &platform, at(14 * MINUTE)).await;
    let ok = fail_attempt(store, &platform, at(14 * MINUTE + 1)).await;
    store
        .record_attempts(
            vec![record(ok_attempt(&ok, 2, at(14 * MINUTE + 2)), NextStep::Delivered)],
            ctx(at(14 * MINUTE + 2)),
        )
        .await
        .unwrap();
    assert!(store.list_notifications(&platform, Page { limit: 100, after: None }).await.unwrap().is_empty());

    // A streak from minute 20: nothing until it has lasted 15 minutes, then one notice, then no more.
    let streak = 20 * MINUTE;
    fail_attempt(store, &platform, at(streak)).await;
    fail_attempt(store, &platform, at(streak + 15 * MINUTE - 1)).await;
    assert!(failing(store, &platform).await.is_empty(), "told before notify_after");
    let retrying = fail_attempt(store, &platform, at(streak + 15 * MINUTE)).await;
    fail_attempt(store, &platform, at(streak + 40 * MINUTE)).await;
    let told = failing(store, &platform).await;
    assert_eq!(told.len(), 1, "{told:#?}");
    assert_eq!(told[0].webhook_id, hook.id);
    // The deliveries waiting for a retry then: the first two of the short failure, and the streak's three.
    assert_eq!(told[0].failed_count, 5);
    assert_eq!(told[0].last_error.as_deref(), Some("receiver answered 500"));
    let reason = told[0].reason.as_deref().unwrap();
    assert!(reason.contains(&at(streak).to_string()) && reason.ends_with("(15m)"), "{reason}");
    assert_eq!(send_due_of(store, at(streak + 15 * MINUTE), NotificationKind::WebhookFailing).await.len(), 1);

    // The first success tells the owner it recovered; the next one says nothing more.
    let success = |n: u32, when: i64| record(ok_attempt(&retrying, n, at(when)), NextStep::Delivered);
    store.record_attempts(vec![success(2, streak + 50 * MINUTE)], ctx(at(streak + 50 * MINUTE))).await.unwrap();
    let other = fail_attempt(store, &platform, at(streak + 51 * MINUTE)).await;
    let recovered_at = at(streak + 52 * MINUTE);
    store
        .record_attempts(vec![record(ok_attempt(&other, 2, recovered_at), NextStep::Delivered)], ctx(recovered_at))
        .await
        .unwrap();
    let recovered = notices(store, &platform, NotificationKind::WebhookRecovered).await;
    assert_eq!(recovered.len(), 1, "{recovered:#?}");
    assert!(recovered[0].reason.as_deref().unwrap().contains(&at(streak).to_string()));
    assert_eq!(store.get_webhook(&platform, &hook.id).await.unwrap().failing_since, None);

    // A streak that starts again within the window since the last report (a flapping endpoint) is not
    // reported, and neither is its end.
    let flap = streak + 53 * MINUTE;
    fail_attempt(store, &platform, at(flap)).await;
    let flapping = fail_attempt(store, &platform, at(flap + 16 * MINUTE)).await;
    assert_eq!(failing(store, &platform).await.len(), 1, "not within the window of the last report");
    let healed = at(flap + 17 * MINUTE);
    store
        .record_attempts(vec![record(ok_attempt(&flapping, 2, healed), NextStep::Delivered)], ctx(healed))
        .await
        .unwrap();
    assert_eq!(notices(store, &platform, NotificationKind::WebhookRecovered).await.len(), 1);

    // A new streak after the window is reported again.
    let again = streak + 80 * MINUTE;
    fail_attempt(store, &platform, at(again)).await;
    fail_attempt(store, &platform, at(again + 16 * MINUTE)).await;
    assert_eq!(failing(store, &platform).await.len(), 2);
}

/// A delivery that failed, then got through, no longer shows the old error: not in its detail, not in lists.
pub async fn a_delivered_delivery_shows_no_last_error(store: &dyn Store) {
    let platform = new_platform(store).await;
    let hook = add_webhook(store, &platform, &["*"]).await;
    let published = publish(store, &platform, "user.created", at(0)).await;
    let delivery = only_job(&published).delivery_id.clone();
    let failed = failed_attempt(&delivery, 1, at(10));
    store.record_attempts(vec![record(failed, NextStep::RetryAt(at(1_000)))], ctx(at(20))).await.unwrap();
    let detail = store.get_delivery(&platform, &delivery).await.unwrap();
    assert_eq!(detail.summary.last_error.as_deref(), Some("receiver answered 500"), "shown while failing");

    store
        .record_attempts(vec![record(ok_attempt(&delivery, 2, at(1_000)), NextStep::Delivered)], ctx(at(1_100)))
        .await
        .unwrap();
    let detail = store.get_delivery(&platform, &delivery).await.unwrap();
    assert_eq!(detail.summary.last_error, None);
    assert_eq!(detail.attempts.len(), 2, "the failure is still in the attempts");
    let listed = store.list_deliveries(&platform, &hook.id, None, Page { limit: 10, after: None }).await.unwrap();
    assert_eq!(listed.iter().map(|d| d.last_error.clone()).collect::<Vec<_>>(), vec![None]);
}
