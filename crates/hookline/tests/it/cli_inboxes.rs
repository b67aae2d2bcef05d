//! `hookline inboxes …` end to end: the real binary creates, lists, shows and deletes inboxes, lists captures
//! and follows them live, with `--json` output parsed back and exit codes checked.

use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

use crate::cli::Setup;
use crate::support::WAIT;

#[tokio::test]
async fn inboxes_commands_round_trip_and_follow_captures_with_verdicts() {
    let setup = Setup::new().await;
    let created =
        setup.run(&["inboxes", "create", "--status", "202", "--expires-in", "2h", "--json"]).await.ok().json();
    let id = created["id"].as_str().expect("an id").to_owned();
    let url = created["url"].as_str().expect("a url").to_owned();
    assert_eq!(created["response"]["status"], 202, "{created}");

    let listed = setup.run(&["inboxes", "list", "--json"]).await.ok().json();
    assert_eq!(listed.as_array().unwrap().iter().map(|i| i["id"].clone()).collect::<Vec<_>>(), vec![json!(id)]);
    let shown = setup.run(&["inboxes", "show", &id, "--json"]).await.ok().json();
    assert_eq!(shown["url"], url.as_str());
    let table = setup.run(&["inboxes", "list"]).await.ok();
    assert!(table.stdout.contains(&id) && table.stdout.contains("202"), "{}", table.stdout);

    // A webhook pointing at the inbox signs what it sends, so the captures carry a verdict.
    let webhook = setup.app.webhook(&setup.key, &url, &["*"]).await;
    assert!(webhook["secret"].as_str().is_some());

    // Follow first, then capture: the live line arrives with its verdict.
    let mut follow = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookline"));
    follow
        .args(["inboxes", "requests", &id, "--follow", "--json"])
        .env_clear()
        .env("HOOKLINE_CONFIG_DIR", setup.config.path())
        .env("HOOKLINE_SERVER", &setup.app.base)
        .env("HOOKLINE_API_KEY", &setup.key)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = follow.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut errors = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    // The CLI says it follows once its stream is open.
    let notice = tokio::time::timeout(WAIT, errors.next_line()).await.unwrap().unwrap().unwrap_or_default();
    assert!(notice.contains("Following"), "{notice}");
    // The stream is open once the notice shows: both captures arrive on it, in order.
    setup.app.http.post(format!("{url}/unsigned")).body("plain").send().await.unwrap();
    setup.app.publish(&setup.key, json!({"type": "user.created", "data": {"n": 1}})).await;
    let mut live = Vec::new();
    for _ in 0..2 {
        let text = tokio::time::timeout(WAIT, lines.next_line()).await.expect("a live capture").unwrap().unwrap();
        live.push(serde_json::from_str::<Value>(&text).unwrap());
    }
    assert!(live.iter().all(|line| line["inbox_id"] == id.as_str()), "{live:?}");
    assert_eq!(live[0]["path"], "/unsigned", "{live:?}");
    assert_eq!(live[1]["verified"], true, "{live:?}");
    let line = &live[1];
    let live_id = line["id"].as_str().unwrap().to_owned();
    let status =
        std::process::Command::new("kill").args(["-s", "INT", &child.id().unwrap().to_string()]).status().unwrap();
    assert!(status.success());
    let exited = tokio::time::timeout(WAIT, child.wait()).await.unwrap().unwrap();
    assert_eq!(exited.code(), Some(0));

    let requests = setup.run(&["inboxes", "requests", &id, "--json"]).await.ok().json();
    let requests = requests.as_array().unwrap();
    assert!(requests.iter().any(|r| r["id"] == live_id.as_str()), "{requests:?}");
    let signed = requests.iter().find(|r| r["path"] == "/").expect("a delivery");
    assert_eq!(signed["verified"], true, "{signed}");
    let plain = requests.iter().find(|r| r["path"] == "/unsigned").unwrap();
    assert_ne!(plain["verified"], true, "{plain}");
    let table = setup.run(&["inboxes", "requests", &id]).await.ok();
    assert!(table.stdout.contains("verified"), "{}", table.stdout);

    setup.run(&["inboxes", "delete", &id, "--json"]).await.ok();
    let gone = setup.run(&["inboxes", "show", &id, "--json"]).await;
    assert_eq!(gone.code, 3, "not found: {}", gone.stderr);
}
