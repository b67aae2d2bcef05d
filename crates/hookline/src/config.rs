//! Configuration: the embedded defaults, a TOML file, `HOOKLINE_*__*` variables and flags, validated once into
//! the typed settings each component takes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use hookline_core::inbox::InboxBase;
use hookline_core::retry::{RetryPolicy, parse_schedule};
use hookline_core::time::parse_duration;
use hookline_core::webhook::UrlPolicy;
use hookline_delivery::DeliveryConfig;
use serde::{Deserialize, Serialize};

/// The embedded, commented defaults.
pub const DEFAULT_CONFIG: &str = include_str!("../config.default.toml");

/// The configuration file's shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Development mode.
    #[serde(default)]
    pub dev: bool,
    /// Admin token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
    /// `[http]`.
    pub http: RawHttp,
    /// `[storage]`.
    pub storage: RawStorage,
    /// `[delivery]`.
    pub delivery: RawDelivery,
    /// `[webhooks]`.
    pub webhooks: RawWebhooks,
    /// `[failure]`.
    pub failure: RawFailure,
    /// `[notify]`.
    pub notify: RawNotify,
    /// `[inbox]`.
    #[serde(default)]
    pub inbox: RawInbox,
    /// `[limits]`.
    pub limits: RawLimits,
    /// `[retention]`.
    #[serde(default)]
    pub retention: RawRetention,
    /// `[ui]`.
    #[serde(default)]
    pub ui: RawUi,
    /// `[telemetry]`.
    #[serde(default)]
    pub telemetry: RawTelemetry,
    /// `[secrets]`.
    #[serde(default)]
    pub secrets: RawSecrets,
}

/// `[secrets]`: the key that encrypts webhook secrets at rest.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecrets {
    /// 32 bytes, base64 or hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// A file holding the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// Keys being rotated out: they open what they sealed, never seal.
    #[serde(default)]
    pub previous_keys: Vec<String>,
}

impl std::fmt::Debug for RawSecrets {
    // Keys are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSecrets").field("key_file", &self.key_file).finish_non_exhaustive()
    }
}

/// `[inbox]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInbox {
    pub max_body_bytes: usize,
    pub expire_after: String,
    pub max_expire_after: String,
    pub max_requests: usize,
    pub capture_rate: u32,
    pub capture_burst: u32,
    pub prune_interval: String,
    pub stream_poll: String,
    pub stream_max: String,
}

/// `[limits]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub max_event_bytes: usize,
    pub publish_rate: u32,
    pub publish_burst: u32,
    #[serde(default = "default_max_webhooks")]
    pub max_webhooks: u64,
}

fn default_max_webhooks() -> u64 {
    100
}

/// `[retention]`: how long events, attempts and captured requests are kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetention {
    /// Older rows are deleted; "0" or "": kept for ever.
    #[serde(default)]
    pub max_age: String,
    #[serde(default)]
    pub batch_size: usize,
    #[serde(default)]
    pub pause: String,
    #[serde(default)]
    pub interval: String,
}

/// `[ui]`: the dashboard.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUi {
    /// How long a dashboard sign-in lasts (default 12h).
    #[serde(default)]
    pub session_ttl: String,
    /// Origins allowed to frame the dashboard; empty: no one.
    #[serde(default)]
    pub frame_ancestors: Vec<String>,
}

/// Checks one `frame-ancestors` source: `'self'` or an http(s) origin, with nothing that could end the CSP
/// directive or start another.
fn frame_ancestor(source: &str) -> anyhow::Result<String> {
    let source = source.trim();
    let origin_like = (source.starts_with("https://") || source.starts_with("http://"))
        && !source.chars().any(|c| c.is_whitespace() || matches!(c, ';' | ',' | '\'' | '"'));
    if source == "'self'" || origin_like {
        Ok(source.to_owned())
    } else {
        bail!("ui.frame_ancestors: {source:?} must be 'self' or an origin such as https://admin.example.com")
    }
}

