//! The `dashboard` scenario: every dashboard page timed with a large history. A fresh SQLite database gets a
//! platform and a webhook through the API, then (with the server stopped) 1,000,000 events with one delivery each
//! (10 % failed, the rest delivered, spread over the last 48 hours; a third `order.confirmed`), one attempt with
//! its headers for each of the newest 1,000, and the overview's hourly counters, by a few bulk SQL statements as
//! `docs/dashboard-1m.sh` does (seconds, where publishing and recording a million would take minutes). The
//! server is started again on that file, signed in through a portal link, and each page is requested N times in
//! a row over loopback keep-alive; the figures are each page's median and p99, which is the server's time plus
//! well under a millisecond of loopback HTTP.
//!
//! The seeding statements know the SQLite schema; they are the benchmark's, never the server's (which has no
//! SQL outside the store crates). PostgreSQL is not seeded: the scenario refuses `--database postgres://…`.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};

use super::BenchOptions;
use super::report::{ScenarioResult, percentile_ms, round3};
use super::server::{Api, BenchServer, ServerSettings, Tweaks};

/// Seeds, serves and times. `deliveries` is the history's size, `requests` how often each page is asked for.
pub(super) async fn dashboard(o: &BenchOptions, deliveries: usize, requests: usize) -> anyhow::Result<ScenarioResult> {
    if o.settings.database.is_some() {
        bail!("the dashboard scenario seeds a SQLite file of its own; it does not take --database");
    }
    let root = o.settings.data_dir.clone().unwrap_or_else(std::env::temp_dir);
    let dir = root.join(format!("hookline-bench-dashboard-{}-{}", std::process::id(), super::now_ns()));
    std::fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let outcome = seed_and_time(o, &dir, deliveries, requests).await;
    if !o.settings.keep_data {
        let _ = std::fs::remove_dir_all(&dir);
    }
    outcome.context("scenario dashboard")
}

async fn seed_and_time(
    o: &BenchOptions,
    dir: &Path,
    deliveries: usize,
    requests: usize,
) -> anyhow::Result<ScenarioResult> {
    let path = dir.join("hookline.db");
    let settings = ServerSettings { database: Some(format!("sqlite://{}", path.display())), ..o.settings.clone() };
    // 1. The schema, a platform and its webhook, through the server.
    let server = BenchServer::start(&o.mode, &settings, &Tweaks::default()).await?;
    let api = Api::new(&server.base);
    let key = api.platform(server.admin_token(), "dashboard").await;
    let webhook = match &key {
        Ok(key) => api.webhooks(key, vec!["http://127.0.0.1:9/hook".into()]).await,
        Err(_) => Ok(()),
    };
    server.stop().await;
    let key = key?;
    webhook?;

    // 2. The history, with the server stopped (one process per SQLite file).
    let seeding = Instant::now();
    let seeded_path = path.clone();
    let ids = tokio::task::spawn_blocking(move || seed(&seeded_path, deliveries)).await??;
    let seed_s = seeding.elapsed().as_secs_f64();

    // 3. The server again, on the seeded file; signed in through a portal link.
    let server = BenchServer::start(&o.mode, &settings, &Tweaks::default()).await?;
    let timed = time_pages(&server.base, &key, &ids, requests).await;
    server.stop().await;
    let pages = timed?;

    let mut extra = Map::new();
    extra.insert("seed_s".into(), json!(round3(seed_s)));
    extra.insert("requests_per_page".into(), json!(requests));
    let mut slowest: f64 = 0.0;
    for (name, mut micros) in pages {
        micros.sort_unstable();
        let (p50, p99) = (percentile_ms(&micros, 50.0), percentile_ms(&micros, 99.0));
        slowest = slowest.max(p50);
        extra.insert(format!("page_{name}_p50_ms"), json!(p50));
        extra.insert(format!("page_{name}_p99_ms"), json!(p99));
    }
    extra.insert("slowest_page_p50_ms".into(), json!(slowest));
    Ok(ScenarioResult {
        scenario: "dashboard".into(),
        run: Value::Null,
        backend: "sqlite".into(),
        fsync: o.settings.synchronous.clone(),
        server: o.mode.name().into(),
        events: deliveries as u64,
        webhooks: 1,
        deliveries: deliveries as u64,
        expected_deliveries: deliveries as u64,
        ingest_per_s: 0.0,
        delivered_per_s: 0.0,
        latency_p50_ms: 0.0,
        latency_p99_ms: 0.0,
        latency_p999_ms: 0.0,
        ingest_http_p50_ms: 0.0,
        ingest_http_p99_ms: 0.0,
        cpu_s_per_1000_deliveries: None,
        peak_rss_mb: None,
        duration_s: round3(seed_s),
        extra,
    })
}

/// The ids the pages are asked about.
struct SeededIds {
    webhook: String,
    newest_event: String,
    newest_delivery: String,
    /// A delivery halfway down the webhook's list: the cursor of a deep page.
    middle_delivery: String,
}

