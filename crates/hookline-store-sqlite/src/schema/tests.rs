//! Upgrades from shipped schemas, and the refusal of a schema from the future.

// Tests fail by panicking, so unwrapping is the point here rather than a shortcut.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use hookline_core::Timestamp;
use hookline_core::delivery::DeliveryStatus;
use hookline_core::ids::{AttemptId, DeliveryId, EventId, PlatformId, WebhookId};
use hookline_core::secret::KeyHash;
use hookline_store::{ApiStore, ClaimRequest, DeliveryQueue, StoreError, UiStore};
use rusqlite::{Connection, params};

use super::MIGRATIONS;
use crate::{SqliteOptions, SqliteStore};

const T0: i64 = 1_764_374_400_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + ms)
}

/// The ids of the rows [`oldest_schema_with_data`] wrote.
struct Seeded {
    platform: PlatformId,
    webhook: WebhookId,
    event: EventId,
    delivered: DeliveryId,
    pending: DeliveryId,
}

/// A database file as the first shipped hookline left it: migration 1 only, with a platform, its key, a
/// webhook, an event, one delivered delivery with its attempt and one pending delivery, due.
fn oldest_schema_with_data(path: &Path) -> Seeded {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(MIGRATIONS[0]).unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    let seeded = Seeded {
        platform: PlatformId::generate(),
        webhook: WebhookId::generate(),
        event: EventId::generate(),
        delivered: DeliveryId::generate(),
        pending: DeliveryId::generate(),
    };
    let (platform, webhook) = (seeded.platform.as_str(), seeded.webhook.as_str());
    conn.execute(
        "INSERT INTO platforms (id, name, url, email, created_at) VALUES (?1, 'Tradly', 'https://tradly.app', \
         'ops@tradly.app', ?2)",
        params![platform, T0],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO api_keys (key_hash, platform_id, created_at) VALUES ('hash-1', ?1, ?2)",
        params![platform, T0],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO webhooks (id, platform_id, url, events, description, secret, previous_secret, \
         previous_secret_until, enabled, disabled_reason, created_at, updated_at) VALUES (?1, ?2, \
         'https://example.com/hook', 'order.confirmed', 'orders', 'whsec_old', NULL, NULL, 1, NULL, ?3, ?3)",
        params![webhook, platform, T0],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO events (pk, platform_id, id, type, data, created_at) VALUES (1, ?1, ?2, 'order.confirmed', \
         '{\"a\":1}', ?3)",
        params![platform, seeded.event.as_str(), T0],
    )
    .unwrap();
    for (id, status, attempts, due) in
        [(&seeded.delivered, "delivered", 1, None), (&seeded.pending, "pending", 0, Some(T0))]
    {
        conn.execute(
            "INSERT INTO deliveries (id, platform_id, event_pk, webhook_id, status, attempt_count, next_attempt_at, \
             leased_until, created_at, updated_at) VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, NULL, ?7, ?7)",
            params![id.as_str(), platform, webhook, status, attempts, due, T0],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO attempts (id, delivery_id, attempt_number, started_at, duration_ms, status, error_kind, \
         error_message, response_excerpt) VALUES (?1, ?2, 1, ?3, 12, 200, NULL, NULL, 'ok')",
        params![AttemptId::generate().as_str(), seeded.delivered.as_str(), T0],
    )
    .unwrap();
    seeded
}

fn user_version(path: &Path) -> i64 {
    Connection::open(path).unwrap().query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_of_the_oldest_schema_with_data_upgrades_to_the_current_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hookline.db");
    let seeded = oldest_schema_with_data(&path);

    let store = SqliteStore::open(&SqliteOptions::new(&path)).unwrap();
    let platform = store.platform_by_key(KeyHash("hash-1".into())).await.unwrap().expect("the platform survived");
    assert_eq!((platform.id.as_str(), platform.name.as_str()), (seeded.platform.as_str(), "Tradly"));
    let webhook = store.get_webhook(&seeded.platform, &seeded.webhook).await.unwrap();
    assert_eq!((webhook.url.as_str(), webhook.description.as_str()), ("https://example.com/hook", "orders"));
    // Columns added by later migrations read as their defaults.
    assert_eq!((webhook.enabled, webhook.concurrency, webhook.failing_since), (true, None, None));
    let (event, deliveries) = store.get_event(&seeded.platform, &seeded.event).await.unwrap();
    assert_eq!((event.event_type.as_str(), event.data.as_str()), ("order.confirmed", r#"{"a":1}"#));
    let mut statuses: Vec<(DeliveryId, DeliveryStatus)> =
        deliveries.into_iter().map(|summary| (summary.delivery.id, summary.delivery.status)).collect();
    statuses.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected =
        vec![(seeded.delivered.clone(), DeliveryStatus::Delivered), (seeded.pending.clone(), DeliveryStatus::Pending)];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(statuses, expected);
    let detail = store.get_delivery(&seeded.platform, &seeded.delivered).await.unwrap();
    assert_eq!(detail.attempts.len(), 1);
    assert_eq!(detail.attempts[0].status, Some(200));
    // An attempt recorded before headers were kept has none: the page says "not recorded".
    assert_eq!((&detail.attempts[0].request_headers, &detail.attempts[0].response_headers), (&None, &None));
    // The overview's hourly counters were filled from the deliveries already finished.
    let health = store.webhook_health(&seeded.platform, at(60_000)).await.unwrap();
    assert_eq!(health.len(), 1);
    assert_eq!(
        (health[0].webhook_id.as_str(), health[0].delivered_24h, health[0].failed_24h),
        (seeded.webhook.as_str(), 1, 0)
    );
    // The pending delivery is found through the index the later migrations built.
    let request = ClaimRequest { now: at(1), lease_until: at(30_000), limit: 10, per_webhook: 10, skip: Vec::new() };
    let claimed = store.claim_due(request).await.unwrap();
    assert_eq!(claimed.iter().map(|job| &job.delivery_id).collect::<Vec<_>>(), vec![&seeded.pending]);
    drop(store);
    assert_eq!(user_version(&path), MIGRATIONS.len() as i64);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_newer_than_this_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hookline.db");
    drop(SqliteStore::open(&SqliteOptions::new(&path)).unwrap());
    let newer = MIGRATIONS.len() as i64 + 1;
    Connection::open(&path).unwrap().pragma_update(None, "user_version", newer).unwrap();

    let refused = SqliteStore::open(&SqliteOptions::new(&path));
    assert!(
        matches!(refused, Err(StoreError::SchemaTooNew { found, known }) if found == newer && known == newer - 1),
        "expected SchemaTooNew, got {:?}",
        refused.err()
    );
    // Refusing changed nothing.
    assert_eq!(user_version(&path), newer);
}

/// The migration that adds `notifications.claimed_at` counts every notice already sent (or tried) as claimed,
/// so that no failure recorded after the upgrade is absorbed into an email that already went out.
#[test]
fn notices_sent_before_the_upgrade_count_as_claimed() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("hookline.db")).unwrap();
    let index = MIGRATIONS.iter().position(|script| script.contains("ADD COLUMN claimed_at")).unwrap();
    for script in &MIGRATIONS[..index] {
        conn.execute_batch(script).unwrap();
    }
    conn.pragma_update(None, "user_version", index as i64).unwrap();
    for (id, status, attempts, sent_at) in
        [("ntf_sent", "sent", 1, Some(T0 + 5)), ("ntf_retrying", "pending", 1, None), ("ntf_new", "pending", 0, None)]
    {
        conn.execute(
            "INSERT INTO notifications (id, platform_id, webhook_id, kind, recipient, platform_url, webhook_url, \
             failed_count, event_types, event_ids, status, attempts, created_at, sent_at) VALUES (?1, 'plt_1', \
             'wh_1', 'deliveries_failed', 'ops@tradly.app', 'https://tradly.app', 'https://example.com/hook', 1, \
             'order.confirmed', 'evt_1', ?2, ?3, ?4, ?5)",
            params![id, status, attempts, T0, sent_at],
        )
        .unwrap();
    }
    super::migrate(&mut conn).unwrap();
    let claimed = |id: &str| -> Option<i64> {
        conn.query_row("SELECT claimed_at FROM notifications WHERE id = ?1", [id], |row| row.get(0)).unwrap()
    };
    assert_eq!(claimed("ntf_sent"), Some(T0 + 5));
    assert_eq!(claimed("ntf_retrying"), Some(T0), "already rendered and tried once");
    assert_eq!(claimed("ntf_new"), None, "not sent yet: it may still absorb failures");
}
