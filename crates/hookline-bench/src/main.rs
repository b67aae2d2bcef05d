//! The `hookline-bench` command line: `cargo run --release -p hookline-bench -- --runs 3 --scenario A,C`.

use anyhow::Context;
use clap::Parser;
use hookline_bench::BenchArgs;
use tracing_subscriber::EnvFilter;

/// The server's allocator (see `hookline`'s `main.rs`), so the load generator and receiver, and an
/// `--in-process` server, run as they did inside `hookline` and the figures stay comparable.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Benchmark the service: scenarios A, B, C, F, retry storm, fan-out, backlog (docs/performance.md).
#[derive(Parser)]
#[command(name = "hookline-bench", version)]
struct Cli {
    #[command(flatten)]
    args: BenchArgs,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_env("HOOKLINE_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("failed to start the runtime")?;
    runtime.block_on(hookline_bench::main(cli.args))
}
