//! `hookline events …`: list published events, show one with each webhook's delivery status.

use super::connection::Global;
use super::exit::CliError;
use super::output;
use super::webhooks::{ListArgs, print_list};

/// `hookline events`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// List events, newest first.
    List(ListArgs),
    /// Show an event: its data and its delivery to each webhook.
    Show { id: String },
}

pub async fn run(args: Args) -> Result<(), CliError> {
    let global = args.global;
    let client = global.client()?;
    match args.command {
        Command::List(list) => {
            let (limit, page_size) = list.pages();
            let events = output::collect(client.events_all(page_size), limit, "events").await?;
            if global.json {
                return output::json(&events);
            }
            let mut table = output::table(&["id", "type", "created", "data"]);
            for event in &events {
                let data: String = event.data.get().chars().take(60).collect();
                table.add_row(vec![event.id.clone(), event.event_type.clone(), event.created_at.clone(), data]);
            }
            print_list(table, events.len(), "No events yet: publish one with `hookline trigger user.created`.");
            Ok(())
        }
        Command::Show { id } => {
            let event = client.event(&id).await?;
            if global.json {
                return output::json(&event);
            }
            println!(
                "{}",
                output::record(&[
                    ("id", event.id.clone()),
                    ("type", event.event_type.clone()),
                    ("created", event.created_at.clone()),
                    ("data", event.data.get().to_owned()),
                ])
            );
            let deliveries = event.deliveries.unwrap_or_default();
            let mut table = output::table(&["delivery", "webhook", "url", "status", "attempts", "last error"]);
            for delivery in &deliveries {
                table.add_row(vec![
                    delivery.id.clone(),
                    delivery.webhook_id.clone(),
                    delivery.webhook_url.clone(),
                    delivery.status.clone(),
                    delivery.attempts.to_string(),
                    output::or_dash(delivery.last_error.as_ref()),
                ]);
            }
            print_list(
                table,
                deliveries.len(),
                "No webhook was subscribed to this event's type when it was published.",
            );
            Ok(())
        }
    }
}
