//! For the backend crates: the statements both backends run with the same text, written once. Each is
//! written with PostgreSQL's placeholders (`$1`, `$2`, …); SQLite's form (`?1`, `?2`, …, numbered the same, so
//! both bind the same parameters in the same order) is derived at compile time, so using one costs nothing at
//! run time. Statements whose text differs between the backends (types, locks, `UNNEST`, SQLite's `max()`)
//! stay in the backend's own files.

use crate::decode::{EVENT_COLUMNS, NOTIFICATION_COLUMNS, PLATFORM_COLUMNS, WEBHOOK_COLUMNS};

/// One statement in both backends' placeholder styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statement {
    pub(crate) postgres: &'static str,
    pub(crate) sqlite: &'static str,
}

impl Statement {
    /// The text with `$N` placeholders.
    pub const fn postgres(&self) -> &'static str {
        self.postgres
    }

    /// The text with `?N` placeholders.
    pub const fn sqlite(&self) -> &'static str {
        self.sqlite
    }
}

/// The length of `parts` joined.
#[doc(hidden)]
pub const fn joined_len(parts: &[&str]) -> usize {
    let (mut len, mut i) = (0, 0);
    while i < parts.len() {
        len += parts[i].len();
        i += 1;
    }
    len
}

/// `parts` joined, with every `$` turned into `?` when `sqlite`. `N` must be [`joined_len`] of `parts`.
#[doc(hidden)]
pub const fn joined<const N: usize>(parts: &[&str], sqlite: bool) -> [u8; N] {
    let mut out = [0u8; N];
    let (mut at, mut i) = (0, 0);
    while i < parts.len() {
        let bytes = parts[i].as_bytes();
        let mut j = 0;
        while j < bytes.len() {
            out[at] = if sqlite && bytes[j] == b'$' { b'?' } else { bytes[j] };
            at += 1;
            j += 1;
        }
        i += 1;
    }
    out
}

/// Text from [`joined`]'s bytes (statements are ASCII, so this never fails; a compile error if it did).
#[doc(hidden)]
pub const fn text(bytes: &'static [u8]) -> &'static str {
    match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => panic!("statements are ASCII"),
    }
}

/// A [`Statement`] from the concatenation of its parts (string constants), at compile time.
macro_rules! statement {
    ($($part:expr),+ $(,)?) => {{
        const PARTS: &[&str] = &[$($part),+];
        const LEN: usize = joined_len(PARTS);
        const POSTGRES: [u8; LEN] = joined::<LEN>(PARTS, false);
        const SQLITE: [u8; LEN] = joined::<LEN>(PARTS, true);
        Statement { postgres: text(&POSTGRES), sqlite: text(&SQLITE) }
    }};
}
pub(crate) use statement;

// ---- Health ----

/// Whether the database answers.
pub const PING: Statement = statement!("SELECT 1");

// ---- Platforms and the catalog ----

/// A new platform: its columns in [`PLATFORM_COLUMNS`] order.
pub const INSERT_PLATFORM: Statement =
    statement!("INSERT INTO platforms (", PLATFORM_COLUMNS, ") VALUES ($1, $2, $3, $4, $5)");

/// A platform's first API key (hash, platform, created at), named "default"; its id is derived from the hash
/// (`ApiKeyRecord::id_for`).
pub const INSERT_API_KEY: Statement = statement!(
    "INSERT INTO api_keys (key_hash, platform_id, created_at, id, name) \
     VALUES ($1, $2, $3, 'key_' || substr($1, 1, 16), 'default')"
);

/// The platform an API key hash belongs to, as [`PLATFORM_COLUMNS`].
pub const PLATFORM_BY_KEY: Statement = statement!(
    "SELECT p.id, p.name, p.url, p.email, p.created_at FROM api_keys k JOIN platforms p ON p.id = k.platform_id \
     WHERE k.key_hash = $1"
);

/// A platform's own event types, by name.
pub const CUSTOM_EVENT_TYPES: Statement =
    statement!("SELECT name, description FROM event_types WHERE platform_id = $1 ORDER BY name");

