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
