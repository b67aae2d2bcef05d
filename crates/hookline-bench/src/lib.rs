//! `hookline-bench`: a reproducible benchmark of the whole service (see `docs/performance.md`).
//!
//! Three parts, all in this process except the server: the server under test (by default the `hookline` binary
//! run as `hookline serve --dev` in a child process, fresh for each scenario, so its CPU time and peak RSS are
//! measured alone), a fast hyper receiver on 127.0.0.1 with one path per webhook ([`receiver`]), and a load
//! generator with N concurrent keep-alive publishers ([`load`]). Publish→delivery latency comes from a send
//! timestamp the publisher puts in each event's `data`. Each scenario prints one table row and one JSON line
//! ([`report`]).
//!
//! [`run`] is the library entry point: the `hookline-bench` binary calls it, and so does the quick test that
//! keeps the benchmark from rotting (tiny counts, no thresholds; the figures come from full runs only).
//!
//! Why a crate of its own: the shipped `hookline` binary carries only the service, not this receiver and load
//! generator. This crate depends on `hookline` (the library half of the binary) only to run the server in
//! process (`--in-process`); nothing depends on this crate.

mod dashboard;
pub mod load;
pub mod receiver;
pub mod report;
mod scenarios;
pub mod server;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

pub use report::ScenarioResult;
pub use server::{ServerMode, ServerSettings};

/// Every scenario, in the order a full run takes them.
pub const ALL_SCENARIOS: &[&str] = &[
    "A",
    "A_10000",
    "B_200",
    "B_2000",
    "C",
    "F_350",
    "F_2000",
    "retry_storm",
    "fanout_1000",
    "backlog",
    "ceiling",
    "dashboard",
];

/// How the receiver is down during the backlog scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutageMode {
    /// Answer `503` with `Retry-After` pointing at the planned end of the outage, which comes after publishing
    /// at `--backlog-fill-rate` (the receiver comes back then even if publishing fell behind). Every delivery
    /// is attempted and refused during the fill, so the fill is limited by the attempt rate.
    Refuse,
    /// Accept and hold every request unanswered until publishing (as fast as possible) is done: the backlog
    /// piles up in the database, and the drain is the poller claiming it.
    Hang,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Scenario names from [`ALL_SCENARIOS`] (`B` and `F` stand for both of their rates).
    pub scenarios: Vec<String>,
    /// Tiny counts: finishes in seconds (CI).
    pub quick: bool,
    /// Multiplies every count and duration of a full run.
    pub scale: f64,
    /// Runs of each scenario; with more than one, a median line follows.
    pub runs: usize,
    /// Concurrent publishers.
    pub publishers: usize,
    /// Deliveries accumulated in the backlog scenario (default 1,000,000 × scale).
    pub backlog: Option<usize>,
    /// Events/s while filling the backlog in `refuse` mode (10 deliveries each).
    pub backlog_fill_rate: f64,
    /// How the receiver is down in the backlog scenario.
    pub outage: OutageMode,
    /// Where the server runs.
    pub mode: ServerMode,
    /// How a local server is started.
    pub settings: ServerSettings,
}

impl BenchOptions {
    /// Options for a quick run of every scenario against a child server started from `exe`.
    pub fn quick(exe: PathBuf) -> Self {
        Self {
            scenarios: ALL_SCENARIOS.iter().map(|s| (*s).to_owned()).collect(),
            quick: true,
            scale: 1.0,
            runs: 1,
            publishers: 32,
            backlog: None,
            backlog_fill_rate: 500.0,
            outage: OutageMode::Refuse,
            mode: ServerMode::Child { exe },
            settings: ServerSettings { synchronous: "full".into(), ..ServerSettings::default() },
        }
    }

    /// The database backend named in the results.
    pub fn backend(&self) -> &'static str {
        match &self.settings.database {
            Some(url) if url.starts_with("postgres") => "postgres",
            Some(url) if !url.starts_with("sqlite") => "other",
            _ => "sqlite",
        }
    }
}

/// Expands `B` and `F` and checks the names.
pub fn expand_scenarios(names: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for name in names.iter().flat_map(|n| n.split(',')).map(str::trim).filter(|n| !n.is_empty()) {
        let expanded: Vec<&str> = match name {
            "all" => ALL_SCENARIOS.to_vec(),
            "B" | "b" => vec!["B_200", "B_2000"],
            "F" | "f" => vec!["F_350", "F_2000"],
            "a" => vec!["A"],
            "c" => vec!["C"],
            other => match ALL_SCENARIOS.iter().find(|s| s.eq_ignore_ascii_case(other)) {
                Some(found) => vec![*found],
                None => bail!(
                    "unknown scenario {other:?}; choose from {} (B and F run both rates)",
                    ALL_SCENARIOS.join(", ")
                ),
            },
        };
        for scenario in expanded {
            if !out.iter().any(|s| s == scenario) {
                out.push(scenario.to_owned());
            }
        }
    }
    Ok(out)
}

/// Runs the chosen scenarios; calls `each` with every result as it comes (each run, then the median when
/// `runs > 1`) and returns them all.
pub async fn run(options: &BenchOptions, mut each: impl FnMut(&ScenarioResult)) -> anyhow::Result<Vec<ScenarioResult>> {
    let scenarios = expand_scenarios(&options.scenarios)?;
    let mut all = Vec::new();
    for name in &scenarios {
        let mut runs = Vec::new();
        for run in 1..=options.runs.max(1) {
            let mut result = scenarios::run(options, name).await?;
            result.run = serde_json::Value::from(run);
            each(&result);
            runs.push(result);
        }
        if runs.len() > 1
            && let Some(median) = report::median(&runs)
        {
            each(&median);
            runs.push(median);
        }
        all.extend(runs);
    }
    Ok(all)
}