/// Writes `n` events with one delivery each, attempts for the newest 1,000, and the hourly counters, in one
/// transaction.
fn seed(path: &Path, n: usize) -> anyhow::Result<SeededIds> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let (platform, webhook): (String, String) =
        conn.query_row("SELECT platform_id, id FROM webhooks LIMIT 1", [], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let now = super::now_ns() as i64 / 1_000_000;
    let n = n as i64;
    // Spread over the 48 hours before now, oldest first.
    let step = (172_800_000 / n.max(1)).max(1);
    let tx = conn.transaction()?;
    tx.execute(
        "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?3) \
         INSERT INTO events (platform_id, id, type, data, created_at) \
         SELECT ?1, printf('evt_%020d', i), CASE WHEN i % 3 = 0 THEN 'order.confirmed' ELSE 'user.created' END, \
         '{\"n\":' || i || '}', ?2 - 172800000 + i * ?4 FROM k",
        rusqlite::params![platform, now, n, step],
    )?;
    tx.execute(
        "INSERT INTO deliveries (id, platform_id, event_pk, webhook_id, status, attempt_count, next_attempt_at, \
         leased_until, created_at, updated_at) \
         SELECT printf('dlv_%020d', pk), ?1, pk, ?2, CASE WHEN pk % 10 = 0 THEN 'failed' ELSE 'delivered' END, 1, \
         NULL, NULL, created_at, created_at + 1000 FROM events WHERE platform_id = ?1",
        rusqlite::params![platform, webhook],
    )?;
    tx.execute(
        "INSERT INTO attempts (id, delivery_id, attempt_number, started_at, duration_ms, status, error_kind, \
         error_message, response_excerpt, request_headers, response_headers, response_headers_omitted) \
         SELECT printf('att_%020d', pk), id, 1, created_at, 12, 200, NULL, NULL, 'ok', \
         '[[\"content-type\",\"application/json\"],[\"user-agent\",\"hookline\"],[\"webhook-id\",\"' || id || '\"]]', \
         '[[\"content-type\",\"text/plain\"],[\"content-length\",\"2\"]]', 0 \
         FROM (SELECT id, event_pk AS pk, created_at FROM deliveries WHERE webhook_id = ?1 ORDER BY id DESC LIMIT 1000)",
        [&webhook],
    )?;
    tx.execute(
        "INSERT INTO webhook_hourly (webhook_id, hour, delivered, failed) \
         SELECT webhook_id, updated_at / 3600000, count(*) FILTER (WHERE status = 'delivered'), \
         count(*) FILTER (WHERE status = 'failed') FROM deliveries WHERE webhook_id = ?1 \
         AND status IN ('delivered', 'failed') GROUP BY 1, 2",
        [&webhook],
    )?;
    tx.commit()?;
    conn.execute_batch("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")?;
    let newest_event = conn.query_row("SELECT id FROM events ORDER BY pk DESC LIMIT 1", [], |row| row.get(0))?;
    let newest_delivery = conn.query_row("SELECT id FROM deliveries ORDER BY id DESC LIMIT 1", [], |row| row.get(0))?;
    let middle_delivery = conn.query_row(
        "SELECT id FROM deliveries WHERE id < printf('dlv_%020d', ?1) ORDER BY id DESC LIMIT 1",
        [n / 2],
        |row| row.get(0),
    )?;
    Ok(SeededIds { webhook, newest_event, newest_delivery, middle_delivery })
}

/// Signs in through a portal link and requests each page `requests` times; returns each page's times in µs.
async fn time_pages(
    base: &str,
    key: &str,
    ids: &SeededIds,
    requests: usize,
) -> anyhow::Result<Vec<(&'static str, Vec<u32>)>> {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).http1_only().build()?;
    let link: Value = http
        .post(format!("{base}/v1/portal-links"))
        .bearer_auth(key)
        .json(&json!({}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let url = link["url"].as_str().context("no url in the portal link answer")?;
    // The link names the public URL; ask the server under test for the same path.
    let path = url.find("/ui/").map(|at| &url[at..]).context("a portal link under /ui/")?;
    let signed = http.get(format!("{base}{path}")).send().await?;
    let cookie = signed
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("hl_session="))
        .and_then(|value| value.split(';').next())
        .context("the portal link set no session cookie")?
        .to_owned();
    let (wh, event, delivery, middle) = (&ids.webhook, &ids.newest_event, &ids.newest_delivery, &ids.middle_delivery);
    let since = "since=2000-01-01T00:00:00Z";
    let pages: Vec<(&'static str, String)> = vec![
        ("overview", "/ui/".into()),
        ("webhooks", "/ui/webhooks".into()),
        ("webhook_deliveries", format!("/ui/webhooks/{wh}")),
        ("webhook_deliveries_failed", format!("/ui/webhooks/{wh}?status=failed")),
        ("webhook_deliveries_deep_page", format!("/ui/webhooks/{wh}?after={middle}")),
        ("events", "/ui/events".into()),
        ("events_by_type", "/ui/events?type=order.confirmed".into()),
        ("events_failed", "/ui/events?status=failed".into()),
        ("events_time_range", format!("/ui/events?{since}&until=2100-01-01T00:00:00Z")),
        ("event", format!("/ui/events/{event}")),
        ("delivery", format!("/ui/deliveries/{delivery}")),
        ("recover_preview", format!("/ui/webhooks/{wh}/recover?{since}")),
        ("notifications", "/ui/notifications".into()),
    ];
    let mut out = Vec::with_capacity(pages.len());
    for (name, path) in pages {
        let mut micros = Vec::with_capacity(requests);
        for _ in 0..requests {
            let started = Instant::now();
            let response = http.get(format!("{base}{path}")).header("cookie", &cookie).send().await?;
            let status = response.status();
            response.bytes().await?;
            micros.push(started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
            if !status.is_success() {
                bail!("GET {path}: {status}");
            }
        }
        out.push((name, micros));
    }
    Ok(out)
}
