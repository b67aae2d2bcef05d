//! The dashboard's storage (`UiStore`): sessions, one-time portal links, health counts, event search and the
//! recovery preview.

use hookline_core::delivery::{DeliveryStatus, NextStep};
use hookline_core::secret::KeyHash;
use hookline_store::ui::{DeliveryQuery, EventQuery};
use hookline_store::{Page, Store, StoreError, WebhookPatch};

use crate::support::{add_webhook, at, context, failed_attempt, new_platform, ok_attempt, publish, record};

fn token(text: &str) -> KeyHash {
    KeyHash(format!("hash-of-{text}"))
}

/// A session finds its platform until it expires, and not after sign-out.
pub async fn sessions_expire_and_end_at_sign_out(store: &dyn Store) {
    let platform = new_platform(store).await;
    store.create_session(token("a"), &platform, at(0), at(1_000)).await.unwrap();
    store.create_session(token("b"), &platform, at(0), at(1_000)).await.unwrap();

    let session = store.session(token("a"), at(999)).await.unwrap().expect("live session");
    assert_eq!(session.platform.id, platform);
    assert_eq!(session.expires_at, at(1_000));
    assert!(store.session(token("a"), at(1_000)).await.unwrap().is_none(), "expired at expires_at");
    assert!(store.session(token("unknown"), at(0)).await.unwrap().is_none());

    store.delete_session(token("a"), at(10)).await.unwrap();
    assert!(store.session(token("a"), at(10)).await.unwrap().is_none());
    assert!(store.session(token("b"), at(10)).await.unwrap().is_some(), "other sessions stay");
    // Signing out also sweeps sessions that have expired.
    store.delete_session(token("unknown"), at(2_000)).await.unwrap();
    store.create_session(token("c"), &platform, at(2_000), at(3_000)).await.unwrap();
    assert!(store.session(token("b"), at(500)).await.unwrap().is_none(), "swept");
}

/// A portal link signs in once: the second use, an expired link and an unknown one give nothing, even when
/// two uses race.
pub async fn portal_links_are_used_once(store: &dyn Store) {
    let platform = new_platform(store).await;
    store.create_portal_link(token("p"), &platform, at(0), at(1_000)).await.unwrap();
    let (first, second) =
        tokio::join!(store.consume_portal_link(token("p"), at(10)), store.consume_portal_link(token("p"), at(10)));
    let winners: Vec<_> = [first.unwrap(), second.unwrap()].into_iter().flatten().collect();
    assert_eq!(winners, vec![platform.clone()], "exactly one use wins");

    store.create_portal_link(token("late"), &platform, at(0), at(1_000)).await.unwrap();
    assert_eq!(store.consume_portal_link(token("late"), at(1_000)).await.unwrap(), None, "expired");
    assert_eq!(
        store.consume_portal_link(token("late"), at(10)).await.unwrap(),
        None,
        "an expired use still uses it up"
    );
    assert_eq!(store.consume_portal_link(token("never"), at(10)).await.unwrap(), None);
}

