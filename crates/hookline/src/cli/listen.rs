//! `hookline listen --forward-to URL`: receive events on this machine, as `stripe listen` does, with no hosted
//! relay. It creates a listener (a temporary subscription) on the server, prints its signing secret, and reads
//! the listener's stream of deliveries over an outbound connection; each is POSTed to the local URL with the
//! exact headers and body a webhook receives (signed as a real delivery), printed with the local answer and
//! its time, and reported back, so it shows in the delivery's attempt log. A lost connection is retried with
//! backoff and resumes where it was: the server keeps every pending delivery. Ctrl-C deletes the listener.

use std::time::{Duration, Instant};

use hookline_client::{Client, ListenerEvent, proto};

use super::connection::Global;
use super::exit::CliError;

/// `hookline listen`.
#[derive(clap::Args)]
pub struct ListenArgs {
    #[command(flatten)]
    pub global: Global,
    /// The local URL each delivery is POSTed to, e.g. http://127.0.0.1:9000/hook.
    #[arg(long)]
    forward_to: String,
    /// Only these event types, comma-separated (default: every type).
    #[arg(long, value_delimiter = ',')]
    events: Vec<String>,
    /// How long the local URL has to answer, e.g. 10s.
    #[arg(long, default_value = "10s")]
    timeout: String,
}

/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The most of a local answer's body reported to the attempt log (the server keeps at most its own limit).
const EXCERPT: usize = 4096;

pub async fn run(args: ListenArgs) -> Result<(), CliError> {
    let global = args.global;
    let forward_to = url::Url::parse(&args.forward_to)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
        .ok_or_else(|| {
            CliError::usage(format!("--forward-to {:?} is not an http(s) URL", args.forward_to))
                .hint("e.g. --forward-to http://127.0.0.1:9000/hook")
        })?;
    let timeout = hookline_core::time::parse_duration(&args.timeout)
        .filter(|timeout| !timeout.is_zero())
        .ok_or_else(|| CliError::usage(format!("--timeout {:?} is not a duration", args.timeout)).hint("e.g. 10s"))?;
    // The user's own machine: loopback and plain http are the point. No redirects, as for a real delivery.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .build()
        .map_err(|error| CliError::local(format!("could not build the HTTP client: {error}")))?;
    let client = global.client()?;
    let events = if args.events.is_empty() { None } else { Some(args.events) };
    let listener =
        client.create_listener(&proto::CreateListener { forward_to: forward_to.to_string(), events }).await?;
    let secret = listener.secret.clone().unwrap_or_default();
    if global.json {
        let ready = serde_json::json!({
            "ready": true, "listener_id": listener.id, "secret": secret, "forward_to": listener.forward_to,
            "events": listener.events,
        });
        println!("{ready}");
    } else {
        println!("Ready! Your webhook signing secret is {secret}");
        println!(
            "Forwarding {} to {} (listener {}). Press Ctrl-C to stop.",
            listener.events.join(", "),
            listener.forward_to,
            listener.id
        );
    }
    let session =
        Session { client: client.clone(), http, forward_to, listener: listener.id.clone(), json: global.json };
    let outcome = tokio::select! {
        outcome = session.follow() => outcome,
        () = interrupted() => Ok(()),
    };
    // Whatever ended the session, the listener goes with it (an error leaves it to expire if this fails too).
    match client.delete_listener(&listener.id).await {
        Ok(()) => eprintln!("Listener {} deleted.", listener.id),
        Err(error) if error.status() == Some(404) => {}
        Err(error) => eprintln!("warning: could not delete listener {} ({error}); it expires by itself", listener.id),
    }
    outcome
}

/// Ctrl-C (SIGINT), or SIGTERM.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

struct Session {
    client: Client,
    http: reqwest::Client,
    forward_to: url::Url,
    listener: String,
    json: bool,
}

