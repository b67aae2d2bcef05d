//! Inboxes: create, read, page, update, delete, captures kept to the newest N, live-stream cursors, expiry and
//! pruning, the webhooks that point at an inbox, and tenant scoping.

use hookline_core::ids::{InboxId, RequestId, WebhookId};
use hookline_core::inbox::{CapturedRequest, Inbox, InboxResponse, Verdict, VerdictNote};
use hookline_core::secret::Secret;
use hookline_core::webhook::{SigningSecrets, UrlPolicy, WebhookUrl};
use hookline_store::{Page, Store, StoreError};

use crate::support::{at, new_platform, webhook};

const DAY_MS: i64 = 24 * 3600 * 1000;

pub fn new_inbox(platform: &hookline_core::ids::PlatformId, created: i64) -> Inbox {
    Inbox {
        id: InboxId::generate(),
        platform_id: platform.clone(),
        response: InboxResponse::default(),
        created_at: at(created),
        expires_at: at(created + 7 * DAY_MS),
    }
}

/// A captured request with every field set, including a body that is not UTF-8 and a failed verdict.
pub fn request(inbox: &InboxId, n: u8, received: i64) -> CapturedRequest {
    CapturedRequest {
        id: RequestId::generate(),
        inbox_id: inbox.clone(),
        seq: 0,
        method: "POST".into(),
        path: format!("/orders/{n}"),
        query: "a=1&b=two".into(),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-Dup".into(), "1".into()),
            ("x-dup".into(), "2".into()),
        ],
        body: vec![0xff, 0xfe, n],
        body_truncated: n.is_multiple_of(2),
        size: 3 + u64::from(n),
        received_at: at(received),
        source_ip: Some("127.0.0.1".into()),
        verdict: Verdict {
            verified: Some(false),
            note: Some(VerdictNote {
                code: "wrong_secret".into(),
                message: "the webhook-signature signature was made with a different secret".into(),
                webhook_id: Some(WebhookId::generate()),
            }),
        },
    }
}

fn page(limit: usize, after: Option<String>) -> Page {
    Page { limit, after }
}

/// An inbox reads back as stored, is listed newest first with an exclusive cursor, and can be reconfigured.
pub async fn inboxes_round_trip_page_and_update(store: &dyn Store) {
    let platform = new_platform(store).await;
    let mut inboxes = Vec::new();
    for n in 0..3 {
        let inbox = new_inbox(&platform, n);
        store.create_inbox(inbox.clone()).await.unwrap();
        inboxes.push(inbox);
    }
    let now = at(10);
    assert_eq!(store.get_inbox(&platform, &inboxes[1].id, now).await.unwrap(), inboxes[1]);
    assert_eq!(store.find_inbox(&inboxes[1].id, now).await.unwrap(), Some(inboxes[1].clone()));
    let first = store.list_inboxes(&platform, page(2, None), now).await.unwrap();
    assert_eq!(first, vec![inboxes[2].clone(), inboxes[1].clone()]);
    let rest = store.list_inboxes(&platform, page(2, Some(first[1].id.to_string())), now).await.unwrap();
    assert_eq!(rest, vec![inboxes[0].clone()]);

    let response = InboxResponse::new(Some(418), Some("teapot".into()), Some("text/x-tea".into()), Some(1500)).unwrap();
    let updated = store.update_inbox(&platform, &inboxes[0].id, response.clone(), now).await.unwrap();
    assert_eq!(updated.response, response);
    assert_eq!(store.get_inbox(&platform, &inboxes[0].id, now).await.unwrap(), updated);
}

/// Captures are numbered in order, read back field for field (non-UTF-8 body, repeated headers, verdict), list
/// newest first with a request-id cursor, and only the newest `keep` are kept.
pub async fn captures_keep_the_newest_and_page_newest_first(store: &dyn Store) {
    let platform = new_platform(store).await;
    let inbox = new_inbox(&platform, 0);
    store.create_inbox(inbox.clone()).await.unwrap();
    let mut captured = Vec::new();
    for n in 1..=7u8 {
        let mut request = request(&inbox.id, n, i64::from(n));
        request.seq = store.capture_request(request.clone(), 5, at(100)).await.unwrap();
        assert_eq!(request.seq, i64::from(n));
        captured.push(request);
    }
    let listed = store.list_requests(&platform, &inbox.id, page(100, None), at(100)).await.unwrap();
    let newest_five: Vec<CapturedRequest> = captured[2..].iter().rev().cloned().collect();
    assert_eq!(listed, newest_five, "the two oldest were dropped; the rest read back exactly");

    let first = store.list_requests(&platform, &inbox.id, page(2, None), at(100)).await.unwrap();
    assert_eq!(first, newest_five[..2]);
    let next =
        store.list_requests(&platform, &inbox.id, page(2, Some(first[1].id.to_string())), at(100)).await.unwrap();
    assert_eq!(next, newest_five[2..4]);
    let newest = &newest_five[0];
    assert_eq!(&store.get_request(&platform, &inbox.id, &newest.id, at(100)).await.unwrap(), newest);
    assert_matches!(store.get_request(&platform, &inbox.id, &captured[0].id, at(100)).await, Err(StoreError::NotFound));
    // A cursor that was trimmed away had only older requests behind it, and they are gone too.
    let trimmed = store.list_requests(&platform, &inbox.id, page(2, Some(captured[0].id.to_string())), at(100)).await;
    assert_eq!(trimmed.unwrap(), Vec::new());
}

