//! The server under test: a child process running the `hookline` binary (the default, so its CPU time and peak
//! RSS are its own), a server in this process, or one already running elsewhere (`--server`). Also the small admin/API
//! client the scenarios use for setup, and `/proc` readings.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use hookline::config::{Overrides, RawConfig};
use hookline::serve;

/// Where the server under test runs.
#[derive(Debug, Clone)]
pub enum ServerMode {
    /// `hookline serve --dev` as a child process of `exe` (the `hookline` binary), fresh for each scenario.
    Child { exe: PathBuf },
    /// `serve::start` in this process (shares the runtime and the CPU accounting with the load generator).
    InProcess,
    /// A server already running at `url`; `admin_token` creates the benchmark's platforms.
    Remote { url: String, admin_token: String },
}

impl ServerMode {
    /// Its name in the results.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Child { .. } => "child",
            Self::InProcess => "in-process",
            Self::Remote { .. } => "remote",
        }
    }
}

/// Settings for starting a server (ignored for [`ServerMode::Remote`]).
#[derive(Debug, Clone, Default)]
pub struct ServerSettings {
    /// `--database`; `None`: a fresh SQLite file in the scenario's directory.
    pub database: Option<String>,
    /// Where scenario directories go; `None`: the system temp directory.
    pub data_dir: Option<PathBuf>,
    /// Keep scenario directories afterwards.
    pub keep_data: bool,
    /// `storage.sqlite_synchronous`: `full` or `normal`.
    pub synchronous: String,
}

/// What a scenario changes in the server's configuration.
#[derive(Debug, Clone, Default)]
pub struct Tweaks {
    /// `--retry-schedule`.
    pub retry_schedule: Option<String>,
    /// `delivery.timeout` and `delivery.lease`.
    pub timeout_and_lease: Option<(String, String)>,
}

enum Kind {
    Child(tokio::process::Child),
    InProcess(serve::Server),
    Remote,
}

/// A server under test.
pub struct BenchServer {
    /// `http://host:port`.
    pub base: String,
    admin_token: String,
    kind: Kind,
    dir: Option<PathBuf>,
    keep_dir: bool,
}

static SEQUENCE: AtomicUsize = AtomicUsize::new(0);

impl BenchServer {
    /// Starts (or connects to) a server.
    pub async fn start(mode: &ServerMode, settings: &ServerSettings, tweaks: &Tweaks) -> anyhow::Result<Self> {
        if let ServerMode::Remote { url, admin_token } = mode {
            return Ok(Self {
                base: url.trim_end_matches('/').to_owned(),
                admin_token: admin_token.clone(),
                kind: Kind::Remote,
                dir: None,
                keep_dir: true,
            });
        }
        let root = settings.data_dir.clone().unwrap_or_else(std::env::temp_dir);
        let dir =
            root.join(format!("hookline-bench-{}-{}", std::process::id(), SEQUENCE.fetch_add(1, Ordering::Relaxed)));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
        let database =
            settings.database.clone().unwrap_or_else(|| format!("sqlite://{}", dir.join("hookline.db").display()));
        let admin_token = format!("bench-admin-{}-{}", std::process::id(), super::now_ns());
        let mut server =
            Self { base: String::new(), admin_token, kind: Kind::Remote, dir: Some(dir), keep_dir: settings.keep_data };
        let started = match mode {
            ServerMode::Child { exe } => server.spawn_child(exe, &database, settings, tweaks).await,
            ServerMode::InProcess => server.start_in_process(&database, settings, tweaks).await,
            ServerMode::Remote { .. } => unreachable!("handled above"),
        };
        if let Err(error) = started {
            server.stop().await;
            return Err(error);
        }
        Ok(server)
    }

