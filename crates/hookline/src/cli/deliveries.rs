//! `hookline deliveries …`: list a webhook's deliveries, show one with its attempts, retry, recover.

use futures_util::TryStreamExt;
use hookline_client::{Client, proto};

use super::connection::Global;
use super::exit::CliError;
use super::output;
use super::webhooks::{ListArgs, print_list};

/// `hookline deliveries`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// List a webhook's deliveries, newest first.
    List {
        /// The webhook (wh_…).
        #[arg(long)]
        webhook: String,
        /// Only this status: pending, delivered, failed or held.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Show a delivery with every attempt.
    Show { id: String },
    /// Send deliveries again now: the ids given, or every one of a webhook with a status (a progress bar shows
    /// the way through).
    Retry {
        /// Delivery ids (dlv_…).
        #[arg(required_unless_present = "webhook", conflicts_with = "webhook")]
        ids: Vec<String>,
        /// Retry every delivery of this webhook that has `--status`.
        #[arg(long, requires = "status")]
        webhook: Option<String>,
        /// With --webhook: the status to retry, e.g. failed.
        #[arg(long)]
        status: Option<String>,
    },
    /// Re-send every failed delivery of a webhook created since a time (one request; the server does the work).
    Recover(RecoverArgs),
}

/// `recover`: which webhook and since when.
#[derive(clap::Args)]
pub struct RecoverArgs {
    /// The webhook (wh_…).
    #[arg(long = "webhook", alias = "id")]
    webhook: String,
    /// An RFC 3339 time (2026-11-28T00:00:00Z) or a duration ago (90m, 24h, 3d).
    #[arg(long)]
    since: String,
}

pub async fn run(args: Args) -> Result<(), CliError> {
    let global = args.global;
    let client = global.client()?;
    match args.command {
        Command::List { webhook, status, list } => {
            let (limit, page_size) = list.pages();
            let stream = client.deliveries_all(&webhook, status.as_deref(), page_size);
            let deliveries = output::collect(stream, limit, "deliveries").await?;
            show_list(&global, &deliveries, "No deliveries: publish an event with `hookline trigger TYPE`.")
        }
        Command::Show { id } => {
            let detail = client.delivery(&id).await?;
            if global.json {
                return output::json(&detail);
            }
            let delivery = &detail.delivery;
            println!(
                "{}",
                output::record(&[
                    ("id", delivery.id.clone()),
                    ("event", format!("{} ({})", delivery.event_id, delivery.event_type)),
                    ("webhook", format!("{} {}", delivery.webhook_id, delivery.webhook_url)),
                    ("status", delivery.status.clone()),
                    ("attempts", delivery.attempts.to_string()),
                    ("next attempt", output::or_dash(delivery.next_attempt_at.as_ref())),
                    ("created", delivery.created_at.clone()),
                ])
            );
            let mut table = output::table(&["#", "started", "ms", "result", "response"]);
            for attempt in &detail.attempt_log {
                let result = match (&attempt.status_code, &attempt.error_kind) {
                    (Some(code), _) if attempt.error_kind.is_none() => format!("HTTP {code}"),
                    (_, Some(kind)) => format!("{kind}: {}", attempt.error_message.as_deref().unwrap_or("")),
                    _ => "-".to_owned(),
                };
                let excerpt: String = attempt.response_excerpt.chars().take(60).collect();
                table.add_row(vec![
                    attempt.attempt.to_string(),
                    attempt.started_at.clone(),
                    attempt.duration_ms.to_string(),
                    result,
                    excerpt,
                ]);
            }
            print_list(table, detail.attempt_log.len(), "No attempts yet.");
            Ok(())
        }
        Command::Retry { ids, webhook, status } => {
            let ids = match webhook {
                Some(webhook) => {
                    client
                        .deliveries_all(&webhook, status.as_deref(), 500)
                        .map_ok(|delivery| delivery.id)
                        .try_collect::<Vec<_>>()
                        .await?
                }
                None => ids,
            };
            retry(&global, &client, ids).await
        }
        Command::Recover(recover) => self::recover(&global, &client, recover).await,
    }
}

/// Retries each delivery in turn with a progress bar; stops at the first failure, saying how far it got.
async fn retry(global: &Global, client: &Client, ids: Vec<String>) -> Result<(), CliError> {
    let bar = output::progress(Some(ids.len() as u64), "retrying");
    let mut retried = Vec::with_capacity(ids.len());
    for id in &ids {
        match client.retry_delivery(id).await {
            Ok(delivery) => retried.push(delivery),
            Err(error) => {
                bar.abandon();
                let error = CliError::from(error);
                let message =
                    format!("retrying {id} failed after {} of {}: {}", retried.len(), ids.len(), error.message);
                return Err(CliError { message, ..error });
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    show_list(global, &retried, "Nothing to retry.")
}

/// Prints deliveries as JSON or as a table (`empty` when there are none).
fn show_list(global: &Global, deliveries: &[proto::Delivery], empty: &str) -> Result<(), CliError> {
    if global.json {
        return output::json(deliveries);
    }
    let mut table = output::table(&["id", "event", "type", "status", "attempts", "next attempt", "last error"]);
    for delivery in deliveries {
        table.add_row(summary_row(delivery));
    }
    print_list(table, deliveries.len(), empty);
    Ok(())
}

/// `recover`: one request; the server makes every failed delivery since then due again.
pub async fn recover(global: &Global, client: &Client, args: RecoverArgs) -> Result<(), CliError> {
    let since = since(&args.since)?;
    let bar = output::progress(None, "recovering failed deliveries");
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    let recovered = client.recover_webhook(&args.webhook, &since).await;
    bar.finish_and_clear();
    let recovered = recovered?;
    if global.json {
        return output::json(&recovered);
    }
    println!("{} failed deliveries since {since} are being sent again.", recovered.deliveries);
    Ok(())
}

/// An RFC 3339 time as given, or a duration ago (`24h`) as an RFC 3339 time.
fn since(text: &str) -> Result<String, CliError> {
    if hookline_core::Timestamp::parse_rfc3339(text).is_some() {
        return Ok(text.to_owned());
    }
    let ago = hookline_core::time::parse_duration(text).ok_or_else(|| {
        CliError::usage(format!("--since {text:?} is neither an RFC 3339 time nor a duration"))
            .hint("e.g. --since 2026-11-28T00:00:00Z or --since 24h")
    })?;
    Ok(hookline_core::Timestamp::now().minus(ago).to_rfc3339())
}

fn summary_row(delivery: &proto::Delivery) -> Vec<String> {
    vec![
        delivery.id.clone(),
        delivery.event_id.clone(),
        delivery.event_type.clone(),
        delivery.status.clone(),
        delivery.attempts.to_string(),
        output::or_dash(delivery.next_attempt_at.as_ref()),
        output::or_dash(delivery.last_error.as_ref()),
    ]
}