/// Whether a platform added the type `$2`.
pub const CUSTOM_EVENT_TYPE_EXISTS: Statement =
    statement!("SELECT 1 FROM event_types WHERE platform_id = $1 AND name = $2");

/// A platform's own event type.
pub const INSERT_EVENT_TYPE: Statement =
    statement!("INSERT INTO event_types (platform_id, name, description, created_at) VALUES ($1, $2, $3, $4)");

// ---- Webhooks ----

/// A new webhook: its columns in [`WEBHOOK_COLUMNS`] order.
pub const INSERT_WEBHOOK: Statement = statement!(
    "INSERT INTO webhooks (",
    WEBHOOK_COLUMNS,
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
);

/// Every webhook of a platform, for fan-out.
pub const PLATFORM_WEBHOOKS: Statement =
    statement!("SELECT ", WEBHOOK_COLUMNS, " FROM webhooks WHERE platform_id = $1");

/// One webhook of a platform.
pub const WEBHOOK_BY_ID: Statement =
    statement!("SELECT ", WEBHOOK_COLUMNS, " FROM webhooks WHERE platform_id = $1 AND id = $2");

/// A patched webhook's fields (platform, id, then the fields).
pub const UPDATE_WEBHOOK: Statement = statement!(
    "UPDATE webhooks SET url = $3, events = $4, description = $5, enabled = $6, disabled_reason = $7, \
     updated_at = $8, concurrency = $9, failing_since = $10, rate_limit = $11 WHERE platform_id = $1 AND id = $2"
);

/// Makes a new secret current, keeping the old one until `$3`.
pub const ROTATE_SECRET: Statement = statement!(
    "UPDATE webhooks SET previous_secret = secret, previous_secret_until = $3, secret = $4, updated_at = $5 \
     WHERE platform_id = $1 AND id = $2"
);

/// Deletes a webhook of a platform (its attempts and deliveries go with the next two).
pub const DELETE_WEBHOOK: Statement = statement!("DELETE FROM webhooks WHERE platform_id = $1 AND id = $2");

/// Deletes a webhook's attempts.
pub const DELETE_WEBHOOK_ATTEMPTS: Statement =
    statement!("DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE webhook_id = $1)");

/// Deletes a webhook's hourly counters.
pub const DELETE_WEBHOOK_HOURLY: Statement = statement!("DELETE FROM webhook_hourly WHERE webhook_id = $1");

/// Adds `$3` delivered and `$4` failed to a webhook's counters for hour `$2` (unix ms / one hour).
pub const COUNT_HOURLY: Statement = statement!(
    "INSERT INTO webhook_hourly (webhook_id, hour, delivered, failed) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (webhook_id, hour) DO UPDATE SET delivered = webhook_hourly.delivered + excluded.delivered, \
     failed = webhook_hourly.failed + excluded.failed"
);

/// The platform's webhooks' counters for hours `$2` to `$3` (both included).
pub const HOURLY_COUNTS: Statement = statement!(
    "SELECT h.webhook_id, h.hour, h.delivered, h.failed FROM webhooks w \
     JOIN webhook_hourly h ON h.webhook_id = w.id AND h.hour >= $2 AND h.hour <= $3 \
     WHERE w.platform_id = $1 ORDER BY 1, 2"
);

/// Deletes a webhook's deliveries.
pub const DELETE_WEBHOOK_DELIVERIES: Statement = statement!("DELETE FROM deliveries WHERE webhook_id = $1");

/// Enabling: a webhook's held deliveries become due at `$2` (they go out oldest first).
pub const RELEASE_HELD: Statement = statement!(
    "UPDATE deliveries SET status = 'pending', next_attempt_at = $2, leased_until = NULL, updated_at = $2 \
     WHERE webhook_id = $1 AND status = 'held'"
);

/// Disabling (by hand or by the failure policy): a webhook's pending deliveries are held.
pub const HOLD_PENDING: Statement = statement!(
    "UPDATE deliveries SET status = 'held', next_attempt_at = NULL, updated_at = $2 \
     WHERE webhook_id = $1 AND status = 'pending'"
);

