//! Recording attempts: each finished attempt is stored and moves its delivery on.

use hookline_core::delivery::{Attempt, Delivery, DeliveryStatus, FailureKind, NextStep};
use hookline_core::headers::HeaderListBuilder;
use hookline_core::ids::AttemptId;
use hookline_store::{DeliveryDetail, DeliverySummary, Store, StoreError};

use crate::support::{
    LEASE_MS, add_webhook, at, claim, context, failed_attempt, new_platform, ok_attempt, only_job, publish, record,
};

/// A 2xx attempt marks the delivery delivered with no next attempt, and the attempt reads back with every
/// field as recorded.
pub async fn delivered_attempt_completes_the_delivery(store: &dyn Store) {
    let platform = new_platform(store).await;
    let hook = add_webhook(store, &platform, &["*"]).await;
    let published = publish(store, &platform, "user.created", at(0)).await;
    let job = only_job(&published);
    let attempt = ok_attempt(&job.delivery_id, 1, at(10));

    store.record_attempts(vec![record(attempt.clone(), NextStep::Delivered)], context(at(100))).await.unwrap();

    let expected = DeliveryDetail {
        summary: DeliverySummary {
            delivery: Delivery {
                id: job.delivery_id.clone(),
                event_id: published.event.id.clone(),
                event_type: "user.created".into(),
                webhook_id: hook.id.clone(),
                status: DeliveryStatus::Delivered,
                attempt_count: 1,
                next_attempt_at: None,
                created_at: at(0),
                updated_at: at(100),
            },
            webhook_url: hook.url.as_str().into(),
            last_error: None,
        },
        attempts: vec![attempt],
    };
    assert_eq!(store.get_delivery(&platform, &job.delivery_id).await.unwrap(), expected);
    assert!(claim(store, at(10 * LEASE_MS), at(11 * LEASE_MS), 10).await.unwrap().is_empty());
}

/// A failed attempt with a retry time leaves the delivery pending and due at that time: not claimable a
/// millisecond before, claimable then, as attempt 2, even though that is before the publish lease would have
/// ended (recording releases the lease). Its last error is the latest failure's message, or its
/// HTTP status when it has no message.
pub async fn retry_at_reschedules_the_delivery(store: &dyn Store) {
    let platform = new_platform(store).await;
    add_webhook(store, &platform, &["*"]).await;
    let published = publish(store, &platform, "user.created", at(0)).await;
    let delivery = only_job(&published).delivery_id.clone();
    let first = failed_attempt(&delivery, 1, at(10));

    store.record_attempts(vec![record(first.clone(), NextStep::RetryAt(at(10_000)))], context(at(20))).await.unwrap();

    let detail = store.get_delivery(&platform, &delivery).await.unwrap();
    assert_eq!(detail.summary.delivery.status, DeliveryStatus::Pending);
    assert_eq!(detail.summary.delivery.attempt_count, 1);
    assert_eq!(detail.summary.delivery.next_attempt_at, Some(at(10_000)));
    assert_eq!(detail.summary.delivery.updated_at, at(20));
    assert_eq!(detail.summary.last_error.as_deref(), Some("receiver answered 500"));
    assert_eq!(detail.attempts, vec![first.clone()]);

    assert!(claim(store, at(9_999), at(90_000), 10).await.unwrap().is_empty());
    let claimed = claim(store, at(10_000), at(90_000), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].delivery_id, delivery);
    assert_eq!(claimed[0].attempt_number, 2);

    let second = Attempt { status: Some(503), error_message: None, ..failed_attempt(&delivery, 2, at(10_010)) };
    store
        .record_attempts(vec![record(second.clone(), NextStep::RetryAt(at(120_000)))], context(at(10_020)))
        .await
        .unwrap();
    let detail = store.get_delivery(&platform, &delivery).await.unwrap();
    assert_eq!(detail.summary.delivery.attempt_count, 2);
    assert_eq!(detail.summary.delivery.next_attempt_at, Some(at(120_000)));
    assert_eq!(detail.summary.last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(detail.attempts, vec![first, second]);
}

/// An attempt after which retries are exhausted fails the delivery for good: no next attempt, never claimed.
pub async fn failed_attempt_fails_the_delivery(store: &dyn Store) {
    let platform = new_platform(store).await;
    add_webhook(store, &platform, &["*"]).await;
    let published = publish(store, &platform, "user.created", at(0)).await;
    let delivery = only_job(&published).delivery_id.clone();
    // A timeout has no HTTP status and no response, so this also checks that empty fields read back empty.
    let timeout = Attempt {
        id: AttemptId::generate(),
        delivery_id: delivery.clone(),
        attempt_number: 1,
        started_at: at(10),
        duration_ms: 5_000,
        status: None,
        error_kind: Some(FailureKind::Timeout),
        error_message: Some("no answer within 5s".into()),
        response_excerpt: String::new(),
        request_headers: None,
        response_headers: None,
    };

    store.record_attempts(vec![record(timeout.clone(), NextStep::Failed)], context(at(5_010))).await.unwrap();

    let detail = store.get_delivery(&platform, &delivery).await.unwrap();
    assert_eq!(detail.summary.delivery.status, DeliveryStatus::Failed);
    assert_eq!(detail.summary.delivery.attempt_count, 1);
    assert_eq!(detail.summary.delivery.next_attempt_at, None);
    assert_eq!(detail.summary.last_error.as_deref(), Some("no answer within 5s"));
    assert_eq!(detail.attempts, vec![timeout]);
    assert!(claim(store, at(10 * LEASE_MS), at(11 * LEASE_MS), 10).await.unwrap().is_empty());
}