/// Health counts finished deliveries per webhook by clock hour, the current hour and the 23 before it, from the
/// counters recording keeps (a batch's results summed), and only the platform's own.
pub async fn health_counts_finished_deliveries_by_hour(store: &dyn Store) {
    const HOUR: i64 = 3_600_000;
    const MINUTE: i64 = 60_000;
    let platform = new_platform(store).await;
    let hook = add_webhook(store, &platform, &["*"]).await;
    let other_platform = new_platform(store).await;
    add_webhook(store, &other_platform, &["*"]).await;

    // `now` is 40 minutes into hour 30; hour 7 is the first of the 24 shown, hour 6 is outside them.
    let now = at(30 * HOUR + 40 * MINUTE);
    let mut batches: Vec<(Vec<(bool, NextStep)>, i64)> = vec![
        (vec![(true, NextStep::Delivered)], 30 * HOUR + 10 * MINUTE),
        // One batch of three: two delivered and a retry (pending again: not finished, not counted).
        (
            vec![(true, NextStep::Delivered), (true, NextStep::Delivered), (false, NextStep::RetryAt(at(40 * HOUR)))],
            30 * HOUR + 20 * MINUTE,
        ),
        (vec![(false, NextStep::Failed)], 28 * HOUR + 50 * MINUTE),
        (vec![(true, NextStep::Delivered)], 25 * HOUR + 40 * MINUTE),
        (vec![(true, NextStep::Delivered)], 7 * HOUR + 5 * MINUTE),
        (vec![(true, NextStep::Delivered)], 6 * HOUR + 59 * MINUTE),
    ];
    batches.sort_by_key(|(_, time)| *time);
    for (results, finished_at) in batches {
        let time = at(finished_at);
        let mut batch = Vec::new();
        for (ok, next) in results {
            let published = publish(store, &platform, "user.created", at(0)).await;
            let delivery = published.jobs[0].delivery_id.clone();
            let attempt = if ok { ok_attempt(&delivery, 1, time) } else { failed_attempt(&delivery, 1, time) };
            batch.push(record(attempt, next));
        }
        store.record_attempts(batch, context(time)).await.unwrap();
    }
    let other = publish(store, &other_platform, "user.created", at(0)).await;
    let other_delivery = other.jobs[0].delivery_id.clone();
    let other_time = at(30 * HOUR + MINUTE);
    store
        .record_attempts(
            vec![record(ok_attempt(&other_delivery, 1, other_time), NextStep::Delivered)],
            context(other_time),
        )
        .await
        .unwrap();

    let health = store.webhook_health(&platform, now).await.unwrap();
    assert_eq!(health.len(), 1);
    let h = &health[0];
    assert_eq!(h.webhook_id, hook.id);
    assert_eq!((h.delivered_1h, h.failed_1h, h.delivered_24h, h.failed_24h), (3, 0, 5, 1));
    assert_eq!(h.hourly.len(), 24);
    assert_eq!(h.hourly[23], (3, 0), "the current hour");
    assert_eq!(h.hourly[21], (0, 1));
    assert_eq!(h.hourly[18], (1, 0));
    assert_eq!(h.hourly[0], (1, 0), "hour 7, the first shown");
    assert_eq!(h.hourly.iter().map(|(d, f)| d + f).sum::<u64>(), 6);
    // A day later nothing is recent.
    assert!(store.webhook_health(&platform, at(60 * HOUR)).await.unwrap().is_empty());
}

/// Event search filters by type, time and delivery status, newest first, with a cursor; other platforms'
/// events never show.
pub async fn event_search_filters_by_type_time_and_status(store: &dyn Store) {
    let platform = new_platform(store).await;
    add_webhook(store, &platform, &["*"]).await;
    let other = new_platform(store).await;
    add_webhook(store, &other, &["*"]).await;
    let e1 = publish(store, &platform, "user.created", at(1_000)).await;
    let e2 = publish(store, &platform, "order.confirmed", at(2_000)).await;
    let e3 = publish(store, &platform, "user.created", at(3_000)).await;
    publish(store, &other, "user.created", at(2_500)).await;
    let failed = e1.jobs[0].delivery_id.clone();
    store
        .record_attempts(vec![record(failed_attempt(&failed, 1, at(4_000)), NextStep::Failed)], context(at(4_000)))
        .await
        .unwrap();

    let ids = |events: Vec<hookline_core::event::Event>| events.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let page = Page { limit: 10, after: None };
    let platform = &platform;
    let search = |query: EventQuery| async move { ids(store.search_events(platform, query).await.unwrap()) };
    let all = search(EventQuery { page: page.clone(), ..Default::default() }).await;
    assert_eq!(all, vec![e3.event.id.clone(), e2.event.id.clone(), e1.event.id.clone()]);
    let users =
        search(EventQuery { event_type: Some("user.created".into()), page: page.clone(), ..Default::default() });
    assert_eq!(users.await, vec![e3.event.id.clone(), e1.event.id.clone()]);
    let window =
        search(EventQuery { since: Some(at(2_000)), until: Some(at(3_000)), page: page.clone(), ..Default::default() });
    assert_eq!(window.await, vec![e2.event.id.clone()], "since is inclusive, until exclusive");
    let failing = search(EventQuery { status: Some(DeliveryStatus::Failed), page: page.clone(), ..Default::default() });
    assert_eq!(failing.await, vec![e1.event.id.clone()]);
    let after =
        search(EventQuery { page: Page { limit: 1, after: Some(e3.event.id.to_string()) }, ..Default::default() });
    assert_eq!(after.await, vec![e2.event.id.clone()]);
}

