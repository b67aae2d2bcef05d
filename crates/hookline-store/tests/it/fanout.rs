//! Fan-out sees every change to a webhook at once. A backend may cache the webhooks it fans out to (SQLite's
//! writer does): whatever it keeps, the very next publish after a change must go by the changed webhook.

use hookline_core::delivery::NextStep;
use hookline_core::secret::Secret;
use hookline_core::webhook::{UrlPolicy, WebhookUrl};
use hookline_store::{Store, WebhookPatch};

use crate::support::{add_webhook, at, context, failed_attempt, filter, new_platform, only_job, publish, record};

/// A changed URL, filter, secret or enabled flag (by the platform, or by recording a 410 Gone) reaches the
/// publish right after it.
pub async fn changes_to_a_webhook_reach_the_very_next_publish(store: &dyn Store) {
    let platform = new_platform(store).await;
    let hook = add_webhook(store, &platform, &["order.confirmed"]).await;
    // Publishing once lets a backend fill whatever cache it keeps.
    let first = publish(store, &platform, "order.confirmed", at(0)).await;
    assert_eq!(only_job(&first).url, hook.url);

    let moved = WebhookUrl::parse("https://example.com/moved", UrlPolicy::default()).unwrap();
    let patch = WebhookPatch { url: Some(moved.clone()), ..WebhookPatch::default() };
    store.update_webhook(&platform, &hook.id, patch, at(10)).await.unwrap();
    assert_eq!(only_job(&publish(store, &platform, "order.confirmed", at(20)).await).url, moved, "the new URL");

    let patch = WebhookPatch { events: Some(filter(&["user.created"])), ..WebhookPatch::default() };
    store.update_webhook(&platform, &hook.id, patch, at(30)).await.unwrap();
    let old_type = publish(store, &platform, "order.confirmed", at(40)).await;
    assert_eq!(old_type.delivery_count, 0, "the old filter still matched");
    assert_eq!(only_job(&publish(store, &platform, "user.created", at(50)).await).webhook_id, hook.id);

    let rotated = Secret::generate();
    store.rotate_secret(&platform, &hook.id, rotated.clone(), at(1_000), at(60)).await.unwrap();
    let signed = publish(store, &platform, "user.created", at(70)).await;
    assert_eq!(only_job(&signed).secrets.current.expose(), rotated.expose(), "the new secret");

    let patch = WebhookPatch { enabled: Some(false), ..WebhookPatch::default() };
    store.update_webhook(&platform, &hook.id, patch, at(80)).await.unwrap();
    let held = publish(store, &platform, "user.created", at(90)).await;
    assert_eq!((held.delivery_count, held.jobs.len()), (1, 0), "a disabled webhook's delivery is held");

    let patch = WebhookPatch { enabled: Some(true), ..WebhookPatch::default() };
    store.update_webhook(&platform, &hook.id, patch, at(100)).await.unwrap();
    let enabled = publish(store, &platform, "user.created", at(110)).await;
    let job = only_job(&enabled).clone();

    // Recording disables the webhook (410 Gone) in the writer's own transaction: the next publish holds.
    let gone = record(failed_attempt(&job.delivery_id, 1, at(120)), NextStep::Gone);
    let outcome = store.record_attempts(vec![gone], context(at(130))).await.unwrap();
    assert_eq!(outcome.disabled, vec![hook.id.clone()]);
    let held = publish(store, &platform, "user.created", at(140)).await;
    assert_eq!((held.delivery_count, held.jobs.len()), (1, 0), "a webhook disabled by recording still got a job");
}
