//! Claiming due deliveries under leases, so the poller never takes work the dispatcher holds.

use hookline_core::delivery::DeliveryJob;
use hookline_core::delivery::DeliveryStatus;
use hookline_core::ids::EventId;
use hookline_core::ids::WebhookId;
use hookline_store::{ClaimRequest, Store, WebhookPatch};

use crate::support::{LEASE_MS, add_webhook, at, claim, delivery_ids, new_platform, publish};

/// Jobs handed out by publish are leased until `lease_until`: claiming finds nothing before then, finds them
/// after, and leases them again, so a second claim at the same time finds nothing until that lease ends too.
pub async fn published_jobs_are_leased_until_lease_until(store: &dyn Store) {
    let platform = new_platform(store).await;
    add_webhook(store, &platform, &["*"]).await;
    add_webhook(store, &platform, &["*"]).await;
    let published = publish(store, &platform, "user.created", at(0)).await;
    let expected = delivery_ids(&published.jobs);
    assert_eq!(expected.len(), 2);

    assert!(claim(store, at(0), at(LEASE_MS), 10).await.unwrap().is_empty());
    assert!(claim(store, at(LEASE_MS - 1), at(LEASE_MS), 10).await.unwrap().is_empty());

    let (after_lease, second_lease) = (at(LEASE_MS + 1), at(2 * LEASE_MS + 1));
    let claimed = claim(store, after_lease, second_lease, 10).await.unwrap();
    assert_eq!(delivery_ids(&claimed), expected);
    for job in &claimed {
        assert_eq!(job.attempt_number, 1);
        assert_eq!(&job.body[..], &published.event.delivery_body()[..]);
    }

    assert!(claim(store, after_lease, second_lease, 10).await.unwrap().is_empty());
    let reclaimed = claim(store, at(2 * LEASE_MS + 2), at(3 * LEASE_MS), 10).await.unwrap();
    assert_eq!(delivery_ids(&reclaimed), expected);
}

/// Releasing a lease makes that delivery claimable at once, and only that one.
pub async fn released_jobs_are_claimable_at_once(store: &dyn Store) {
    let platform = new_platform(store).await;
    add_webhook(store, &platform, &["*"]).await;
    add_webhook(store, &platform, &["*"]).await;
    let published = publish(store, &platform, "user.created", at(0)).await;
    let released = published.jobs[0].delivery_id.clone();

    store.release(vec![released.clone()]).await.unwrap();

    let claimed = claim(store, at(0), at(LEASE_MS), 10).await.unwrap();
    assert_eq!(delivery_ids(&claimed), vec![released]);
}

/// A claim takes at most `limit` deliveries, only those already due, earliest due first, and returns them in
/// that order.
pub async fn claim_takes_the_earliest_due_first_up_to_the_limit(store: &dyn Store) {
    let platform = new_platform(store).await;
    add_webhook(store, &platform, &["*"]).await;
    // Publishing later ids at earlier times makes due order differ from id and insertion order.
    let mut events: Vec<EventId> = Vec::new();
    for due in [3_000, 1_000, 2_000] {
        let published = publish(store, &platform, "user.created", at(due)).await;
        store.release(delivery_ids(&published.jobs)).await.unwrap();
        events.push(published.event.id);
    }
    let (due_at_3s, due_at_1s, due_at_2s) = (&events[0], &events[1], &events[2]);
    let claimed_events = async |now, lease_until, limit| -> Vec<EventId> {
        let jobs = claim(store, now, lease_until, limit).await.unwrap();
        jobs.into_iter().map(|job| job.event_id).collect()
    };

    assert_eq!(claimed_events(at(1_500), at(60_000), 10).await, vec![due_at_1s.clone()]);
    assert_eq!(claimed_events(at(10_000), at(60_000), 1).await, vec![due_at_2s.clone()]);
    assert_eq!(claimed_events(at(10_000), at(60_000), 10).await, vec![due_at_3s.clone()]);

    // Once those leases end at 60s, all three come back in due order.
    let all = claimed_events(at(70_000), at(80_000), 10).await;
    assert_eq!(all, vec![due_at_1s.clone(), due_at_2s.clone(), due_at_3s.clone()]);
}

