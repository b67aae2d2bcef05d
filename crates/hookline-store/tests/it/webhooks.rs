//! Webhooks: create, read, page, patch, delete and secret rotation, each scoped to its platform.

use hookline_core::Timestamp;
use hookline_core::delivery::NextStep;
use hookline_core::event::NewEvent;
use hookline_core::ids::{PlatformId, WebhookId};
use hookline_core::secret::Secret;
use hookline_core::webhook::{SigningSecrets, UrlPolicy, Webhook, WebhookUrl};
use hookline_store::{Page, Store, StoreError, Target, WebhookPatch};

use crate::support::{
    LEASE_MS, add_webhook, at, claim, context, event, failed_attempt, filter, new_platform, publish, record, webhook,
};

fn page(limit: usize, after: Option<&WebhookId>) -> Page {
    Page { limit, after: after.map(|id| id.to_string()) }
}

/// Applies `patch` and checks that what the call returned is also what is now stored.
async fn patch(
    store: &dyn Store,
    platform: &PlatformId,
    id: &WebhookId,
    patch: WebhookPatch,
    now: Timestamp,
) -> Webhook {
    let returned = store.update_webhook(platform, id, patch, now).await.unwrap();
    assert_eq!(store.get_webhook(platform, id).await.unwrap(), returned);
    returned
}

/// Every field of a webhook, including a previous secret and a disabled state, reads back exactly as stored.
pub async fn webhook_round_trips_through_create_and_get(store: &dyn Store) {
    let platform = new_platform(store).await;
    let stored = Webhook {
        events: filter(&["user.created", "order.confirmed"]),
        description: "orders to the warehouse".into(),
        secrets: SigningSecrets { current: Secret::generate(), previous: Some((Secret::generate(), at(5_000))) },
        enabled: false,
        disabled_reason: Some("failing for 5 days".into()),
        created_at: at(1),
        updated_at: at(2),
        ..webhook(&platform, &["*"])
    };
    store.create_webhook(stored.clone()).await.unwrap();

    assert_eq!(store.get_webhook(&platform, &stored.id).await.unwrap(), stored);
    assert_eq!(store.list_webhooks(&platform, page(10, None)).await.unwrap(), vec![stored]);
}

/// Webhooks are listed by id ascending (whatever order they were created in), at most `limit` at a time, and
/// a page starts strictly after its cursor.
pub async fn webhooks_page_by_id_with_an_exclusive_cursor(store: &dyn Store) {
    let (platform, other) = (new_platform(store).await, new_platform(store).await);
    // Generated ids sort by creation time, so building them first and storing them in reverse proves that the
    // order comes from the ids and not from insertion.
    let hooks: Vec<Webhook> = (0..5).map(|_| webhook(&platform, &["*"])).collect();
    for hook in hooks.iter().rev() {
        store.create_webhook(hook.clone()).await.unwrap();
    }
    add_webhook(store, &other, &["*"]).await;

    let list = async |limit, after| store.list_webhooks(&platform, page(limit, after)).await.unwrap();
    assert_eq!(list(10, None).await, hooks);
    assert_eq!(list(2, None).await, hooks[0..2]);
    assert_eq!(list(2, Some(&hooks[1].id)).await, hooks[2..4]);
    assert_eq!(list(2, Some(&hooks[3].id)).await, hooks[4..5]);
    assert_eq!(list(2, Some(&hooks[4].id)).await, vec![]);
}

/// Each patch field changes that field alone (and `updated_at`); an empty patch changes only `updated_at`.
pub async fn patch_changes_only_the_fields_it_names(store: &dyn Store) {
    let platform = new_platform(store).await;
    let mut expected = add_webhook(store, &platform, &["*"]).await;
    let id = expected.id.clone();

    let new_url = WebhookUrl::parse("https://example.org/moved", UrlPolicy::default()).unwrap();
    expected.url = new_url.clone();
    expected.updated_at = at(10);
    let url_patch = WebhookPatch { url: Some(new_url), ..Default::default() };
    assert_eq!(patch(store, &platform, &id, url_patch, at(10)).await, expected);

    expected.events = filter(&["order.confirmed", "user.created"]);
    expected.updated_at = at(20);
    let events_patch = WebhookPatch { events: Some(expected.events.clone()), ..Default::default() };
    assert_eq!(patch(store, &platform, &id, events_patch, at(20)).await, expected);

    expected.description = "billing".into();
    expected.updated_at = at(30);
    let description_patch = WebhookPatch { description: Some("billing".into()), ..Default::default() };
    assert_eq!(patch(store, &platform, &id, description_patch, at(30)).await, expected);

    expected.updated_at = at(40);
    assert_eq!(patch(store, &platform, &id, WebhookPatch::default(), at(40)).await, expected);
}

