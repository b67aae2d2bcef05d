//! The PostgreSQL backend: several hookline processes (nodes) share one database.
//!
//! Connections come from a pool (deadpool-postgres over tokio-postgres); every statement is a prepared
//! statement cached per connection. Every write is one transaction, retried from the start when PostgreSQL
//! aborts it for a deadlock or a serialization failure. PostgreSQL groups the WAL flushes of transactions that
//! commit together, so concurrent publishes share fsyncs without a writer thread of our own.
//!
//! Work sharing between nodes rests on leases (`deliveries.leased_until`, a time in unix milliseconds):
//! - publishing leases the new deliveries to the publishing node, which dispatches them at once;
//! - `claim_due` takes only deliveries whose lease has ended, with `FOR UPDATE SKIP LOCKED`, so two nodes
//!   claiming at the same moment never get the same delivery;
//! - leases are never cleared at open (other nodes hold live ones): a dead node's work is taken over by the
//!   other nodes' pollers when its leases run out;
//! - recording an attempt is fenced by the attempt number: it moves the delivery on only if no other attempt
//!   was recorded since the job was handed out. A late result from a node whose lease ran out while another
//!   node took the delivery over is kept in the attempt log but does not change the delivery's state.
//!
//! Lease times come from the nodes' clocks (`now` is a parameter of every call), so the nodes' clocks must
//! agree to well within a lease (NTP).
//!
//! Locks: changes to a webhook from the API lock its row, then its deliveries; recording locks the batch's
//! deliveries (in id order), then the webhooks whose failure tracking it changes (in id order). The two orders
//! can cross only when a platform changes a webhook while a failure of it is being recorded; PostgreSQL then
//! breaks the deadlock (after `deadlock_timeout`, 1 s by default) and the aborted transaction runs again.
//!
//! TLS to PostgreSQL is not supported yet: connections are plain TCP or a Unix socket.

/// Runs `$body` (an expression using the transaction `$tx`, evaluating to a `DbResult`) in one transaction
/// on a pooled connection: commits on `Ok`, rolls back on `Err`, and runs it all again (up to `MAX_TRIES`
/// times) when PostgreSQL aborted it for a deadlock or a serialization failure. The body's errors are the
/// backend's own (`DbResult`); the macro's value is a `StoreResult`.
macro_rules! transaction {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut tries: u32 = 0;
        loop {
            tries += 1;
            let result: $crate::error::DbResult<_> = async {
                let mut client = $store.client().await?;
                let $tx = client.transaction().await?;
                let result: $crate::error::DbResult<_> = async { $body }.await;
                match result {
                    Ok(value) => {
                        $tx.commit().await?;
                        Ok(value)
                    }
                    Err(error) => {
                        let _ = $tx.rollback().await;
                        Err(error)
                    }
                }
            }
            .await;
            match result {
                Err(error) if tries < $crate::MAX_TRIES && error.is_retryable() => {
                    tracing::debug!(error = ?error, tries, "transaction aborted by PostgreSQL; trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(tries))).await;
                }
                other => break other.map_err(hookline_store::StoreError::from),
            }
        }
    }};
}

mod admin;
mod error;
mod fanout;
mod inbox;
mod listen;
mod operations;
mod queries;
mod queues;
mod record;
mod rows;
mod schema;
mod tls;

pub use crate::tls::TlsMode;
mod ui;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use hookline_core::Timestamp;
use hookline_core::ids::DeliveryId;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use hookline_store::{SecretCipher, StoreError, StoreResult};

use crate::error::{DbResult, Error, database};

/// The pool size when the URL does not say (`?pool_size=N`).
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How many times a transaction aborted by a deadlock or serialization failure is tried in all.
pub(crate) const MAX_TRIES: u32 = 5;

