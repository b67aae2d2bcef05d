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
    /// An event id was published before with a different type or different data (the same request repeated
    /// is not an error: it answers the stored event).
    #[error("event id {0:?} was already used for a different event")]
    EventIdReused(String),
    /// The database cannot take writes (or answer) right now, for a reason that passes by itself: the disk is
    /// full, the file is locked by another writer, the server refuses connections or is shutting down, the
    /// database is read-only. Callers answer "try again later".
    #[error("storage unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database failed.
    #[error("database error")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store is shutting down or its writer died.
    #[error("store is closed")]
    Closed,
    /// At open: the database is held by another process that only one may use at a time (a SQLite file).
    #[error("{database} is in use by another hookline process (SQLite serves one process; use PostgreSQL for several)")]
    InUse {
        /// The database, as the operator named it.
        database: String,
        /// Why the lock could not be taken.
        #[source]
        source: std::io::Error,
    },
    /// At open: the database URL, or a setting in it, is not valid.
    #[error("invalid database URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
        /// The parser's error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// At open: a newer hookline migrated the database further than this build knows, so its queries may no
    /// longer fit the tables.
    #[error("the database is at schema version {found}, newer than this hookline knows ({known}); upgrade hookline")]
    SchemaTooNew {
        /// The version the database is at.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
}
