//! Storing an event and fanning it out: shared by publishing and by the operational events that recording
//! attempts can raise. The PostgreSQL twin of `sqlite/fanout.rs`.

use std::sync::Arc;

use deadpool_postgres::{GenericClient, Transaction};
use hookline_core::Timestamp;
use hookline_core::catalog::is_built_in;
use hookline_core::delivery::DeliveryJob;
use hookline_core::event::{Event, NewEvent};
use hookline_core::ids::{DeliveryId, PlatformId};
use hookline_core::webhook::Webhook;

use hookline_store::decode::{self, Columns, JOB_COLUMN_COUNT, JOB_COLUMNS, WEBHOOK_COLUMNS};
use hookline_store::statements;
use hookline_store::{Published, SecretCipher, StoreError, Target, policy};

use crate::error::DbResult;
use crate::rows::PgRow;
use crate::{query, query_one, query_opt};

/// Whether `name` is in the platform's catalog (built in, or added by the platform).
pub(super) async fn event_type_exists<C: GenericClient>(client: &C, platform: &str, name: &str) -> DbResult<bool> {
    if is_built_in(name) {
        return Ok(true);
    }
    let found = query_opt(client, statements::CUSTOM_EVENT_TYPE_EXISTS.postgres(), &[&platform, &name]).await?;
    Ok(found.is_some())
}

/// One webhook of the platform.
pub(super) async fn load_webhook<C: GenericClient>(
    client: &C,
    secrets: &SecretCipher,
    platform: &str,
    id: &str,
) -> DbResult<Webhook> {
    let sql = statements::WEBHOOK_BY_ID.postgres();
    let row = query_opt(client, sql, &[&platform, &id]).await?.ok_or(StoreError::NotFound)?;
    Ok(decode::webhook(&PgRow(&row), secrets)?)
}

/// One webhook of the platform, locked until the transaction ends (every change to a webhook and to its
/// deliveries' hold state goes through this lock, so concurrent nodes apply them one after the other).
pub(super) async fn lock_webhook(
    tx: &Transaction<'_>,
    secrets: &SecretCipher,
    platform: &str,
    id: &str,
) -> DbResult<Webhook> {
    let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE platform_id = $1 AND id = $2 FOR UPDATE");
    let row = query_opt(tx, &sql, &[&platform, &id]).await?.ok_or(StoreError::NotFound)?;
    Ok(decode::webhook(&PgRow(&row), secrets)?)
}

pub(super) async fn find_event<C: GenericClient>(
    client: &C,
    platform: &str,
    id: &str,
) -> DbResult<Option<(i64, Event)>> {
    // `pk` comes last so that `decode::event` reads the same column positions as everywhere else.
    let sql = statements::EVENT_BY_ID.postgres();
    match query_opt(client, sql, &[&platform, &id]).await? {
        Some(row) => Ok(Some((row.try_get(5)?, decode::event(&PgRow(&row))?))),
        None => Ok(None),
    }
}

/// Leases the deliveries `ids` until `lease_until` and returns their jobs, earliest due first, rendering each
/// event's body once. The caller has locked the rows or just created them.
pub(super) async fn lease_jobs(
    tx: &Transaction<'_>,
    ids: &[&str],
    lease_until: Timestamp,
    secrets: &SecretCipher,
) -> DbResult<Vec<DeliveryJob>> {
    let sql = format!(
        "UPDATE deliveries d SET leased_until = $2 FROM events e, webhooks w \
         WHERE d.id = ANY($1) AND e.pk = d.event_pk AND w.id = d.webhook_id \
         RETURNING {JOB_COLUMNS}, d.next_attempt_at"
    );
    let rows = query(tx, &sql, &[&ids, &lease_until.unix_millis()]).await?;
    jobs_from_rows(&rows, secrets)
}

/// Decodes job rows (`JOB_COLUMNS`, then the due time), earliest due first (then by delivery id), rendering
/// each event's body once.
pub(super) fn jobs_from_rows(rows: &[tokio_postgres::Row], secrets: &SecretCipher) -> DbResult<Vec<DeliveryJob>> {
    let mut bodies = decode::Bodies::new();
    let mut jobs = rows
        .iter()
        .map(|row| {
            let row = PgRow(row);
            Ok((row.opt_int(JOB_COLUMN_COUNT)?, decode::job(&row, &mut bodies, secrets)?))
        })
        .collect::<DbResult<Vec<_>>>()?;
    jobs.sort_by(|(a_due, a), (b_due, b)| (a_due, a.delivery_id.as_str()).cmp(&(b_due, b.delivery_id.as_str())));
    Ok(jobs.into_iter().map(|(_, job)| job).collect())
}