/// Options for opening a PostgreSQL store.
#[derive(Clone)]
pub struct PgOptions {
    /// The connection settings (from the URL, without hookline's own parameters).
    config: tokio_postgres::Config,
    /// Connections in the pool at most.
    pub pool_size: usize,
    /// Seals webhook secrets before they are written and opens them when read; plaintext by default (the server
    /// always sets a key).
    pub secrets: Arc<SecretCipher>,
    /// `sslmode` / `sslrootcert`.
    pub tls: TlsMode,
}

impl std::fmt::Debug for PgOptions {
    // The URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOptions").field("database", &self.describe()).field("pool_size", &self.pool_size).finish()
    }
}

impl PgOptions {
    /// Parses `postgres://user[:password]@host[:port]/database[?param=value&…]` (or the key=value form).
    /// Besides libpq's parameters that tokio-postgres knows (`connect_timeout`, `application_name`, …) it takes
    /// hookline's own `pool_size` (connections per node, default [`DEFAULT_POOL_SIZE`]).
    pub fn parse(url: &str) -> StoreResult<Self> {
        let invalid = |reason: String| StoreError::InvalidUrl { reason, source: None };
        let mut pool_size = DEFAULT_POOL_SIZE;
        let (mut sslmode, mut root_cert) = (None, None);
        let url = match url.split_once('?') {
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    match pair.split_once('=') {
                        Some(("pool_size", value)) => {
                            pool_size = value
                                .parse::<usize>()
                                .ok()
                                .filter(|n| *n > 0)
                                .ok_or_else(|| invalid(format!("pool_size={value} is not a positive number")))?;
                        }
                        // Read here, not by tokio-postgres, which knows no verify-full.
                        Some(("sslmode", value)) => sslmode = Some(value.to_owned()),
                        Some(("sslrootcert", value)) => root_cert = Some(value.to_owned()),
                        _ => kept.push(pair),
                    }
                }
                if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) }
            }
            None => url.to_owned(),
        };
        let mut config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| {
            StoreError::InvalidUrl { reason: "it is not a PostgreSQL URL".into(), source: Some(Box::new(e)) }
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("hookline");
        }
        if config.get_dbname().is_none() {
            return Err(invalid("the PostgreSQL URL names no database (postgres://…/DATABASE)".into()));
        }
        let tls = TlsMode::parse(sslmode.as_deref(), root_cert.as_deref())?;
        if tls != TlsMode::Disable {
            config.ssl_mode(tokio_postgres::config::SslMode::Require);
        }
        Ok(Self { config, pool_size, secrets: Arc::new(SecretCipher::plaintext()), tls })
    }

    /// `user@host:port/database`, without the password, for logs and messages.
    pub fn describe(&self) -> String {
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .map(|host| match host {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        format!(
            "postgres://{}@{}:{port}/{}",
            self.config.get_user().unwrap_or(""),
            hosts.join(","),
            self.config.get_dbname().unwrap_or("")
        )
    }

    /// The name of the database.
    pub fn database(&self) -> &str {
        self.config.get_dbname().unwrap_or("")
    }
}

/// The PostgreSQL implementation of the store's role traits ([`hookline_store::Store`]).
pub struct PgStore {
    pool: Pool,
    /// Seals webhook secrets before they are written and opens them when read.
    pub(crate) secrets: Arc<SecretCipher>,
}

impl PgStore {
    /// Connects, and creates or migrates the schema (under an advisory lock, so nodes may start together).
    /// Leases in the database are kept: they may belong to nodes that are running.
    pub async fn open(options: &PgOptions) -> StoreResult<Self> {
        let manager_config = || ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = match options.tls.client_config()? {
            None => Manager::from_config(options.config.clone(), NoTls, manager_config()),
            Some(tls) => Manager::from_config(
                options.config.clone(),
                tokio_postgres_rustls::MakeRustlsConnect::new(tls),
                manager_config(),
            ),
        };
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(15)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        let mut client = pool.get().await.map_err(Error::from)?;
        schema::migrate(&mut client).await?;
        admin::check_secrets(&client, &options.secrets).await?;
        drop(client);
        Ok(Self { pool, secrets: Arc::clone(&options.secrets) })
    }

    /// A pooled connection.
    pub(crate) async fn client(&self) -> DbResult<deadpool_postgres::Client> {
        Ok(self.pool.get().await?)
    }

    /// Extends the leases of `deliveries` that are still pending and leased, to `lease_until`; returns how
    /// many were extended. For a node that holds jobs longer than a lease (a long attempt, a long queue): the
    /// engine would call it every third of a lease for every job it holds.
    pub(crate) async fn renew_held_leases(
        &self,
        deliveries: Vec<DeliveryId>,
        lease_until: Timestamp,
    ) -> StoreResult<u64> {
        let ids: Vec<&str> = deliveries.iter().map(DeliveryId::as_str).collect();
        transaction!(self, |tx| {
            execute(
                &tx,
                "UPDATE deliveries SET leased_until = $2 WHERE id IN (SELECT id FROM deliveries WHERE id = ANY($1) \
                 AND status = 'pending' AND leased_until IS NOT NULL ORDER BY id FOR UPDATE)",
                &[&ids, &lease_until.unix_millis()],
            )
            .await
        })
    }
}

/// Runs a cached prepared statement and returns its rows.
pub(crate) async fn query<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> DbResult<Vec<Row>> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query(&statement, params).await?)
}

