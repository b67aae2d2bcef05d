//! The SQLite backend: one file in WAL mode, one writer thread that groups commits, a small reader pool.
//!
//! Why a writer thread: SQLite allows one writer at a time, so instead of many connections queueing on the
//! database lock, every write is sent to one thread that owns the only write connection. It drains whatever
//! has queued up (API writes first, then a few batches of the engine's bookkeeping), runs the operations, and
//! commits the lot in one transaction: one fsync for many API requests and attempt results (group commit).
//! Callers are answered only after that commit.
//!
//! Invariant: one hookline process per database file. Leases on SQLite therefore only guard against the
//! poller taking work the dispatcher already holds; at start, leases left by a dead process are cleared. A lock
//! file beside the database enforces the single process.

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
mod ui;

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{Semaphore, oneshot};

use hookline_store::{SecretCipher, StoreError, StoreResult};

use crate::error::{DbResult, Error};

/// How durable a commit is before the caller is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// fsync the WAL on every commit: nothing answered is lost even on power failure. The default.
    #[default]
    Full,
    /// fsync only at checkpoints: safe against a process crash (`kill -9`), not against power loss.
    Normal,
}

/// Options for opening a SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// The database file; its directory is created if missing.
    pub path: PathBuf,
    /// Durability of each commit.
    pub synchronous: Synchronous,
    /// Read connections.
    pub readers: usize,
    /// Seals webhook secrets before they are written and opens them when read; plaintext by default (the server
    /// always sets a key).
    pub secrets: Arc<SecretCipher>,
    /// How long a statement waits for a lock another process holds (a backup tool, an operator's `sqlite3`)
    /// before it fails; the API then answers 503 `storage_unavailable`.
    pub busy_timeout: Duration,
}

impl SqliteOptions {
    /// Options for `path` with the defaults.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            synchronous: Synchronous::Full,
            readers: 4,
            secrets: Arc::new(SecretCipher::plaintext()),
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
        }
    }
}

/// The default of [`SqliteOptions::busy_timeout`].
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite implementation of the store's role traits ([`hookline_store::Store`]).
pub struct SqliteStore {
    writer: Arc<WriteQueue>,
    readers: Arc<ReaderPool>,
    secrets: Arc<SecretCipher>,
    // Held for the life of the store: the single-process invariant.
    _lock: File,
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database, clears leases left by a previous process, and
    /// starts the writer thread.
    pub fn open(options: &SqliteOptions) -> StoreResult<Self> {
        Ok(Self::open_inner(options)?)
    }

    fn open_inner(options: &SqliteOptions) -> DbResult<Self> {
        if let Some(dir) = options.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(Box::new(e)))?;
        }
        let lock = acquire_lock(&options.path)?;
        let mut writer_conn = open_connection(options, false)?;
        schema::migrate(&mut writer_conn)?;
        admin::check_secrets(&writer_conn, &options.secrets)?;
        // Single-process invariant: any lease in the file belongs to a process that is gone.
        writer_conn.execute("UPDATE deliveries SET leased_until = NULL WHERE leased_until IS NOT NULL", [])?;
        let mut readers = Vec::with_capacity(options.readers.max(1));
        for _ in 0..options.readers.max(1) {
            readers.push(open_connection(options, true)?);
        }
        // Checkpoints (copying the WAL back into the database file, with an fsync) would otherwise run inside
        // whichever commit crosses the threshold and stall every caller in that batch for tens of milliseconds.
        // The writer never checkpoints; a thread of its own does, in PASSIVE mode, which never blocks the writer.
        writer_conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let checkpointer = open_connection(options, false)?;
        let queue = Arc::new(WriteQueue { queues: Mutex::new(Queues::default()), ready: Condvar::new() });
        let checkpoint_queue = Arc::clone(&queue);
        std::thread::Builder::new()
            .name("hookline-sqlite-checkpoint".into())
            .spawn(move || run_checkpointer(checkpointer, checkpoint_queue))
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        let writer = Writer::new(writer_conn, Arc::clone(&options.secrets))?;
        let writer_queue = Arc::clone(&queue);
        std::thread::Builder::new()
            .name("hookline-sqlite-writer".into())
            .spawn(move || run_writer(writer, writer_queue))
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        Ok(Self {
            writer: queue,
            readers: Arc::new(ReaderPool::new(readers)),
            secrets: Arc::clone(&options.secrets),
            _lock: lock,
        })
    }

    /// Runs an API write on the writer thread and returns its result once committed.
    ///
    /// The rule every write operation follows: check business rules (and return `NotFound`, `Conflict`, …)
    /// before the first write, so that such an error leaves nothing behind. A database error part-way rolls
    /// back the whole group-committed transaction, and every operation in it is answered with that error.
    pub(crate) async fn write<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Writer) -> DbResult<T> + Send + 'static,
    {
        self.write_with(Priority::Interactive, op).await
    }

    /// Runs the engine's bookkeeping write; API writes go before it.
    pub(crate) async fn write_background<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Writer) -> DbResult<T> + Send + 'static,
    {
        self.write_with(Priority::Background, op).await
    }

    async fn write_with<T, F>(&self, priority: Priority, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Writer) -> DbResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let op = Box::new(Op { op: Some(op), result: None, reply: Some(reply) });
        self.writer.push(op, priority).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `op` on a read connection on the blocking pool.
    pub(crate) async fn read<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        self.readers.run(op).await
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // The writer finishes what is queued, then its thread ends.
        self.writer.close();
    }
}

