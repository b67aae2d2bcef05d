//! `hookline webhooks …`: list, show, create, update, delete, secret, rotate-secret, test, recover.

use std::io::{BufRead, IsTerminal, Write};

use hookline_client::proto;

use super::connection::Global;
use super::exit::CliError;
use super::{deliveries, output, trigger};

/// `hookline webhooks`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// List webhooks, oldest first.
    List(ListArgs),
    /// Show one webhook.
    Show { id: String },
    /// Create a webhook; prints its signing secret (shown here and by `webhooks secret` only).
    Create {
        /// Where deliveries go (https://; http:// only on a --dev server).
        #[arg(long)]
        url: String,
        /// Event types, comma-separated, or `*` for all (operational types must be named).
        #[arg(long, value_delimiter = ',', default_value = "*")]
        events: Vec<String>,
        /// Free text.
        #[arg(long)]
        description: Option<String>,
        /// At most this many attempts in flight to it (1 to 256).
        #[arg(long)]
        concurrency: Option<u32>,
        /// At most this many deliveries started per second to it (1 to 10000); they wait their turn.
        #[arg(long)]
        rate_limit: Option<u32>,
    },
    /// Change a webhook; only the flags given change.
    Update {
        id: String,
        #[arg(long)]
        url: Option<String>,
        /// Event types, comma-separated, or `*`.
        #[arg(long, value_delimiter = ',')]
        events: Option<Vec<String>>,
        #[arg(long)]
        description: Option<String>,
        /// Enable it: held deliveries are sent, oldest first.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Disable it: new deliveries are held until it is enabled again.
        #[arg(long)]
        disable: bool,
        /// A new in-flight limit (1 to 256).
        #[arg(long, conflicts_with = "default_concurrency")]
        concurrency: Option<u32>,
        /// Go back to the server's default in-flight limit.
        #[arg(long)]
        default_concurrency: bool,
        /// A new rate limit (deliveries per second, 1 to 10000).
        #[arg(long, conflicts_with = "default_rate_limit")]
        rate_limit: Option<u32>,
        /// Go back to the server's default rate limit.
        #[arg(long)]
        default_rate_limit: bool,
    },
    /// Delete a webhook and its delivery history.
    Delete {
        id: String,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
    /// Print a webhook's signing secret.
    Secret { id: String },
    /// Make a new signing secret; the old one keeps signing webhook-signature for the overlap.
    RotateSecret { id: String },
    /// Send a signed test event to this webhook only.
    Test {
        id: String,
        /// The event type [default: the webhook's first].
        #[arg(long = "type")]
        event_type: Option<String>,
        /// The data: a JSON object, or @file.json.
        #[arg(long)]
        data: Option<String>,
    },
    /// Re-send every failed delivery of a webhook created since a time.
    Recover(deliveries::RecoverArgs),
}

/// `--limit`/`--all` of the list commands.
#[derive(clap::Args)]
pub struct ListArgs {
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Every one, page after page (with a progress count).
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,
}

impl ListArgs {
    /// The item limit and the page size to fetch with.
    pub fn pages(&self) -> (Option<usize>, usize) {
        if self.all { (None, 500) } else { (Some(self.limit), self.limit.clamp(1, 1000)) }
    }
}