/// Stores `event` and one delivery per target: enabled targets get a pending delivery leased to the caller
/// (returned as a job) when there is a `lease_until` (else left for the poller), disabled ones a `held`
/// delivery. A repeated id returns the stored event when the type and data are the same, and is
/// `EventIdReused` when they differ.
pub(super) async fn publish(
    tx: &Transaction<'_>,
    secrets: &SecretCipher,
    platform: &PlatformId,
    event: NewEvent,
    target: Target,
    now: Timestamp,
    lease_until: Option<Timestamp>,
) -> DbResult<Published> {
    let platform_str = platform.as_str();
    let only = match &target {
        Target::Only(id) => Some(load_webhook(tx, secrets, platform_str, id.as_str()).await?),
        _ => None,
    };
    if !event_type_exists(tx, platform_str, event.event_type.as_str()).await? {
        return Err(StoreError::UnknownEventType(event.event_type.as_str().to_owned()).into());
    }
    // A concurrent publish of the same id (on another node) waits here until that one commits or rolls back.
    let inserted = query_opt(
        tx,
        statements::INSERT_EVENT.postgres(),
        &[&platform_str, &event.id.as_str(), &event.event_type.as_str(), &event.data, &now.unix_millis()],
    )
    .await?;
    let Some(inserted) = inserted else {
        let (pk, existing) = find_event(tx, platform_str, event.id.as_str()).await?.ok_or(StoreError::NotFound)?;
        if !policy::same_event(&existing, &event) {
            return Err(StoreError::EventIdReused(event.id.as_str().to_owned()).into());
        }
        let delivery_count: i64 =
            query_one(tx, statements::COUNT_EVENT_DELIVERIES.postgres(), &[&pk]).await?.try_get(0)?;
        return Ok(Published {
            event: existing,
            created: false,
            delivery_count: delivery_count as usize,
            jobs: Vec::new(),
        });
    };
    let event_pk: i64 = inserted.try_get(0)?;
    let stored = policy::stored_event(platform, event, now);
    // (webhook, send now?) — a test send goes out whatever the webhook's state; otherwise disabled webhooks
    // keep the event as held.
    let targets: Vec<(Webhook, bool)> = match only {
        Some(webhook) => vec![(webhook, true)],
        None => {
            let sql = statements::PLATFORM_WEBHOOKS.postgres();
            let webhooks = query(tx, sql, &[&platform_str]).await?;
            let decoded = webhooks.iter().map(|row| decode::webhook(&PgRow(row), secrets));
            policy::matching(decoded, &stored.event_type, &target)?
        }
    };
    let delivery_count = targets.len();
    if targets.is_empty() {
        return Ok(Published { event: stored, created: true, delivery_count, jobs: Vec::new() });
    }
    // One INSERT for all of the event's deliveries, however many webhooks it goes to.
    let mut ids = Vec::with_capacity(targets.len());
    let mut webhook_ids = Vec::with_capacity(targets.len());
    let mut statuses = Vec::with_capacity(targets.len());
    let mut due = Vec::with_capacity(targets.len());
    let mut leases = Vec::with_capacity(targets.len());
    let delivery_ids: Vec<DeliveryId> = targets.iter().map(|_| DeliveryId::generate()).collect();
    for ((webhook, send), id) in targets.iter().zip(&delivery_ids) {
        ids.push(id.as_str());
        webhook_ids.push(webhook.id.as_str());
        statuses.push(if *send { "pending" } else { "held" });
        due.push(send.then_some(now.unix_millis()));
        // A listener's deliveries are never leased here: its CLI's stream claims them, not an engine.
        leases.push(lease_until.filter(|_| *send && !webhook.listener).map(Timestamp::unix_millis));
    }
    query(
        tx,
        "INSERT INTO deliveries (id, platform_id, event_pk, webhook_id, status, attempt_count, next_attempt_at, \
         leased_until, created_at, updated_at) \
         SELECT t.id, $2, $3, t.webhook_id, t.status, 0, t.due, t.lease, $4, $4 \
         FROM UNNEST($1::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[]) AS t(id, webhook_id, status, due, lease)",
        &[&ids, &platform_str, &event_pk, &now.unix_millis(), &webhook_ids, &statuses, &due, &leases],
    )
    .await?;
    let body: Arc<[u8]> = stored.delivery_body().into();
    let mut jobs = Vec::new();
    for ((webhook, send), delivery_id) in targets.into_iter().zip(delivery_ids) {
        if send && lease_until.is_some() && !webhook.listener {
            jobs.push(policy::first_job(delivery_id, webhook, &stored, &body));
        }
    }
    Ok(Published { event: stored, created: true, delivery_count, jobs })
}