/// Runs a cached prepared statement that returns at most one row.
pub(crate) async fn query_opt<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> DbResult<Option<Row>> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query_opt(&statement, params).await?)
}

/// Runs a cached prepared statement that returns exactly one row.
pub(crate) async fn query_one<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> DbResult<Row> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query_one(&statement, params).await?)
}

/// Runs a cached prepared statement and returns how many rows it changed.
pub(crate) async fn execute<C: GenericClient>(client: &C, sql: &str, params: &[&(dyn ToSql + Sync)]) -> DbResult<u64> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.execute(&statement, params).await?)
}

/// `url` with its database name replaced by `database` (query parameters kept). For tests and tools that make
/// a database of their own on a server.
pub fn url_with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

fn check_database_name(name: &str) -> StoreResult<()> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if valid {
        Ok(())
    } else {
        Err(StoreError::InvalidUrl { reason: format!("{name:?} is not a plain database name"), source: None })
    }
}

/// Connects once (no pool) with `options`, runs `sql`, and disconnects.
async fn run_once(options: &PgOptions, sql: &str) -> StoreResult<()> {
    let (client, connection) = options.config.connect(NoTls).await.map_err(database)?;
    let connection = tokio::spawn(connection);
    let result = client.batch_execute(sql).await;
    drop(client);
    let _ = connection.await;
    result.map_err(database)
}

/// Creates the empty database `name` (lowercase letters, digits, `_`) on the server `admin` connects to. For
/// tests and tools.
pub async fn create_database(admin: &PgOptions, name: &str) -> StoreResult<()> {
    check_database_name(name)?;
    run_once(admin, &format!("CREATE DATABASE {name}")).await
}

/// Drops the database `name`, closing its connections, if it exists. For tests and tools.
pub async fn drop_database(admin: &PgOptions, name: &str) -> StoreResult<()> {
    check_database_name(name)?;
    run_once(admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await
}

/// The variable that names the PostgreSQL server the tests run against, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`; tests make databases of their own there.
pub const TEST_SERVER_VAR: &str = "HOOKLINE_TEST_POSTGRES_URL";

/// Whether the PostgreSQL tests can run here, for test harnesses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestServer {
    /// [`TEST_SERVER_VAR`] names this server.
    At(String),
    /// No server is configured: the tests are reported as ignored (they did not run).
    Missing,
    /// No server is configured under `CI=true`, where the tests must run: each of them fails.
    Required,
}

/// Reads [`TEST_SERVER_VAR`] and `CI`.
pub fn test_server() -> TestServer {
    match std::env::var(TEST_SERVER_VAR) {
        Ok(url) if !url.trim().is_empty() => TestServer::At(url),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => TestServer::Required,
        _ => TestServer::Missing,
    }
}
