//! The `hookline` command line.

use std::path::PathBuf;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use hookline::config::{DEFAULT_CONFIG, Database, Overrides, RawConfig};
use hookline::{dev, serve};

/// mimalloc instead of glibc malloc: the delivery path allocates many small, short-lived buffers across
/// threads, and the profile showed glibc's malloc and free at 14 % of the server's CPU.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "hookline", version, about = "Self-hosted webhook delivery: durable, signed, retried.")]
#[command(after_help = hookline::cli::exit::EXIT_CODES_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API and the delivery workers in one process.
    Serve(ServeArgs),
    /// Print the default configuration file, with comments.
    ConfigDefault,
    /// Manage the key that encrypts webhook secrets at rest.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    #[command(flatten)]
    Client(hookline::cli::Command),
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Re-encrypt every stored webhook secret with the current key (secrets.key), so the keys in
    /// secrets.previous_keys can be removed. Safe while PostgreSQL nodes run; a SQLite server must be stopped
    /// (it also re-encrypts by itself at start).
    RotateKey {
        /// A TOML configuration file (see `hookline config-default`).
        #[arg(long = "config", env = "HOOKLINE_CONFIG")]
        config_file: Option<PathBuf>,
        /// Database URL [default: sqlite://hookline-data/hookline.db].
        #[arg(long = "database", env = "HOOKLINE_DATABASE_URL")]
        database_url: Option<String>,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "HOOKLINE_LISTEN")]
    listen: Option<String>,
    /// Database URL [default: sqlite://hookline-data/hookline.db].
    #[arg(long = "database", env = "HOOKLINE_DATABASE_URL")]
    database_url: Option<String>,
    /// Waits between attempts, e.g. 5s,5m,30m,2h,5h,10h,10h,10h.
    #[arg(long, env = "HOOKLINE_RETRY_SCHEDULE")]
    retry_schedule: Option<String>,
    /// SMTP server for failure emails: smtp://user:pass@host:port or smtps://… (unset: notices are logged).
    #[arg(long, env = "HOOKLINE_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// Sender of failure emails, e.g. "hookline <hooks@example.com>".
    #[arg(long, env = "HOOKLINE_SMTP_FROM")]
    smtp_from: Option<String>,
    /// A TOML configuration file (see `hookline config-default`).
    #[arg(long = "config", env = "HOOKLINE_CONFIG")]
    config_file: Option<PathBuf>,
    /// Development mode: http:// and private destinations allowed; prints a ready platform and API key.
    #[arg(long, env = "HOOKLINE_DEV", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    dev: Option<bool>,
    /// Log as JSON lines instead of text; every line of output is then JSON, the --dev banner included.
    #[arg(long, env = "HOOKLINE_LOG_JSON", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true", default_value = "false")]
    log_json: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        // The client commands print their own errors and exit with the documented code (see `cli::exit`).
        Command::Client(command) => std::process::exit(hookline::cli::run(command, Cli::command()).into()),
        Command::ConfigDefault => {
            print!("{DEFAULT_CONFIG}");
            Ok(())
        }
        Command::Secrets(SecretsCommand::RotateKey { config_file, database_url }) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("failed to start the runtime")?;
            runtime.block_on(rotate_key(Overrides { config_file, database_url, ..Overrides::default() }))
        }
        Command::Serve(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("failed to start the runtime")?;
            let log_json = args.log_json;
            let served = runtime.block_on(run_serve(args));
            if log_json && let Err(error) = &served {
                // A failure before the subscriber exists (a bad setting) is still one JSON line.
                eprintln!("{}", serde_json::json!({"level": "ERROR", "fields": {"message": format!("{error:#}")}}));
                std::process::exit(1);
            }
            served
        }
    }
}

/// A database URL fit to print: the password, if any, replaced.
fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(unparsable database URL)".to_owned(),
    }
}

async fn rotate_key(overrides: Overrides) -> anyhow::Result<()> {
    let config = RawConfig::load(&overrides)?.validate()?;
    if config.secrets.current.is_none() {
        anyhow::bail!("set secrets.key (HOOKLINE_SECRETS__KEY) or secrets.key_file to the new key first");
    }
    let store = serve::open_store(&config).await?;
    let count = hookline::secrets_key::reencrypt_all(&*store).await?;
    println!("re-encrypted the secrets of {count} webhooks; every secret is now sealed with the current key");
    Ok(())
}

async fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    let log_json = args.log_json;
    let overrides = Overrides {
        config_file: args.config_file,
        listen: args.listen,
        database_url: args.database_url,
        retry_schedule: args.retry_schedule,
        smtp_url: args.smtp_url,
        smtp_from: args.smtp_from,
        dev: args.dev.unwrap_or(false),
    };
    let mut config = RawConfig::load(&overrides)?.validate()?;
    let telemetry = hookline::telemetry::init(log_json, config.otlp_endpoint.as_deref())?;
    let store = serve::open_store(&config).await?;
    let mut banner = None;
    if config.dev {
        // The credentials file goes beside the SQLite file; with PostgreSQL, in ./hookline-data.
        let path = match &config.database {
            Database::Sqlite { path, .. } => path.clone(),
            Database::Postgres { .. } => {
                hookline::files::create_private_dir(std::path::Path::new("hookline-data"))
                    .context("failed to create hookline-data")?;
                PathBuf::from("hookline-data/postgres")
            }
        };
        let credentials = dev::bootstrap(&store, &path, config.admin_token.clone()).await?;
        config.api.admin_token = Some(credentials.admin_token.clone());
        banner = Some((credentials, path));
    } else if config.admin_token.is_none() {
        tracing::warn!("HOOKLINE_ADMIN_TOKEN is not set: POST /v1/platforms is disabled");
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("failed to listen on {}", config.listen))?;
    // Listen for SIGTERM before anything is printed: a caller may stop the server as soon as it sees output.
    let termination = serve::termination_signal();
    let server = serve::start(&config, listener, store.clone())?;
    tracing::info!(addr = %server.addr, dev = config.dev, "hookline listening");
    if let Some((credentials, path)) = banner {
        tracing::warn!("DEVELOPMENT MODE: http:// webhook URLs and private/loopback destinations are allowed");
        let database = match &config.database {
            Database::Sqlite { path, .. } => path.display().to_string(),
            Database::Postgres { url } => redact_password(url),
        };
        dev::announce(log_json, server.addr, &credentials, &database, &path);
        let dashboard = dev::dashboard_lines(&store, server.addr, &credentials).await?;
        if log_json {
            tracing::warn!(dashboard = %dashboard.trim(), "dashboard sign-in link (--dev)");
        } else {
            eprintln!("{dashboard}");
        }
    }
    let token = server.shutdown_token();
    tokio::spawn(async move {
        termination.await;
        tracing::info!("shutdown requested");
        token.cancel();
    });
    server.wait().await?;
    tracing::info!("hookline stopped");
    telemetry.shutdown().await;
    Ok(())
}
