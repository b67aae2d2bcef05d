//! `impl ApiStore for PgStore`: the API's queries on PostgreSQL. Each behaves as its SQLite twin in
//! `hookline-store-sqlite`'s `queries.rs`; where several nodes need more (locks, `SKIP LOCKED`), the comment
//! says so.

use async_trait::async_trait;
use hookline_core::Timestamp;
use hookline_core::delivery::{DeliveryJob, DeliveryStatus};
use hookline_core::event::{Event, NewEvent};
use hookline_core::ids::{DeliveryId, EventId, PlatformId, WebhookId};
use hookline_core::notification::Notification;
use hookline_core::platform::{EventType, Platform};
use hookline_core::secret::{KeyHash, Secret};
use hookline_core::webhook::{EventFilter, Webhook};
use tokio_postgres::error::SqlState;

use hookline_store::decode::{self, ATTEMPT_COLUMNS, EVENT_COLUMNS, NOTIFICATION_COLUMNS, WEBHOOK_COLUMNS};
use hookline_store::policy::{self, page_limit as limit};
use hookline_store::statements;
use hookline_store::{
    ApiStore, DeliveryDetail, DeliverySummary, Page, Published, StoreError, StoreResult, Target, WebhookPatch,
};

use crate::error::DbResult;
use crate::fanout::{self, event_type_exists, find_event, load_webhook, lock_webhook};
use crate::rows::{PgRow, SUMMARY_COLUMNS};
use crate::{PgStore, execute, query, query_opt};

async fn check_filter<C: deadpool_postgres::GenericClient>(
    client: &C,
    platform: &str,
    filter: &EventFilter,
) -> DbResult<()> {
    if let EventFilter::Only(names) = filter {
        for name in names {
            if !event_type_exists(client, platform, name.as_str()).await? {
                return Err(StoreError::UnknownEventType(name.as_str().to_owned()).into());
            }
        }
    }
    Ok(())
}

async fn load_summary<C: deadpool_postgres::GenericClient>(
    client: &C,
    platform: &str,
    id: &str,
) -> DbResult<DeliverySummary> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM deliveries d JOIN events e ON e.pk = d.event_pk \
         JOIN webhooks w ON w.id = d.webhook_id WHERE d.platform_id = $1 AND d.id = $2"
    );
    let row = query_opt(client, &sql, &[&platform, &id]).await?.ok_or(StoreError::NotFound)?;
    Ok(decode::summary(&PgRow(&row))?)
}

