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
        matches!(self, Error::Sqlite(_) | Error::Store(StoreError::Database(_)))
    }
}

impl From<Error> for StoreError {
    fn from(error: Error) -> Self {
        match error {
            Error::Store(error) => error,
            Error::Sqlite(error) => StoreError::Database(Box::new(error)),
        }
    }
}

/// A driver error as a store error, where a [`StoreResult`](hookline_store::StoreResult) is due directly.
pub(crate) fn database(error: rusqlite::Error) -> StoreError {
    StoreError::Database(Box::new(error))
}
