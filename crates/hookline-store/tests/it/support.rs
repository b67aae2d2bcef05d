//! Small builders for the domain values stories store. Times are fixed offsets from one instant, so every
//! expected value in a story is exact.

use hookline_core::Timestamp;
use hookline_core::catalog::EventTypeName;
use hookline_core::delivery::{Attempt, AttemptRecord, DeliveryJob, FailureKind, FailurePolicy, NextStep};
use hookline_core::event::NewEvent;
use hookline_core::headers::{HeaderList, HeaderListBuilder};
use hookline_core::ids::{AttemptId, DeliveryId, EventId, PlatformId, WebhookId};
use hookline_core::platform::Platform;
use hookline_core::secret::{ApiKey, Secret};
use hookline_core::webhook::{EventFilter, SigningSecrets, UrlPolicy, Webhook, WebhookUrl};
use hookline_store::{ClaimRequest, Published, RecordContext, Store, StoreResult, Target};

/// 2025-11-29T00:00:00Z, the instant every story's clock starts at.
const EPOCH_MS: i64 = 1_764_374_400_000;

/// How long a dispatcher holds the deliveries it was handed, as in production.
pub const LEASE_MS: i64 = 30_000;

/// The time `ms` milliseconds into a story.
pub fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(EPOCH_MS + ms)
}

/// Creates a platform with a fresh API key and returns its id.
pub async fn new_platform(store: &dyn Store) -> PlatformId {
    let platform = Platform::new("Tradly", "https://tradly.app", "ops@tradly.app", at(0)).unwrap();
    store.create_platform(platform.clone(), ApiKey::generate().hash()).await.unwrap();
    platform.id
}

/// An event filter from its list form, e.g. `["*"]` or `["user.created"]`.
pub fn filter(events: &[&str]) -> EventFilter {
    let events: Vec<String> = events.iter().map(|e| (*e).to_owned()).collect();
    EventFilter::parse(&events).unwrap()
}

/// A URL unique to `id`, so a job's URL tells which webhook it was built from.
pub fn url_for(id: &WebhookId) -> WebhookUrl {
    WebhookUrl::parse(&format!("https://example.com/hooks/{id}"), UrlPolicy::default()).unwrap()
}

/// An enabled webhook of `platform` receiving `events`, not yet stored.
pub fn webhook(platform: &PlatformId, events: &[&str]) -> Webhook {
    let id = WebhookId::generate();
    Webhook {
        url: url_for(&id),
        id,
        platform_id: platform.clone(),
        events: filter(events),
        description: String::new(),
        secrets: SigningSecrets { current: Secret::generate(), previous: None },
        enabled: true,
        disabled_reason: None,
        concurrency: None,
        failing_since: None,
        rate_limit: None,
        created_at: at(0),
        updated_at: at(0),
        listener: false,
    }
}

/// Stores a webhook built by [`webhook`] and returns it.
pub async fn add_webhook(store: &dyn Store, platform: &PlatformId, events: &[&str]) -> Webhook {
    let webhook = webhook(platform, events);
    store.create_webhook(webhook.clone()).await.unwrap();
    webhook
}

/// A new event of `event_type` with a generated id.
pub fn event(event_type: &str) -> NewEvent {
    NewEvent {
        id: EventId::generate(),
        event_type: EventTypeName::parse("type", event_type).unwrap(),
        data: r#"{"a":1}"#.into(),
    }
}

/// Publishes a new event of `event_type` at `now` to every matching webhook, leased for [`LEASE_MS`].
pub async fn publish(store: &dyn Store, platform: &PlatformId, event_type: &str, now: Timestamp) -> Published {
    store.publish_event(platform, event(event_type), Target::Matching, now, Some(at_plus(now, LEASE_MS))).await.unwrap()
}

/// `time` plus `ms` milliseconds.
pub fn at_plus(time: Timestamp, ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(time.unix_millis() + ms)
}

/// The one job a publish produced, for stories with a single matching webhook.
pub fn only_job(published: &Published) -> &DeliveryJob {
    assert_eq!(published.jobs.len(), 1, "expected exactly one job");
    &published.jobs[0]
}

/// A successful attempt (HTTP 200).
pub fn ok_attempt(delivery: &DeliveryId, number: u32, started_at: Timestamp) -> Attempt {
    Attempt {
        id: AttemptId::generate(),
        delivery_id: delivery.clone(),
        attempt_number: number,
        started_at,
        duration_ms: 42,
        status: Some(200),
        error_kind: None,
        error_message: None,
        response_excerpt: "ok".into(),
        request_headers: Some(headers(&[("content-type", "application/json"), ("x-tradly-attempt", "1")])),
        response_headers: Some(headers(&[("content-type", "text/plain")])),
    }
}

/// A header list of `pairs`, as the sender builds one.
pub fn headers(pairs: &[(&str, &str)]) -> HeaderList {
    let mut list = HeaderListBuilder::request();
    for (name, value) in pairs {
        list.push(name, value.as_bytes());
    }
    list.finish()
}

/// A failed attempt: the receiver answered HTTP 500.
pub fn failed_attempt(delivery: &DeliveryId, number: u32, started_at: Timestamp) -> Attempt {
    Attempt {
        id: AttemptId::generate(),
        delivery_id: delivery.clone(),
        attempt_number: number,
        started_at,
        duration_ms: 7,
        status: Some(500),
        error_kind: Some(FailureKind::Status),
        error_message: Some("receiver answered 500".into()),
        response_excerpt: "internal error".into(),
        request_headers: Some(headers(&[("content-type", "application/json")])),
        response_headers: Some(headers(&[])),
    }
}

/// Claims up to `limit` due deliveries, with no per-webhook cap and no webhook skipped.
pub async fn claim(
    store: &dyn Store,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
) -> StoreResult<Vec<DeliveryJob>> {
    store.claim_due(ClaimRequest { now, lease_until, limit, per_webhook: limit, skip: Vec::new() }).await
}

/// The context for recording attempts at `now` under the default failure policy.
pub fn context(now: Timestamp) -> RecordContext {
    RecordContext { now, lease_until: at_plus(now, LEASE_MS), failure: FailurePolicy::default() }
}

/// Pairs an attempt with what happens next.
pub fn record(attempt: Attempt, next: NextStep) -> AttemptRecord {
    AttemptRecord { attempt, next }
}

/// The delivery ids of `jobs`, sorted, for comparing sets of jobs.
pub fn delivery_ids(jobs: &[DeliveryJob]) -> Vec<DeliveryId> {
    let mut ids: Vec<DeliveryId> = jobs.iter().map(|job| job.delivery_id.clone()).collect();
    ids.sort();
    ids
}
