//! The quick benchmark: every scenario of `hookline-bench` with tiny counts, so the benchmark itself never rots.
//! No thresholds: the figures come from full runs (docs/performance.md), never from a timed test. Everything
//! stays on 127.0.0.1.

use std::path::PathBuf;

use hookline_bench::{self as bench, BenchOptions, OutageMode, ServerMode};
use serde_json::Value;

/// The `hookline` binary the child server runs. `cargo test --workspace` builds it beside this test's
/// directory (`target/<profile>/hookline`; cargo builds a package's binaries when its integration tests are
/// selected, before any test runs); `HOOKLINE_BIN` names another one.
fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("HOOKLINE_BIN") {
        return PathBuf::from(path);
    }
    let test_exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/it-<hash> → target/<profile>/hookline
    let profile_dir =
        test_exe.parent().and_then(|deps| deps.parent()).expect("the test runs from target/<profile>/deps");
    let path = profile_dir.join(format!("hookline{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "no hookline binary at {}: run `cargo test --workspace`, or `cargo build -p hookline` first",
        path.display()
    );
    path
}

fn check(results: &[bench::ScenarioResult], names: &[&str]) {
    for name in names {
        let result = results.iter().find(|r| r.scenario == *name).unwrap_or_else(|| panic!("no result for {name}"));
        let line: Value = serde_json::from_str(&result.json_line()).expect("one JSON line per scenario");
        assert!(!result.json_line().contains('\n'), "{name}: the JSON is one line");
        assert_eq!(line["scenario"], *name);
        assert!(line["expected_deliveries"].as_u64().unwrap_or(0) > 0, "{name}: {line}");
        assert_eq!(line["deliveries"], line["expected_deliveries"], "{name}: every delivery arrived: {line}");
        for key in ["ingest_per_s", "delivered_per_s", "latency_p50_ms", "latency_p99_ms", "duration_s"] {
            assert!(line[key].is_number(), "{name}: {key} in {line}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_bench_runs_every_scenario_against_a_child_server() {
    let options = BenchOptions::quick(server_binary());
    let results = bench::run(&options, |_| {}).await.expect("the quick benchmark runs");
    check(&results, bench::ALL_SCENARIOS);
    let a = results.iter().find(|r| r.scenario == "A").expect("A ran");
    assert_eq!(a.deliveries, 200);
    assert!(a.peak_rss_mb.is_some() && a.cpu_s_per_1000_deliveries.is_some(), "a child server is measured");
    // The dashboard scenario timed every page (each answered 2xx, or the scenario fails).
    let dashboard: Value =
        serde_json::from_str(&results.iter().find(|r| r.scenario == "dashboard").unwrap().json_line()).unwrap();
    for page in ["overview", "webhook_deliveries_deep_page", "events_failed", "delivery", "recover_preview"] {
        assert!(dashboard[format!("page_{page}_p50_ms")].as_f64().is_some_and(|ms| ms > 0.0), "{page}: {dashboard}");
        assert!(dashboard[format!("page_{page}_p99_ms")].is_number(), "{page}: {dashboard}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_bench_runs_against_an_in_process_server() {
    let mut options = BenchOptions::quick(PathBuf::new());
    options.mode = ServerMode::InProcess;
    options.outage = OutageMode::Hang;
    options.scenarios = vec!["A".into(), "retry_storm".into(), "backlog".into()];
    let results = bench::run(&options, |_| {}).await.expect("the quick benchmark runs in process");
    check(&results, &["A", "retry_storm", "backlog"]);
}