/// A retry by hand: the delivery is due at `$2`.
pub const RETRY_DELIVERY: Statement =
    statement!("UPDATE deliveries SET status = 'pending', next_attempt_at = $2, updated_at = $2 WHERE id = $1");

/// Recovery: a webhook's deliveries that failed, created since `$2`, are due at `$3`.
pub const RECOVER_FAILED: Statement = statement!(
    "UPDATE deliveries SET status = 'pending', next_attempt_at = $3, leased_until = NULL, updated_at = $3 \
     WHERE webhook_id = $1 AND status = 'failed' AND created_at >= $2"
);

// ---- Events ----

/// A new event; nothing (and no row returned) when the platform already has its id.
pub const INSERT_EVENT: Statement = statement!(
    "INSERT INTO events (platform_id, id, type, data, created_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (platform_id, id) DO NOTHING RETURNING pk"
);

/// One event of a platform, as [`EVENT_COLUMNS`] and then its key.
pub const EVENT_BY_ID: Statement =
    statement!("SELECT ", EVENT_COLUMNS, ", e.pk FROM events e WHERE e.platform_id = $1 AND e.id = $2");

/// How many deliveries an event has.
pub const COUNT_EVENT_DELIVERIES: Statement = statement!("SELECT COUNT(*) FROM deliveries WHERE event_pk = $1");

// ---- The failure policy's effects ----

/// `Effect::StartFailing`.
pub const START_FAILING: Statement = statement!("UPDATE webhooks SET failing_since = $2 WHERE id = $1");

/// `Effect::Restore`.
pub const RESTORE_WEBHOOK: Statement =
    statement!("UPDATE webhooks SET failing_since = NULL, degraded = FALSE WHERE id = $1");

/// `Effect::MarkFailingNotified`.
pub const MARK_FAILING_NOTIFIED: Statement = statement!("UPDATE webhooks SET failing_notified_at = $2 WHERE id = $1");

/// `Effect::Degrade`.
pub const DEGRADE_WEBHOOK: Statement = statement!("UPDATE webhooks SET degraded = TRUE WHERE id = $1");

/// `Effect::Disable` (then [`HOLD_PENDING`]).
pub const DISABLE_WEBHOOK: Statement = statement!(
    "UPDATE webhooks SET enabled = FALSE, disabled_reason = $2, degraded = TRUE, updated_at = $3 WHERE id = $1"
);

/// Whether another webhook of the platform subscribes to an operational event (`$3`: `% <type> %`).
pub const OPERATIONAL_SUBSCRIBER: Statement =
    statement!("SELECT 1 FROM webhooks WHERE platform_id = $1 AND id <> $2 AND (' ' || events || ' ') LIKE $3 LIMIT 1");

// ---- Notices ----

/// The webhook's latest notice of a kind: id, when it was first claimed for sending (see
/// `policy::deliveries_failed_slot`), event types, event ids.
pub const LATEST_NOTICE: Statement = statement!(
    "SELECT id, claimed_at, event_types, event_ids FROM notifications WHERE webhook_id = $1 AND kind = $2 \
     ORDER BY created_at DESC, id DESC LIMIT 1"
);

/// A notice not yet claimed for sending absorbs one more failure. Changes nothing once a notifier has claimed
/// it (the email says what the row said then): the caller checks the count of rows changed, and on 0 counts
/// the failure in a new notice instead.
pub const ABSORB_INTO_NOTICE: Statement = statement!(
    "UPDATE notifications SET failed_count = failed_count + 1, event_types = $2, event_ids = $3, last_error = $4 \
     WHERE id = $1 AND status = 'pending' AND claimed_at IS NULL"
);

/// Whom a platform's notices go to, and its URL.
pub const NOTICE_RECIPIENT: Statement = statement!("SELECT email, url FROM platforms WHERE id = $1");

/// How many of a webhook's deliveries wait for a retry (for a `webhook_failing` notice).
pub const COUNT_RETRYING: Statement =
    statement!("SELECT COUNT(*) FROM deliveries WHERE webhook_id = $1 AND status = 'pending' AND attempt_count > 0");

