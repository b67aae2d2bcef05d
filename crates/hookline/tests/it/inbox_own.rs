//! The own-inbox exception outside `--dev`, end to end, and the pruner task.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use hookline_core::Timestamp;
use hookline_core::ids::{InboxId, PlatformId};
use hookline_core::inbox::{Inbox, InboxResponse};
use hookline_store::Store;
use hookline_store_sqlite::{SqliteOptions, SqliteStore};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::inbox::{inbox, requests};
use crate::support::{TestApp, TestReceiver, WAIT};

#[tokio::test]
async fn a_production_server_delivers_to_its_own_inbox_and_to_no_other_loopback_url() {
    let app = TestApp::spawn_with(|raw| {
        raw.dev = false;
        raw.delivery.allow_private_destinations = false;
    })
    .await;
    let key = app.platform("tradly").await;
    let inbox = inbox(&app, &key, json!({})).await;
    let url = inbox["url"].as_str().unwrap();
    let id = inbox["id"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    // Anything else on loopback stays refused, including inbox-looking paths on another origin.
    let receiver = TestReceiver::start().await;
    let port = app.base.rsplit(':').next().unwrap();
    for other in [
        receiver.url.clone(),
        format!("{}/in/{id}", receiver.url.trim_end_matches("/hook")),
        format!("http://localhost:{port}/in/{id}"),
        format!("{}/v1/platforms", app.base),
    ] {
        let (status, error) =
            app.call("POST", "/v1/webhooks", Some(&key), Some(json!({"url": other, "events": ["*"]}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{other}: {error}");
        assert_eq!(error["error"]["field"], "url");
    }

    let webhook = app.webhook(&key, url, &["user.created"]).await;
    app.publish(&key, json!({"type": "user.created", "data": {"name": "Ada"}})).await;
    let path = format!("/v1/inboxes/{id}/requests");
    let list = app.eventually(&path, &key, |list| list["data"].as_array().is_some_and(|d| !d.is_empty())).await;
    assert_eq!(list["data"][0]["verified"], true, "{list}");
    assert_eq!(list["data"][0]["verification"]["webhook_id"], webhook["id"]);
    assert!(receiver.received().is_empty());
    assert_eq!(requests(&app, &key, &inbox).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn the_pruner_deletes_expired_inboxes() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&SqliteOptions::new(dir.path().join("h.db"))).unwrap());
    let now = Timestamp::now();
    let inbox = |expires_at| Inbox {
        id: InboxId::generate(),
        platform_id: PlatformId::generate(),
        response: InboxResponse::default(),
        created_at: Timestamp::from_unix_millis(0),
        expires_at,
    };
    let (expired, live) = (inbox(now.minus(Duration::from_secs(1))), inbox(now.plus(Duration::from_secs(3600))));
    store.create_inbox(expired.clone()).await.unwrap();
    store.create_inbox(live.clone()).await.unwrap();
    // Asked as of the epoch, an inbox is found as long as its row exists.
    let epoch = Timestamp::from_unix_millis(0);
    assert!(store.find_inbox(&expired.id, epoch).await.unwrap().is_some());

    let shutdown = CancellationToken::new();
    let task =
        tokio::spawn(hookline::inbox_pruner::run(Arc::clone(&store), Duration::from_millis(20), shutdown.clone()));
    let deadline = Instant::now() + WAIT;
    while store.find_inbox(&expired.id, epoch).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "the pruner never deleted the expired inbox");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(store.find_inbox(&live.id, epoch).await.unwrap().is_some(), "a live inbox is kept");
    shutdown.cancel();
    tokio::time::timeout(WAIT, task).await.expect("the pruner stops when cancelled").unwrap();
}