    async fn spawn_child(
        &mut self,
        exe: &Path,
        database: &str,
        settings: &ServerSettings,
        tweaks: &Tweaks,
    ) -> anyhow::Result<()> {
        let dir = self.dir.clone().unwrap_or_default();
        let log_path = dir.join("server.log");
        for attempt in 0..3 {
            let port = free_port()?;
            let log = std::fs::File::create(&log_path)?;
            let mut command = tokio::process::Command::new(exe);
            command
                .arg("serve")
                .arg("--dev")
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .args(["--database", database])
                .env("HOOKLINE_ADMIN_TOKEN", &self.admin_token)
                .env("HOOKLINE_STORAGE__SQLITE_SYNCHRONOUS", &settings.synchronous)
                .env("HOOKLINE_DELIVERY__SHUTDOWN_GRACE", "1s")
                // The benchmark measures the engine: no per-platform publish quota.
                .env("HOOKLINE_LIMITS__PUBLISH_RATE", "0")
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .kill_on_drop(true);
            if std::env::var_os("HOOKLINE_LOG").is_none() {
                command.env("HOOKLINE_LOG", "warn");
            }
            if let Some(schedule) = &tweaks.retry_schedule {
                command.args(["--retry-schedule", schedule]);
            }
            if let Some((timeout, lease)) = &tweaks.timeout_and_lease {
                command.env("HOOKLINE_DELIVERY__TIMEOUT", timeout).env("HOOKLINE_DELIVERY__LEASE", lease);
            }
            let child = command.spawn().with_context(|| format!("failed to start {}", exe.display()))?;
            self.base = format!("http://127.0.0.1:{port}");
            self.kind = Kind::Child(child);
            match self.wait_ready().await {
                Ok(()) => return Ok(()),
                Err(error) => {
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    let port_taken = log.contains("failed to listen");
                    if let Kind::Child(child) = &mut self.kind {
                        let _ = child.kill().await;
                    }
                    self.kind = Kind::Remote;
                    if port_taken && attempt < 2 {
                        continue;
                    }
                    let tail: String =
                        log.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
                    bail!("{error:#}\nserver log ({}):\n{tail}", log_path.display());
                }
            }
        }
        bail!("no free port for the server")
    }