/// `[telemetry]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelemetry {
    /// The OTLP/HTTP collector's base URL (traces go to `<url>/v1/traces`); unset: no export. Needs a build
    /// with the `otel` feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_endpoint: Option<String>,
}

/// `[failure]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFailure {
    pub disable_after: String,
    pub notify_window: String,
    pub notify_after: String,
}

/// `[notify]`.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_url: Option<String>,
    pub smtp_from: String,
    pub product_name: String,
    pub poll_interval: String,
    pub retry_schedule: String,
    pub connect_timeout: String,
    pub command_timeout: String,
    pub send_timeout: String,
}

impl std::fmt::Debug for RawNotify {
    // The SMTP URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawNotify")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "[redacted]"))
            .field("smtp_from", &self.smtp_from)
            .field("product_name", &self.product_name)
            .finish_non_exhaustive()
    }
}

/// `[http]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub listen: String,
    pub max_body_bytes: usize,
    pub header_read_timeout: String,
    pub request_timeout: String,
    pub body_timeout: String,
    pub max_connections: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

/// `[storage]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStorage {
    pub database_url: String,
    pub sqlite_synchronous: String,
    /// How long a SQLite write waits for a lock held by another process (default 10s).
    #[serde(default)]
    pub sqlite_busy_timeout: String,
}

/// `[delivery]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDelivery {
    pub retry_schedule: String,
    pub retry_after_cap: String,
    pub timeout: String,
    pub max_in_flight: usize,
    pub per_webhook_concurrency: usize,
    pub max_queued: usize,
    pub per_webhook_queue: usize,
    /// Attempts started per second to one webhook unless it sets its own; 0: no limit.
    #[serde(default)]
    pub per_webhook_rate_limit: u32,
    pub lease: String,
    pub poll_interval: String,
    pub max_response_bytes: usize,
    pub allow_private_destinations: bool,
    pub shutdown_grace: String,
    /// 0: one per CPU.
    pub worker_threads: usize,
}

/// `[webhooks]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhooks {
    pub secret_rotation_overlap: String,
}

/// Values given as flags (or their environment variables); each overrides the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub retry_schedule: Option<String>,
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    pub dev: bool,
}

/// Where the data lives.
#[derive(Clone)]
pub enum Database {
    /// A SQLite file.
    Sqlite { path: PathBuf, synchronous: hookline_store_sqlite::Synchronous, busy_timeout: Duration },
    /// A PostgreSQL database, shared by any number of hookline processes: `postgres://user:password@host:port/db`
    /// (`?pool_size=N` sets the connections per process).
    Postgres { url: String },
}

impl std::fmt::Debug for Database {
    // A PostgreSQL URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite { path, synchronous, .. } => {
                f.debug_struct("Sqlite").field("path", path).field("synchronous", synchronous).finish()
            }
            Self::Postgres { url } => {
                let described =
                    hookline_store_postgres::PgOptions::parse(url).map(|o| o.describe()).unwrap_or_default();
                f.debug_struct("Postgres").field("url", &described).finish()
            }
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub dev: bool,
    pub admin_token: Option<String>,
    pub listen: SocketAddr,
    pub database: Database,
    pub delivery: DeliveryConfig,
    /// Worker threads of the delivery runtime.
    pub delivery_threads: usize,
    pub api: hookline_api::ApiConfig,
    /// Connection limits of the HTTP listener.
    pub listener: crate::listener::ListenerLimits,
    /// Per-request time limits.
    pub request_limits: hookline_api::limits::RequestLimits,
    pub notify: hookline_notify::NotifyConfig,
    /// `http.public_url` as configured; without one, inbox URLs use the address actually bound (see `serve`).
    pub public_url: Option<InboxBase>,
    /// How often expired inboxes are deleted.
    pub inbox_prune_interval: Duration,
    /// What retention deletes, and how.
    pub retention: crate::retention::Retention,
    /// Where spans are exported over OTLP/HTTP (`[telemetry] otlp_endpoint`), if anywhere.
    pub otlp_endpoint: Option<String>,
    /// The secrets keys as configured (see `secrets_key`).
    pub secrets: crate::secrets_key::SecretKeys,
}

