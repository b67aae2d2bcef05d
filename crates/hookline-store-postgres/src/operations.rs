//! `impl OperationsStore for PgStore`: as its SQLite twin (`sqlite/operations.rs`). Each retention batch is
//! one short transaction; row locks make a concurrent retry of an old delivery either wait for the batch or
//! keep its event (the deletes check again that nothing is left to send).

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::ids::PlatformId;

use hookline_store::statements;
use hookline_store::{OperationsStore, Pruned, StoreResult};

use crate::error::DbResult;
use crate::{PgStore, execute, query, query_one};

#[async_trait]
impl OperationsStore for PgStore {
    async fn probe_write(&self) -> StoreResult<()> {
        // A real insert (heap and WAL), rolled back: fails on a full disk (53100), a read-only server (25006)
        // or a lost connection, as a publish would.
        let result: DbResult<()> = async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            execute(&tx, "INSERT INTO write_probe (payload) VALUES (decode(repeat('00', 16384), 'hex'))", &[]).await?;
            tx.rollback().await?;
            Ok(())
        }
        .await;
        Ok(result?)
    }

    async fn prune_before(&self, before: Timestamp, batch: usize) -> StoreResult<Pruned> {
        let before = before.unix_millis();
        let limit = batch as i64;
        transaction!(self, |tx| {
            let pks: Vec<i64> = query(&tx, statements::PRUNABLE_EVENTS.postgres(), &[&before, &limit])
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
            let mut pruned = Pruned::default();
            for pk in &pks {
                pruned.attempts += execute(&tx, statements::PRUNE_EVENT_ATTEMPTS.postgres(), &[pk]).await?;
                pruned.deliveries += execute(&tx, statements::PRUNE_EVENT_DELIVERIES.postgres(), &[pk]).await?;
                pruned.events += execute(&tx, statements::PRUNE_EVENT.postgres(), &[pk]).await?;
            }
            pruned.inbox_requests =
                execute(&tx, statements::PRUNE_INBOX_REQUESTS.postgres(), &[&before, &limit]).await?;
            Ok(pruned)
        })
    }

    async fn oldest_pending_delivery(&self) -> StoreResult<Option<Timestamp>> {
        let result: DbResult<Option<Timestamp>> = async {
            let client = self.client().await?;
            let row = query_one(&client, statements::OLDEST_PENDING_DELIVERY.postgres(), &[]).await?;
            Ok(row.try_get::<_, Option<i64>>(0)?.map(Timestamp::from_unix_millis))
        }
        .await;
        Ok(result?)
    }

    async fn webhook_count(&self, platform: &PlatformId) -> StoreResult<u64> {
        let result: DbResult<u64> = async {
            let client = self.client().await?;
            let row = query_one(&client, statements::WEBHOOK_COUNT.postgres(), &[&platform.as_str()]).await?;
            Ok(row.try_get::<_, i64>(0)? as u64)
        }
        .await;
        Ok(result?)
    }
}
