//! Many callers at once: the store must serve them all without losing or mixing up a write.

use std::collections::BTreeSet;
use std::sync::Arc;

use hookline_core::ids::EventId;
use hookline_store::{Page, Store, Target};

use crate::harness::Backend;
use crate::support::{LEASE_MS, add_webhook, at, event, new_platform};

const PUBLISHERS: usize = 200;

/// 200 publishes running at once all succeed, each creating its own event with one delivery, and all 200
/// events are stored.
pub async fn concurrent_publishes_all_commit(backend: &dyn Backend) {
    let store: Arc<dyn Store> = backend.open().await.unwrap().into();
    let platform = new_platform(&*store).await;
    add_webhook(&*store, &platform, &["*"]).await;

    let tasks: Vec<_> = (0..PUBLISHERS)
        .map(|_| {
            let (store, platform) = (Arc::clone(&store), platform.clone());
            tokio::spawn(async move {
                store.publish_event(&platform, event("user.created"), Target::Matching, at(0), Some(at(LEASE_MS))).await
            })
        })
        .collect();
    let mut published: BTreeSet<EventId> = BTreeSet::new();
    for task in tasks {
        let result = task.await.unwrap().unwrap();
        assert!(result.created);
        assert_eq!(result.delivery_count, 1);
        assert_eq!(result.jobs.len(), 1);
        published.insert(result.event.id);
    }
    assert_eq!(published.len(), PUBLISHERS);

    let page = Page { limit: 1000, after: None };
    let stored: BTreeSet<EventId> =
        store.list_events(&platform, page).await.unwrap().into_iter().map(|event| event.id).collect();
    assert_eq!(stored, published);
}