#[async_trait]
impl ApiStore for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        let client = self.client().await?;
        query(&client, statements::PING.postgres(), &[]).await?;
        Ok(())
    }

    async fn create_platform(&self, platform: Platform, key_hash: KeyHash) -> StoreResult<()> {
        let sql = statements::INSERT_PLATFORM.postgres();
        transaction!(self, |tx| {
            let created_at = platform.created_at.unix_millis();
            execute(&tx, sql, &[&platform.id.as_str(), &platform.name, &platform.url, &platform.email, &created_at])
                .await?;
            execute(&tx, statements::INSERT_API_KEY.postgres(), &[&key_hash.0, &platform.id.as_str(), &created_at])
                .await?;
            Ok(())
        })
    }

    async fn platform_by_key(&self, key_hash: KeyHash) -> StoreResult<Option<Platform>> {
        let sql = statements::PLATFORM_BY_KEY.postgres();
        let client = self.client().await?;
        query_opt(&client, sql, &[&key_hash.0]).await?.map(|row| decode::platform(&PgRow(&row))).transpose()
    }

    async fn list_event_types(&self, platform: &PlatformId) -> StoreResult<Vec<EventType>> {
        let mut types = decode::built_in_event_types();
        let client = self.client().await?;
        let custom = query(&client, statements::CUSTOM_EVENT_TYPES.postgres(), &[&platform.as_str()]).await?;
        for row in &custom {
            types.push(decode::custom_event_type(&PgRow(row))?);
        }
        Ok(types)
    }

    async fn create_event_type(&self, platform: &PlatformId, event_type: EventType, now: Timestamp) -> StoreResult<()> {
        let conflict = || StoreError::Conflict(format!("event type {} already exists", event_type.name));
        transaction!(self, |tx| {
            if event_type_exists(&tx, platform.as_str(), &event_type.name).await? {
                return Err(conflict().into());
            }
            execute(
                &tx,
                statements::INSERT_EVENT_TYPE.postgres(),
                &[&platform.as_str(), &event_type.name, &event_type.description, &now.unix_millis()],
            )
            .await
            .map_err(|error| match error.sql_state() {
                // Two nodes adding the same name at once: the second insert hits the key.
                Some(&SqlState::UNIQUE_VIOLATION) => conflict().into(),
                _ => error,
            })?;
            Ok(())
        })
    }

    async fn create_webhook(&self, webhook: Webhook) -> StoreResult<()> {
        let sql = statements::INSERT_WEBHOOK.postgres();
        let owner = webhook.id.as_str();
        let sealed = self.secrets.seal(owner, &webhook.secrets.current)?;
        let sealed_previous =
            webhook.secrets.previous.as_ref().map(|(secret, _)| self.secrets.seal(owner, secret)).transpose()?;
        transaction!(self, |tx| {
            check_filter(&tx, webhook.platform_id.as_str(), &webhook.events).await?;
            let previous = webhook.secrets.previous.as_ref();
            execute(
                &tx,
                sql,
                &[
                    &webhook.id.as_str(),
                    &webhook.platform_id.as_str(),
                    &webhook.url.as_str(),
                    &decode::encode_filter(&webhook.events),
                    &webhook.description,
                    &sealed,
                    &sealed_previous,
                    &previous.map(|(_, until)| until.unix_millis()),
                    &webhook.enabled,
                    &webhook.disabled_reason,
                    &webhook.created_at.unix_millis(),
                    &webhook.updated_at.unix_millis(),
                    &webhook.concurrency.map(i64::from),
                    &webhook.failing_since.map(Timestamp::unix_millis),
                    &webhook.rate_limit.map(i64::from),
                    &webhook.listener,
                ],
            )
            .await?;
            Ok(())
        })
    }

    async fn list_webhooks(&self, platform: &PlatformId, page: Page) -> StoreResult<Vec<Webhook>> {
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE platform_id = $1 AND ($2::text IS NULL OR id > $2::text) \
             ORDER BY id LIMIT $3"
        );
        let client = self.client().await?;
        let found = query(&client, &sql, &[&platform.as_str(), &page.after, &limit(&page)]).await?;
        found.iter().map(|row| decode::webhook(&PgRow(row), &self.secrets)).collect()
    }

    async fn get_webhook(&self, platform: &PlatformId, id: &WebhookId) -> StoreResult<Webhook> {
        let client = self.client().await?;
        Ok(load_webhook(&client, &self.secrets, platform.as_str(), id.as_str()).await?)
    }

    async fn update_webhook(
        &self,
        platform: &PlatformId,
        id: &WebhookId,
        patch: WebhookPatch,
        now: Timestamp,
    ) -> StoreResult<Webhook> {
        let (platform, id) = (platform.as_str(), id.as_str());
        transaction!(self, |tx| {
            let patch = patch.clone();
            let mut webhook = lock_webhook(&tx, &self.secrets, platform, id).await?;
            if let Some(events) = &patch.events {
                check_filter(&tx, platform, events).await?;
            }
            if let Some(enabled) = policy::apply_patch(&mut webhook, patch, now) {
                if enabled {
                    // What was held goes out now, oldest first (the poller claims by due time, then id).
                    execute(&tx, statements::RELEASE_HELD.postgres(), &[&id, &now.unix_millis()]).await?;
                } else {
                    execute(&tx, statements::HOLD_PENDING.postgres(), &[&id, &now.unix_millis()]).await?;
                }
            }
            execute(
                &tx,
                statements::UPDATE_WEBHOOK.postgres(),
                &[
                    &platform,
                    &id,
                    &webhook.url.as_str(),
                    &decode::encode_filter(&webhook.events),
                    &webhook.description,
                    &webhook.enabled,
                    &webhook.disabled_reason,
                    &now.unix_millis(),
                    &webhook.concurrency.map(i64::from),
                    &webhook.failing_since.map(Timestamp::unix_millis),
                    &webhook.rate_limit.map(i64::from),
                ],
            )
            .await?;
            Ok(webhook)
        })
    }

    async fn delete_webhook(&self, platform: &PlatformId, id: &WebhookId) -> StoreResult<()> {
        let (platform, id) = (platform.as_str(), id.as_str());
        transaction!(self, |tx| {
            let deleted = execute(&tx, statements::DELETE_WEBHOOK.postgres(), &[&platform, &id]).await?;
            if deleted == 0 {
                return Err(StoreError::NotFound.into());
            }
            execute(&tx, statements::DELETE_WEBHOOK_ATTEMPTS.postgres(), &[&id]).await?;
            execute(&tx, statements::DELETE_WEBHOOK_DELIVERIES.postgres(), &[&id]).await?;
            execute(&tx, statements::DELETE_WEBHOOK_HOURLY.postgres(), &[&id]).await?;
            Ok(())
        })
    }

    async fn rotate_secret(
        &self,
        platform: &PlatformId,
        id: &WebhookId,
        new_secret: Secret,
        overlap_until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Webhook> {
        let (platform, id) = (platform.as_str(), id.as_str());
        let sealed = self.secrets.seal(id, &new_secret)?;
        transaction!(self, |tx| {
            let changed = execute(
                &tx,
                statements::ROTATE_SECRET.postgres(),
                &[&platform, &id, &overlap_until.unix_millis(), &sealed, &now.unix_millis()],
            )
            .await?;
            if changed == 0 {
                return Err(StoreError::NotFound.into());
            }
            load_webhook(&tx, &self.secrets, platform, id).await
        })
    }

    async fn publish_event(
        &self,
        platform: &PlatformId,
        event: NewEvent,
        target: Target,
        now: Timestamp,
        lease_until: Option<Timestamp>,
    ) -> StoreResult<Published> {
        transaction!(self, |tx| fanout::publish(
            &tx,
            &self.secrets,
            platform,
            event.clone(),
            target.clone(),
            now,
            lease_until
        )
        .await)
    }

    async fn list_events(&self, platform: &PlatformId, page: Page) -> StoreResult<Vec<Event>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events e WHERE e.platform_id = $1 \
             AND ($2::text IS NULL OR e.pk < (SELECT pk FROM events WHERE platform_id = $1 AND id = $2::text)) \
             ORDER BY e.pk DESC LIMIT $3"
        );
        let client = self.client().await?;
        let found = query(&client, &sql, &[&platform.as_str(), &page.after, &limit(&page)]).await?;
        found.iter().map(|row| decode::event(&PgRow(row))).collect()
    }

    async fn get_event(&self, platform: &PlatformId, id: &EventId) -> StoreResult<(Event, Vec<DeliverySummary>)> {
        let client = self.client().await?;
        let (pk, event) = find_event(&client, platform.as_str(), id.as_str()).await?.ok_or(StoreError::NotFound)?;
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM deliveries d JOIN events e ON e.pk = d.event_pk \
             JOIN webhooks w ON w.id = d.webhook_id WHERE d.event_pk = $1 ORDER BY d.id"
        );
        let deliveries = query(&client, &sql, &[&pk])
            .await?
            .iter()
            .map(|row| decode::summary(&PgRow(row)))
            .collect::<StoreResult<_>>()?;
        Ok((event, deliveries))
    }

    async fn list_deliveries(
        &self,
        platform: &PlatformId,
        webhook: &WebhookId,
        status: Option<DeliveryStatus>,
        page: Page,
    ) -> StoreResult<Vec<DeliverySummary>> {
        // One query for both lists: the dashboard's search adds time bounds to the same keyset page.
        let query = hookline_store::ui::DeliveryQuery { status, page, ..Default::default() };
        hookline_store::UiStore::search_deliveries(self, platform, webhook, query).await
    }

    async fn get_delivery(&self, platform: &PlatformId, id: &DeliveryId) -> StoreResult<DeliveryDetail> {
        let client = self.client().await?;
        let summary = load_summary(&client, platform.as_str(), id.as_str()).await?;
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE delivery_id = $1 ORDER BY attempt_number, started_at, id"
        );
        let found = query(&client, &sql, &[&id.as_str()]).await?;
        let attempts = found.iter().map(|row| decode::attempt(&PgRow(row))).collect::<StoreResult<_>>()?;
        Ok(DeliveryDetail { summary, attempts })
    }

    async fn retry_delivery(
        &self,
        platform: &PlatformId,
        id: &DeliveryId,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<DeliveryJob> {
        let (platform, id) = (platform.as_str(), id.as_str());
        transaction!(self, |tx| {
            let state = query_opt(
                &tx,
                "SELECT d.status, d.leased_until, w.enabled FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                 WHERE d.platform_id = $1 AND d.id = $2 FOR UPDATE OF d",
                &[&platform, &id],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
            let (status, leased_until, enabled): (String, Option<i64>, bool) =
                (state.try_get(0)?, state.try_get(1)?, state.try_get(2)?);
            policy::check_retry(&status, leased_until, enabled, now)?;
            execute(&tx, statements::RETRY_DELIVERY.postgres(), &[&id, &now.unix_millis()]).await?;
            let mut jobs = fanout::lease_jobs(&tx, &[id], lease_until, &self.secrets).await?;
            Ok(jobs.pop().ok_or(StoreError::NotFound)?)
        })
    }

    async fn recover_webhook(
        &self,
        platform: &PlatformId,
        id: &WebhookId,
        since: Timestamp,
        now: Timestamp,
    ) -> StoreResult<usize> {
        let (platform, id) = (platform.as_str(), id.as_str());
        transaction!(self, |tx| {
            policy::require_enabled(lock_webhook(&tx, &self.secrets, platform, id).await?.enabled)?;
            let recovered =
                execute(&tx, statements::RECOVER_FAILED.postgres(), &[&id, &since.unix_millis(), &now.unix_millis()])
                    .await?;
            Ok(recovered as usize)
        })
    }

    async fn list_notifications(&self, platform: &PlatformId, page: Page) -> StoreResult<Vec<Notification>> {
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE platform_id = $1 \
             AND ($2::text IS NULL OR id < $2::text) ORDER BY id DESC LIMIT $3"
        );
        let client = self.client().await?;
        let found = query(&client, &sql, &[&platform.as_str(), &page.after, &limit(&page)]).await?;
        found.iter().map(|row| decode::notification(&PgRow(row))).collect()
    }
}
