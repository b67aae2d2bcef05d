//! A real headless Chromium driven over WebDriver (fantoccini + Debian's `chromedriver`), for the dashboard
//! tests in `ui.rs`: starts the driver on a free port with a fresh profile, saves screenshots, and checks that
//! a page never scrolls sideways.
//!
//! When the browser runs: whenever `/usr/bin/chromium` and `/usr/bin/chromedriver` exist. If they are missing,
//! `CI=true` or `HOOKLINE_TEST_BROWSER=1` makes that a failure; otherwise the test prints a SKIPPED line and
//! returns without checking anything.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::process::{Child, Command};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A running chromedriver; killed when dropped.
pub struct Driver {
    url: String,
    _child: Child,
    _profiles: tempfile::TempDir,
}

/// Starts chromedriver, or explains why not: `None` means skip (browser absent and not required).
pub async fn driver(test: &str) -> Option<Driver> {
    let present = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    let required = std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("HOOKLINE_TEST_BROWSER").is_ok_and(|v| v == "1");
    if !present {
        assert!(
            !required,
            "{test}: {CHROMIUM} and {CHROMEDRIVER} are required (CI=true or HOOKLINE_TEST_BROWSER=1): apt-get install -y chromium chromium-driver"
        );
        eprintln!(
            "SKIPPED {test}: no headless browser ({CHROMIUM}, {CHROMEDRIVER}); install chromium and chromium-driver to run it"
        );
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Some(Driver {
        url: format!("http://127.0.0.1:{port}"),
        _child: child,
        _profiles: tempfile::tempdir().expect("temp dir"),
    })
}

impl Driver {
    /// A fresh browser (its own profile directory: no cookies shared with any other).
    pub async fn browser(&self) -> Client {
        let profile = tempfile::tempdir_in(self._profiles.path()).expect("profile dir").keep();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-dev-shm-usage", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.display())],
            }),
        );
        let client =
            ClientBuilder::rustls().expect("tls").capabilities(caps).connect(&self.url).await.expect("browser session");
        client.set_window_size(1280, 900).await.expect("window size");
        client
    }
}

/// Where screenshots go: `$CARGO_TARGET_DIR/screenshots`, else `target/screenshots` at the workspace root.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

async fn run(client: &Client, script: &str) -> serde_json::Value {
    client.execute(script, vec![]).await.expect("script runs")
}

/// Saves the current page at 1280 and 375 px wide as `<name>-1280.png` and `<name>-375.png` (full height),
/// after checking that at each width the page does not scroll sideways.
pub async fn shoot(client: &Client, name: &str) {
    for width in [1280u32, 375] {
        client.set_window_size(width, 900).await.expect("window size");
        let inner = run(client, "return window.innerWidth").await.as_u64().unwrap_or(0);
        let scroll = run(client, "return document.documentElement.scrollWidth").await.as_u64().unwrap_or(u64::MAX);
        assert!(
            scroll <= inner,
            "{name} at {width} px scrolls sideways: content {scroll} px wide in a {inner} px viewport"
        );
        let height = run(client, "return document.documentElement.scrollHeight").await.as_u64().unwrap_or(900);
        let chrome = 900 - run(client, "return window.innerHeight").await.as_u64().unwrap_or(900).min(900);
        client.set_window_size(width, (height + chrome).clamp(400, 4000) as u32).await.expect("window size");
        let png = client.screenshot().await.expect("screenshot");
        std::fs::write(screenshot_dir().join(format!("{name}-{width}.png")), png).expect("write screenshot");
    }
    client.set_window_size(1280, 900).await.expect("window size");
}

/// The visible text of the page.
pub async fn text(client: &Client) -> String {
    client.find(Locator::Css("body")).await.expect("body").text().await.expect("text")
}

/// Types into the field with this id (clearing it first).
pub async fn fill(client: &Client, id: &str, value: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap_or_else(|_| panic!("field #{id}"));
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

/// Clicks the first element matching `css` (a submit button or a link) and waits until the browser has left
/// the page: the old document's root element goes stale once the new page replaces it.
pub async fn click(client: &Client, css: &str) {
    let old_root = client.find(Locator::Css("html")).await.expect("html");
    client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("no element {css}")).click().await.expect("click");
    let deadline = Instant::now() + Duration::from_secs(10);
    while old_root.tag_name().await.is_ok() {
        assert!(Instant::now() < deadline, "clicking {css} did not load a new page");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("body"))
        .await
        .expect("the new page has a body");
}

/// Reloads `path` until its text contains `needle`, or fails after 10 s.
pub async fn until_text(client: &Client, url: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        client.goto(url).await.expect("navigate");
        let body = text(client).await;
        if body.contains(needle) {
            return body;
        }
        assert!(Instant::now() < deadline, "{url} never showed {needle:?}; last text:\n{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks an element that does not leave the page (a checkbox).
pub async fn tick(client: &Client, css: &str) {
    client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("no element {css}")).click().await.expect("click");
}