fn acquire_lock(db_path: &Path) -> DbResult<File> {
    let mut lock_path = db_path.as_os_str().to_owned();
    lock_path.push(".lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(PathBuf::from(lock_path))
        .map_err(|e| StoreError::Database(Box::new(e)))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(Error::Store(StoreError::InUse {
                database: db_path.display().to_string(),
                source: std::fs::TryLockError::WouldBlock.into(),
            }));
        }
        Err(std::fs::TryLockError::Error(error)) => return Err(Error::Store(StoreError::Database(Box::new(error)))),
    }
    Ok(file)
}

fn open_connection(options: &SqliteOptions, read_only: bool) -> DbResult<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(&options.path, flags)?;
    conn.busy_timeout(options.busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(128);
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    let sync = match options.synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    // Statement journals (needed for multi-row statements inside a transaction) stay in memory, not temp files.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // The bundled SQLite has STAT4, which re-prepares a cached statement on every rebind when a parameter
    // could change its plan. Our plans do not depend on values, so ask for query-planner stability instead:
    // the profile showed re-preparation at 12 % of the writer's time.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // Page cache in KiB (negative): the writer touches the hot tables constantly, readers serve occasional API
    // reads. Five connections stay within ~32 MB, so the whole process fits the 100 MB budget.
    conn.pragma_update(None, "cache_size", if read_only { -4_000 } else { -16_000 })?;
    Ok(conn)
}

/// One write operation queued for the writer thread.
trait WriteOp: Send {
    /// Runs the operation inside the open transaction; returns whether it failed in a way that leaves partial
    /// writes (a database error), which poisons the whole transaction, and if so, whether that failure passes
    /// by itself (`Some(true)`: disk full, locked, …).
    fn apply(&mut self, writer: &mut Writer) -> Option<bool>;
    /// Answers the caller once the transaction's fate is known.
    fn complete(self: Box<Self>, commit: Result<(), BatchFailure>);
}

