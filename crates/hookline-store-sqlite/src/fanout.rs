//! Storing an event and fanning it out: shared by publishing and by the operational events that recording
//! attempts can raise.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hookline_core::Timestamp;
use hookline_core::catalog::is_built_in;
use hookline_core::event::{Event, NewEvent};
use hookline_core::ids::{DeliveryId, PlatformId};
use hookline_core::webhook::Webhook;
use hookline_store::decode::{self};
use hookline_store::statements;
use hookline_store::{Published, SecretCipher, StoreError, Target, policy};
use rusqlite::hooks::Action;
use rusqlite::{Connection, OptionalExtension, params};

use crate::Writer;
use crate::error::DbResult;
use crate::rows::{SqliteRow, lift};

/// Whether `name` is in the platform's catalog (built in, or added by the platform).
pub(super) fn event_type_exists(conn: &Connection, platform: &str, name: &str) -> DbResult<bool> {
    if is_built_in(name) {
        return Ok(true);
    }
    let found = conn
        .prepare_cached(statements::CUSTOM_EVENT_TYPE_EXISTS.sqlite())?
        .query_row(params![platform, name], |_| Ok(()))
        .optional()?;
    Ok(found.is_some())
}

/// The writer's cache of each platform's decoded webhooks, for fan-out: decoding 100 webhooks (URL, filter,
/// secrets) on every publish was a fifth of the server's CPU in a wide fan-out.
///
/// Nothing has to remember to invalidate it: SQLite's update hook on the write connection marks it stale
/// whenever any row of `webhooks` is inserted, updated or deleted (by any statement, present or future), and the
/// next lookup starts afresh. The writer clears it after a rollback, which may have undone rows it cached.
pub(crate) struct WebhookCache {
    platforms: HashMap<String, Arc<Vec<Webhook>>>,
    /// Set by the update hook, taken by the next lookup.
    stale: Arc<AtomicBool>,
}

impl WebhookCache {
    /// An empty cache that `conn`'s update hook keeps honest. `conn` must be the only connection that writes.
    pub(crate) fn watching(conn: &mut Connection) -> DbResult<Self> {
        let stale = Arc::new(AtomicBool::new(false));
        let hook = Arc::clone(&stale);
        // Fires for rowid tables only (`webhooks` is one); called synchronously on the writer thread for each row.
        conn.update_hook(Some(move |_: Action, _: &str, table: &str, _: i64| {
            if table == "webhooks" {
                hook.store(true, Ordering::Relaxed);
            }
        }))?;
        Ok(Self { platforms: HashMap::new(), stale })
    }

    /// Forgets everything (after a rollback).
    pub(crate) fn clear(&mut self) {
        self.platforms.clear();
    }

    fn platform(&mut self, conn: &Connection, secrets: &SecretCipher, platform: &str) -> DbResult<Arc<Vec<Webhook>>> {
        if self.stale.swap(false, Ordering::Relaxed) {
            self.platforms.clear();
        }
        if let Some(cached) = self.platforms.get(platform) {
            return Ok(Arc::clone(cached));
        }
        let mut select = conn.prepare_cached(statements::PLATFORM_WEBHOOKS.sqlite())?;
        let webhooks: Vec<Webhook> = select
            .query_map([platform], lift(|row| decode::webhook(row, secrets)))?
            .map(|row| row?)
            .collect::<DbResult<_>>()?;
        let webhooks = Arc::new(webhooks);
        // A bound on memory for hosts with very many platforms; the cache simply refills.
        if self.platforms.len() >= 1024 {
            self.platforms.clear();
        }
        self.platforms.insert(platform.to_owned(), Arc::clone(&webhooks));
        Ok(webhooks)
    }
}

pub(super) fn load_webhook(conn: &Connection, secrets: &SecretCipher, platform: &str, id: &str) -> DbResult<Webhook> {
    conn.prepare_cached(statements::WEBHOOK_BY_ID.sqlite())?
        .query_row(params![platform, id], lift(|row| decode::webhook(row, secrets)))
        .optional()?
        .ok_or(StoreError::NotFound)?
}