/// Disabling a webhook holds its pending deliveries, so none is claimed; enabling it makes them pending and
/// due at once.
pub async fn disabling_holds_deliveries_until_enabled(store: &dyn Store) {
    let platform = new_platform(store).await;
    let (paused, active) = (add_webhook(store, &platform, &["*"]).await, add_webhook(store, &platform, &["*"]).await);
    let published = publish(store, &platform, "user.created", at(0)).await;
    store.release(delivery_ids(&published.jobs)).await.unwrap();
    let set_enabled = |enabled| WebhookPatch { enabled: Some(enabled), ..Default::default() };
    store.update_webhook(&platform, &paused.id, set_enabled(false), at(1)).await.unwrap();
    let paused_delivery = published.jobs.iter().find(|job| job.webhook_id == paused.id).unwrap().delivery_id.clone();
    let held = store.get_delivery(&platform, &paused_delivery).await.unwrap().summary.delivery;
    assert_eq!((held.status, held.next_attempt_at), (DeliveryStatus::Held, None));

    let claimed = claim(store, at(2), at(LEASE_MS), 10).await.unwrap();
    let webhooks: Vec<_> = claimed.iter().map(|job| job.webhook_id.clone()).collect();
    assert_eq!(webhooks, vec![active.id]);

    store.update_webhook(&platform, &paused.id, set_enabled(true), at(3)).await.unwrap();
    let released = store.get_delivery(&platform, &paused_delivery).await.unwrap().summary.delivery;
    assert_eq!((released.status, released.next_attempt_at), (DeliveryStatus::Pending, Some(at(3))));
    let claimed = claim(store, at(4), at(LEASE_MS), 10).await.unwrap();
    let webhooks: Vec<_> = claimed.iter().map(|job| job.webhook_id.clone()).collect();
    assert_eq!(webhooks, vec![paused.id]);
}

/// `per_webhook` caps what one webhook contributes to a claim, taking its oldest due first, so one backlog
/// cannot crowd out another; webhooks in `skip` (whose lanes are full) contribute nothing.
pub async fn claim_caps_each_webhook_and_skips_full_lanes(store: &dyn Store) {
    let platform = new_platform(store).await;
    let (first, second) = (add_webhook(store, &platform, &["*"]).await, add_webhook(store, &platform, &["*"]).await);
    let mut events: Vec<EventId> = Vec::new();
    for due in 0..3 {
        let published = publish(store, &platform, "user.created", at(due)).await;
        store.release(delivery_ids(&published.jobs)).await.unwrap();
        events.push(published.event.id);
    }
    // The events each claimed job carries, for one webhook, in the order the claim returned them.
    let events_of = |jobs: &[DeliveryJob], webhook: &WebhookId| -> Vec<EventId> {
        jobs.iter().filter(|job| job.webhook_id == *webhook).map(|job| job.event_id.clone()).collect()
    };
    let request =
        |per_webhook, skip| ClaimRequest { now: at(10), lease_until: at(LEASE_MS), limit: 10, per_webhook, skip };

    let claimed = store.claim_due(request(2, Vec::new())).await.unwrap();
    assert_eq!(claimed.len(), 4);
    assert_eq!(events_of(&claimed, &first.id), events[0..2]);
    assert_eq!(events_of(&claimed, &second.id), events[0..2]);

    let claimed = store.claim_due(request(10, vec![first.id.clone()])).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(events_of(&claimed, &second.id), events[2..3]);

    let claimed = store.claim_due(request(10, Vec::new())).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(events_of(&claimed, &first.id), events[2..3]);
}
