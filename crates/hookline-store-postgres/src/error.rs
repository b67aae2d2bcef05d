//! The backend's own error: what the driver or the pool reported, or a [`StoreError`] of ours (a business rule,
//! a row that no longer decodes), kept apart until they leave the crate, where both become a `StoreError` with
//! the driver's error as the source. Whether a transaction may be tried again is read from the driver's error
//! itself (its SQLSTATE), never from a message.

use deadpool_postgres::PoolError;
use hookline_store::StoreError;
use tokio_postgres::error::SqlState;

/// An error inside the PostgreSQL backend.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// A business rule or a decoding failure, already in the store's terms.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// PostgreSQL (or the connection to it) failed.
    #[error("postgres error")]
    Postgres(#[from] tokio_postgres::Error),
}

/// Results inside the backend.
pub(crate) type DbResult<T> = Result<T, Error>;

impl Error {
    /// The SQLSTATE, when the server answered with an error.
    pub(crate) fn sql_state(&self) -> Option<&SqlState> {
        match self {
            Error::Postgres(error) => error.code(),
            Error::Store(_) => None,
        }
    }

    /// Whether PostgreSQL aborted the transaction in a way that running it again may fix.
    pub(crate) fn is_retryable(&self) -> bool {
        self.sql_state().is_some_and(|code| {
            *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::T_R_SERIALIZATION_FAILURE
        })
    }
}

impl From<Error> for StoreError {
    fn from(error: Error) -> Self {
        match error {
            Error::Store(error) => error,
            Error::Postgres(error) => database(error),
        }
    }
}

impl From<PoolError> for Error {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::Closed => Error::Store(StoreError::Closed),
            PoolError::Backend(error) => Error::Postgres(error),
            // No connection within the pool's wait: the server is slow to accept or the pool is exhausted.
            timeout @ PoolError::Timeout(_) => Error::Store(StoreError::Unavailable(Box::new(timeout))),
            other => Error::Store(StoreError::Database(Box::new(other))),
        }
    }
}

/// A driver error as a store error, where a [`StoreResult`](hookline_store::StoreResult) is due directly:
/// `Unavailable` when it passes by itself (see [`is_unavailable`]), else `Database`.
pub(crate) fn database(error: tokio_postgres::Error) -> StoreError {
    if is_unavailable(&error) {
        StoreError::Unavailable(Box::new(error))
    } else {
        StoreError::Database(Box::new(error))
    }
}

/// Whether PostgreSQL failed for a reason outside the data that passes by itself: the connection could not be
/// made or was lost (no SQLSTATE, an I/O error, or a closed connection), the disk is full (53100), the server
/// has too many connections (53300) or is out of memory (53200), the transaction or server is read-only
/// (25006, a standby), or the server is shutting down or starting (57P01, 57P02, 57P03).
pub(crate) fn is_unavailable(error: &tokio_postgres::Error) -> bool {
    const UNAVAILABLE: [SqlState; 7] = [
        SqlState::DISK_FULL,
        SqlState::TOO_MANY_CONNECTIONS,
        SqlState::OUT_OF_MEMORY,
        SqlState::READ_ONLY_SQL_TRANSACTION,
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
    ];
    match error.code() {
        Some(code) => UNAVAILABLE.contains(code),
        None => {
            error.is_closed() || std::error::Error::source(error).is_some_and(|source| source.is::<std::io::Error>())
        }
    }
}
