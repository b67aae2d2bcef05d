//! `hookline trigger` for every catalog type, then `events` and `deliveries` (list, show, retry, recover) on
//! what it published, all through `--json`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::Setup;
use crate::support::{Reply, TestReceiver};

#[tokio::test]
async fn trigger_publishes_the_catalog_sample_of_every_type() {
    let setup = Setup::new().await;
    let catalog = setup.run(&["trigger", "--list", "--json"]).await.ok().json();
    let catalog = catalog.as_array().unwrap();
    assert_eq!(catalog.len(), 17, "14 Tradly types and 3 operational ones");
    let names: Vec<&str> = catalog.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(catalog.iter().all(|t| t["sample"].is_object()), "every built-in type has a sample");

    // Operational types are delivered only to webhooks that name them, so this one names every type.
    let receiver = TestReceiver::start().await;
    let events = names.join(",");
    setup.run(&["webhooks", "create", "--url", &receiver.url, "--events", &events]).await.ok();
    for (index, name) in names.iter().enumerate() {
        let accepted = setup.run(&["trigger", name, "--json"]).await.ok().json();
        assert_eq!((accepted["type"].as_str(), accepted["deliveries"].as_u64()), (Some(*name), Some(1)), "{name}");
        let delivered = receiver.wait_for(index + 1).await;
        let body = delivered[index].json();
        assert_eq!(body["type"], *name);
        assert_eq!(body["id"], accepted["id"]);
        assert_eq!(body["data"], catalog[index]["sample"], "{name}: the delivered data is the catalog's sample");
    }

    // --data replaces the sample, kept byte for byte; a custom type without --data says what to do.
    let own =
        setup.run(&["trigger", "order.confirmed", "--data", r#"{"z":1,  "a":2}"#, "--id", "ord-1", "--json"]).await;
    assert_eq!(own.ok().json()["id"], "ord-1");
    let delivered = receiver.wait_for(names.len() + 1).await;
    let body = String::from_utf8(delivered[names.len()].body.to_vec()).unwrap();
    assert!(body.contains(r#""data":{"z":1,  "a":2}"#), "{body}");
    let unknown = setup.run(&["trigger", "invoice.paid"]).await;
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(unknown.stderr.contains("trigger --list"), "{}", unknown.stderr);
    let plain = setup.run(&["trigger", "user.created"]).await.ok();
    assert!(plain.stdout.starts_with("Published user.created evt_"), "{}", plain.stdout);
    setup.app.stop().await;
}

#[tokio::test]
async fn events_and_deliveries_show_retry_and_recover() {
    let setup = Setup::new().await;
    // Three failures exhaust the test schedule (300ms, 300ms): the delivery ends failed. Then 200s.
    let receiver = TestReceiver::scripted(vec![Reply::Status(500), Reply::Status(500), Reply::Status(500)]).await;
    let webhook = setup.run(&["webhooks", "create", "--url", &receiver.url, "--json"]).await.ok().json();
    let webhook_id = webhook["id"].as_str().unwrap();
    let accepted = setup.run(&["trigger", "order.canceled", "--json"]).await.ok().json();
    let event_id = accepted["id"].as_str().unwrap();

    let listed = setup.run(&["events", "list", "--json"]).await.ok().json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], event_id);

    let failed = wait_for_status(&setup, webhook_id, "failed").await;
    let delivery_id = failed["id"].as_str().unwrap().to_owned();
    let event = setup.run(&["events", "show", event_id, "--json"]).await.ok().json();
    assert_eq!(event["deliveries"][0]["id"], delivery_id.as_str());
    assert_eq!(event["deliveries"][0]["status"], "failed");
    let detail = setup.run(&["deliveries", "show", &delivery_id, "--json"]).await.ok().json();
    let attempts = detail["attempt_log"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    assert!(attempts.iter().all(|a| a["status_code"] == 500));
    let table = setup.run(&["deliveries", "show", &delivery_id]).await.ok();
    assert!(table.stdout.contains("HTTP 500"), "{}", table.stdout);

    // Recover re-sends the failed delivery; the receiver now answers 200.
    let recovered =
        setup.run(&["webhooks", "recover", "--webhook", webhook_id, "--since", "1h", "--json"]).await.ok().json();
    assert_eq!(recovered, json!({"deliveries": 1}));
    wait_for_status(&setup, webhook_id, "delivered").await;

    // Retry by id, then in bulk by status; each is a new attempt.
    let retried = setup.run(&["deliveries", "retry", &delivery_id, "--json"]).await.ok().json();
    assert_eq!(retried[0]["id"], delivery_id.as_str());
    receiver.wait_for(5).await;
    let bulk = setup
        .run(&["deliveries", "retry", "--webhook", webhook_id, "--status", "delivered", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(bulk.as_array().unwrap().len(), 1);
    receiver.wait_for(6).await;
    let none = setup.run(&["deliveries", "list", "--webhook", webhook_id, "--status", "failed", "--json"]).await;
    assert_eq!(none.ok().json(), json!([]));
    let missing = setup.run(&["deliveries", "retry", "dlv_nope"]).await;
    assert_eq!(missing.code, 3, "{}", missing.stderr);
    setup.app.stop().await;
}

/// Lists the webhook's deliveries through the CLI until the first has `status`.
async fn wait_for_status(setup: &Setup, webhook_id: &str, status: &str) -> Value {
    let deadline = Instant::now() + crate::support::WAIT;
    loop {
        let listed = setup.run(&["deliveries", "list", "--webhook", webhook_id, "--json"]).await.ok().json();
        if listed[0]["status"] == status {
            return listed[0].clone();
        }
        assert!(Instant::now() < deadline, "no {status} delivery; last: {listed}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