/// A live stream follows an inbox by number: it gets exactly what came after its cursor, oldest first, and the
/// inbox's deletion ends it (`NotFound`).
pub async fn requests_after_a_cursor_feed_a_stream_until_deletion(store: &dyn Store) {
    let platform = new_platform(store).await;
    let inbox = new_inbox(&platform, 0);
    store.create_inbox(inbox.clone()).await.unwrap();
    assert_eq!(store.requests_after(&platform, &inbox.id, 0, 10, at(1)).await.unwrap(), Vec::new());
    let mut ids = Vec::new();
    for n in 1..=4u8 {
        let request = request(&inbox.id, n, i64::from(n));
        ids.push(request.id.clone());
        store.capture_request(request, 500, at(10)).await.unwrap();
    }
    let after = store.requests_after(&platform, &inbox.id, 1, 2, at(10)).await.unwrap();
    assert_eq!(
        after.iter().map(|r| (r.seq, r.id.clone())).collect::<Vec<_>>(),
        vec![(2, ids[1].clone()), (3, ids[2].clone())]
    );
    assert_eq!(store.requests_after(&platform, &inbox.id, 4, 10, at(10)).await.unwrap(), Vec::new());

    store.delete_inbox(&platform, &inbox.id).await.unwrap();
    assert_matches!(store.requests_after(&platform, &inbox.id, 0, 10, at(10)).await, Err(StoreError::NotFound));
    assert_matches!(store.list_requests(&platform, &inbox.id, page(10, None), at(10)).await, Err(StoreError::NotFound));
    assert_matches!(store.delete_inbox(&platform, &inbox.id).await, Err(StoreError::NotFound));
    assert_matches!(store.capture_request(request(&inbox.id, 9, 11), 500, at(11)).await, Err(StoreError::NotFound));
}

/// An expired inbox is gone everywhere at once (read, list, capture), before the pruner runs; pruning deletes
/// exactly the expired inboxes with their requests.
pub async fn expired_inboxes_vanish_and_are_pruned(store: &dyn Store) {
    let platform = new_platform(store).await;
    let mut short = new_inbox(&platform, 0);
    short.expires_at = at(1_000);
    let long = new_inbox(&platform, 1);
    store.create_inbox(short.clone()).await.unwrap();
    store.create_inbox(long.clone()).await.unwrap();
    store.capture_request(request(&short.id, 1, 500), 500, at(500)).await.unwrap();
    store.capture_request(request(&long.id, 1, 500), 500, at(500)).await.unwrap();

    let expired = at(1_000);
    assert_matches!(store.get_inbox(&platform, &short.id, expired).await, Err(StoreError::NotFound));
    assert_eq!(store.find_inbox(&short.id, expired).await.unwrap(), None);
    assert_eq!(store.list_inboxes(&platform, page(10, None), expired).await.unwrap(), vec![long.clone()]);
    assert_matches!(store.capture_request(request(&short.id, 2, 1_000), 500, expired).await, Err(StoreError::NotFound));

    assert_eq!(store.prune_inboxes(expired).await.unwrap(), 1);
    assert_eq!(store.prune_inboxes(expired).await.unwrap(), 0);
    // The pruned inbox is gone even for a clock that says it is still live; the other keeps its request.
    assert_eq!(store.find_inbox(&short.id, at(0)).await.unwrap(), None);
    assert_eq!(store.list_requests(&platform, &long.id, page(10, None), expired).await.unwrap().len(), 1);
}

/// Another platform's inbox is `NotFound` for every platform-scoped call, and its requests stay invisible.
pub async fn another_platforms_inbox_is_not_found(store: &dyn Store) {
    let owner = new_platform(store).await;
    let other = new_platform(store).await;
    let inbox = new_inbox(&owner, 0);
    store.create_inbox(inbox.clone()).await.unwrap();
    store.capture_request(request(&inbox.id, 1, 1), 500, at(1)).await.unwrap();
    let now = at(2);
    assert_matches!(store.get_inbox(&other, &inbox.id, now).await, Err(StoreError::NotFound));
    assert_matches!(store.list_requests(&other, &inbox.id, page(10, None), now).await, Err(StoreError::NotFound));
    assert_matches!(store.requests_after(&other, &inbox.id, 0, 10, now).await, Err(StoreError::NotFound));
    let captured = store.list_requests(&owner, &inbox.id, page(1, None), now).await.unwrap();
    assert_matches!(store.get_request(&other, &inbox.id, &captured[0].id, now).await, Err(StoreError::NotFound));
    assert_matches!(
        store.update_inbox(&other, &inbox.id, InboxResponse::default(), now).await,
        Err(StoreError::NotFound)
    );
    assert_matches!(store.delete_inbox(&other, &inbox.id).await, Err(StoreError::NotFound));
    assert_eq!(store.list_inboxes(&other, page(10, None), now).await.unwrap(), Vec::new());
    assert_eq!(store.get_inbox(&owner, &inbox.id, now).await.unwrap(), inbox, "the failed calls changed nothing");
}

