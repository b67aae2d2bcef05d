//! `StoreError`: the cases callers branch on, with causes kept as sources.

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist, or belongs to another platform.
    #[error("not found")]
    NotFound,
    /// The write conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A webhook filter names a type that is not in the platform's catalog.
    #[error("unknown event type {0:?}")]
    UnknownEventType(String),
    /// The database failed.
    #[error("database error")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store is shutting down or its writer died.
    #[error("store is closed")]
    Closed,
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Database(Box::new(error))
    }
}