/// An attempt that finishes after its webhook was deleted is dropped without failing the batch it came in,
/// so the other attempts of that batch are still recorded.
pub async fn attempts_for_deleted_deliveries_are_dropped(store: &dyn Store) {
    let platform = new_platform(store).await;
    let doomed = add_webhook(store, &platform, &["*"]).await;
    add_webhook(store, &platform, &["*"]).await;
    let published = publish(store, &platform, "user.created", at(0)).await;
    let (orphan, survivor) = match &published.jobs[..] {
        [a, b] if a.webhook_id == doomed.id => (a.delivery_id.clone(), b.delivery_id.clone()),
        [a, b] => (b.delivery_id.clone(), a.delivery_id.clone()),
        jobs => panic!("expected two jobs, got {jobs:?}"),
    };
    store.delete_webhook(&platform, &doomed.id).await.unwrap();

    let survivor_attempt = ok_attempt(&survivor, 1, at(10));
    let records = vec![
        record(ok_attempt(&orphan, 1, at(10)), NextStep::Delivered),
        record(survivor_attempt.clone(), NextStep::Delivered),
    ];
    store.record_attempts(records, context(at(20))).await.unwrap();

    assert_matches!(store.get_delivery(&platform, &orphan).await, Err(StoreError::NotFound));
    let detail = store.get_delivery(&platform, &survivor).await.unwrap();
    assert_eq!(detail.summary.delivery.status, DeliveryStatus::Delivered);
    assert_eq!(detail.attempts, vec![survivor_attempt]);
}

/// A success clears the webhook's failure tracking, also when the failure that set it is earlier in the same
/// batch of results (recording caches each webhook's state for the batch), and a later failure starts a new
/// failing period.
pub async fn a_success_clears_failure_state_set_earlier_in_its_batch(store: &dyn Store) {
    let platform = new_platform(store).await;
    let hook = add_webhook(store, &platform, &["*"]).await;
    let mut deliveries = Vec::new();
    for n in 0..4 {
        deliveries.push(only_job(&publish(store, &platform, "user.created", at(n)).await).delivery_id.clone());
    }
    let batch = vec![
        record(ok_attempt(&deliveries[0], 1, at(10)), NextStep::Delivered),
        record(failed_attempt(&deliveries[1], 1, at(11)), NextStep::RetryAt(at(10_000))),
        record(ok_attempt(&deliveries[2], 1, at(12)), NextStep::Delivered),
    ];
    store.record_attempts(batch, context(at(20))).await.unwrap();
    assert_eq!(store.get_webhook(&platform, &hook.id).await.unwrap().failing_since, None);

    let batch = vec![
        record(ok_attempt(&deliveries[1], 2, at(30)), NextStep::Delivered),
        record(failed_attempt(&deliveries[3], 1, at(31)), NextStep::RetryAt(at(10_000))),
    ];
    store.record_attempts(batch, context(at(40))).await.unwrap();
    assert_eq!(store.get_webhook(&platform, &hook.id).await.unwrap().failing_since, Some(at(31)));
    for (delivery, status) in deliveries.iter().zip([
        DeliveryStatus::Delivered,
        DeliveryStatus::Delivered,
        DeliveryStatus::Delivered,
        DeliveryStatus::Pending,
    ]) {
        assert_eq!(store.get_delivery(&platform, delivery).await.unwrap().summary.delivery.status, status);
    }
}

/// An attempt's request and response headers are stored as given and read back, with the count of response
/// headers left out; an attempt without them reads back without them.
pub async fn attempt_headers_are_stored_and_read_back(store: &dyn Store) {
    let platform = new_platform(store).await;
    add_webhook(store, &platform, &["*"]).await;
    let published = publish(store, &platform, "user.created", at(0)).await;
    let delivery = only_job(&published).delivery_id.clone();

    let mut sent = HeaderListBuilder::request();
    sent.push("content-type", b"application/json");
    sent.push("webhook-signature", b"v1,abc= v1,def=");
    sent.push("x-quote", b"say \"hi\" \\ \t done");
    let mut received = HeaderListBuilder::response();
    received.push("x-request-id", b"r-1");
    received.push("x-request-id", b"r-2");
    received.push("x-huge", &vec![b'h'; 9_000]);
    let first = Attempt {
        request_headers: Some(sent.finish()),
        response_headers: Some(received.finish()),
        ..failed_attempt(&delivery, 1, at(10))
    };
    let second = Attempt { request_headers: None, response_headers: None, ..ok_attempt(&delivery, 2, at(20)) };
    store.record_attempts(vec![record(first.clone(), NextStep::RetryAt(at(15)))], context(at(12))).await.unwrap();
    store.record_attempts(vec![record(second.clone(), NextStep::Delivered)], context(at(25))).await.unwrap();

    let detail = store.get_delivery(&platform, &delivery).await.unwrap();
    assert_eq!(detail.attempts, vec![first.clone(), second]);
    let response = detail.attempts[0].response_headers.as_ref().unwrap();
    assert_eq!(
        response.entries(),
        vec![("x-request-id".to_owned(), "r-1".to_owned()), ("x-request-id".to_owned(), "r-2".to_owned())]
    );
    assert_eq!(response.omitted(), 1, "the header beyond 8 KiB is counted, not kept");
    assert_eq!(detail.attempts[0].request_headers.as_ref().unwrap().entries()[2].1, "say \"hi\" \\ \t done");
}