    async fn start_in_process(
        &mut self,
        database: &str,
        settings: &ServerSettings,
        tweaks: &Tweaks,
    ) -> anyhow::Result<()> {
        let overrides = Overrides {
            listen: Some("127.0.0.1:0".into()),
            database_url: Some(database.to_owned()),
            retry_schedule: tweaks.retry_schedule.clone(),
            dev: true,
            ..Overrides::default()
        };
        let mut raw = RawConfig::load(&overrides)?;
        raw.admin_token = Some(self.admin_token.clone());
        raw.storage.sqlite_synchronous = settings.synchronous.clone();
        raw.delivery.shutdown_grace = "1s".into();
        raw.limits.publish_rate = 0;
        if let Some((timeout, lease)) = &tweaks.timeout_and_lease {
            raw.delivery.timeout = timeout.clone();
            raw.delivery.lease = lease.clone();
        }
        let config = raw.validate()?;
        let store = serve::open_store(&config).await?;
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let server = serve::start(&config, listener, store)?;
        self.base = format!("http://{}", server.addr);
        self.kind = Kind::InProcess(server);
        self.wait_ready().await
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Kind::Child(child) = &mut self.kind
                && let Some(status) = child.try_wait()?
            {
                bail!("the server exited at start ({status})");
            }
            if let Ok(response) = http.get(format!("{}/readyz", self.base)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the server at {} did not become ready within 20 s", self.base);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The process whose CPU time and memory are measured, if any.
    pub fn pid(&self) -> Option<u32> {
        match &self.kind {
            Kind::Child(child) => child.id(),
            Kind::InProcess(_) => Some(std::process::id()),
            Kind::Remote => None,
        }
    }

    /// What the CPU and memory figures cover.
    pub fn measured(&self) -> &'static str {
        match &self.kind {
            Kind::Child(_) => "server process",
            Kind::InProcess(_) => "whole bench process (server, load generator and receiver)",
            Kind::Remote => "not measured (remote server)",
        }
    }

    /// The admin token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Stops the server and removes its directory.
    pub async fn stop(mut self) {
        match std::mem::replace(&mut self.kind, Kind::Remote) {
            Kind::Child(mut child) => {
                // The benchmark's data is thrown away, so there is nothing to drain.
                let _ = child.kill().await;
            }
            Kind::InProcess(server) => {
                if let Err(error) = server.stop().await {
                    tracing::warn!(error = ?error, "in-process server did not stop cleanly");
                }
            }
            Kind::Remote => {}
        }
        if let Some(dir) = self.dir.take()
            && !self.keep_dir
        {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// CPU seconds (user + system) used so far by `pid`.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the command name: state is field 3; utime and stime are fields 14 and 15, in USER_HZ (100/s).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// CPU seconds all processes of the machine have used (busy time of every core, from `/proc/stat`).
pub fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<f64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal …: busy is everything but idle and iowait.
    let total: f64 = fields.iter().take(8).sum();
    Some((total - fields.get(3)? - fields.get(4)?) / 100.0)
}

/// A reading of the CPU counters, to tell how much of the machine others (not the server, not the benchmark
/// itself) used during a measurement: a noisy neighbour shows up here.
#[derive(Debug, Clone, Copy)]
pub struct CpuReading {
    server: Option<f64>,
    own: Option<f64>,
    machine: Option<f64>,
    at: std::time::Instant,
}

impl CpuReading {
    /// Reads the counters now; `pid` is the server's process (if it has its own).
    pub fn now(pid: Option<u32>) -> Self {
        let own_pid = std::process::id();
        Self {
            server: pid.filter(|p| *p != own_pid).and_then(cpu_seconds),
            own: cpu_seconds(own_pid),
            machine: machine_busy_seconds(),
            at: std::time::Instant::now(),
        }
    }

    /// The share (%) of all cores that other processes used between `self` and `later`.
    pub fn others_percent(&self, later: &Self) -> Option<f64> {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
        let wall = later.at.duration_since(self.at).as_secs_f64();
        let machine = later.machine? - self.machine?;
        let own = later.own? - self.own?;
        let server = later.server.zip(self.server).map_or(0.0, |(b, a)| b - a);
        (wall > 0.0).then(|| ((machine - own - server).max(0.0) / (wall * cores) * 100.0).min(100.0))
    }
}

/// `(peak RSS, current RSS)` of `pid` in MB (VmHWM and VmRSS).
pub fn memory_mb(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// The setup calls the scenarios make.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    /// A client for `base`.
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder().http1_only().build().unwrap_or_default();
        Self { http, base: base.to_owned() }
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("POST {path}: {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// Creates a platform and returns its API key.
    pub async fn platform(&self, admin_token: &str, name: &str) -> anyhow::Result<String> {
        let body = json!({"name": name, "url": "https://bench.example.com", "email": "bench@example.com"});
        let created = self.post("/v1/platforms", admin_token, body).await?;
        created["api_key"].as_str().map(str::to_owned).context("no api_key in the platform answer")
    }

    /// Creates webhooks for `urls` (up to 32 requests at a time), all subscribed to every event type.
    pub async fn webhooks(&self, key: &str, urls: Vec<String>) -> anyhow::Result<()> {
        let mut tasks = tokio::task::JoinSet::new();
        let mut urls = urls.into_iter();
        loop {
            while tasks.len() < 32 {
                let Some(url) = urls.next() else { break };
                let api = self.clone();
                let key = key.to_owned();
                tasks.spawn(async move { api.post("/v1/webhooks", &key, json!({"url": url, "events": ["*"]})).await });
            }
            match tasks.join_next().await {
                Some(done) => {
                    done??;
                }
                None => return Ok(()),
            }
        }
    }
}
