//! Publishing: storing an event once per id and fanning it out to the webhooks that want it.

use hookline_core::delivery::{DeliveryJob, DeliveryStatus};
use hookline_core::event::{Event, NewEvent};
use hookline_core::webhook::Webhook;
use hookline_store::{Page, Store, StoreError, Target};

use crate::support::{LEASE_MS, add_webhook, at, claim, event, new_platform, only_job, publish, webhook};

fn all_events() -> Page {
    Page { limit: 100, after: None }
}

/// A publisher with no room for more jobs publishes without a lease: the deliveries are stored pending and
/// due now but unleased, no jobs come back, and a poller claims them at once (oldest first).
pub async fn publish_without_a_lease_leaves_deliveries_for_the_poller(store: &dyn Store) {
    let platform = new_platform(store).await;
    let first = add_webhook(store, &platform, &["*"]).await;
    let second = add_webhook(store, &platform, &["*"]).await;

    let new = event("user.created");
    let published = store.publish_event(&platform, new.clone(), Target::Matching, at(100), None).await.unwrap();
    assert!(published.created);
    assert_eq!(published.delivery_count, 2);
    assert!(published.jobs.is_empty(), "no lease, no jobs");

    let (_, deliveries) = store.get_event(&platform, &new.id).await.unwrap();
    assert_eq!(deliveries.len(), 2);
    assert!(deliveries.iter().all(|d| d.delivery.status == DeliveryStatus::Pending));

    let claimed = claim(store, at(100), at(100 + LEASE_MS), 10).await.unwrap();
    let mut webhooks: Vec<_> = claimed.iter().map(|job| job.webhook_id.clone()).collect();
    webhooks.sort();
    assert_eq!(webhooks, vec![first.id.clone(), second.id.clone()], "both are claimable at once");
    for job in &claimed {
        let hook = if job.webhook_id == first.id { &first } else { &second };
        assert_first_job(job, &published.event, hook);
    }
    assert!(claim(store, at(101), at(101 + LEASE_MS), 10).await.unwrap().is_empty(), "now they are leased");
}

/// Checks that `job` is the first attempt of `event` to `hook`.
fn assert_first_job(job: &DeliveryJob, event: &Event, hook: &Webhook) {
    assert_eq!(job.platform_id, event.platform_id);
    assert_eq!(job.webhook_id, hook.id);
    assert_eq!(job.url, hook.url);
    assert_eq!(job.secrets, hook.secrets);
    assert_eq!(job.event_id, event.id);
    assert_eq!(job.event_type, event.event_type);
    assert_eq!(&job.body[..], &event.delivery_body()[..]);
    assert_eq!(job.attempt_number, 1);
}

/// An event goes to each enabled webhook whose filter matches (`*` or its type), and to no other: one
/// pending delivery each, handed back as first-attempt jobs with the webhook's URL and secrets and the event's
/// exact body. A matching disabled webhook keeps a held delivery instead of a job.
pub async fn publish_fans_out_to_matching_enabled_webhooks(store: &dyn Store) {
    let platform = new_platform(store).await;
    let everything = add_webhook(store, &platform, &["*"]).await;
    let matching = add_webhook(store, &platform, &["user.created", "user.updated"]).await;
    add_webhook(store, &platform, &["order.confirmed"]).await;
    let disabled = Webhook { enabled: false, ..webhook(&platform, &["user.created"]) };
    store.create_webhook(disabled.clone()).await.unwrap();

    let new = event("user.created");
    let published =
        store.publish_event(&platform, new.clone(), Target::Matching, at(100), Some(at(100 + LEASE_MS))).await.unwrap();

    let expected_event = Event {
        id: new.id.clone(),
        platform_id: platform.clone(),
        event_type: "user.created".into(),
        data: r#"{"a":1}"#.into(),
        created_at: at(100),
    };
    assert_eq!(published.event, expected_event);
    assert!(published.created);
    assert_eq!(published.delivery_count, 3);
    assert_eq!(published.jobs.len(), 2);
    let mut jobs = published.jobs.clone();
    jobs.sort_by(|a, b| a.webhook_id.cmp(&b.webhook_id));
    // `everything` was created first, so its id sorts first.
    assert_first_job(&jobs[0], &expected_event, &everything);
    assert_first_job(&jobs[1], &expected_event, &matching);

    let (stored, deliveries) = store.get_event(&platform, &new.id).await.unwrap();
    assert_eq!(stored, expected_event);
    assert_eq!(deliveries.len(), 3);
    let (held, sent): (Vec<_>, Vec<_>) =
        deliveries.iter().partition(|summary| summary.delivery.webhook_id == disabled.id);
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].delivery.status, DeliveryStatus::Held);
    assert_eq!(held[0].delivery.next_attempt_at, None);
    assert!(!jobs.iter().any(|job| job.delivery_id == held[0].delivery.id));
    for summary in sent {
        let job = jobs.iter().find(|job| job.delivery_id == summary.delivery.id).unwrap();
        let delivery = &summary.delivery;
        assert_eq!(delivery.event_id, new.id);
        assert_eq!(delivery.event_type, "user.created");
        assert_eq!(delivery.webhook_id, job.webhook_id);
        assert_eq!(delivery.status, DeliveryStatus::Pending);
        assert_eq!(delivery.attempt_count, 0);
        assert_eq!(delivery.next_attempt_at, Some(at(100)));
        assert_eq!(delivery.created_at, at(100));
        assert_eq!(summary.webhook_url, job.url.as_str());
        assert_eq!(summary.last_error, None);
    }
}

