//! `hookline serve`: opens the store, starts the delivery engine and the API, and shuts down cleanly.
//!
//! Shutdown order matters: first the listener stops accepting and in-flight requests finish (so every 202
//! already given has its jobs submitted), then the engine stops starting attempts, releases queued jobs, lets
//! in-flight attempts finish within the grace period and writes their results.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use hookline_core::inbox::InboxBase;
use hookline_delivery::{Engine, OwnInboxes};
use hookline_store::{DeliveryQueue, NoticeQueue, Store};
use hookline_store_postgres::{PgOptions, PgStore};
use hookline_store_sqlite::{SqliteOptions, SqliteStore};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Database};

/// A running server.
pub struct Server {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Server {
    /// Asks the server to stop (as SIGTERM does).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops the server and waits until it has drained.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits until the server stops (after its shutdown token is cancelled).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("server task panicked")?
    }
}

/// Opens the configured store (the backend crate is picked by the URL's scheme): a SQLite file, or a PostgreSQL database (connecting, and migrating it under an
/// advisory lock, so several nodes may start at once).
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    match &config.database {
        Database::Sqlite { path, synchronous, busy_timeout } => {
            crate::files::prepare_sqlite_file(path)
                .with_context(|| format!("failed to prepare {} (owner-only)", path.display()))?;
            let mut options = SqliteOptions::new(path);
            options.synchronous = *synchronous;
            options.secrets = crate::secrets_key::cipher(config)?;
            options.busy_timeout = *busy_timeout;
            let store = SqliteStore::open(&options).with_context(|| format!("failed to open {}", path.display()))?;
            Ok(Arc::new(store))
        }
        Database::Postgres { url } => {
            let mut options = PgOptions::parse(url).context("invalid database_url")?;
            options.secrets = crate::secrets_key::cipher(config)?;
            let store =
                PgStore::open(&options).await.with_context(|| format!("failed to open {}", options.describe()))?;
            tracing::info!(database = %options.describe(), pool_size = options.pool_size, "PostgreSQL store open");
            Ok(Arc::new(store))
        }
    }
}

/// Starts serving on `listener` with `store`; returns once the server accepts requests. Each part gets only
/// its own role of the store: the engine the delivery queue, the notifier the notice queue, the API its
/// operations.
pub fn start(config: &Config, listener: TcpListener, store: Arc<dyn Store>) -> anyhow::Result<Server> {
    let addr = listener.local_addr().context("listener has no address")?;
    let shutdown = CancellationToken::new();
    let engine_shutdown = CancellationToken::new();
    // The engine gets a runtime of its own on its own threads (see `Engine::new`): a delivery storm then
    // competes with the API for CPU through the OS scheduler instead of queueing in front of publish requests.
    let engine_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.delivery_threads)
        .thread_name("hookline-delivery")
        .enable_all()
        .build()
        .context("failed to start the delivery runtime")?;
    // Inbox URLs name the configured public URL, or else the address actually bound (port 0 in tests), and
    // deliveries to them go to this listener, whatever the mode (see `hookline_delivery::OwnInboxes`).
    let inbox_base = match &config.public_url {
        Some(base) => base.clone(),
        None => InboxBase::parse(&format!("http://{addr}")).map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let mut delivery = config.delivery.clone();
    delivery.own_inboxes = Some(OwnInboxes { base: inbox_base.clone(), listener: addr });
    // Each part gets its own role of the one store (trait upcasting: the same object, a narrower view).
    let delivery_queue: Arc<dyn DeliveryQueue> = store.clone();
    let notice_queue: Arc<dyn NoticeQueue> = store.clone();
    let engine = Engine::new(delivery, delivery_queue, engine_shutdown.clone(), engine_runtime.handle().clone())
        .context("failed to build the delivery engine")?;
    let (engine_done, engine_task) = tokio::sync::oneshot::channel::<()>();
    let engine_for_thread = engine.clone();
    std::thread::Builder::new()
        .name("hookline-delivery-main".into())
        .spawn(move || {
            // The runtime lives and is dropped on this plain thread: dropping a runtime inside async code panics.
            engine_runtime.block_on(engine_for_thread.run());
            drop(engine_runtime);
            let _ = engine_done.send(());
        })
        .context("failed to start the delivery thread")?;
    let notifier =
        hookline_notify::Notifier::new(notice_queue, config.notify.clone()).context("invalid notification settings")?;
    let notifier_metrics = notifier.metrics();
    let notifier_shutdown = CancellationToken::new();
    let notifier_task = tokio::spawn(notifier.run(notifier_shutdown.clone()));
    let pruner_shutdown = CancellationToken::new();
    let pruner_task = tokio::spawn(crate::inbox_pruner::run(
        Arc::clone(&store),
        config.inbox_prune_interval,
        pruner_shutdown.clone(),
    ));
    // Secrets written before encryption, or sealed with a key being rotated out, are sealed again with the
    // current key, in small batches beside the traffic (idempotent on every node).
    let reencrypt_store = Arc::clone(&store);
    tokio::spawn(async move {
        match crate::secrets_key::reencrypt_all(&*reencrypt_store).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(webhooks = count, "webhook secrets re-encrypted with the current key"),
            Err(error) => tracing::error!(error = format!("{error:#}"), "re-encrypting webhook secrets failed"),
        }
    });
    let retention_task = tokio::spawn(crate::retention::run(
        Arc::clone(&store),
        engine.clone(),
        config.retention,
        pruner_shutdown.clone(),
    ));
    let mut api = config.api.clone();
    api.inbox.base = inbox_base;
    let notify_metrics = notifier_metrics;
    api.extra_metrics.push(Arc::new(move |out: &mut String| notify_metrics.render(out)));
    // Live streams and delayed inbox answers end when shutdown begins, so the graceful drain does not wait on them.
    api.shutdown = shutdown.clone();
    let app =
        hookline_api::limits::with_request_limits(hookline_api::router(api, store, engine), config.request_limits);
    let http_shutdown = shutdown.clone();
    let listener_limits = config.listener;
    let task = tokio::spawn(async move {
        crate::listener::serve(listener, app, listener_limits, http_shutdown).await;
        pruner_shutdown.cancel();
        pruner_task.await.context("inbox pruner panicked")?;
        retention_task.await.context("retention pruner panicked")?;
        tracing::info!("stopped accepting requests; draining deliveries");
        engine_shutdown.cancel();
        engine_task.await.context("delivery engine stopped abnormally")?;
        // Notices raised by the last attempts stay pending in the store and go out at the next start.
        notifier_shutdown.cancel();
        notifier_task.await.context("notifier panicked")?;
        Ok(())
    });
    Ok(Server { addr, shutdown, task })
}

/// Starts listening for SIGTERM and SIGINT at once, and returns a future that resolves when one arrives.
/// Listening starts here, not when the future is first polled, so a signal sent right after startup (say, by a
/// script that reads the `--dev` banner and stops the server) is not lost to the default action.
pub fn termination_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::terminate()).ok().zip(signal(SignalKind::interrupt()).ok())
    };
    async move {
        #[cfg(unix)]
        if let Some((mut terminate, mut interrupt)) = signals {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
