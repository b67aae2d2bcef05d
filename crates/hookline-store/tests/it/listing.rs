//! Listing events and deliveries: newest first, one page at a time.

use hookline_core::delivery::{DeliveryStatus, NextStep};
use hookline_core::event::Event;
use hookline_core::ids::DeliveryId;
use hookline_store::{Page, Store};

use crate::support::{add_webhook, at, context, failed_attempt, new_platform, ok_attempt, publish, record};

fn page(limit: usize, after: Option<&str>) -> Page {
    Page { limit, after: after.map(str::to_owned) }
}

/// A webhook's deliveries are listed newest first (by id), optionally of one status, at most `limit` at a
/// time, each page starting strictly after its cursor; another webhook's deliveries never appear.
pub async fn deliveries_list_newest_first_with_status_and_cursor(store: &dyn Store) {
    let platform = new_platform(store).await;
    let hook = add_webhook(store, &platform, &["*"]).await;
    add_webhook(store, &platform, &["*"]).await;
    let mut ours: Vec<DeliveryId> = Vec::new();
    for n in 0..5 {
        let published = publish(store, &platform, "user.created", at(n * 10)).await;
        let job = published.jobs.iter().find(|job| job.webhook_id == hook.id).unwrap();
        ours.push(job.delivery_id.clone());
    }
    let d = |n: usize| ours[n].clone();
    store
        .record_attempts(
            vec![
                record(ok_attempt(&d(1), 1, at(100)), NextStep::Delivered),
                record(failed_attempt(&d(3), 1, at(100)), NextStep::Failed),
            ],
            context(at(110)),
        )
        .await
        .unwrap();
    let list = async |status, limit, after: Option<DeliveryId>| -> Vec<DeliveryId> {
        let page = page(limit, after.as_ref().map(DeliveryId::as_str));
        let summaries = store.list_deliveries(&platform, &hook.id, status, page).await.unwrap();
        summaries.into_iter().map(|summary| summary.delivery.id).collect()
    };

    assert_eq!(list(None, 10, None).await, vec![d(4), d(3), d(2), d(1), d(0)]);
    assert_eq!(list(None, 2, None).await, vec![d(4), d(3)]);
    assert_eq!(list(None, 2, Some(d(3))).await, vec![d(2), d(1)]);
    assert_eq!(list(None, 2, Some(d(1))).await, vec![d(0)]);
    assert_eq!(list(None, 2, Some(d(0))).await, vec![]);

    let pending = Some(DeliveryStatus::Pending);
    assert_eq!(list(pending, 10, None).await, vec![d(4), d(2), d(0)]);
    assert_eq!(list(pending, 1, Some(d(4))).await, vec![d(2)]);
    assert_eq!(list(pending, 10, Some(d(2))).await, vec![d(0)]);
    assert_eq!(list(Some(DeliveryStatus::Delivered), 10, None).await, vec![d(1)]);
    assert_eq!(list(Some(DeliveryStatus::Failed), 10, None).await, vec![d(3)]);

    // A listed summary is the same record `get_delivery` shows.
    let listed =
        store.list_deliveries(&platform, &hook.id, Some(DeliveryStatus::Failed), page(10, None)).await.unwrap();
    assert_eq!(listed, vec![store.get_delivery(&platform, &d(3)).await.unwrap().summary]);
}

/// A platform's events are listed newest first, at most `limit` at a time, each page starting strictly after
/// its cursor; another platform's events never appear.
pub async fn events_list_newest_first_with_cursor(store: &dyn Store) {
    let (platform, other) = (new_platform(store).await, new_platform(store).await);
    let mut ours: Vec<Event> = Vec::new();
    let mut theirs: Vec<Event> = Vec::new();
    for n in 0..5 {
        ours.push(publish(store, &platform, "user.created", at(n * 10)).await.event);
        theirs.push(publish(store, &other, "order.confirmed", at(n * 10 + 5)).await.event);
    }
    ours.reverse();
    theirs.reverse();
    let list = async |limit, after: Option<&Event>| -> Vec<Event> {
        let page = page(limit, after.map(|event| event.id.as_str()));
        store.list_events(&platform, page).await.unwrap()
    };

    assert_eq!(list(10, None).await, ours);
    assert_eq!(list(2, None).await, ours[0..2]);
    assert_eq!(list(2, Some(&ours[1])).await, ours[2..4]);
    assert_eq!(list(2, Some(&ours[3])).await, ours[4..5]);
    assert_eq!(list(2, Some(&ours[4])).await, vec![]);
    assert_eq!(store.list_events(&other, page(10, None)).await.unwrap(), theirs);
}