/// Disabling by hand records "disabled by the platform"; enabling clears any reason, including one recorded
/// when hookline disabled the webhook itself.
pub async fn disabling_records_the_reason_and_enabling_clears_it(store: &dyn Store) {
    let platform = new_platform(store).await;
    let hook = add_webhook(store, &platform, &["*"]).await;
    let set_enabled = |enabled| WebhookPatch { enabled: Some(enabled), ..Default::default() };

    let disabled = patch(store, &platform, &hook.id, set_enabled(false), at(10)).await;
    assert!(!disabled.enabled);
    assert_eq!(disabled.disabled_reason.as_deref(), Some("disabled by the platform"));

    let enabled = patch(store, &platform, &hook.id, set_enabled(true), at(20)).await;
    assert!(enabled.enabled);
    assert_eq!(enabled.disabled_reason, None);
    assert_eq!(enabled, Webhook { updated_at: at(20), ..hook });

    let auto_disabled =
        Webhook { enabled: false, disabled_reason: Some("failing for 5 days".into()), ..webhook(&platform, &["*"]) };
    store.create_webhook(auto_disabled.clone()).await.unwrap();
    let enabled = patch(store, &platform, &auto_disabled.id, set_enabled(true), at(30)).await;
    assert!(enabled.enabled);
    assert_eq!(enabled.disabled_reason, None);
}

/// A filter naming a type outside the catalog is refused on create and on update, and a refused update
/// changes nothing, not even the fields beside the filter.
pub async fn unknown_event_types_are_refused(store: &dyn Store) {
    let platform = new_platform(store).await;
    let refused = webhook(&platform, &["user.created", "invoice.paid"]);
    assert_matches!(
        store.create_webhook(refused.clone()).await,
        Err(StoreError::UnknownEventType(name)) if name == "invoice.paid"
    );
    assert_matches!(store.get_webhook(&platform, &refused.id).await, Err(StoreError::NotFound));

    let hook = add_webhook(store, &platform, &["*"]).await;
    let bad_patch = WebhookPatch {
        events: Some(filter(&["nope.never"])),
        description: Some("should not stick".into()),
        ..Default::default()
    };
    assert_matches!(
        store.update_webhook(&platform, &hook.id, bad_patch, at(10)).await,
        Err(StoreError::UnknownEventType(name)) if name == "nope.never"
    );
    assert_eq!(store.get_webhook(&platform, &hook.id).await.unwrap(), hook);
    assert_eq!(store.list_webhooks(&platform, page(10, None)).await.unwrap(), vec![hook]);
}

