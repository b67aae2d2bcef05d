//! The backends the suite runs against. Each is a database that stories can open a store on, close, and open
//! again; making a fresh one per test keeps stories independent of each other and of test order.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use hookline_store::{SecretCipher, Store, StoreResult};
use hookline_store_postgres::{PgOptions, PgStore, TestServer, test_server};
use hookline_store_sqlite::{SqliteOptions, SqliteStore};
use libtest_mimic::Trial;
use tempfile::TempDir;

/// A database that outlives the stores opened on it.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Opens a store on this database, as a newly started hookline process would, with the suite's secrets key
    /// (so every story runs with secrets encrypted at rest).
    async fn open(&self) -> StoreResult<Box<dyn Store>> {
        self.open_with(test_cipher()).await
    }

    /// Opens a store whose webhook secrets are sealed and opened with `secrets`.
    async fn open_with(&self, secrets: Arc<SecretCipher>) -> StoreResult<Box<dyn Store>>;

    /// What the `webhooks` table holds in its secret columns, read with plain SQL beside the store: each
    /// webhook's `secret`, then its `previous_secret` where there is one.
    async fn raw_secrets(&self) -> Vec<String>;
}

/// The key every story's store uses unless it chooses its own.
pub const TEST_KEY: [u8; 32] = [42; 32];

/// A cipher with [`TEST_KEY`].
pub fn test_cipher() -> Arc<SecretCipher> {
    Arc::new(SecretCipher::new(&TEST_KEY, &[]).expect("a valid key"))
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
    async fn open_with(&self, secrets: Arc<SecretCipher>) -> StoreResult<Box<dyn Store>> {
        let mut options = SqliteOptions::new(self.path());
        options.secrets = secrets;
        Ok(Box::new(SqliteStore::open(&options)?))
    }

    async fn raw_secrets(&self) -> Vec<String> {
        let conn = rusqlite::Connection::open(self.path()).expect("the database opens read-only beside the store");
        let mut statement = conn
            .prepare("SELECT secret FROM webhooks UNION ALL SELECT previous_secret FROM webhooks WHERE previous_secret IS NOT NULL")
            .unwrap();
        statement.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect()
    }
}

/// Whether a backend's stories can run here.
pub enum Availability {
    /// They run.
    Run,
    /// They cannot run here, and are reported as ignored: not run, not passed.
    Ignore(&'static str),
    /// They cannot run, and must (under `CI=true`): each fails.
    Fail(&'static str),
}

impl Availability {
    /// PostgreSQL's, from `HOOKLINE_TEST_POSTGRES_URL` and `CI`.
    pub fn of_postgres() -> Self {
        match test_server() {
            TestServer::At(_) => Availability::Run,
            TestServer::Missing => Availability::Ignore("HOOKLINE_TEST_POSTGRES_URL is not set"),
            TestServer::Required => Availability::Fail(
                "HOOKLINE_TEST_POSTGRES_URL is not set, and CI must run the PostgreSQL tests (.ci/run sets it)",
            ),
        }
    }

    /// A trial that runs `story` on a runtime of its own, as `#[tokio::test(flavor = "multi_thread")]` would.
    pub fn trial<F, Fut>(&self, name: &str, story: F) -> Trial
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        match *self {
            Availability::Run => Trial::test(name, move || {
                let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
                runtime.block_on(story());
                Ok(())
            }),
            // Run anyway (`--include-ignored`), it fails rather than pass without running.
            Availability::Ignore(why) => Trial::test(name, move || Err(why.into())).with_ignored_flag(true),
            Availability::Fail(why) => Trial::test(name, move || Err(why.into())),
        }
    }
}

/// A fresh PostgreSQL database (`hookline_test_<random>`), dropped with all its connections when the value is
/// dropped.
pub struct Postgres {
    admin: PgOptions,
    name: String,
    /// The database's URL.
    pub url: String,
}

impl Postgres {
    /// A new, empty database on the configured server (stories run only when there is one).
    pub async fn fresh() -> Self {
        let TestServer::At(server) = test_server() else { panic!("no PostgreSQL server is configured") };
        let admin = PgOptions::parse(&server).expect("HOOKLINE_TEST_POSTGRES_URL is a valid PostgreSQL URL");
        let name = format!("hookline_test_{:016x}", fastrand::u64(..));
        hookline_store_postgres::create_database(&admin, &name).await.expect("the test database can be created");
        let url = hookline_store_postgres::url_with_database(&server, &name);
        Self { admin, name, url }
    }

    /// Opens the concrete store, for stories about what only PostgreSQL offers. A small pool: tests run in
    /// parallel against one server.
    pub async fn open_pg(&self) -> StoreResult<PgStore> {
        self.open_pg_with(test_cipher()).await
    }

    async fn open_pg_with(&self, secrets: Arc<SecretCipher>) -> StoreResult<PgStore> {
        let mut options = PgOptions::parse(&self.url)?;
        options.pool_size = 4;
        options.secrets = secrets;
        PgStore::open(&options).await
    }
}

#[async_trait]
impl Backend for Postgres {
    async fn open_with(&self, secrets: Arc<SecretCipher>) -> StoreResult<Box<dyn Store>> {
        Ok(Box::new(self.open_pg_with(secrets).await?))
    }

    async fn raw_secrets(&self) -> Vec<String> {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        let rows = client
            .query("SELECT secret FROM webhooks UNION ALL SELECT previous_secret FROM webhooks WHERE previous_secret IS NOT NULL", &[])
            .await
            .unwrap();
        rows.iter().map(|row| row.get(0)).collect()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, so the database is dropped from a thread with a runtime of its own.
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(hookline_store_postgres::drop_database(&admin, &name)).map_err(std::io::Error::other)
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}
