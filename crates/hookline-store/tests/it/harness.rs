//! The backends the suite runs against. Each is a database that stories can open a store on, close, and open
//! again; making a fresh one per test keeps stories independent of each other and of test order.

use std::path::PathBuf;

use async_trait::async_trait;
use hookline_store::sqlite::{SqliteOptions, SqliteStore};
use hookline_store::{Store, StoreResult};
use tempfile::TempDir;

/// A database that outlives the stores opened on it.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Opens a store on this database, as a newly started hookline process would.
    async fn open(&self) -> StoreResult<Box<dyn Store>>;
}

/// A SQLite database file in its own temporary directory, removed when the value is dropped.
pub struct Sqlite {
    dir: TempDir,
}

impl Sqlite {
    /// A new, empty database.
    pub fn fresh() -> Self {
        Self { dir: tempfile::tempdir().expect("a temporary directory can be created") }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("hookline.db")
    }
}

#[async_trait]
impl Backend for Sqlite {
    async fn open(&self) -> StoreResult<Box<dyn Store>> {
        Ok(Box::new(SqliteStore::open(&SqliteOptions::new(self.path()))?))
    }
}