pub(super) fn find_event(conn: &Connection, platform: &str, id: &str) -> DbResult<Option<(i64, Event)>> {
    // `pk` comes last so that `decode::event` reads the same column positions as everywhere else.
    let sql = statements::EVENT_BY_ID.sqlite();
    let found = conn
        .prepare_cached(sql)?
        .query_row(params![platform, id], |row| Ok((row.get::<_, i64>(5)?, decode::event(&SqliteRow(row)))))
        .optional()?;
    Ok(found.map(|(pk, event)| event.map(|event| (pk, event))).transpose()?)
}

/// Stores `event` and one delivery per target: enabled targets get a pending delivery, leased to the caller
/// and returned as a job when there is a `lease_until` (else left for the poller), disabled ones a `held`
/// delivery. A repeated id returns the stored event when the type and data are the same, and is
/// `EventIdReused` when they differ.
pub(super) fn publish(
    conn: &mut Writer,
    platform: &PlatformId,
    event: NewEvent,
    target: Target,
    now: Timestamp,
    lease_until: Option<Timestamp>,
) -> DbResult<Published> {
    let platform_str = platform.as_str();
    let only = match &target {
        Target::Only(id) => Some(load_webhook(conn, &conn.secrets, platform_str, id.as_str())?),
        _ => None,
    };
    if !event_type_exists(conn, platform_str, event.event_type.as_str())? {
        return Err(StoreError::UnknownEventType(event.event_type.as_str().to_owned()).into());
    }
    let inserted: Option<i64> = conn
        .prepare_cached(statements::INSERT_EVENT.sqlite())?
        .query_row(
            params![platform_str, event.id.as_str(), event.event_type.as_str(), event.data, now.unix_millis()],
            |row| row.get(0),
        )
        .optional()?;
    let Some(event_pk) = inserted else {
        let (pk, existing) = find_event(conn, platform_str, event.id.as_str())?.ok_or(StoreError::NotFound)?;
        if !policy::same_event(&existing, &event) {
            return Err(StoreError::EventIdReused(event.id.as_str().to_owned()).into());
        }
        let delivery_count: i64 =
            conn.prepare_cached(statements::COUNT_EVENT_DELIVERIES.sqlite())?.query_row([pk], |row| row.get(0))?;
        return Ok(Published {
            event: existing,
            created: false,
            delivery_count: delivery_count as usize,
            jobs: Vec::new(),
        });
    };
    let stored = policy::stored_event(platform, event, now);
    // (webhook, send now?) — a test send goes out whatever the webhook's state; otherwise disabled webhooks
    // keep the event as held.
    let targets: Vec<(Webhook, bool)> = match only {
        Some(webhook) => vec![(webhook, true)],
        None => {
            let webhooks = conn.webhooks.platform(&conn.conn, &conn.secrets, platform_str)?;
            let candidates = webhooks.iter().filter(|w| w.events.matches(&stored.event_type)).cloned().map(Ok);
            policy::matching(candidates, &stored.event_type, &target)?
        }
    };
    let body: Arc<[u8]> = stored.delivery_body().into();
    let mut insert = conn.prepare_cached(
        "INSERT INTO deliveries (id, platform_id, event_pk, webhook_id, status, attempt_count, \
         next_attempt_at, leased_until, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?8)",
    )?;
    let mut jobs = Vec::new();
    let delivery_count = targets.len();
    for (webhook, send) in targets {
        let delivery_id = DeliveryId::generate();
        // A listener's deliveries are never leased here: its CLI's stream claims them, not an engine.
        let listener = webhook.listener;
        let (status, due, lease) = if send {
            ("pending", Some(now.unix_millis()), lease_until.filter(|_| !listener).map(Timestamp::unix_millis))
        } else {
            ("held", None, None)
        };
        insert.execute(params![
            delivery_id.as_str(),
            platform_str,
            event_pk,
            webhook.id.as_str(),
            status,
            due,
            lease,
            now.unix_millis()
        ])?;
        if send && lease_until.is_some() && !listener {
            jobs.push(policy::first_job(delivery_id, webhook, &stored, &body));
        }
    }
    Ok(Published { event: stored, created: true, delivery_count, jobs })
}
