//! hookline's failure notices: renders the failure email and sends it over SMTP in the background.
//!
//! The store decides *when* a notice is due (one per webhook per window, plus one per disable) inside the same
//! transaction that records the failure; this crate only renders and sends. Sending runs in its own task, so
//! a slow or dead SMTP server never delays a delivery. A failed send is retried with backoff and its outcome
//! is written back, where `GET /v1/notifications` shows it.
//!
//! Invariant: without an SMTP URL, notices are written to the log (status `logged`), never dropped silently.

mod render;
mod smtp;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hookline_core::Timestamp;
use hookline_core::notification::Notification;
use hookline_store::{NoticeQueue, NotificationResult};
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use crate::render::{Email, RenderSettings, render, spoken_duration};

/// The notifier's settings.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// `smtp://user:pass@host:port` (plain, or `?tls=required` for STARTTLS) or `smtps://…` (implicit TLS).
    /// `None`: notices are logged instead of mailed.
    pub smtp_url: Option<String>,
    /// The sender address.
    pub from: String,
    /// The product name in the subject: `<product> webhook delivery issues for <platform url>`.
    pub product_name: String,
    /// The base URL of hookline's own pages, for the link to the webhook's dashboard page.
    pub public_url: String,
    /// How often due notices are looked for.
    pub poll_interval: Duration,
    /// Waits between send attempts; after the last, the notice is marked failed.
    pub retry_schedule: Vec<Duration>,
    /// The longest a connection to the SMTP server may take to open.
    pub connect_timeout: Duration,
    /// The longest one SMTP command may wait for its answer (the greeting, EHLO, MAIL, RCPT, DATA, the end of
    /// the message): a server that stalls mid-conversation fails the send after this.
    pub command_timeout: Duration,
    /// The longest one whole send may take, from connecting to the server's last answer, however many
    /// commands each answer just in time.
    pub send_timeout: Duration,
    /// `failure.notify_window`, which the email states.
    pub notify_window: Duration,
    /// `failure.notify_after`, which the email states.
    pub notify_after: Duration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "hookline <hookline@localhost>".into(),
            product_name: "Tradly".into(),
            public_url: "http://127.0.0.1:8080".into(),
            poll_interval: Duration::from_secs(1),
            retry_schedule: [30, 120, 600, 1800, 7200].map(Duration::from_secs).to_vec(),
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(30),
            send_timeout: Duration::from_secs(60),
            notify_window: Duration::from_secs(3600),
            notify_after: Duration::from_secs(15 * 60),
        }
    }
}

/// Why the notifier could not start.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The SMTP URL does not parse (the reason never repeats the URL, which may hold a password).
    #[error("invalid SMTP URL: {0}")]
    SmtpUrl(String),
    /// The sender address does not parse.
    #[error("invalid sender address {0:?}")]
    From(String),
}

/// What the notifier counts, for `/metrics`: plain atomics, shared with whoever renders them.
#[derive(Debug, Default)]
pub struct NotifyMetrics {
    sent: AtomicU64,
    failed: AtomicU64,
    logged: AtomicU64,
}

