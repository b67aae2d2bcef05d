//! `hookline inboxes …`: hookline's own test bins. List, create, show and delete inboxes; list what one
//! captured, or follow its captures live (`requests --follow`), each with the signature verdict and its reason.

use hookline_client::{Client, InboxEvent, proto};

use super::connection::Global;
use super::exit::CliError;
use super::output;
use super::webhooks::{ListArgs, print_list};

/// `hookline inboxes`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// List live inboxes, newest first.
    List(ListArgs),
    /// Create an inbox: anything sent to its URL is captured and checked against your webhooks' secrets.
    Create {
        /// The status it answers with (default 200).
        #[arg(long)]
        status: Option<u16>,
        /// The body it answers with (default empty).
        #[arg(long)]
        body: Option<String>,
        /// That body's Content-Type.
        #[arg(long)]
        content_type: Option<String>,
        /// Wait this many milliseconds before answering (at most 30000).
        #[arg(long)]
        delay_ms: Option<u32>,
        /// How long it lives, e.g. 30m, 12h, 7d (default: the server's).
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// Show an inbox.
    Show { id: String },
    /// Delete an inbox with what it captured.
    Delete { id: String },
    /// List an inbox's captured requests, newest first, or follow them live with --follow.
    Requests {
        /// The inbox (inb_…).
        id: String,
        /// Print each request as it arrives, until Ctrl-C or the inbox ends (with --json: one line each).
        #[arg(long, conflicts_with = "all")]
        follow: bool,
        #[command(flatten)]
        list: ListArgs,
    },
}

pub async fn run(args: Args) -> Result<(), CliError> {
    let global = args.global;
    let client = global.client()?;
    match args.command {
        Command::List(list) => {
            let (limit, page_size) = list.pages();
            let inboxes = output::collect(client.inboxes_all(page_size), limit, "inboxes").await?;
            if global.json {
                return output::json(&inboxes);
            }
            let mut table = output::table(&["id", "url", "answers", "expires"]);
            for inbox in &inboxes {
                table.add_row(vec![inbox.id.clone(), inbox.url.clone(), answers(inbox), inbox.expires_at.clone()]);
            }
            print_list(table, inboxes.len(), "No inboxes: create one with `hookline inboxes create`.");
            Ok(())
        }
        Command::Create { status, body, content_type, delay_ms, expires_in } => {
            let any = status.is_some() || body.is_some() || content_type.is_some() || delay_ms.is_some();
            let response = any.then_some(proto::InboxResponseSpec { status, body, content_type, delay_ms });
            let inbox = client.create_inbox(&proto::CreateInbox { response, expires_in }).await?;
            show(&global, &inbox)
        }
        Command::Show { id } => show(&global, &client.inbox(&id).await?),
        Command::Delete { id } => {
            client.delete_inbox(&id).await?;
            if global.json {
                return output::json(&serde_json::json!({ "id": id, "deleted": true }));
            }
            println!("Deleted inbox {id}.");
            Ok(())
        }
        Command::Requests { id, follow: true, .. } => self::follow(&global, &client, &id).await,
        Command::Requests { id, list, .. } => {
            let options = hookline_client::ListOptions { limit: Some(list.limit.clamp(1, 1000)), after: None };
            let requests = client.inbox_requests(&id, &options).await?.data;
            if global.json {
                return output::json(&requests);
            }
            let mut table = output::table(&["id", "received", "request", "size", "verdict"]);
            for request in &requests {
                table.add_row(vec![
                    request.id.clone(),
                    request.received_at.clone(),
                    format!("{} {}", request.method, target(request)),
                    request.size.to_string(),
                    verdict(request),
                ]);
            }
            print_list(table, requests.len(), "Nothing captured yet: send something to the inbox's URL.");
            Ok(())
        }
    }
}

fn show(global: &Global, inbox: &proto::Inbox) -> Result<(), CliError> {
    if global.json {
        return output::json(inbox);
    }
    println!(
        "{}",
        output::record(&[
            ("id", inbox.id.clone()),
            ("url", inbox.url.clone()),
            ("answers", answers(inbox)),
            ("created", inbox.created_at.clone()),
            ("expires", inbox.expires_at.clone()),
        ])
    );
    Ok(())
}

fn answers(inbox: &proto::Inbox) -> String {
    let response = &inbox.response;
    let delay = if response.delay_ms > 0 { format!(" after {} ms", response.delay_ms) } else { String::new() };
    format!("{}{delay}", response.status)
}

fn target(request: &proto::CapturedRequest) -> String {
    if request.query.is_empty() { request.path.clone() } else { format!("{}?{}", request.path, request.query) }
}

/// The inspector's verdict in a few words, with its reason.
fn verdict(request: &proto::CapturedRequest) -> String {
    let word = match request.verified {
        Some(true) => "verified",
        Some(false) => "NOT verified",
        None => "unsigned",
    };
    match &request.verification {
        Some(note) => format!("{word}: {} ({})", note.message, note.code),
        None => word.to_owned(),
    }
}

/// Prints captures as they arrive, reconnecting after the server's time limit (resuming after the last one).
async fn follow(global: &Global, client: &Client, id: &str) -> Result<(), CliError> {
    let mut last: Option<String> = None;
    let mut first = true;
    loop {
        let mut stream = client.inbox_stream(id, last.as_deref()).await?;
        if std::mem::take(&mut first) {
            // On stderr, once the stream is open: from here on, every capture is printed.
            eprintln!("Following inbox {id}; press Ctrl-C to stop.");
        }
        loop {
            let event = tokio::select! {
                event = stream.next() => event?,
                _ = tokio::signal::ctrl_c() => return Ok(()),
            };
            match event {
                Some(InboxEvent::Request(request)) => {
                    last = stream.last_event_id().map(str::to_owned);
                    if global.json {
                        let line = serde_json::to_string(&request).map_err(|e| CliError::local(e.to_string()))?;
                        println!("{line}");
                    } else {
                        println!(
                            "{}  {} {}  {} bytes  {}",
                            request.received_at,
                            request.method,
                            target(&request),
                            request.size,
                            verdict(&request)
                        );
                    }
                }
                Some(InboxEvent::End(reason)) if reason.contains("stream_max") => break,
                Some(InboxEvent::End(reason)) => {
                    return Err(CliError::new(super::exit::code::NOT_FOUND, format!("the stream ended: {reason}")));
                }
                None => break,
            }
        }
    }
}