/// How many of a webhook's deliveries did not get through (for a disable notice).
pub const COUNT_UNDELIVERED: Statement =
    statement!("SELECT COUNT(*) FROM deliveries WHERE webhook_id = $1 AND status IN ('failed', 'held')");

/// A new pending notice: [`NOTIFICATION_COLUMNS`] from `$1` to `$12`, created at `$13`, due at `$14`.
pub const INSERT_NOTICE: Statement = statement!(
    "INSERT INTO notifications (",
    NOTIFICATION_COLUMNS,
    ", next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', 0, NULL, NULL, $13, \
     NULL, $14)"
);

/// A notice's send outcome (see `policy::notification_update`).
pub const FINISH_NOTICE: Statement = statement!(
    "UPDATE notifications SET status = $2, subject = COALESCE($3, subject), send_error = $4, next_attempt_at = $5, \
     sent_at = $6, attempts = attempts + 1 WHERE id = $1"
);

#[cfg(test)]
mod tests;

/// A page of every platform by id (after `$1`, at most `$2`), as [`PLATFORM_COLUMNS`].
pub const LIST_PLATFORMS: Statement = statement!(
    "SELECT ",
    PLATFORM_COLUMNS,
    " FROM platforms WHERE (CAST($1 AS TEXT) IS NULL OR id > CAST($1 AS TEXT)) ORDER BY id LIMIT $2"
);

/// One platform by id, as [`PLATFORM_COLUMNS`].
pub const PLATFORM_BY_ID: Statement = statement!("SELECT ", PLATFORM_COLUMNS, " FROM platforms WHERE id = $1");

/// A platform's name, URL and email (id, then those).
pub const UPDATE_PLATFORM: Statement = statement!("UPDATE platforms SET name = $2, url = $3, email = $4 WHERE id = $1");

/// What deleting platform `$1` deletes, children before parents; the platform's row goes last, so a `NotFound`
/// is known from the first statement's count of nothing (see the drivers).
pub const DELETE_PLATFORM: [Statement; 13] = [
    statement!("DELETE FROM inbox_requests WHERE inbox_id IN (SELECT id FROM inboxes WHERE platform_id = $1)"),
    statement!("DELETE FROM inboxes WHERE platform_id = $1"),
    statement!("DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE platform_id = $1)"),
    statement!("DELETE FROM deliveries WHERE platform_id = $1"),
    statement!("DELETE FROM events WHERE platform_id = $1"),
    statement!("DELETE FROM notifications WHERE platform_id = $1"),
    statement!("DELETE FROM webhook_hourly WHERE webhook_id IN (SELECT id FROM webhooks WHERE platform_id = $1)"),
    statement!("DELETE FROM webhooks WHERE platform_id = $1"),
    statement!("DELETE FROM event_types WHERE platform_id = $1"),
    statement!("DELETE FROM ui_sessions WHERE platform_id = $1"),
    statement!("DELETE FROM portal_links WHERE platform_id = $1"),
    statement!("DELETE FROM api_keys WHERE platform_id = $1"),
    statement!("DELETE FROM platforms WHERE id = $1"),
];

/// A new API key: hash, platform, created at, id, name, prefix, read-only.
pub const INSERT_NAMED_API_KEY: Statement = statement!(
    "INSERT INTO api_keys (key_hash, platform_id, created_at, id, name, prefix, read_only) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)"
);

/// Columns of an API key row, in the order `decode::api_key` reads them (table `api_keys k`).
pub const API_KEY_COLUMNS: &str = "k.id, k.platform_id, k.name, k.prefix, k.read_only, k.created_at, k.last_used_at";

/// A platform's keys, oldest first.
pub const LIST_API_KEYS: Statement =
    statement!("SELECT ", API_KEY_COLUMNS, " FROM api_keys k WHERE k.platform_id = $1 ORDER BY k.created_at, k.id");

