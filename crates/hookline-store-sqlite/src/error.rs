//! The backend's own error: what the driver reported, or a [`StoreError`] of ours (a business rule, a row that
//! no longer decodes), kept apart until they leave the crate, where both become a `StoreError` with the
//! driver's error as the source.

use hookline_store::StoreError;

/// An error inside the SQLite backend.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// A business rule or a decoding failure, already in the store's terms.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// SQLite failed.
    #[error("sqlite error")]
    Sqlite(#[from] rusqlite::Error),
}

/// Results inside the backend.
pub(crate) type DbResult<T> = Result<T, Error>;

impl Error {
    /// Whether the operation may have stopped half-way through its writes, which poisons the transaction it
    /// shares with others. Business-rule errors are returned before the first write, so they never do.
    pub(crate) fn leaves_partial_writes(&self) -> bool {
        matches!(self, Error::Sqlite(_) | Error::Store(StoreError::Database(_) | StoreError::Unavailable(_)))
    }

    /// Whether this is a failure that passes by itself (see [`is_unavailable`]).
    pub(crate) fn is_unavailable(&self) -> bool {
        match self {
            Error::Sqlite(error) => is_unavailable(error),
            Error::Store(error) => matches!(error, StoreError::Unavailable(_)),
        }
    }
}

impl From<Error> for StoreError {
    fn from(error: Error) -> Self {
        match error {
            Error::Store(error) => error,
            Error::Sqlite(error) => database(error),
        }
    }
}

/// A driver error as a store error, where a [`StoreResult`](hookline_store::StoreResult) is due directly:
/// `Unavailable` when it passes by itself (see [`is_unavailable`]), else `Database`.
pub(crate) fn database(error: rusqlite::Error) -> StoreError {
    if is_unavailable(&error) {
        StoreError::Unavailable(Box::new(error))
    } else {
        StoreError::Database(Box::new(error))
    }
}

/// Whether SQLite failed for a reason outside the data that passes by itself once the operator acts or another
/// process lets go: the disk or `max_page_count` is full (`SQLITE_FULL`), another connection holds the lock
/// past the busy timeout (`SQLITE_BUSY`, `SQLITE_LOCKED`), the file or its directory is read-only
/// (`SQLITE_READONLY`, `SQLITE_CANTOPEN`), or the operating system failed a read or write (`SQLITE_IOERR`).
pub(crate) fn is_unavailable(error: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode;
    matches!(
        error.sqlite_error_code(),
        Some(
            ErrorCode::DiskFull
                | ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::ReadOnly
                | ErrorCode::SystemIoFailure
                | ErrorCode::CannotOpen
        )
    )
}

#[cfg(test)]
mod tests;