impl RawConfig {
    /// Loads the layers: defaults, file, `HOOKLINE_SECTION__KEY` variables, then the overrides.
    pub fn load(overrides: &Overrides) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Toml::string(DEFAULT_CONFIG));
        if let Some(path) = &overrides.config_file {
            if !path.exists() {
                bail!("config file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("HOOKLINE_").filter(|key| key.as_str().contains("__")).split("__"));
        let mut raw: RawConfig = figment.extract().context("invalid configuration")?;
        if let Ok(token) = std::env::var("HOOKLINE_ADMIN_TOKEN")
            && !token.is_empty()
        {
            raw.admin_token = Some(token);
        }
        if let Some(listen) = &overrides.listen {
            raw.http.listen = listen.clone();
        }
        if let Some(url) = &overrides.database_url {
            raw.storage.database_url = url.clone();
        }
        if let Some(schedule) = &overrides.retry_schedule {
            raw.delivery.retry_schedule = schedule.clone();
        }
        if let Some(url) = overrides.smtp_url.as_ref().filter(|u| !u.is_empty()) {
            raw.notify.smtp_url = Some(url.clone());
        }
        if let Some(from) = &overrides.smtp_from {
            raw.notify.smtp_from = from.clone();
        }
        raw.dev |= overrides.dev;
        Ok(raw)
    }

    /// Validates every value and converts it to the typed settings.
    pub fn validate(self) -> anyhow::Result<Config> {
        let duration = |name: &str, text: &str| -> anyhow::Result<Duration> {
            parse_duration(text).with_context(|| format!("{name} = {text:?} is not a duration like 5s, 5m or 2h"))
        };
        let listen: SocketAddr = self
            .http
            .listen
            .parse()
            .with_context(|| format!("listen = {:?} is not an address like 127.0.0.1:8080", self.http.listen))?;
        let database = parse_database(&self.storage)?;
        let schedule = parse_schedule(&self.delivery.retry_schedule).with_context(|| {
            format!("retry_schedule = {:?} is not a list like 5s,5m,30m", self.delivery.retry_schedule)
        })?;
        let d = &self.delivery;
        let timeout = duration("delivery.timeout", &d.timeout)?;
        let lease = duration("delivery.lease", &d.lease)?;
        if lease <= timeout {
            bail!("delivery.lease ({}) must be longer than delivery.timeout ({})", d.lease, d.timeout);
        }
        let delivery = DeliveryConfig {
            timeout,
            retry: RetryPolicy { schedule, retry_after_cap: duration("delivery.retry_after_cap", &d.retry_after_cap)? },
            max_in_flight: d.max_in_flight.max(1),
            per_webhook_concurrency: d.per_webhook_concurrency.max(1),
            max_queued: d.max_queued.max(1),
            per_webhook_queue: d.per_webhook_queue.max(1),
            per_webhook_rate_limit: (d.per_webhook_rate_limit > 0).then_some(d.per_webhook_rate_limit),
            failure: hookline_core::delivery::FailurePolicy {
                disable_after: duration("failure.disable_after", &self.failure.disable_after)?,
                notify_window: duration("failure.notify_window", &self.failure.notify_window)?,
                notify_after: duration("failure.notify_after", &self.failure.notify_after)?,
            },
            lease,
            poll_interval: duration("delivery.poll_interval", &d.poll_interval)?.max(Duration::from_millis(10)),
            max_response_bytes: d.max_response_bytes,
            allow_private_destinations: d.allow_private_destinations || self.dev,
            shutdown_grace: duration("delivery.shutdown_grace", &d.shutdown_grace)?,
            // Known once the listener is bound: `serve::start` sets it.
            own_inboxes: None,
        };
        let public_url = self
            .http
            .public_url
            .as_deref()
            .map(|url| InboxBase::parse(url).map_err(|e| anyhow::anyhow!("{e}")))
            .transpose()?;
        let i = &self.inbox;
        let inbox = hookline_api::InboxConfig {
            base: match &public_url {
                Some(base) => base.clone(),
                None => InboxBase::parse(&format!("http://{listen}")).map_err(|e| anyhow::anyhow!("{e}"))?,
            },
            max_body_bytes: i.max_body_bytes,
            expire_after: duration("inbox.expire_after", &i.expire_after)?,
            max_expire_after: duration("inbox.max_expire_after", &i.max_expire_after)?,
            max_requests: i.max_requests.max(1),
            capture_rate: i.capture_rate.max(1),
            capture_burst: i.capture_burst.max(1),
            stream_poll: duration("inbox.stream_poll", &i.stream_poll)?.max(Duration::from_millis(10)),
            stream_max: duration("inbox.stream_max", &i.stream_max)?.max(Duration::from_millis(10)),
        };
        if inbox.expire_after > inbox.max_expire_after {
            bail!(
                "inbox.expire_after ({}) must not exceed inbox.max_expire_after ({})",
                i.expire_after,
                i.max_expire_after
            );
        }
        let inbox_prune_interval = duration("inbox.prune_interval", &i.prune_interval)?.max(Duration::from_millis(10));
        let api = hookline_api::ApiConfig {
            admin_token: self.admin_token.clone(),
            url_policy: UrlPolicy { allow_http: self.dev, allow_private: self.dev || d.allow_private_destinations },
            secret_overlap: duration("webhooks.secret_rotation_overlap", &self.webhooks.secret_rotation_overlap)?,
            max_body_bytes: self.http.max_body_bytes.max(1024),
            inbox,
            shutdown: tokio_util::sync::CancellationToken::new(),
            publish_quota: hookline_api::quota::PublishQuota {
                max_event_bytes: self.limits.max_event_bytes,
                events_per_second: (self.limits.publish_rate > 0).then_some(f64::from(self.limits.publish_rate)),
                burst: self.limits.publish_burst,
            },
            max_webhooks: self.limits.max_webhooks.max(1),
            ui: hookline_api::UiConfig {
                session_ttl: match self.ui.session_ttl.trim() {
                    "" => Duration::from_secs(12 * 3600),
                    text => duration("ui.session_ttl", text)?,
                },
                frame_ancestors: self
                    .ui
                    .frame_ancestors
                    .iter()
                    .map(|s| frame_ancestor(s))
                    .collect::<anyhow::Result<_>>()?,
                // --dev serves plain HTTP on loopback, where a Secure cookie would never be sent back.
                secure_cookies: !self.dev,
                public_url: self
                    .http
                    .public_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{}", self.http.listen))
                    .trim_end_matches('/')
                    .to_owned(),
            },
            // The notifier's counters are added by `serve`, which starts it.
            extra_metrics: hookline_api::ExtraMetrics::default(),
        };
        let n = &self.notify;
        if let Some(url) = &n.smtp_url
            && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
        {
            bail!("notify.smtp_url must start with smtp:// or smtps://");
        }
        let notify = hookline_notify::NotifyConfig {
            smtp_url: n.smtp_url.clone(),
            from: n.smtp_from.clone(),
            product_name: n.product_name.clone(),
            public_url: self.http.public_url.clone().unwrap_or_else(|| format!("http://{listen}")),
            poll_interval: duration("notify.poll_interval", &n.poll_interval)?.max(Duration::from_millis(10)),
            retry_schedule: parse_schedule(&n.retry_schedule)
                .with_context(|| format!("notify.retry_schedule = {:?} is not a list like 30s,2m", n.retry_schedule))?,
            connect_timeout: duration("notify.connect_timeout", &n.connect_timeout)?,
            command_timeout: duration("notify.command_timeout", &n.command_timeout)?,
            send_timeout: duration("notify.send_timeout", &n.send_timeout)?,
            notify_window: duration("failure.notify_window", &self.failure.notify_window)?,
            notify_after: duration("failure.notify_after", &self.failure.notify_after)?,
        };
        let delivery_threads = match d.worker_threads {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            n => n,
        };
        let h = &self.http;
        let listener = crate::listener::ListenerLimits {
            header_read_timeout: duration("http.header_read_timeout", &h.header_read_timeout)?,
            max_connections: h.max_connections.max(1),
            shutdown_grace: delivery.shutdown_grace,
        };
        let request_limits = hookline_api::limits::RequestLimits {
            request_timeout: duration("http.request_timeout", &h.request_timeout)?,
            body_timeout: duration("http.body_timeout", &h.body_timeout)?,
        };
        let secrets = crate::secrets_key::SecretKeys::parse(
            self.secrets.key.as_deref(),
            self.secrets.key_file.as_deref(),
            &self.secrets.previous_keys,
        )?;
        Ok(Config {
            secrets,
            listener,
            request_limits,
            dev: self.dev,
            admin_token: self.admin_token,
            listen,
            database,
            delivery,
            delivery_threads,
            api,
            notify,
            public_url,
            inbox_prune_interval,
            retention: parse_retention(&self.retention)?,
            otlp_endpoint: self.telemetry.otlp_endpoint.filter(|url| !url.trim().is_empty()),
        })
    }
}

fn parse_retention(raw: &RawRetention) -> anyhow::Result<crate::retention::Retention> {
    let duration = |name: &str, text: &str, default: Duration| -> anyhow::Result<Duration> {
        match text.trim() {
            "" => Ok(default),
            text => parse_duration(text).with_context(|| format!("retention.{name} = {text:?} is not a duration")),
        }
    };
    let max_age = match raw.max_age.trim() {
        "0" | "off" => None,
        text => Some(duration("max_age", text, Duration::from_secs(30 * 24 * 3600))?),
    };
    Ok(crate::retention::Retention {
        max_age,
        batch_size: if raw.batch_size == 0 { 1000 } else { raw.batch_size },
        pause: duration("pause", &raw.pause, Duration::from_millis(200))?,
        interval: duration("interval", &raw.interval, Duration::from_secs(600))?.max(Duration::from_millis(10)),
    })
}

fn parse_database(storage: &RawStorage) -> anyhow::Result<Database> {
    let url = storage.database_url.trim();
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() {
            bail!("database_url {url:?} names no file");
        }
        let synchronous = match storage.sqlite_synchronous.as_str() {
            "full" => hookline_store_sqlite::Synchronous::Full,
            "normal" => hookline_store_sqlite::Synchronous::Normal,
            other => bail!("sqlite_synchronous = {other:?}: use full or normal"),
        };
        let busy_timeout = match storage.sqlite_busy_timeout.trim() {
            "" => hookline_store_sqlite::DEFAULT_BUSY_TIMEOUT,
            text => {
                parse_duration(text).with_context(|| format!("sqlite_busy_timeout = {text:?} is not a duration"))?
            }
        };
        return Ok(Database::Sqlite { path: PathBuf::from(path), synchronous, busy_timeout });
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        // Checked now, so a bad URL is a configuration error at start, not a connection error later.
        hookline_store_postgres::PgOptions::parse(url)
            .map_err(|e| anyhow::anyhow!("database_url: {:#}", anyhow::Error::new(e)))?;
        return Ok(Database::Postgres { url: url.to_owned() });
    }
    bail!("database_url: use sqlite://PATH or postgres://USER@HOST:PORT/DATABASE")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_overrides_apply() {
        let overrides = Overrides {
            listen: Some("127.0.0.1:0".into()),
            database_url: Some("sqlite:///tmp/x.db".into()),
            retry_schedule: Some("1s,2s".into()),
            ..Overrides::default()
        };
        let config = RawConfig::load(&overrides).unwrap().validate().unwrap();
        assert_eq!(config.listen.port(), 0);
        assert_eq!(config.delivery.retry.schedule, [Duration::from_secs(1), Duration::from_secs(2)]);
        assert_eq!(config.delivery.timeout, Duration::from_secs(15));
        assert!(!config.api.url_policy.allow_http);
        assert!(matches!(config.database, Database::Sqlite { ref path, .. } if path == &PathBuf::from("/tmp/x.db")));
    }

    #[test]
    fn bad_values_are_named() {
        let mut raw = RawConfig::load(&Overrides::default()).unwrap();
        raw.delivery.timeout = "soon".into();
        let error = format!("{:#}", raw.validate().unwrap_err());
        assert!(error.contains("delivery.timeout"), "{error}");
        let mut raw = RawConfig::load(&Overrides::default()).unwrap();
        raw.storage.database_url = "mysql://x".into();
        assert!(raw.validate().is_err());
    }

    #[test]
    fn inbox_settings_validate_and_default_to_the_listen_address() {
        let overrides = Overrides { listen: Some("127.0.0.1:9090".into()), ..Overrides::default() };
        let config = RawConfig::load(&overrides).unwrap().validate().unwrap();
        assert_eq!(config.api.inbox.base.as_str(), "http://127.0.0.1:9090");
        assert_eq!(config.api.inbox.max_requests, 500);
        assert_eq!(config.api.inbox.expire_after, Duration::from_secs(7 * 24 * 3600));
        assert!(config.public_url.is_none());

        let mut raw = RawConfig::load(&Overrides::default()).unwrap();
        raw.http.public_url = Some("https://hooks.example.com/base/".into());
        let config = raw.validate().unwrap();
        assert_eq!(config.api.inbox.base.as_str(), "https://hooks.example.com/base");

        for (adjust, named) in [
            ((|raw: &mut RawConfig| raw.http.public_url = Some("ftp://x".into())) as fn(&mut RawConfig), "public_url"),
            (|raw: &mut RawConfig| raw.inbox.expire_after = "40d".into(), "inbox.expire_after"),
            (|raw: &mut RawConfig| raw.inbox.stream_poll = "often".into(), "inbox.stream_poll"),
        ] {
            let mut raw = RawConfig::load(&Overrides::default()).unwrap();
            adjust(&mut raw);
            let error = format!("{:#}", raw.validate().unwrap_err());
            assert!(error.contains(named), "{error}");
        }
    }

    #[test]
    fn ui_settings_default_safely_and_bad_frame_ancestors_are_refused() {
        let config = RawConfig::load(&Overrides::default()).unwrap().validate().unwrap();
        assert_eq!(config.api.ui.session_ttl, Duration::from_secs(12 * 3600));
        assert!(config.api.ui.frame_ancestors.is_empty(), "by default the dashboard cannot be framed");
        assert!(config.api.ui.secure_cookies, "cookies are Secure outside --dev");
        let mut raw = RawConfig::load(&Overrides::default()).unwrap();
        raw.ui.frame_ancestors = vec!["https://admin.example.com".into(), "'self'".into()];
        raw.ui.session_ttl = "30m".into();
        let config = raw.validate().unwrap();
        assert_eq!(config.api.ui.frame_ancestors, ["https://admin.example.com", "'self'"]);
        assert_eq!(config.api.ui.session_ttl, Duration::from_secs(1800));
        for bad in ["*", "https://a.example; script-src *", "'unsafe-inline'", "admin.example.com"] {
            let mut raw = RawConfig::load(&Overrides::default()).unwrap();
            raw.ui.frame_ancestors = vec![bad.into()];
            let error = format!("{:#}", raw.validate().unwrap_err());
            assert!(error.contains("ui.frame_ancestors"), "{bad}: {error}");
        }
    }

    #[test]
    fn postgres_urls_are_accepted_and_their_passwords_never_printed() {
        let mut raw = RawConfig::load(&Overrides::default()).unwrap();
        raw.storage.database_url = "postgres://hookline:s3cret@db.internal:5433/hooks?pool_size=8".into();
        let config = raw.validate().unwrap();
        assert!(matches!(config.database, Database::Postgres { ref url } if url.contains("s3cret")));
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(printed.contains("postgres://hookline@db.internal:5433/hooks"), "{printed}");

        let mut raw = RawConfig::load(&Overrides::default()).unwrap();
        raw.storage.database_url = "postgres://hookline@db.internal/hooks?pool_size=none".into();
        let error = format!("{:#}", raw.validate().unwrap_err());
        assert!(error.contains("pool_size"), "{error}");
    }
}