/// The webhooks pointing at an inbox are the platform's whose URL is the inbox URL or continues it with a path
/// or query; each comes with its current and previous secret.
pub async fn webhooks_pointing_at_an_inbox_are_found_by_url(store: &dyn Store) {
    let platform = new_platform(store).await;
    let other = new_platform(store).await;
    let inbox_url = "http://127.0.0.1:8080/in/inb_01KBEXAMPLE";
    let open = UrlPolicy { allow_http: true, allow_private: true };
    let mut expected = Vec::new();
    for (owner, url, points) in [
        (&platform, inbox_url.to_owned(), true),
        (&platform, format!("{inbox_url}/orders?x=1"), true),
        (&platform, format!("{inbox_url}?x=1"), true),
        (&platform, format!("{inbox_url}X"), false),
        (&platform, "http://127.0.0.1:8080/in/inb_01KBOTHER".to_owned(), false),
        (&other, inbox_url.to_owned(), false),
    ] {
        let mut hook = webhook(owner, &["*"]);
        hook.url = WebhookUrl::parse(&url, open).unwrap();
        hook.secrets = SigningSecrets { current: Secret::generate(), previous: Some((Secret::generate(), at(9))) };
        store.create_webhook(hook.clone()).await.unwrap();
        if points {
            expected.push((hook.id.clone(), hook.secrets.clone()));
        }
    }
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    let found = store.webhooks_pointing_at(&platform, inbox_url).await.unwrap();
    let found: Vec<_> = found.into_iter().map(|w| (w.webhook_id, w.secrets)).collect();
    assert_eq!(found, expected);
    assert_eq!(
        store.webhooks_pointing_at(&platform, "http://127.0.0.1:8080/in/inb_01KBNONE").await.unwrap(),
        Vec::new()
    );
}

/// Captures arriving at once (on PostgreSQL, on separate connections) get distinct, consecutive numbers, and the
/// inbox keeps exactly the newest `keep` of them.
pub async fn concurrent_captures_get_consecutive_numbers(store: &dyn Store) {
    let platform = new_platform(store).await;
    let inbox = new_inbox(&platform, 0);
    store.create_inbox(inbox.clone()).await.unwrap();
    let capture = |n: u8| store.capture_request(request(&inbox.id, n, 1), 6, at(1));
    let (a, b, c, d) = tokio::join!(capture(1), capture(2), capture(3), capture(4));
    let (e, f, g, h) = tokio::join!(capture(5), capture(6), capture(7), capture(8));
    let mut numbers: Vec<i64> = [a, b, c, d, e, f, g, h].into_iter().map(Result::unwrap).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=8).collect::<Vec<i64>>());
    let kept = store.list_requests(&platform, &inbox.id, page(100, None), at(2)).await.unwrap();
    assert_eq!(kept.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![8, 7, 6, 5, 4, 3]);
}

/// Request counts per inbox, in the order asked: what each holds now (after trimming to the newest `keep`), 0
/// for an empty inbox, and 0 for another platform's inbox or an unknown id, whatever it holds.
pub async fn request_counts_follow_the_order_asked_and_the_platform(store: &dyn Store) {
    let platform = new_platform(store).await;
    let other = new_platform(store).await;
    let (busy, empty, foreign) = (new_inbox(&platform, 0), new_inbox(&platform, 1), new_inbox(&other, 2));
    for inbox in [&busy, &empty, &foreign] {
        store.create_inbox(inbox.clone()).await.unwrap();
    }
    for n in 1..=4u8 {
        store.capture_request(request(&busy.id, n, i64::from(n)), 3, at(10)).await.unwrap();
    }
    store.capture_request(request(&foreign.id, 1, 1), 3, at(10)).await.unwrap();
    let asked = [empty.id.clone(), busy.id.clone(), foreign.id.clone(), InboxId::generate()];
    assert_eq!(store.count_requests(&platform, &asked).await.unwrap(), vec![0, 3, 0, 0]);
    assert_eq!(store.count_requests(&other, &asked).await.unwrap(), vec![0, 0, 1, 0]);
    assert_eq!(store.count_requests(&platform, &[]).await.unwrap(), Vec::<u64>::new());
    store.delete_inbox(&platform, &busy.id).await.unwrap();
    assert_eq!(store.count_requests(&platform, &asked[1..2]).await.unwrap(), vec![0]);
}