/// The recovery preview counts what `recover_webhook` then sends, and another platform's webhook is not found.
pub async fn recovery_preview_counts_what_recovery_sends(store: &dyn Store) {
    let platform = new_platform(store).await;
    let hook = add_webhook(store, &platform, &["*"]).await;
    for created in [1_000, 2_000, 3_000] {
        let published = publish(store, &platform, "user.created", at(created)).await;
        let delivery = published.jobs[0].delivery_id.clone();
        let attempt = failed_attempt(&delivery, 1, at(created + 10));
        store.record_attempts(vec![record(attempt, NextStep::Failed)], context(at(created + 20))).await.unwrap();
    }
    let preview = store.count_recoverable(&platform, &hook.id, at(2_000)).await.unwrap();
    assert_eq!(preview, 2);
    let recovered = store.recover_webhook(&platform, &hook.id, at(2_000), at(10_000)).await.unwrap();
    assert_eq!(recovered, preview);
    assert_eq!(store.count_recoverable(&platform, &hook.id, at(0)).await.unwrap(), 1);

    let other = new_platform(store).await;
    assert!(matches!(store.count_recoverable(&other, &hook.id, at(0)).await, Err(StoreError::NotFound)));
    // Disabled webhooks still preview (recovery itself then says why it cannot run).
    store
        .update_webhook(&platform, &hook.id, WebhookPatch { enabled: Some(false), ..Default::default() }, at(11_000))
        .await
        .unwrap();
    assert_eq!(store.count_recoverable(&platform, &hook.id, at(0)).await.unwrap(), 1);
}

/// A webhook's deliveries filter by status and creation time, newest first, keyset-paged.
pub async fn delivery_search_filters_by_status_and_time(store: &dyn Store) {
    let platform = new_platform(store).await;
    let hook = add_webhook(store, &platform, &["*"]).await;
    let mut ids = Vec::new();
    for created in [1_000, 2_000, 3_000] {
        ids.push(publish(store, &platform, "user.created", at(created)).await.jobs[0].delivery_id.clone());
    }
    store
        .record_attempts(vec![record(ok_attempt(&ids[1], 1, at(4_000)), NextStep::Delivered)], context(at(4_000)))
        .await
        .unwrap();
    let found = |query: DeliveryQuery| async {
        store
            .search_deliveries(&platform, &hook.id, query)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.delivery.id)
            .collect::<Vec<_>>()
    };
    let page = Page { limit: 10, after: None };
    assert_eq!(
        found(DeliveryQuery { page: page.clone(), ..Default::default() }).await,
        vec![ids[2].clone(), ids[1].clone(), ids[0].clone()]
    );
    let window =
        DeliveryQuery { since: Some(at(2_000)), until: Some(at(3_000)), page: page.clone(), ..Default::default() };
    assert_eq!(found(window).await, vec![ids[1].clone()]);
    let pending = DeliveryQuery { status: Some(DeliveryStatus::Pending), page: page.clone(), ..Default::default() };
    assert_eq!(found(pending).await, vec![ids[2].clone(), ids[0].clone()]);
    let after = DeliveryQuery { page: Page { limit: 1, after: Some(ids[2].to_string()) }, ..Default::default() };
    assert_eq!(found(after).await, vec![ids[1].clone()]);
    let other = new_platform(store).await;
    assert!(matches!(
        store.search_deliveries(&other, &hook.id, DeliveryQuery::default()).await,
        Err(StoreError::NotFound)
    ));
}