/// Deleting a webhook removes it with its deliveries: they can no longer be read, listed or claimed, and the
/// event's other deliveries are untouched.
pub async fn deleting_a_webhook_deletes_its_deliveries(store: &dyn Store) {
    let platform = new_platform(store).await;
    let (doomed, kept) = (add_webhook(store, &platform, &["*"]).await, add_webhook(store, &platform, &["*"]).await);
    let published = publish(store, &platform, "user.created", at(0)).await;
    let job_for =
        |hook: &Webhook| published.jobs.iter().find(|job| job.webhook_id == hook.id).unwrap().delivery_id.clone();
    let (doomed_delivery, kept_delivery) = (job_for(&doomed), job_for(&kept));
    // Give the doomed delivery an attempt and a due time, so there is more than one row to delete.
    let attempt = failed_attempt(&doomed_delivery, 1, at(1));
    store.record_attempts(vec![record(attempt, NextStep::RetryAt(at(100)))], context(at(2))).await.unwrap();

    store.delete_webhook(&platform, &doomed.id).await.unwrap();

    assert_matches!(store.get_webhook(&platform, &doomed.id).await, Err(StoreError::NotFound));
    assert_matches!(store.delete_webhook(&platform, &doomed.id).await, Err(StoreError::NotFound));
    assert_matches!(store.get_delivery(&platform, &doomed_delivery).await, Err(StoreError::NotFound));
    assert_matches!(
        store.list_deliveries(&platform, &doomed.id, None, page(10, None)).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.list_webhooks(&platform, page(10, None)).await.unwrap(), vec![kept]);
    let (_, deliveries) = store.get_event(&platform, &published.event.id).await.unwrap();
    let ids: Vec<_> = deliveries.iter().map(|summary| summary.delivery.id.clone()).collect();
    assert_eq!(ids, vec![kept_delivery.clone()]);
    let claimed = claim(store, at(LEASE_MS + 1), at(2 * LEASE_MS), 10).await.unwrap();
    let claimed: Vec<_> = claimed.iter().map(|job| job.delivery_id.clone()).collect();
    assert_eq!(claimed, vec![kept_delivery]);
    // Republishing reports how many deliveries the event has, which counts rows that every read above hides
    // behind a join with its webhook: this is what shows the deleted webhook's deliveries are really gone.
    let again = NewEvent { id: published.event.id.clone(), ..event("user.created") };
    let republished =
        store.publish_event(&platform, again, Target::Matching, at(10), Some(at(10 + LEASE_MS))).await.unwrap();
    assert_eq!(republished.delivery_count, 1);
}

/// Another platform's webhook does not exist for the caller: every call that names it is `NotFound`, and
/// none of them changes it.
pub async fn another_platforms_webhook_is_not_found(store: &dyn Store) {
    let (owner, stranger) = (new_platform(store).await, new_platform(store).await);
    let hook = add_webhook(store, &owner, &["*"]).await;
    let id = &hook.id;
    let disable = WebhookPatch { enabled: Some(false), ..Default::default() };

    assert_matches!(store.get_webhook(&stranger, id).await, Err(StoreError::NotFound));
    assert_matches!(store.update_webhook(&stranger, id, disable, at(1)).await, Err(StoreError::NotFound));
    assert_matches!(
        store.rotate_secret(&stranger, id, Secret::generate(), at(100), at(1)).await,
        Err(StoreError::NotFound)
    );
    assert_matches!(store.list_deliveries(&stranger, id, None, page(10, None)).await, Err(StoreError::NotFound));
    assert_matches!(store.delete_webhook(&stranger, id).await, Err(StoreError::NotFound));
    assert_eq!(store.list_webhooks(&stranger, page(10, None)).await.unwrap(), vec![]);

    assert_eq!(store.get_webhook(&owner, id).await.unwrap(), hook);
}

/// Rotating makes the new secret current and keeps the old one as previous until `overlap_until`; a second
/// rotation drops the oldest. Deliveries published afterwards carry the rotated secrets.
pub async fn rotation_keeps_the_old_secret_until_the_overlap_ends(store: &dyn Store) {
    let platform = new_platform(store).await;
    let hook = add_webhook(store, &platform, &["*"]).await;
    let original = hook.secrets.current.clone();

    let (second, overlap_until) = (Secret::generate(), at(86_400_000));
    let rotated = store.rotate_secret(&platform, &hook.id, second.clone(), overlap_until, at(10)).await.unwrap();
    let expected = Webhook {
        secrets: SigningSecrets { current: second.clone(), previous: Some((original, overlap_until)) },
        updated_at: at(10),
        ..hook.clone()
    };
    assert_eq!(rotated, expected);
    assert_eq!(store.get_webhook(&platform, &hook.id).await.unwrap(), expected);

    let published = publish(store, &platform, "user.created", at(20)).await;
    assert_eq!(crate::support::only_job(&published).secrets, expected.secrets);

    let third = Secret::generate();
    let rotated = store.rotate_secret(&platform, &hook.id, third.clone(), at(90_000_000), at(30)).await.unwrap();
    assert_eq!(rotated.secrets, SigningSecrets { current: third, previous: Some((second, at(90_000_000))) });
}
