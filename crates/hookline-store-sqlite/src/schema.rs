//! Migrations, applied at open: each script runs once, tracked by `PRAGMA user_version`.

use rusqlite::Connection;

use hookline_store::StoreError;

use crate::error::DbResult;

/// The scripts, in order. Never edit one that has shipped; add a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE platforms (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    url         TEXT NOT NULL,
    email       TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    key_hash    TEXT PRIMARY KEY,
    platform_id TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE event_types (
    platform_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (platform_id, name)
) WITHOUT ROWID;

CREATE TABLE webhooks (
    id                    TEXT PRIMARY KEY,
    platform_id           TEXT NOT NULL,
    url                   TEXT NOT NULL,
    events                TEXT NOT NULL,
    description           TEXT NOT NULL,
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_secret_until INTEGER,
    enabled               INTEGER NOT NULL,
    disabled_reason       TEXT,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX webhooks_platform ON webhooks (platform_id, id);

CREATE TABLE events (
    pk          INTEGER PRIMARY KEY,
    platform_id TEXT NOT NULL,
    id          TEXT NOT NULL,
    type        TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (platform_id, id)
);

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    platform_id     TEXT NOT NULL,
    event_pk        INTEGER NOT NULL,
    webhook_id      TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempt_count   INTEGER NOT NULL,
    next_attempt_at INTEGER,
    leased_until    INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_event ON deliveries (event_pk);

CREATE TABLE attempts (
    id               TEXT PRIMARY KEY,
    delivery_id      TEXT NOT NULL,
    attempt_number   INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    status           INTEGER,
    error_kind       TEXT,
    error_message    TEXT,
    response_excerpt TEXT NOT NULL
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, attempt_number);
"#,
    r#"
ALTER TABLE webhooks ADD COLUMN concurrency INTEGER;
ALTER TABLE webhooks ADD COLUMN failing_since INTEGER;
-- 1 once a delivery of the webhook failed for good or the webhook was disabled, until it delivers again
-- (then webhook.recovered is published).
ALTER TABLE webhooks ADD COLUMN degraded INTEGER NOT NULL DEFAULT 0;

-- The poller claims per webhook, oldest due first.
CREATE INDEX deliveries_webhook_due ON deliveries (webhook_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_webhook_status ON deliveries (webhook_id, status, updated_at);

CREATE TABLE notifications (
    id              TEXT PRIMARY KEY,
    platform_id     TEXT NOT NULL,
    webhook_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    platform_url    TEXT NOT NULL,
    webhook_url     TEXT NOT NULL,
    failed_count    INTEGER NOT NULL,
    event_types     TEXT NOT NULL,
    event_ids       TEXT NOT NULL,
    last_error      TEXT,
    reason          TEXT,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    send_error      TEXT,
    subject         TEXT,
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_webhook ON notifications (webhook_id, kind, created_at);
CREATE INDEX notifications_platform ON notifications (platform_id, id);
"#,
    r#"
-- Fewer B-trees per delivery: each delivery is inserted once and updated at least once, and every index is
-- written each time. The table is keyed by its id (WITHOUT ROWID: no separate id index); status-specific
-- lookups use partial indexes that a pending -> delivered delivery never enters.
DROP INDEX IF EXISTS deliveries_due;
DROP INDEX IF EXISTS deliveries_webhook_status;
CREATE TABLE deliveries_v3 (
    id              TEXT PRIMARY KEY,
    platform_id     TEXT NOT NULL,
    event_pk        INTEGER NOT NULL,
    webhook_id      TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempt_count   INTEGER NOT NULL,
    next_attempt_at INTEGER,
    leased_until    INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO deliveries_v3 SELECT id, platform_id, event_pk, webhook_id, status, attempt_count, next_attempt_at,
    leased_until, created_at, updated_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v3 RENAME TO deliveries;
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_event ON deliveries (event_pk);
CREATE INDEX deliveries_webhook_due ON deliveries (webhook_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_failed ON deliveries (webhook_id, created_at) WHERE status = 'failed';
CREATE INDEX deliveries_held ON deliveries (webhook_id) WHERE status = 'held';

-- Attempts are found by delivery, never by their own id: no unique index on it.
CREATE TABLE attempts_v3 (
    id               TEXT NOT NULL,
    delivery_id      TEXT NOT NULL,
    attempt_number   INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    status           INTEGER,
    error_kind       TEXT,
    error_message    TEXT,
    response_excerpt TEXT NOT NULL
);
INSERT INTO attempts_v3 SELECT id, delivery_id, attempt_number, started_at, duration_ms, status, error_kind,
    error_message, response_excerpt FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_v3 RENAME TO attempts;
CREATE INDEX attempts_delivery ON attempts (delivery_id, attempt_number);
"#,
    // 4: claims look for pending deliveries that are due and not leased. Indexing the moment a delivery
    // becomes claimable (its due time, or its lease's end if that is later) lets a claim seek straight to
    // claimable work; with the due time alone it stepped over every delivery in flight (a wide fan-out holds
    // a hundred thousand) on every poll, which was most of the writer's time.
    r#"
DROP INDEX deliveries_webhook_due;
CREATE INDEX deliveries_claimable ON deliveries (webhook_id, max(next_attempt_at, ifnull(leased_until, 0)))
    WHERE status = 'pending';
"#,
    // 5: inboxes and their captured requests. `last_seq` numbers each inbox's captures; a capture increments
    // it in the same transaction that inserts the request, so numbers follow commit order. Requests are found
    // by inbox and number (lists, trimming to the newest N, live streams) and by id (list cursors).
    r#"
CREATE TABLE inboxes (
    id                    TEXT PRIMARY KEY,
    platform_id           TEXT NOT NULL,
    response_status       INTEGER NOT NULL,
    response_body         TEXT NOT NULL,
    response_content_type TEXT NOT NULL,
    response_delay_ms     INTEGER NOT NULL,
    last_seq              INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL
);
CREATE INDEX inboxes_platform ON inboxes (platform_id, id);
CREATE INDEX inboxes_expiry ON inboxes (expires_at);

CREATE TABLE inbox_requests (
    id                      TEXT NOT NULL,
    inbox_id                TEXT NOT NULL,
    seq                     INTEGER NOT NULL,
    method                  TEXT NOT NULL,
    path                    TEXT NOT NULL,
    query                   TEXT NOT NULL,
    headers                 TEXT NOT NULL,
    body_truncated          INTEGER NOT NULL,
    size                    INTEGER NOT NULL,
    received_at             INTEGER NOT NULL,
    source_ip               TEXT,
    verification_code       TEXT,
    verification_message    TEXT,
    verification_webhook_id TEXT,
    body                    BLOB NOT NULL,
    verified                INTEGER
);
CREATE UNIQUE INDEX inbox_requests_seq ON inbox_requests (inbox_id, seq);
CREATE INDEX inbox_requests_id ON inbox_requests (id);
"#,
    // 6: the dashboard. Sessions and portal links are kept by the hash of their token only. The overview
    // counts each webhook's finished deliveries by time from deliveries_webhook_finished alone (covering;
    // partial: pending work never enters it). Event lists walk events_platform newest first (without it, with a million events,
    // the planner sorted the platform's events before taking a page: 0.35 s to 1.2 s per page instead of
    // 2 ms); a type filter walks events_type.
    r#"
CREATE TABLE ui_sessions (
    token_hash  TEXT PRIMARY KEY,
    platform_id TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX ui_sessions_expiry ON ui_sessions (expires_at);
CREATE TABLE portal_links (
    token_hash  TEXT PRIMARY KEY,
    platform_id TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX deliveries_webhook_finished ON deliveries (webhook_id, updated_at, status)
    WHERE status IN ('delivered', 'failed');
CREATE INDEX events_platform ON events (platform_id, pk);
CREATE INDEX events_type ON events (platform_id, type, pk);
"#,
    // 7: honest failure notices (below).
    r#"
-- Honest failure notices. claimed_at: when a notifier first claimed a notice for sending; from then on it
-- absorbs no more failures (they go to the next notice, due when the window ends). Notices already sent or
-- being sent count as claimed. failing_notified_at: when the owner was last told the webhook keeps failing
-- (once per failing streak, at most once per window); a success after that, in the same streak, sends a
-- recovery notice.
ALTER TABLE notifications ADD COLUMN claimed_at INTEGER;
UPDATE notifications SET claimed_at = COALESCE(sent_at, created_at) WHERE status <> 'pending' OR attempts > 0;
ALTER TABLE webhooks ADD COLUMN failing_notified_at INTEGER;
"#,
    // 8: API keys get an id (derived from the hash, so existing keys get theirs here), a name, the key's first
    // characters, a read-only flag and the time of last use (written at most once a minute per key).
    r#"
ALTER TABLE api_keys ADD COLUMN id TEXT;
ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT 'default';
ALTER TABLE api_keys ADD COLUMN prefix TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;
UPDATE api_keys SET id = 'key_' || substr(key_hash, 1, 16);
CREATE UNIQUE INDEX api_keys_id ON api_keys (id);
CREATE INDEX api_keys_platform ON api_keys (platform_id, created_at);
"#,
    // 9: operations (issue 11): the write probe behind /readyz, a receiver's rate limit per webhook, and the
    // indexes retention and the oldest-pending gauge read.
    r#"
CREATE TABLE write_probe (payload BLOB);
ALTER TABLE webhooks ADD COLUMN rate_limit INTEGER;
CREATE INDEX events_created ON events (created_at);
CREATE INDEX deliveries_pending_created ON deliveries (created_at) WHERE status = 'pending';
CREATE INDEX inbox_requests_received ON inbox_requests (received_at);
"#,
    // 10: `hookline listen`. A listener is a webhook row with `listener = 1`: fan-out, filters and the attempt
    // log treat it as any webhook, but the engine never claims its deliveries (its CLI's stream does).
    // `listener_seen_at` is when a stream or a result last showed the CLI alive; the pruner deletes listeners
    // idle for longer than `listen.idle_expiry`.
    r#"
ALTER TABLE webhooks ADD COLUMN listener INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN listener_seen_at INTEGER;
CREATE INDEX webhooks_listener_seen ON webhooks (listener_seen_at) WHERE listener = 1;
"#,
    // 11: attempts keep the request's headers as sent and the response's headers (bounded), each list one
    // compact JSON text. Attempts recorded before have NULL: "not recorded".
    r#"
ALTER TABLE attempts ADD COLUMN request_headers TEXT;
ALTER TABLE attempts ADD COLUMN response_headers TEXT;
ALTER TABLE attempts ADD COLUMN response_headers_omitted INTEGER NOT NULL DEFAULT 0;
"#,
    // 12: the overview reads per-webhook hourly counters that recording keeps (one upsert per webhook and hour
    // per batch, in the recording transaction) instead of counting deliveries (0.44 s with a million). The
    // counters are filled from the deliveries already finished, by the hour they last changed; the index that
    // served the old count is dropped, so a delivered attempt writes one B-tree less.
    r#"
CREATE TABLE webhook_hourly (
    webhook_id TEXT NOT NULL,
    hour       INTEGER NOT NULL,
    delivered  INTEGER NOT NULL,
    failed     INTEGER NOT NULL,
    PRIMARY KEY (webhook_id, hour)
) WITHOUT ROWID;
INSERT INTO webhook_hourly (webhook_id, hour, delivered, failed)
    SELECT webhook_id, updated_at / 3600000, count(*) FILTER (WHERE status = 'delivered'),
        count(*) FILTER (WHERE status = 'failed')
    FROM deliveries WHERE status IN ('delivered', 'failed') GROUP BY 1, 2;
DROP INDEX deliveries_webhook_finished;
"#,
];

/// Applies every migration the database has not seen, each in its own transaction.
pub(super) fn migrate(conn: &mut Connection) -> DbResult<()> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if applied > known {
        // A newer hookline migrated this file: its tables may no longer be what these queries expect.
        return Err(StoreError::SchemaTooNew { found: applied, known }.into());
    }
    let applied = applied.max(0) as usize;
    for (index, script) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(script)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