impl NotifyMetrics {
    /// Appends the counters in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let counters = [
            ("hookline_notifications_sent_total", "Failure notices accepted by the SMTP server.", &self.sent),
            (
                "hookline_notifications_failed_total",
                "Failure notice sends that failed (each retry counts; a notice is given up after the last).",
                &self.failed,
            ),
            (
                "hookline_notifications_logged_total",
                "Failure notices logged (no SMTP server configured).",
                &self.logged,
            ),
        ];
        for (name, help, value) in counters {
            let value = value.load(Ordering::Relaxed);
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"));
        }
    }

    fn count(&self, result: &NotificationResult) {
        let counter = match result {
            NotificationResult::Sent { .. } => &self.sent,
            NotificationResult::Logged { .. } => &self.logged,
            NotificationResult::Failed { .. } => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

enum Mailer {
    Smtp(smtp::SmtpServer),
    Log,
}

/// The background sender.
pub struct Notifier {
    store: Arc<dyn NoticeQueue>,
    config: NotifyConfig,
    settings: RenderSettings,
    mailer: Mailer,
    from: Mailbox,
    metrics: Arc<NotifyMetrics>,
}

impl Notifier {
    /// Validates the settings and builds the SMTP transport (it connects lazily, per send).
    pub fn new(store: Arc<dyn NoticeQueue>, config: NotifyConfig) -> Result<Self, NotifyError> {
        let from: Mailbox = config.from.parse().map_err(|_| NotifyError::From(config.from.clone()))?;
        let mailer = match &config.smtp_url {
            Some(url) => Mailer::Smtp(smtp::SmtpServer::parse(url).map_err(NotifyError::SmtpUrl)?),
            None => Mailer::Log,
        };
        let settings = RenderSettings {
            product: config.product_name.clone(),
            public_url: config.public_url.clone(),
            notify_window: config.notify_window,
            notify_after: config.notify_after,
        };
        Ok(Self { store, config, settings, mailer, from, metrics: Arc::default() })
    }

    /// The notifier's counters, for `/metrics`.
    pub fn metrics(&self) -> Arc<NotifyMetrics> {
        Arc::clone(&self.metrics)
    }

    /// Sends due notices until shutdown. Shutdown does not wait for a send in progress: its notice stays
    /// leased, unsent, and is sent again (by any node) when the lease ends, so stopping never loses a notice.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut interval = tokio::time::interval(self.config.poll_interval);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = interval.tick() => {}
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                sent = self.send_due(Timestamp::now()) => {
                    if let Err(error) = sent {
                        tracing::error!(error = ?error, "claiming failure notices failed");
                    }
                }
            }
        }
    }

    /// Sends every notice due at `now`; returns how many were attempted.
    pub async fn send_due(&self, now: Timestamp) -> Result<usize, hookline_store::StoreError> {
        // The lease keeps another node from sending the same notice while this one is at it.
        let due = self.store.claim_notifications(now, now.plus(Duration::from_secs(120)), 20).await?;
        let count = due.len();
        for notification in due {
            let result = self.send(&notification).await;
            self.store.finish_notification(&notification.id, result, Timestamp::now()).await?;
        }
        Ok(count)
    }

    /// Sends one notice inside its span. The span is attached to the future (`instrument`), not entered:
    /// a guard held across an `.await` would stay entered on this thread while the task is suspended, and
    /// tag whatever else the thread runs meanwhile.
    async fn send(&self, notification: &Notification) -> NotificationResult {
        let span =
            tracing::info_span!("notice", notification_id = %notification.id, webhook_id = %notification.webhook_id);
        let result = self.send_in_span(notification).instrument(span).await;
        self.metrics.count(&result);
        result
    }

    async fn send_in_span(&self, notification: &Notification) -> NotificationResult {
        let email = render(notification, &self.settings);
        let server = match &self.mailer {
            Mailer::Log => {
                tracing::warn!(to = %notification.recipient, subject = %email.subject, body = %email.text,
                    "failure notice (no SMTP server configured; set --smtp-url to mail it)");
                return NotificationResult::Logged { subject: email.subject };
            }
            Mailer::Smtp(server) => server,
        };
        let timeouts = smtp::Timeouts { connect: self.config.connect_timeout, command: self.config.command_timeout };
        let outcome = match self.message(notification, &email) {
            Ok(message) => {
                let formatted = message.formatted();
                let sending = smtp::send(server, timeouts, message.envelope(), &formatted);
                match tokio::time::timeout(self.config.send_timeout, sending).await {
                    Ok(sent) => sent,
                    Err(_) => Err(format!(
                        "the SMTP server did not finish within {} s (notify.send_timeout)",
                        self.config.send_timeout.as_secs_f64()
                    )),
                }
            }
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) => {
                tracing::info!(to = %notification.recipient, "failure notice sent");
                NotificationResult::Sent { subject: email.subject }
            }
            Err(error) => {
                let wait = self.config.retry_schedule.get(notification.attempts as usize).copied();
                tracing::warn!(error = %error, attempt = notification.attempts + 1, retry_in = ?wait, "sending a failure notice failed");
                NotificationResult::Failed { error, retry_at: wait.map(|wait| Timestamp::now().plus(wait)) }
            }
        }
    }

    fn message(&self, notification: &Notification, email: &Email) -> Result<Message, String> {
        let to: Mailbox = notification
            .recipient
            .parse()
            .map_err(|e| format!("invalid recipient {:?}: {e}", notification.recipient))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
            .map_err(|e| e.to_string())
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
