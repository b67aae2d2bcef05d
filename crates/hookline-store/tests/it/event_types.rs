//! The event-type catalog: the built-in types shared by all platforms, plus each platform's own.

use hookline_core::catalog::{BUILT_IN_EVENT_TYPES, OPERATIONAL_EVENT_TYPES};
use hookline_core::platform::EventType;
use hookline_store::{Page, Store, StoreError, Target};

use crate::support::{at, event, new_platform, webhook};

fn custom(name: &str, description: &str) -> EventType {
    EventType { name: name.into(), description: description.into(), built_in: false, operational: false }
}

/// The built-in part of every catalog: Tradly's 14 types, then hookline's operational ones.
fn built_ins() -> Vec<EventType> {
    let built_in = |operational: bool| {
        move |(name, description): &(&str, &str)| EventType {
            name: (*name).into(),
            description: (*description).into(),
            built_in: true,
            operational,
        }
    };
    BUILT_IN_EVENT_TYPES.iter().map(built_in(false)).chain(OPERATIONAL_EVENT_TYPES.iter().map(built_in(true))).collect()
}

/// The catalog is the built-in types in their documented order (Tradly's 14, then the operational ones), then
/// the platform's own sorted by name, whatever order they were created in.
pub async fn catalog_lists_built_ins_then_customs_by_name(store: &dyn Store) {
    let platform = new_platform(store).await;
    assert_eq!(store.list_event_types(&platform).await.unwrap(), built_ins());

    for (name, description) in [
        ("invoice.paid", "An invoice was paid."),
        ("apple.picked", "An apple was picked."),
        ("zebra.seen", "A zebra was seen."),
    ] {
        store.create_event_type(&platform, custom(name, description), at(0)).await.unwrap();
    }

    let mut expected = built_ins();
    expected.extend([
        custom("apple.picked", "An apple was picked."),
        custom("invoice.paid", "An invoice was paid."),
        custom("zebra.seen", "A zebra was seen."),
    ]);
    assert_eq!(store.list_event_types(&platform).await.unwrap(), expected);
}

/// A name that is already in the catalog, as a custom, built-in or operational type, cannot be added again, and the
/// refused call changes nothing.
pub async fn existing_type_names_conflict(store: &dyn Store) {
    let platform = new_platform(store).await;
    let first = custom("invoice.paid", "An invoice was paid.");
    store.create_event_type(&platform, first.clone(), at(0)).await.unwrap();

    assert_matches!(
        store.create_event_type(&platform, custom("invoice.paid", "Again."), at(1)).await,
        Err(StoreError::Conflict(_))
    );
    assert_matches!(
        store.create_event_type(&platform, custom("user.created", "Shadowing."), at(1)).await,
        Err(StoreError::Conflict(_))
    );
    assert_matches!(
        store.create_event_type(&platform, custom("webhook.disabled", "Shadowing."), at(1)).await,
        Err(StoreError::Conflict(_))
    );

    let mut expected = built_ins();
    expected.push(first);
    assert_eq!(store.list_event_types(&platform).await.unwrap(), expected);
}

/// A platform's custom type exists for that platform only: another platform neither lists it nor can use it in
/// a webhook filter or an event, and may create its own type of the same name.
pub async fn custom_types_belong_to_one_platform(store: &dyn Store) {
    let (owner, stranger) = (new_platform(store).await, new_platform(store).await);
    store.create_event_type(&owner, custom("invoice.paid", "Owner's."), at(0)).await.unwrap();

    assert_eq!(store.list_event_types(&stranger).await.unwrap(), built_ins());
    let hook = webhook(&stranger, &["invoice.paid"]);
    assert_matches!(
        store.create_webhook(hook.clone()).await,
        Err(StoreError::UnknownEventType(name)) if name == "invoice.paid"
    );
    assert_matches!(store.get_webhook(&stranger, &hook.id).await, Err(StoreError::NotFound));
    assert_matches!(
        store.publish_event(&stranger, event("invoice.paid"), Target::Matching, at(1), Some(at(2))).await,
        Err(StoreError::UnknownEventType(name)) if name == "invoice.paid"
    );
    let page = Page { limit: 10, after: None };
    assert_eq!(store.list_events(&stranger, page).await.unwrap(), vec![]);

    // The owner can use it, and the stranger can make its own without a conflict.
    store.create_webhook(webhook(&owner, &["invoice.paid"])).await.unwrap();
    store.create_event_type(&stranger, custom("invoice.paid", "Stranger's."), at(3)).await.unwrap();
    let mut expected = built_ins();
    expected.push(custom("invoice.paid", "Stranger's."));
    assert_eq!(store.list_event_types(&stranger).await.unwrap(), expected);
}
