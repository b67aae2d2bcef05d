//! `hookline verify` against the known-answer vectors, both ways (valid: exit 0; altered: exit 1 with the
//! inspector's reason), and against a live delivery captured by a real receiver.

use serde_json::Value;

use crate::cli::{Run, Setup, hookline};
use crate::support::TestReceiver;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../hookline-verify/tests/signatures.json");
    serde_json::from_slice(&std::fs::read(path).expect("vectors file")).expect("vectors are JSON")
}

async fn verify(args: &[&str]) -> Run {
    let config = tempfile::tempdir().unwrap();
    hookline(config.path(), &[], &[&["verify"], args].concat()).await
}

#[tokio::test]
async fn tradly_vectors_verify_and_altered_ones_do_not() {
    for case in vectors()["tradly"].as_array().unwrap() {
        let (secret, id, signature) = (s(&case["secret"]), s(&case["event_id"]), s(&case["signature_hex"]));
        let valid = verify(&["--secret", secret, "--event-id", id, "--signature", signature]).await.ok();
        assert!(valid.stdout.starts_with("verified: X-Tradly-Signature"), "{}", valid.stdout);
        assert!(valid.stderr.contains("signs only the event id"), "people are told what it does not prove");

        let other_id =
            verify(&["--secret", secret, "--event-id", "evt_other", "--signature", signature, "--json"]).await;
        assert_eq!(other_id.code, 1);
        assert_eq!(other_id.json()["code"], "wrong_secret");
        let short = verify(&["--secret", secret, "--event-id", id, "--signature", &signature[..10]]).await;
        assert_eq!(short.code, 1);
        assert!(short.stdout.contains("malformed"), "{}", short.stdout);
    }
}

#[tokio::test]
async fn standard_vectors_verify_and_altered_ones_do_not() {
    let dir = tempfile::tempdir().unwrap();
    for (index, case) in vectors()["standard_webhooks"].as_array().unwrap().iter().enumerate() {
        let body = dir.path().join(format!("body-{index}"));
        std::fs::write(&body, s(&case["body"])).unwrap();
        let tampered = dir.path().join(format!("tampered-{index}"));
        std::fs::write(&tampered, format!("{} ", s(&case["body"]))).unwrap();
        let id = format!("webhook-id: {}", s(&case["webhook_id"]));
        let timestamp = format!("webhook-timestamp: {}", s(&case["webhook_timestamp"]));
        let signature = format!("webhook-signature: {}", s(&case["webhook_signature"]));
        let headers = ["-H", &id, "-H", &timestamp, "-H", &signature];
        let now = s(&case["webhook_timestamp"]);
        let secret = ["--secret", s(&case["secret"])];

        let args = [&secret[..], &headers, &["--body-file", body.to_str().unwrap(), "--now", now, "--json"]].concat();
        let valid = verify(&args).await.ok().json();
        assert_eq!((valid["verified"].as_bool(), valid["scheme"].as_str()), (Some(true), Some("webhook-signature")));

        let args =
            [&secret[..], &headers, &["--body-file", tampered.to_str().unwrap(), "--now", now, "--json"]].concat();
        let altered = verify(&args).await;
        assert_eq!(altered.code, 1, "{}", altered.stdout);
        assert_eq!(altered.json()["code"], "wrong_secret");

        // Checked now, years later: a replay.
        let args = [&secret[..], &headers, &["--body-file", body.to_str().unwrap()]].concat();
        let stale = verify(&args).await;
        assert_eq!(stale.code, 1);
        assert!(
            stale.stdout.contains("outside the 300 s tolerance")
                && stale.stdout.contains("[timestamp_out_of_tolerance]")
        );

        // A retired secret is named as such.
        let args = [
            &["--secret", "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "--rotated-out-secret", s(&case["secret"])][..],
            &headers,
            &["--body-file", body.to_str().unwrap(), "--now", now, "--json"],
        ]
        .concat();
        assert_eq!(verify(&args).await.json()["code"], "rotated_out_secret");
    }
    let nothing = verify(&["--secret", "whsec_x"]).await;
    assert_eq!(nothing.code, 2, "{}", nothing.stderr);
}

#[tokio::test]
async fn a_live_delivery_verifies_and_a_changed_body_is_named() {
    let setup = Setup::new().await;
    let receiver = TestReceiver::start().await;
    let webhook = setup.run(&["webhooks", "create", "--url", &receiver.url, "--json"]).await.ok().json();
    let secret = webhook["secret"].as_str().unwrap();
    setup.run(&["trigger", "listing.approved"]).await.ok();
    let delivery = receiver.wait_for(1).await.remove(0);
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    std::fs::write(&body, &delivery.body).unwrap();
    let header = |name: &str| format!("{name}: {}", delivery.header(name));
    let headers =
        [header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"), header("x-tradly-signature")];
    let mut args = vec!["--secret", secret, "--body-file", body.to_str().unwrap()];
    for header in &headers {
        args.extend(["--header", header.as_str()]);
    }
    let valid = verify(&args).await.ok();
    assert!(valid.stdout.starts_with("verified: webhook-signature"), "{}", valid.stdout);

    // The receiver re-serialized the JSON before checking: the body no longer matches, the id still does.
    let parsed: Value = serde_json::from_slice(&delivery.body).unwrap();
    std::fs::write(&body, serde_json::to_vec_pretty(&parsed).unwrap()).unwrap();
    let changed = verify(&[&args[..], &["--json"]].concat()).await;
    assert_eq!(changed.code, 1);
    assert_eq!(changed.json()["code"], "body_changed");
    setup.app.stop().await;
}

fn s(value: &Value) -> &str {
    value.as_str().expect("a string")
}