impl Session {
    /// Reads the stream, reconnecting with backoff when it drops, until the listener is gone.
    async fn follow(&self) -> Result<(), CliError> {
        let mut backoff = Duration::from_secs(1);
        let mut lost = false;
        loop {
            match self.client.listener_stream(&self.listener).await {
                Ok(mut stream) => {
                    if lost {
                        eprintln!("Reconnected; resuming.");
                        lost = false;
                    }
                    backoff = Duration::from_secs(1);
                    loop {
                        match stream.next().await {
                            Ok(Some(ListenerEvent::Delivery(delivery))) => self.spawn_forward(delivery),
                            Ok(Some(ListenerEvent::End(reason))) => {
                                if reason.contains("deleted") {
                                    return Err(CliError::new(
                                        super::exit::code::NOT_FOUND,
                                        "the listener was deleted",
                                    )
                                    .hint("run `hookline listen` again"));
                                }
                                // The server's time limit or its shutdown: reconnect at once (after a restart,
                                // the backoff below waits for it).
                                if !reason.contains("time limit") {
                                    eprintln!("The server ended the stream ({reason}); reconnecting…");
                                    lost = true;
                                }
                                break;
                            }
                            Ok(None) => {
                                eprintln!("The connection to the server was closed; reconnecting…");
                                lost = true;
                                break;
                            }
                            Err(error) => {
                                eprintln!("Lost the connection to the server ({error}); reconnecting…");
                                lost = true;
                                break;
                            }
                        }
                    }
                    if !lost {
                        continue;
                    }
                }
                Err(error) if matches!(error.status(), Some(401 | 403 | 404)) => return Err(error.into()),
                Err(error) => {
                    if !lost {
                        eprintln!("Lost the connection to the server ({error}); reconnecting…");
                    }
                    lost = true;
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Forwards one delivery in its own task (a slow local answer does not hold up the next delivery), prints
    /// it, and reports the answer.
    fn spawn_forward(&self, delivery: proto::ListenerDelivery) {
        let (client, http, url, listener, json) =
            (self.client.clone(), self.http.clone(), self.forward_to.clone(), self.listener.clone(), self.json);
        tokio::spawn(async move {
            let result = forward(&http, &url, &delivery).await;
            print_line(&delivery, &result, json);
            if let Err(error) = client.report_listener_result(&listener, &result).await {
                eprintln!(
                    "warning: could not report the answer for {} ({error}); the server sends it again later",
                    delivery.delivery_id
                );
            }
        });
    }
}

/// POSTs the delivery exactly as streamed and says what came back.
async fn forward(http: &reqwest::Client, url: &url::Url, delivery: &proto::ListenerDelivery) -> proto::ListenerResult {
    let mut request = http.post(url.clone()).body(delivery.body.clone());
    for [name, value] in &delivery.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let started = Instant::now();
    let mut result = proto::ListenerResult {
        delivery_id: delivery.delivery_id.clone(),
        attempt: delivery.attempt,
        ..Default::default()
    };
    match request.send().await {
        Ok(response) => {
            result.status = Some(response.status().as_u16());
            let body = response.bytes().await.unwrap_or_default();
            let cut = body.len().min(EXCERPT);
            result.response_excerpt = Some(String::from_utf8_lossy(&body[..cut]).into_owned());
        }
        Err(error) => {
            result.timed_out = error.is_timeout();
            let cause = std::error::Error::source(&error).map(|cause| format!(": {cause}")).unwrap_or_default();
            result.error = Some(if error.is_timeout() { "timed out".to_owned() } else { format!("{error}{cause}") });
        }
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    result
}

/// One line per delivery: time, event type, event id, the local answer and how long it took.
fn print_line(delivery: &proto::ListenerDelivery, result: &proto::ListenerResult, json: bool) {
    let time = hookline_core::Timestamp::now().to_rfc3339();
    if json {
        let line = serde_json::json!({
            "time": time,
            "delivery_id": delivery.delivery_id,
            "event_id": delivery.event_id,
            "event_type": delivery.event_type,
            "attempt": delivery.attempt,
            "status": result.status,
            "error": result.error,
            "duration_ms": result.duration_ms,
        });
        println!("{line}");
        return;
    }
    let answer = match (result.status, &result.error) {
        (Some(status), _) => format!("{status}"),
        (None, Some(error)) => format!("failed: {error}"),
        (None, None) => "-".to_owned(),
    };
    let retry = if delivery.attempt > 1 { format!(" (attempt {})", delivery.attempt) } else { String::new() };
    println!(
        "{time}  {:<20} {}{retry}  → {answer} in {} ms",
        delivery.event_type, delivery.event_id, result.duration_ms
    );
}
