//! For the backend crates: the overview's per-webhook hourly counters, summed in memory over one recording
//! batch so that the batch writes one upsert per webhook (`statements::COUNT_HOURLY`), not one per attempt.
//!
//! A delivery counts in the hour in which an attempt finished it: delivered, or failed for good. A delivery
//! retried by hand and then delivered counts once as failed and once as delivered, in the hours each happened.

use std::collections::HashMap;

use hookline_core::Timestamp;
use hookline_core::delivery::DeliveryStatus;

use crate::ui::HOUR_MS;

/// The hour a time falls in: whole hours since the Unix epoch, as stored in `webhook_hourly.hour`.
pub fn hour_of(at: Timestamp) -> i64 {
    at.unix_millis().div_euclid(HOUR_MS)
}

/// Delivered and failed counts per webhook, for one batch (all recorded at the same `now`, so in one hour).
#[derive(Debug, Default)]
pub struct HourlyCounts {
    by_webhook: HashMap<String, (i64, i64)>,
}

impl HourlyCounts {
    /// Counts a delivery of `webhook_id` that an attempt left in `status`; only finished ones count.
    pub fn add(&mut self, webhook_id: &str, status: DeliveryStatus) {
        let (delivered, failed) = match status {
            DeliveryStatus::Delivered => (1, 0),
            DeliveryStatus::Failed => (0, 1),
            DeliveryStatus::Pending | DeliveryStatus::Held => return,
        };
        // Look up by `&str` first: a batch is hundreds of attempts for a handful of webhooks, so the id is
        // copied once per webhook, not once per attempt.
        if let Some(counts) = self.by_webhook.get_mut(webhook_id) {
            counts.0 += delivered;
            counts.1 += failed;
            return;
        }
        self.by_webhook.insert(webhook_id.to_owned(), (delivered, failed));
    }

    /// The upserts to run: `(webhook id, delivered, failed)`, in webhook id order (so concurrent recorders on
    /// PostgreSQL take the counter rows' locks in one order and never deadlock on them).
    pub fn into_sorted(self) -> Vec<(String, i64, i64)> {
        let mut rows: Vec<(String, i64, i64)> =
            self.by_webhook.into_iter().map(|(webhook, (delivered, failed))| (webhook, delivered, failed)).collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_sums_finished_deliveries_per_webhook_in_id_order() {
        let mut counts = HourlyCounts::default();
        for (webhook, status) in [
            ("wh_b", DeliveryStatus::Delivered),
            ("wh_a", DeliveryStatus::Failed),
            ("wh_b", DeliveryStatus::Delivered),
            ("wh_b", DeliveryStatus::Failed),
            ("wh_c", DeliveryStatus::Pending),
            ("wh_c", DeliveryStatus::Held),
        ] {
            counts.add(webhook, status);
        }
        assert_eq!(counts.into_sorted(), vec![("wh_a".to_owned(), 0, 1), ("wh_b".to_owned(), 2, 1)]);
    }

    #[test]
    fn hours_are_whole_hours_since_the_epoch() {
        assert_eq!(hour_of(Timestamp::from_unix_millis(0)), 0);
        assert_eq!(hour_of(Timestamp::from_unix_millis(HOUR_MS - 1)), 0);
        assert_eq!(hour_of(Timestamp::from_unix_millis(HOUR_MS)), 1);
        assert_eq!(hour_of(Timestamp::from_unix_millis(-1)), -1);
    }
}