pub async fn run(args: Args) -> Result<(), CliError> {
    let global = args.global;
    let client = global.client()?;
    match args.command {
        Command::List(list) => {
            let (limit, page_size) = list.pages();
            let webhooks = output::collect(client.webhooks_all(page_size), limit, "webhooks").await?;
            if global.json {
                return output::json(&webhooks);
            }
            let mut table = output::table(&["id", "url", "events", "enabled", "failing since"]);
            for webhook in &webhooks {
                table.add_row(vec![
                    webhook.id.clone(),
                    webhook.url.clone(),
                    webhook.events.join(","),
                    enabled(webhook),
                    output::or_dash(webhook.failing_since.as_ref()),
                ]);
            }
            print_list(table, webhooks.len(), "No webhooks yet: create one with `hookline webhooks create --url URL`.");
            Ok(())
        }
        Command::Show { id } => show(&global, &client.webhook(&id).await?),
        Command::Create { url, events, description, concurrency, rate_limit } => {
            let create = proto::CreateWebhook { url, events, description, concurrency, rate_limit };
            let webhook = client.create_webhook(&create).await?;
            show(&global, &webhook)?;
            if !global.json {
                eprintln!(
                    "Keep the secret: verify deliveries with it (`hookline webhooks secret {}` shows it again).",
                    webhook.id
                );
            }
            Ok(())
        }
        Command::Update {
            id,
            url,
            events,
            description,
            enable,
            disable,
            concurrency,
            default_concurrency,
            rate_limit,
            default_rate_limit,
        } => {
            let enabled = (enable || disable).then_some(enable);
            let concurrency = if default_concurrency { Some(None) } else { concurrency.map(Some) };
            let rate_limit = if default_rate_limit { Some(None) } else { rate_limit.map(Some) };
            let patch = proto::UpdateWebhook { url, events, description, enabled, concurrency, rate_limit };
            show(&global, &client.update_webhook(&id, &patch).await?)
        }
        Command::Delete { id, yes } => {
            if !yes && !confirm(&format!("Delete webhook {id} and its delivery history?"))? {
                return Err(CliError::local("not deleted"));
            }
            client.delete_webhook(&id).await?;
            if global.json {
                return output::json(&serde_json::json!({"deleted": id}));
            }
            println!("Deleted {id}.");
            Ok(())
        }
        Command::Secret { id } => secret(&global, &client.webhook_secret(&id).await?),
        Command::RotateSecret { id } => secret(&global, &client.rotate_secret(&id).await?),
        Command::Test { id, event_type, data } => {
            let data = data.as_deref().map(trigger::parse_data).transpose()?;
            let accepted = client.test_webhook(&id, &proto::TestWebhook { event_type, data }).await?;
            trigger::show_accepted(&global, &accepted)
        }
        Command::Recover(recover) => deliveries::recover(&global, &client, recover).await,
    }
}

/// Prints a list's table, or what to do when it is empty.
pub fn print_list(table: comfy_table::Table, count: usize, empty: &str) {
    if count == 0 {
        eprintln!("{empty}");
    } else {
        println!("{table}");
    }
}

fn enabled(webhook: &proto::Webhook) -> String {
    match (&webhook.enabled, &webhook.disabled_reason) {
        (true, _) => "yes".to_owned(),
        (false, Some(reason)) => format!("no: {reason}"),
        (false, None) => "no".to_owned(),
    }
}

fn show(global: &Global, webhook: &proto::Webhook) -> Result<(), CliError> {
    if global.json {
        return output::json(webhook);
    }
    let mut rows = vec![
        ("id", webhook.id.clone()),
        ("url", webhook.url.clone()),
        ("events", webhook.events.join(",")),
        ("enabled", enabled(webhook)),
        ("description", webhook.description.clone()),
        ("concurrency", output::or_dash(webhook.concurrency)),
        ("rate limit", output::or_dash(webhook.rate_limit.map(|n| format!("{n}/s")))),
        ("failing since", output::or_dash(webhook.failing_since.as_ref())),
        ("created", webhook.created_at.clone()),
        ("updated", webhook.updated_at.clone()),
    ];
    if let Some(secret) = &webhook.secret {
        rows.push(("secret", secret.clone()));
    }
    println!("{}", output::record(&rows));
    Ok(())
}

fn secret(global: &Global, secret: &proto::WebhookSecret) -> Result<(), CliError> {
    if global.json {
        return output::json(secret);
    }
    println!("{}", secret.secret);
    if let Some(until) = &secret.previous_secret_expires_at {
        eprintln!(
            "The previous secret keeps signing webhook-signature until {until}; X-Tradly-Signature uses this one now."
        );
    }
    Ok(())
}

/// Asks a yes/no question on a terminal; without one (a script), `--yes` is required.
fn confirm(question: &str) -> Result<bool, CliError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::usage("not deleted: there is no terminal to confirm on")
            .hint("pass --yes to delete without a question"));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    stdin.lock().read_line(&mut line).map_err(|error| CliError::local(error.to_string()))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}
