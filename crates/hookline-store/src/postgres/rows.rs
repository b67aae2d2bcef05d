//! PostgreSQL rows as [`Columns`] for the shared decoders in `decode.rs`.

use tokio_postgres::Row;

use crate::StoreResult;
use crate::decode::{Columns, summary_columns};

/// Columns of a delivery summary; see [`summary_columns`]. Late attempts (see `record.rs`) can share an
/// attempt number, so the last error is the latest of those.
pub(super) const SUMMARY_COLUMNS: &str = summary_columns!("a.attempt_number DESC, a.started_at DESC, a.id DESC");

impl Columns for Row {
    fn text(&self, i: usize) -> StoreResult<String> {
        Ok(self.try_get(i)?)
    }

    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        Ok(self.try_get(i)?)
    }

    fn int(&self, i: usize) -> StoreResult<i64> {
        Ok(self.try_get(i)?)
    }

    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        Ok(self.try_get(i)?)
    }

    fn flag(&self, i: usize) -> StoreResult<bool> {
        Ok(self.try_get(i)?)
    }
}
