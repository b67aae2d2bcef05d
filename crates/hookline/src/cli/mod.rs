//! The client half of the `hookline` binary: commands that talk to a hookline server over `/v1` through
//! `hookline-client`, plus `verify` (offline) and `completions`.
//!
//! One module per command group. Every command returns `Result<(), CliError>`; [`run`] prints an error as what
//! went wrong and what to do (never a backtrace) and turns it into the documented exit code ([`exit`]).
//! Output is a table for people, or exactly one JSON document on stdout with `--json`.

mod api_keys;
mod connection;
mod deliveries;
mod events;
pub mod exit;
mod inboxes;
mod listen;
mod output;
mod profile;
mod trigger;
mod verify;
mod webhooks;

pub use self::connection::Global;
pub use self::exit::CliError;

/// The client commands, flattened into the binary's own subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Save a server URL and API key as a profile (owner-only file), after checking they work.
    Login(profile::LoginArgs),
    /// Forget a saved profile.
    Logout(profile::LogoutArgs),
    /// Publish a realistic sample event of a catalog type (or your own --data).
    Trigger(trigger::TriggerArgs),
    /// Check a delivery's signature offline: exit 0 when it verifies, 1 when not, with the reason.
    Verify(verify::VerifyArgs),
    /// Manage webhooks: list, show, create, update, delete, secret, rotate-secret, test, recover.
    Webhooks(webhooks::Args),
    /// Inspect published events: list, show (with each webhook's delivery status).
    Events(events::Args),
    /// Inspect and re-send deliveries: list, show (with attempts), retry, recover.
    Deliveries(deliveries::Args),
    /// Manage the platform's API keys: list, create (optionally read-only), revoke.
    ApiKeys(api_keys::Args),
    /// Receive events on this machine: stream a temporary subscription's deliveries and POST each to a local
    /// URL, signed as a real delivery (Ctrl-C deletes the subscription).
    Listen(listen::ListenArgs),
    /// Manage inboxes (hookline's test bins): list, create, show, delete, requests [--follow].
    Inboxes(inboxes::Args),
    /// Print a shell completion script, e.g. `hookline completions bash > /etc/bash_completion.d/hookline`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Runs a client command and gives its exit code; `app` is the whole command line (for completions).
pub fn run(command: Command, mut app: clap::Command) -> u8 {
    quiet_panics();
    if let Command::Completions { shell } = command {
        clap_complete::generate(shell, &mut app, "hookline", &mut std::io::stdout());
        return 0;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return CliError::local(format!("could not start the runtime: {error}")).report(false),
    };
    let json = command.json();
    let result = runtime.block_on(async move {
        match command {
            Command::Login(args) => profile::login(args).await,
            Command::Logout(args) => profile::logout(args),
            Command::Trigger(args) => trigger::run(args).await,
            Command::Verify(args) => verify::run(args),
            Command::Webhooks(args) => webhooks::run(args).await,
            Command::Events(args) => events::run(args).await,
            Command::Deliveries(args) => deliveries::run(args).await,
            Command::ApiKeys(args) => api_keys::run(args).await,
            Command::Listen(args) => listen::run(args).await,
            Command::Inboxes(args) => inboxes::run(args).await,
            Command::Completions { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => 0,
        Err(error) => error.report(json),
    }
}

impl Command {
    /// Whether the command was asked for JSON output (errors then print as JSON too).
    fn json(&self) -> bool {
        match self {
            Command::Login(args) => args.global.json,
            Command::Logout(_) | Command::Completions { .. } => false,
            Command::Trigger(args) => args.global.json,
            Command::Verify(args) => args.json,
            Command::Webhooks(args) => args.global.json,
            Command::Events(args) => args.global.json,
            Command::Deliveries(args) => args.global.json,
            Command::ApiKeys(args) => args.global.json,
            Command::Listen(args) => args.global.json,
            Command::Inboxes(args) => args.global.json,
        }
    }
}

/// No stack traces for people: output piped into `head` that closes early ends the command quietly (as `ls`
/// does), and a bug prints one line asking for a report.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("unknown");
        if message.contains("Broken pipe") {
            std::process::exit(0);
        }
        eprintln!("error: hookline failed unexpectedly: {message}");
        eprintln!("hint: this is a bug; please report it with the command you ran");
        std::process::exit(i32::from(exit::code::NEGATIVE));
    }));
}
