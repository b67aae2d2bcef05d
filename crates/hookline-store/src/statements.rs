//! For the backend crates: the statements both backends run with the same text, written once. Each is
//! written with PostgreSQL's placeholders (`$1`, `$2`, …); SQLite's form (`?1`, `?2`, …, numbered the same, so
//! both bind the same parameters in the same order) is derived at compile time, so using one costs nothing at
//! run time. Statements whose text differs between the backends (types, locks, `UNNEST`, SQLite's `max()`)
//! stay in the backend's own files.

use crate::decode::{EVENT_COLUMNS, NOTIFICATION_COLUMNS, PLATFORM_COLUMNS, WEBHOOK_COLUMNS};

/// One statement in both backends' placeholder styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statement {
    postgres: &'static str,
    sqlite: &'static str,
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

// ---- Health ----

/// Whether the database answers.
pub const PING: Statement = statement!("SELECT 1");

// ---- Platforms and the catalog ----

/// A new platform: its columns in [`PLATFORM_COLUMNS`] order.
pub const INSERT_PLATFORM: Statement =
    statement!("INSERT INTO platforms (", PLATFORM_COLUMNS, ") VALUES ($1, $2, $3, $4, $5)");

/// A platform's API key (hash, platform, created at).
pub const INSERT_API_KEY: Statement =
    statement!("INSERT INTO api_keys (key_hash, platform_id, created_at) VALUES ($1, $2, $3)");

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
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
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
     updated_at = $8, concurrency = $9, failing_since = $10 WHERE platform_id = $1 AND id = $2"
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

/// The webhook's latest notice of a kind created after `$3`: id, status, event types, event ids.
pub const RECENT_NOTICE: Statement = statement!(
    "SELECT id, status, event_types, event_ids FROM notifications \
     WHERE webhook_id = $1 AND kind = $2 AND created_at > $3 ORDER BY created_at DESC, id DESC LIMIT 1"
);

/// A pending notice absorbs one more failure.
pub const ABSORB_INTO_NOTICE: Statement = statement!(
    "UPDATE notifications SET failed_count = failed_count + 1, event_types = $2, event_ids = $3, last_error = $4 \
     WHERE id = $1"
);

/// Whom a platform's notices go to, and its URL.
pub const NOTICE_RECIPIENT: Statement = statement!("SELECT email, url FROM platforms WHERE id = $1");

/// How many of a webhook's deliveries did not get through (for a disable notice).
pub const COUNT_UNDELIVERED: Statement =
    statement!("SELECT COUNT(*) FROM deliveries WHERE webhook_id = $1 AND status IN ('failed', 'held')");

/// A new pending notice, due at once: [`NOTIFICATION_COLUMNS`] from `$1` to `$12`, created at `$13`.
pub const INSERT_NOTICE: Statement = statement!(
    "INSERT INTO notifications (",
    NOTIFICATION_COLUMNS,
    ", next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', 0, NULL, NULL, $13, \
     NULL, $13)"
);

/// A notice's send outcome (see `policy::notification_update`).
pub const FINISH_NOTICE: Statement = statement!(
    "UPDATE notifications SET status = $2, subject = COALESCE($3, subject), send_error = $4, next_attempt_at = $5, \
     sent_at = $6, attempts = attempts + 1 WHERE id = $1"
);

#[cfg(test)]
mod tests;
