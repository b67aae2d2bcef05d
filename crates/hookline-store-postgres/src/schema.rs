//! Migrations, applied at open: each script runs once, tracked in `hookline_schema`. The whole run holds a
//! transaction-scoped advisory lock, so nodes starting at once apply each script exactly once: the first takes
//! the lock and migrates, the others wait for it, then find nothing left to do.
//!
//! The shape follows the SQLite schema (`sqlite/schema.rs`): times are BIGINT unix milliseconds, ids are TEXT,
//! events have a generated BIGINT key. Text that is sorted or compared as a cursor is `COLLATE "C"`, so ids
//! order byte by byte as they do in SQLite, whatever the database's default collation.

use deadpool_postgres::Client;

use hookline_store::StoreError;

use crate::error::DbResult;

/// The advisory lock key of migrations: "hookline" in ASCII.
const MIGRATION_LOCK: i64 = 0x686f_6f6b_6c69_6e65;

/// The scripts, in order. Never edit one that has shipped; add a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE platforms (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    url         TEXT NOT NULL,
    email       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    key_hash    TEXT COLLATE "C" PRIMARY KEY,
    platform_id TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE event_types (
    platform_id TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    description TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (platform_id, name)
);

CREATE TABLE webhooks (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    platform_id           TEXT COLLATE "C" NOT NULL,
    url                   TEXT NOT NULL,
    events                TEXT NOT NULL,
    description           TEXT NOT NULL,
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_secret_until BIGINT,
    enabled               BOOLEAN NOT NULL,
    disabled_reason       TEXT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    concurrency           BIGINT,
    failing_since         BIGINT,
    -- true once a delivery of the webhook failed for good or the webhook was disabled, until it delivers again
    -- (then webhook.recovered is published).
    degraded              BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX webhooks_platform ON webhooks (platform_id, id);

CREATE TABLE events (
    pk          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform_id TEXT COLLATE "C" NOT NULL,
    id          TEXT COLLATE "C" NOT NULL,
    type        TEXT COLLATE "C" NOT NULL,
    data        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (platform_id, id)
);

CREATE TABLE deliveries (
    id              TEXT COLLATE "C" PRIMARY KEY,
    platform_id     TEXT COLLATE "C" NOT NULL,
    event_pk        BIGINT NOT NULL,
    webhook_id      TEXT COLLATE "C" NOT NULL,
    status          TEXT COLLATE "C" NOT NULL,
    attempt_count   BIGINT NOT NULL,
    next_attempt_at BIGINT,
    leased_until    BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
-- The poller claims per webhook, oldest due first.
CREATE INDEX deliveries_webhook_due ON deliveries (webhook_id, next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_webhook_status ON deliveries (webhook_id, status, updated_at);
CREATE INDEX deliveries_event ON deliveries (event_pk);
-- Deliveries are updated several times each (leased, attempted, rescheduled): leave room on each page so
-- updates stay HOT (no index churn) and vacuum keeps up.
ALTER TABLE deliveries SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

CREATE TABLE attempts (
    id               TEXT COLLATE "C" PRIMARY KEY,
    delivery_id      TEXT COLLATE "C" NOT NULL,
    attempt_number   BIGINT NOT NULL,
    started_at       BIGINT NOT NULL,
    duration_ms      BIGINT NOT NULL,
    status           BIGINT,
    error_kind       TEXT,
    error_message    TEXT,
    response_excerpt TEXT NOT NULL
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, attempt_number);

CREATE TABLE notifications (
    id              TEXT COLLATE "C" PRIMARY KEY,
    platform_id     TEXT COLLATE "C" NOT NULL,
    webhook_id      TEXT COLLATE "C" NOT NULL,
    kind            TEXT COLLATE "C" NOT NULL,
    recipient       TEXT NOT NULL,
    platform_url    TEXT NOT NULL,
    webhook_url     TEXT NOT NULL,
    failed_count    BIGINT NOT NULL,
    event_types     TEXT NOT NULL,
    event_ids       TEXT NOT NULL,
    last_error      TEXT,
    reason          TEXT,
    status          TEXT COLLATE "C" NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    send_error      TEXT,
    subject         TEXT,
    next_attempt_at BIGINT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_webhook ON notifications (webhook_id, kind, created_at);
CREATE INDEX notifications_platform ON notifications (platform_id, id);
"#,
    // 2: as SQLite's migration 4: claims seek the moment a pending delivery becomes claimable (its due time, or
    // its lease's end if that is later; GREATEST ignores a NULL lease) instead of stepping over every delivery
    // in flight.
    r#"
DROP INDEX deliveries_webhook_due;
CREATE INDEX deliveries_claimable ON deliveries (webhook_id, GREATEST(next_attempt_at, leased_until), id)
    WHERE status = 'pending';
"#,
    // 3: as SQLite's migration 5: inboxes and their captured requests. A capture increments its inbox's
    // `last_seq` (locking the inbox row until it commits), so captures of one inbox are numbered in commit order
    // across nodes, and a live stream that follows `seq` never skips one.
    r#"
CREATE TABLE inboxes (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    platform_id           TEXT COLLATE "C" NOT NULL,
    response_status       BIGINT NOT NULL,
    response_body         TEXT NOT NULL,
    response_content_type TEXT NOT NULL,
    response_delay_ms     BIGINT NOT NULL,
    last_seq              BIGINT NOT NULL DEFAULT 0,
    created_at            BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL
);
CREATE INDEX inboxes_platform ON inboxes (platform_id, id);
CREATE INDEX inboxes_expiry ON inboxes (expires_at);

CREATE TABLE inbox_requests (
    id                      TEXT COLLATE "C" NOT NULL,
    inbox_id                TEXT COLLATE "C" NOT NULL,
    seq                     BIGINT NOT NULL,
    method                  TEXT NOT NULL,
    path                    TEXT NOT NULL,
    query                   TEXT NOT NULL,
    headers                 TEXT NOT NULL,
    body_truncated          BOOLEAN NOT NULL,
    size                    BIGINT NOT NULL,
    received_at             BIGINT NOT NULL,
    source_ip               TEXT,
    verification_code       TEXT,
    verification_message    TEXT,
    verification_webhook_id TEXT,
    body                    BYTEA NOT NULL,
    verified                BOOLEAN,
    PRIMARY KEY (inbox_id, seq)
);
CREATE INDEX inbox_requests_id ON inbox_requests (id);
"#,
    // 4: the dashboard, as SQLite's migration 6.
    r#"
CREATE TABLE ui_sessions (
    token_hash  TEXT COLLATE "C" PRIMARY KEY,
    platform_id TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX ui_sessions_expiry ON ui_sessions (expires_at);
CREATE TABLE portal_links (
    token_hash  TEXT COLLATE "C" PRIMARY KEY,
    platform_id TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX deliveries_webhook_finished ON deliveries (webhook_id, updated_at, status)
    WHERE status IN ('delivered', 'failed');
CREATE INDEX deliveries_failed ON deliveries (webhook_id, created_at) WHERE status = 'failed';
CREATE INDEX events_platform ON events (platform_id, pk);
CREATE INDEX events_type ON events (platform_id, type, pk);
"#,
    // 5: as SQLite's migration 7: honest failure notices (below).
    r#"
-- Honest failure notices. claimed_at: when a notifier first claimed a notice for sending; from then on it
-- absorbs no more failures (they go to the next notice, due when the window ends). Notices already sent or
-- being sent count as claimed. failing_notified_at: when the owner was last told the webhook keeps failing
-- (once per failing streak, at most once per window); a success after that, in the same streak, sends a
-- recovery notice.
ALTER TABLE notifications ADD COLUMN claimed_at BIGINT;
UPDATE notifications SET claimed_at = COALESCE(sent_at, created_at) WHERE status <> 'pending' OR attempts > 0;
ALTER TABLE webhooks ADD COLUMN failing_notified_at BIGINT;
"#,
    // 6: as SQLite's migration 8: API keys get an id (derived from the hash, so existing keys get theirs here), a name, the key's first
    // characters, a read-only flag and the time of last use (written at most once a minute per key).
    r#"
ALTER TABLE api_keys ADD COLUMN id TEXT COLLATE "C";
ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT 'default';
ALTER TABLE api_keys ADD COLUMN prefix TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
UPDATE api_keys SET id = 'key_' || substr(key_hash, 1, 16);
CREATE UNIQUE INDEX api_keys_id ON api_keys (id);
CREATE INDEX api_keys_platform ON api_keys (platform_id, created_at);
"#,
    // 7: as SQLite's migration 9, operations (issue 11): the write probe behind /readyz, a receiver's rate limit per webhook, and the
    // indexes retention and the oldest-pending gauge read.
    r#"
CREATE TABLE write_probe (payload BYTEA);
ALTER TABLE webhooks ADD COLUMN rate_limit BIGINT;
CREATE INDEX events_created ON events (created_at);
CREATE INDEX deliveries_pending_created ON deliveries (created_at) WHERE status = 'pending';
CREATE INDEX inbox_requests_received ON inbox_requests (received_at);
"#,
    // 8: as SQLite's migration 10, `hookline listen`. A listener is a webhook row with `listener`: fan-out, filters and the attempt
    // log treat it as any webhook, but the engine never claims its deliveries (its CLI's stream does).
    // `listener_seen_at` is when a stream or a result last showed the CLI alive; the pruner deletes listeners
    // idle for longer than `listen.idle_expiry`.
    r#"
ALTER TABLE webhooks ADD COLUMN listener BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE webhooks ADD COLUMN listener_seen_at BIGINT;
CREATE INDEX webhooks_listener_seen ON webhooks (listener_seen_at) WHERE listener;
"#,
    // 9: attempts keep their headers, as SQLite's migration 11.
    r#"
ALTER TABLE attempts ADD COLUMN request_headers TEXT;
ALTER TABLE attempts ADD COLUMN response_headers TEXT;
ALTER TABLE attempts ADD COLUMN response_headers_omitted BIGINT NOT NULL DEFAULT 0;
"#,
    // 10: the overview's hourly counters, as SQLite's migration 12.
    r#"
CREATE TABLE webhook_hourly (
    webhook_id TEXT COLLATE "C" NOT NULL,
    hour       BIGINT NOT NULL,
    delivered  BIGINT NOT NULL,
    failed     BIGINT NOT NULL,
    PRIMARY KEY (webhook_id, hour)
);
INSERT INTO webhook_hourly (webhook_id, hour, delivered, failed)
    SELECT webhook_id, updated_at / 3600000, count(*) FILTER (WHERE status = 'delivered'),
        count(*) FILTER (WHERE status = 'failed')
    FROM deliveries WHERE status IN ('delivered', 'failed') GROUP BY 1, 2;
DROP INDEX deliveries_webhook_finished;
"#,
];

/// Applies every migration the database has not seen, all in one transaction under the migration lock.
/// Refuses a database migrated by a newer hookline (more scripts than this build knows).
pub(super) async fn migrate(client: &mut Client) -> DbResult<()> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS hookline_schema (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL \
         DEFAULT now())",
    )
    .await?;
    let applied: i64 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM hookline_schema", &[]).await?.try_get(0)?;
    if applied as usize > MIGRATIONS.len() {
        return Err(StoreError::SchemaTooNew { found: applied, known: MIGRATIONS.len() as i64 }.into());
    }
    for (index, script) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        tx.batch_execute(script).await?;
        tx.execute("INSERT INTO hookline_schema (version) VALUES ($1)", &[&(index as i64 + 1)]).await?;
        tracing::info!(version = index + 1, "applied PostgreSQL migration");
    }
    tx.commit().await?;
    Ok(())
}