/// Wall-clock time in ns since the Unix epoch (publisher and receiver run in this process, so they share it).
pub fn now_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// `hookline-bench` flags.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Scenarios, comma separated: A, A_10000, B (B_200 and B_2000), C, F (F_350 and F_2000), retry_storm,
    /// fanout_1000, backlog, ceiling (a bare HTTP loop to the receiver), dashboard (every dashboard page timed
    /// with 1,000,000 deliveries), or all.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    pub scenario: Vec<String>,
    /// Tiny counts: every scenario in seconds.
    #[arg(long)]
    pub quick: bool,
    /// Multiplies the full run's counts and durations (e.g. 0.1).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Runs of each scenario; with more than one, a median row follows.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Print only the JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Concurrent publishers.
    #[arg(long, default_value_t = 32)]
    pub publishers: usize,
    /// Deliveries accumulated in the backlog scenario [default: 1,000,000 × scale].
    #[arg(long)]
    pub backlog: Option<usize>,
    /// Events/s while filling the backlog (refuse mode; 10 webhooks each).
    #[arg(long, default_value_t = 500.0)]
    pub backlog_fill_rate: f64,
    /// How the receiver is down in the backlog scenario.
    #[arg(long, value_enum, default_value_t = OutageMode::Hang)]
    pub outage: OutageMode,
    /// Run the server inside this process instead of as a child (CPU and RSS then cover the whole bench).
    #[arg(long, conflicts_with = "server")]
    pub in_process: bool,
    /// The `hookline` binary to start as the server [default: the one beside this executable, where
    /// `cargo build --release -p hookline` puts it].
    #[arg(long, env = "HOOKLINE_BIN", conflicts_with_all = ["server", "in_process"])]
    pub server_bin: Option<PathBuf>,
    /// Benchmark a running server at this URL (must be --dev or allow loopback receivers).
    #[arg(long)]
    pub server: Option<String>,
    /// Admin token of the --server (creates the benchmark's platforms).
    #[arg(long, env = "HOOKLINE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Database URL passed to the server (default: a fresh SQLite file per scenario).
    #[arg(long = "database")]
    pub database: Option<String>,
    /// Where the scenarios' databases go [default: the system temp directory].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Keep the scenarios' data directories.
    #[arg(long)]
    pub keep_data: bool,
    /// `storage.sqlite_synchronous` of the server: full (fsync every commit) or normal.
    #[arg(long, default_value = "full")]
    pub synchronous: String,
}

impl BenchArgs {
    /// The options these flags describe.
    pub fn options(&self) -> anyhow::Result<BenchOptions> {
        let mode = match (&self.server, self.in_process) {
            (Some(url), _) => {
                let Some(admin_token) = self.admin_token.clone() else {
                    bail!("--server needs --admin-token (or HOOKLINE_ADMIN_TOKEN)");
                };
                ServerMode::Remote { url: url.clone(), admin_token }
            }
            (None, true) => ServerMode::InProcess,
            (None, false) => ServerMode::Child { exe: server_binary(self.server_bin.as_deref())? },
        };
        if self.scale.is_nan() || self.scale <= 0.0 {
            bail!("--scale must be positive");
        }
        Ok(BenchOptions {
            scenarios: self.scenario.clone(),
            quick: self.quick,
            scale: self.scale,
            runs: self.runs.max(1),
            publishers: self.publishers.max(1),
            backlog: self.backlog,
            backlog_fill_rate: self.backlog_fill_rate.max(1.0),
            outage: self.outage,
            mode,
            settings: ServerSettings {
                database: self.database.clone(),
                data_dir: self.data_dir.clone(),
                keep_data: self.keep_data,
                synchronous: self.synchronous.clone(),
            },
        })
    }
}

/// The `hookline` binary a child server runs: `explicit` if given, else `hookline` beside this executable
/// (cargo puts every binary of a profile in one directory). The benchmark measures that file as it is, so a
/// binary older than this one is reported: it may predate the code being measured.
pub fn server_binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        if !path.is_file() {
            bail!("--server-bin {}: no such file", path.display());
        }
        return Ok(path.to_owned());
    }
    let own = std::env::current_exe().context("failed to find this executable")?;
    let path = own.with_file_name(format!("hookline{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        bail!(
            "no hookline binary at {}: build it first (`cargo build --release -p hookline`) or pass --server-bin",
            path.display()
        );
    }
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(server), Some(bench)) = (modified(&path), modified(&own))
        && server < bench
    {
        eprintln!(
            "warning: {} is older than this benchmark; if the server changed since, rebuild it with `cargo build --release -p hookline`",
            path.display()
        );
    }
    Ok(path)
}

/// Runs `hookline-bench` with its flags: prints the table (unless `--json`) and the JSON lines.
pub async fn main(args: BenchArgs) -> anyhow::Result<()> {
    let options = args.options()?;
    let json_only = args.json;
    if !json_only {
        eprintln!(
            "hookline bench: server {} · {} · fsync {} · {} publishers{}",
            options.mode.name(),
            options.backend(),
            options.settings.synchronous,
            options.publishers,
            if options.quick { " · quick" } else { "" }
        );
        println!("{}", report::table_header());
    }
    let mut json_lines = Vec::new();
    run(&options, |result| {
        if json_only {
            println!("{}", result.json_line());
        } else {
            println!("{}", report::table_row(result));
            json_lines.push(result.json_line());
        }
    })
    .await?;
    if !json_only {
        println!();
        for line in json_lines {
            println!("{line}");
        }
    }
    Ok(())
}