/// Why a group-committed transaction did not commit. Every operation in it shares the one failure, so the
/// driver's error is shared too (`Arc`), as the source of each caller's `StoreError::Database`.
#[derive(Debug, Clone, thiserror::Error)]
enum BatchFailure {
    /// Another operation of the transaction failed part-way, so the whole transaction was rolled back;
    /// `unavailable` when that failure passes by itself (disk full, locked, …).
    #[error("another operation in this transaction failed, so the whole transaction was rolled back")]
    RolledBack {
        /// The failure that poisoned the transaction passes by itself.
        unavailable: bool,
    },
    /// `BEGIN` or `COMMIT` failed.
    #[error("the transaction could not {0}")]
    Sqlite(&'static str, #[source] Arc<rusqlite::Error>),
}

impl BatchFailure {
    /// Whether the transaction failed for a reason that passes by itself (disk full, locked, …).
    fn is_unavailable(&self) -> bool {
        match self {
            BatchFailure::RolledBack { unavailable } => *unavailable,
            BatchFailure::Sqlite(_, error) => error::is_unavailable(error),
        }
    }
}

struct Op<T, F> {
    op: Option<F>,
    result: Option<DbResult<T>>,
    reply: Option<oneshot::Sender<StoreResult<T>>>,
}

impl<T, F> WriteOp for Op<T, F>
where
    T: Send,
    F: FnOnce(&mut Writer) -> DbResult<T> + Send,
{
    fn apply(&mut self, writer: &mut Writer) -> Option<bool> {
        let op = self.op.take()?;
        let result = op(writer);
        // Every operation checks its business rules (NotFound, Conflict, UnknownEventType) before its first
        // write, so those errors leave nothing behind. Only a database error can strand a half-done operation.
        let poisons = match &result {
            Err(error) if error.leaves_partial_writes() => Some(error.is_unavailable()),
            _ => None,
        };
        self.result = Some(result);
        poisons
    }

    fn complete(mut self: Box<Self>, commit: Result<(), BatchFailure>) {
        let result = match (commit, self.result.take()) {
            (Ok(()), Some(result)) => result.map_err(StoreError::from),
            // The operation that poisoned the transaction answers with its own error; the others with the
            // rollback it caused.
            (Err(BatchFailure::RolledBack { .. }), Some(Err(error))) if error.leaves_partial_writes() => {
                Err(error.into())
            }
            (Err(failure), _) if failure.is_unavailable() => Err(StoreError::Unavailable(Box::new(failure))),
            (Err(failure), _) => Err(StoreError::Database(Box::new(failure))),
            (Ok(()), None) => Err(StoreError::Closed),
        };
        if let Some(reply) = self.reply.take() {
            // The caller may have gone away (request cancelled); the write stands either way.
            let _ = reply.send(result);
        }
    }
}

/// Which queue an operation waits in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Priority {
    /// API requests: a person or a publisher is waiting.
    Interactive,
    /// The engine's bookkeeping (attempt results, claims, lease renewals): throughput matters, not latency.
    Background,
}

/// The writer's two queues. Interactive and background operations never share a transaction: a publish is
/// committed (and answered) without waiting for the attempt results of a large fan-out to be written in the
/// same transaction. When both queues have work, transactions alternate between them, so publishing waits
/// for at most one background transaction and recording is never starved by a stream of publishes.
#[derive(Default)]
struct Queues {
    interactive: VecDeque<Box<dyn WriteOp>>,
    background: VecDeque<Box<dyn WriteOp>>,
    /// The last transaction was interactive: background work, if any waits, goes next.
    background_turn: bool,
    closed: bool,
}

pub(crate) struct WriteQueue {
    queues: Mutex<Queues>,
    ready: Condvar,
}

impl WriteQueue {
    fn push(&self, op: Box<dyn WriteOp>, priority: Priority) -> Result<(), Box<dyn WriteOp>> {
        let Ok(mut queues) = self.queues.lock() else { return Err(op) };
        if queues.closed {
            return Err(op);
        }
        match priority {
            Priority::Interactive => queues.interactive.push_back(op),
            Priority::Background => queues.background.push_back(op),
        }
        drop(queues);
        self.ready.notify_one();
        Ok(())
    }

    fn is_closed(&self) -> bool {
        self.queues.lock().map(|q| q.closed).unwrap_or(true)
    }

    fn close(&self) {
        if let Ok(mut queues) = self.queues.lock() {
            queues.closed = true;
        }
        self.ready.notify_all();
    }

    /// Waits for work and takes the next transaction's operations: every queued interactive operation (up to
    /// the cap), or a few background ones when it is their turn. `false` once closed and drained.
    fn next_batch(&self, batch: &mut Vec<Box<dyn WriteOp>>) -> bool {
        let Ok(mut queues) = self.queues.lock() else { return false };
        while queues.interactive.is_empty() && queues.background.is_empty() {
            if queues.closed {
                return false;
            }
            queues = match self.ready.wait(queues) {
                Ok(queues) => queues,
                Err(_) => return false,
            };
        }
        let background_now = queues.interactive.is_empty() || (queues.background_turn && !queues.background.is_empty());
        queues.background_turn = !background_now;
        if background_now {
            while batch.len() < MAX_BACKGROUND_PER_BATCH {
                let Some(op) = queues.background.pop_front() else { break };
                batch.push(op);
            }
        } else {
            while batch.len() < MAX_BATCH {
                let Some(op) = queues.interactive.pop_front() else { break };
                batch.push(op);
            }
        }
        true
    }
}

/// How many queued operations one transaction takes at most. Large enough to amortise the fsync, small enough
/// that the first caller in a batch is not kept waiting behind thousands of others.
const MAX_BATCH: usize = 1024;