/// A key by its hash with its platform: [`API_KEY_COLUMNS`], then the platform's columns.
pub const API_KEY_BY_HASH: Statement = statement!(
    "SELECT ",
    API_KEY_COLUMNS,
    ", p.id, p.name, p.url, p.email, p.created_at FROM api_keys k JOIN platforms p ON p.id = k.platform_id \
     WHERE k.key_hash = $1"
);

/// Revokes (deletes) a platform's key by id.
pub const REVOKE_API_KEY: Statement = statement!("DELETE FROM api_keys WHERE platform_id = $1 AND id = $2");

/// Records a key's prefix (the first characters of the key).
pub const SET_API_KEY_PREFIX: Statement = statement!("UPDATE api_keys SET prefix = $2 WHERE id = $1");

/// Records a key's last use.
pub const TOUCH_API_KEY: Statement = statement!("UPDATE api_keys SET last_used_at = $2 WHERE id = $1");

/// Every stored secret with its webhook, for the start-up check of the secrets keys.
pub const ALL_SECRETS: Statement = statement!(
    "SELECT id, secret FROM webhooks UNION ALL \
     SELECT id, previous_secret FROM webhooks WHERE previous_secret IS NOT NULL"
);

/// Webhooks with a secret not sealed with the current key (`$1`: the `LIKE` pattern of the current key's
/// envelopes), at most `$2`: id, secret, previous secret.
pub const SECRETS_TO_REENCRYPT: Statement = statement!(
    "SELECT id, secret, previous_secret FROM webhooks WHERE secret NOT LIKE $1 OR previous_secret NOT LIKE $1 \
     ORDER BY id LIMIT $2"
);

/// Rewrites a webhook's secrets (`$2`, `$3`) if they are still what was read (`$4`, `$5`).
pub const REENCRYPT_SECRET: Statement = statement!(
    "UPDATE webhooks SET secret = $2, previous_secret = $3 \
     WHERE id = $1 AND secret = $4 AND previous_secret IS NOT DISTINCT FROM $5"
);
// ---- Operations: retention, gauges, limits (`OperationsStore`) ----

/// Events created before `$1` with no delivery left to send (`pending` or `held`), oldest first, at most `$2`.
pub const PRUNABLE_EVENTS: Statement = statement!(
    "SELECT e.pk FROM events e WHERE e.created_at < $1 AND NOT EXISTS (SELECT 1 FROM deliveries d \
     WHERE d.event_pk = e.pk AND d.status IN ('pending', 'held')) ORDER BY e.created_at LIMIT $2"
);

/// Captured inbox requests received before `$1`, at most `$2` of them.
pub const PRUNE_INBOX_REQUESTS: Statement = statement!(
    "DELETE FROM inbox_requests WHERE (inbox_id, seq) IN (SELECT inbox_id, seq FROM inbox_requests \
     WHERE received_at < $1 LIMIT $2)"
);

/// When the oldest pending delivery was created (NULL: none), from `deliveries_pending_created`.
pub const OLDEST_PENDING_DELIVERY: Statement =
    statement!("SELECT MIN(created_at) FROM deliveries WHERE status = 'pending'");

/// How many webhooks platform `$1` has.
pub const WEBHOOK_COUNT: Statement = statement!("SELECT COUNT(*) FROM webhooks WHERE platform_id = $1");

/// The attempts of event `$1`'s finished deliveries. The three `PRUNE_EVENT*` statements check again that
/// nothing is left to send, so a retry that made a delivery pending since [`PRUNABLE_EVENTS`] keeps its event.
pub const PRUNE_EVENT_ATTEMPTS: Statement = statement!(
    "DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_pk = $1 \
     AND status NOT IN ('pending', 'held'))"
);

/// Event `$1`'s finished deliveries.
pub const PRUNE_EVENT_DELIVERIES: Statement =
    statement!("DELETE FROM deliveries WHERE event_pk = $1 AND status NOT IN ('pending', 'held')");

/// Event `$1`, once it has no delivery left.
pub const PRUNE_EVENT: Statement =
    statement!("DELETE FROM events WHERE pk = $1 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_pk = $1)");
