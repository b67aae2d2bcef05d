//! `impl OperationsStore for SqliteStore`: the write probe, retention in small batches, gauges and counts.
//! Retention runs as background writes on the writer thread, so it never holds the write lock longer than one
//! batch and API writes go first.

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::ids::PlatformId;
use rusqlite::params;

use hookline_store::statements;
use hookline_store::{OperationsStore, Pruned, StoreResult};

use crate::SqliteStore;
use crate::error::DbResult;

#[async_trait]
impl OperationsStore for SqliteStore {
    async fn probe_write(&self) -> StoreResult<()> {
        // Inside a savepoint, so the group-committed transaction it shares keeps nothing of it. The blob spans
        // several pages, so a full disk (or `max_page_count`) fails it as it fails a publish.
        self.write(|conn| {
            conn.execute_batch("SAVEPOINT probe")?;
            let result = conn.execute("INSERT INTO write_probe (payload) VALUES (zeroblob(16384))", []);
            conn.execute_batch("ROLLBACK TO probe; RELEASE probe")?;
            result?;
            Ok(())
        })
        .await
    }

    async fn prune_before(&self, before: Timestamp, batch: usize) -> StoreResult<Pruned> {
        self.write_background(move |conn| {
            let before = before.unix_millis();
            let limit = batch as i64;
            let pks = conn
                .prepare_cached(statements::PRUNABLE_EVENTS.sqlite())?
                .query_map(params![before, limit], |row| row.get::<_, i64>(0))?
                .collect::<Result<Vec<i64>, _>>()?;
            let mut pruned = Pruned::default();
            let mut attempts = conn.prepare_cached(statements::PRUNE_EVENT_ATTEMPTS.sqlite())?;
            let mut deliveries = conn.prepare_cached(statements::PRUNE_EVENT_DELIVERIES.sqlite())?;
            let mut events = conn.prepare_cached(statements::PRUNE_EVENT.sqlite())?;
            for pk in pks {
                pruned.attempts += attempts.execute([pk])? as u64;
                pruned.deliveries += deliveries.execute([pk])? as u64;
                pruned.events += events.execute([pk])? as u64;
            }
            pruned.inbox_requests =
                conn.prepare_cached(statements::PRUNE_INBOX_REQUESTS.sqlite())?.execute(params![before, limit])? as u64;
            Ok(pruned)
        })
        .await
    }

    async fn oldest_pending_delivery(&self) -> StoreResult<Option<Timestamp>> {
        self.read(|conn| {
            let oldest: Option<i64> =
                conn.prepare_cached(statements::OLDEST_PENDING_DELIVERY.sqlite())?.query_row([], |row| row.get(0))?;
            Ok(oldest.map(Timestamp::from_unix_millis))
        })
        .await
    }

    async fn webhook_count(&self, platform: &PlatformId) -> StoreResult<u64> {
        let platform = platform.as_str().to_owned();
        self.read(move |conn| -> DbResult<u64> {
            let count: i64 =
                conn.prepare_cached(statements::WEBHOOK_COUNT.sqlite())?.query_row([platform], |row| row.get(0))?;
            Ok(count as u64)
        })
        .await
    }
}