/// How many background operations (each may carry hundreds of attempt results) one transaction takes.
const MAX_BACKGROUND_PER_BATCH: usize = 2;

/// How often the WAL is checkpointed.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// Checkpoints the WAL in the background until the store closes. PASSIVE copies what no reader still needs
/// and never waits for locks; once the WAL grows past ~64 MB it asks for a RESTART checkpoint, which waits for
/// readers so the file can be reused from the start.
fn run_checkpointer(conn: Connection, queue: Arc<WriteQueue>) {
    loop {
        std::thread::sleep(CHECKPOINT_INTERVAL);
        if queue.is_closed() {
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            return;
        }
        let result = conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?)));
        match result {
            Ok((wal_pages, _)) if wal_pages > 16_384 => {
                let _ = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()));
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "sqlite checkpoint failed"),
        }
    }
}

/// Runs a parameterless statement through the statement cache (no re-parsing per transaction).
fn execute_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// The writer thread's state: the only write connection, and what the writer caches beside it. Write
/// operations receive it (`&mut Writer`) and use it as a connection.
pub(crate) struct Writer {
    conn: Connection,
    /// Each platform's decoded webhooks, for fan-out. It refreshes itself when a row of `webhooks` changes;
    /// the writer clears it after a rollback.
    pub(crate) webhooks: fanout::WebhookCache,
    /// Seals and opens webhook secrets.
    pub(crate) secrets: Arc<SecretCipher>,
}

impl std::ops::Deref for Writer {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl Writer {
    fn new(mut conn: Connection, secrets: Arc<SecretCipher>) -> DbResult<Self> {
        let webhooks = fanout::WebhookCache::watching(&mut conn)?;
        Ok(Self { conn, webhooks, secrets })
    }

    /// Runs `batch` in one transaction and commits it, or rolls all of it back.
    fn run_batch(&mut self, batch: &mut [Box<dyn WriteOp>]) -> Result<(), BatchFailure> {
        execute_cached(&self.conn, "BEGIN IMMEDIATE").map_err(|e| BatchFailure::Sqlite("begin", Arc::new(e)))?;
        let mut poisoned: Option<bool> = None;
        for op in batch.iter_mut() {
            if let Some(unavailable) = op.apply(self) {
                poisoned = Some(poisoned.unwrap_or(false) || unavailable);
            }
        }
        if let Some(unavailable) = poisoned {
            // One operation failed half-way: undo the whole transaction rather than commit a fragment.
            self.rollback();
            return Err(BatchFailure::RolledBack { unavailable });
        }
        execute_cached(&self.conn, "COMMIT").map_err(|e| {
            self.rollback();
            BatchFailure::Sqlite("commit", Arc::new(e))
        })
    }

    fn rollback(&mut self) {
        if let Err(error) = execute_cached(&self.conn, "ROLLBACK") {
            tracing::warn!(error = %error, "sqlite rollback failed");
        }
        // The cache may hold rows read inside the transaction that never committed.
        self.webhooks.clear();
    }
}

fn run_writer(mut writer: Writer, queue: Arc<WriteQueue>) {
    let mut batch: Vec<Box<dyn WriteOp>> = Vec::with_capacity(MAX_BATCH);
    while queue.next_batch(&mut batch) {
        let commit = writer.run_batch(&mut batch);
        if let Err(failure) = &commit {
            tracing::error!(error = ?failure, operations = batch.len(), "sqlite transaction failed");
        }
        for op in batch.drain(..) {
            op.complete(commit.clone());
        }
    }
    tracing::debug!("sqlite writer stopped");
}

struct ReaderPool {
    connections: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl ReaderPool {
    fn new(connections: Vec<Connection>) -> Self {
        let permits = Semaphore::new(connections.len());
        Self { connections: Mutex::new(connections), permits }
    }

    async fn run<T, F>(self: &Arc<Self>, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        let permit = self.permits.acquire().await.map_err(|_| StoreError::Closed)?;
        let conn = self.connections.lock().map_err(|_| StoreError::Closed)?.pop().ok_or(StoreError::Closed)?;
        let pool = Arc::clone(self);
        let result = tokio::task::spawn_blocking(move || {
            let result = op(&conn).map_err(StoreError::from);
            if let Ok(mut connections) = pool.connections.lock() {
                connections.push(conn);
            }
            result
        })
        .await
        .map_err(|e| StoreError::Database(Box::new(e)))?;
        drop(permit);
        result
    }
}