/// Publishing an id that exists with the same type and data (here re-serialised with other spacing) returns the
/// stored event untouched (its first bytes and time), creates nothing and hands out no jobs.
pub async fn republishing_an_event_id_is_idempotent(store: &dyn Store) {
    let platform = new_platform(store).await;
    add_webhook(store, &platform, &["*"]).await;
    add_webhook(store, &platform, &["user.created"]).await;
    let first = event("user.created");
    let original = store
        .publish_event(&platform, first.clone(), Target::Matching, at(100), Some(at(100 + LEASE_MS)))
        .await
        .unwrap();

    let again = NewEvent { data: r#"{ "a" : 1 }"#.into(), ..first.clone() };
    let repeated =
        store.publish_event(&platform, again, Target::Matching, at(200), Some(at(200 + LEASE_MS))).await.unwrap();

    assert!(!repeated.created);
    assert_eq!(repeated.event, original.event);
    assert_eq!(repeated.event.created_at, at(100));
    assert_eq!(repeated.event.data, r#"{"a":1}"#);
    assert_eq!(repeated.delivery_count, 2);
    assert!(repeated.jobs.is_empty());
    let (_, deliveries) = store.get_event(&platform, &first.id).await.unwrap();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(store.list_events(&platform, all_events()).await.unwrap(), vec![original.event]);
}

/// The same event id published by two platforms is two events, each with its own deliveries.
pub async fn event_ids_are_scoped_to_their_platform(store: &dyn Store) {
    let (first, second) = (new_platform(store).await, new_platform(store).await);
    let first_hook = add_webhook(store, &first, &["*"]).await;
    let second_hook = add_webhook(store, &second, &["*"]).await;
    let shared = event("user.created");
    let elsewhere = NewEvent { data: r#"{"b":2}"#.into(), ..shared.clone() };

    let one = store.publish_event(&first, shared.clone(), Target::Matching, at(1), Some(at(LEASE_MS))).await.unwrap();
    let two = store.publish_event(&second, elsewhere, Target::Matching, at(2), Some(at(LEASE_MS))).await.unwrap();

    assert!(one.created && two.created);
    assert_eq!(only_job(&one).webhook_id, first_hook.id);
    assert_eq!(only_job(&two).webhook_id, second_hook.id);
    let (event, deliveries) = store.get_event(&second, &shared.id).await.unwrap();
    assert_eq!((event.platform_id, event.data, event.created_at), (second.clone(), r#"{"b":2}"#.into(), at(2)));
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].delivery.webhook_id, second_hook.id);
    let (event, _) = store.get_event(&first, &shared.id).await.unwrap();
    assert_eq!(event.data, r#"{"a":1}"#);
}

/// An event of a type outside the catalog is refused and leaves no trace: no event, no delivery, and its id
/// is still free.
pub async fn unknown_event_type_stores_nothing(store: &dyn Store) {
    let platform = new_platform(store).await;
    add_webhook(store, &platform, &["*"]).await;
    let unknown = event("invoice.paid");

    assert_matches!(
        store.publish_event(&platform, unknown.clone(), Target::Matching, at(1), Some(at(LEASE_MS))).await,
        Err(StoreError::UnknownEventType(name)) if name == "invoice.paid"
    );
    assert_matches!(store.get_event(&platform, &unknown.id).await, Err(StoreError::NotFound));
    assert_eq!(store.list_events(&platform, all_events()).await.unwrap(), vec![]);
    assert!(claim(store, at(LEASE_MS * 10), at(LEASE_MS * 11), 10).await.unwrap().is_empty());

    let valid = NewEvent { event_type: event("user.created").event_type, ..unknown };
    let published = store.publish_event(&platform, valid, Target::Matching, at(2), Some(at(LEASE_MS))).await.unwrap();
    assert!(published.created);
}

/// With `Target::Only`, the event goes to that webhook alone, even when its filter does not match; naming a
/// webhook the platform does not own is `NotFound` and stores nothing.
pub async fn publishing_to_one_webhook_ignores_its_filter(store: &dyn Store) {
    let (platform, stranger) = (new_platform(store).await, new_platform(store).await);
    let everything = add_webhook(store, &platform, &["*"]).await;
    let target = add_webhook(store, &platform, &["order.confirmed"]).await;

    let test_send = event("user.created");
    let published = store
        .publish_event(&platform, test_send.clone(), Target::Only(target.id.clone()), at(1), Some(at(LEASE_MS)))
        .await
        .unwrap();
    assert!(published.created);
    assert_eq!(published.delivery_count, 1);
    assert_first_job(only_job(&published), &published.event, &target);
    let (_, deliveries) = store.get_event(&platform, &test_send.id).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].delivery.webhook_id, target.id);

    let misdirected = event("user.created");
    assert_matches!(
        store
            .publish_event(&stranger, misdirected.clone(), Target::Only(target.id.clone()), at(2), Some(at(LEASE_MS)))
            .await,
        Err(StoreError::NotFound)
    );
    assert_matches!(store.get_event(&stranger, &misdirected.id).await, Err(StoreError::NotFound));
    assert_eq!(store.list_events(&stranger, all_events()).await.unwrap(), vec![]);

    // The filter still applies to a plain publish: the same type reaches only the `*` webhook.
    let published = publish(store, &platform, "user.created", at(3)).await;
    assert_eq!(only_job(&published).webhook_id, everything.id);
}

/// With `Target::AllExcept`, the event goes to every matching webhook but the one named.
pub async fn publishing_to_all_but_one_webhook_skips_it(store: &dyn Store) {
    let platform = new_platform(store).await;
    let first = add_webhook(store, &platform, &["*"]).await;
    let excluded = add_webhook(store, &platform, &["*"]).await;
    let last = add_webhook(store, &platform, &["user.created"]).await;

    let target = Target::AllExcept(excluded.id.clone());
    let published =
        store.publish_event(&platform, event("user.created"), target, at(1), Some(at(LEASE_MS))).await.unwrap();

    assert_eq!(published.delivery_count, 2);
    let mut webhooks: Vec<_> = published.jobs.iter().map(|job| job.webhook_id.clone()).collect();
    webhooks.sort();
    assert_eq!(webhooks, vec![first.id, last.id]);
}

/// Reusing an event id for another event (another type, or other data) is `EventIdReused`, changes nothing and
/// hands out no jobs; the same request repeated afterwards is still the idempotent repeat.
pub async fn reusing_an_event_id_for_another_event_is_refused(store: &dyn Store) {
    let platform = new_platform(store).await;
    add_webhook(store, &platform, &["*"]).await;
    let first = event("user.created");
    let original = store.publish_event(&platform, first.clone(), Target::Matching, at(100), None).await.unwrap();

    let other_data = NewEvent { data: r#"{"a":2}"#.into(), ..first.clone() };
    assert_matches!(
        store.publish_event(&platform, other_data, Target::Matching, at(200), None).await,
        Err(StoreError::EventIdReused(id)) if id == first.id.as_str()
    );
    let other_type = NewEvent { event_type: event("user.updated").event_type, ..first.clone() };
    assert_matches!(
        store.publish_event(&platform, other_type, Target::Matching, at(200), None).await,
        Err(StoreError::EventIdReused(_))
    );

    let repeated = store.publish_event(&platform, first.clone(), Target::Matching, at(300), None).await.unwrap();
    assert!(!repeated.created);
    assert_eq!(repeated.event, original.event);
    let (stored, deliveries) = store.get_event(&platform, &first.id).await.unwrap();
    assert_eq!(stored, original.event, "the refused publishes changed nothing");
    assert_eq!(deliveries.len(), 1);
}
