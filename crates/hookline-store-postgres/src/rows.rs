//! PostgreSQL rows as [`Columns`] for the shared decoders in `hookline_store::decode`.

use hookline_store::decode::Columns;
use hookline_store::{StoreResult, summary_columns};
use tokio_postgres::Row;

use crate::error::database;

/// Columns of a delivery summary; see [`summary_columns`]. Late attempts (see `record.rs`) can share an
/// attempt number, so the last error is the latest of those.
pub(crate) const SUMMARY_COLUMNS: &str = summary_columns!("a.attempt_number DESC, a.started_at DESC, a.id DESC");

/// A PostgreSQL row, read through the shared decoders (a local type, so this crate may implement their trait).
pub(crate) struct PgRow<'a>(pub(crate) &'a Row);

impl Columns for PgRow<'_> {
    fn text(&self, i: usize) -> StoreResult<String> {
        self.0.try_get(i).map_err(database)
    }

    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        self.0.try_get(i).map_err(database)
    }

    fn int(&self, i: usize) -> StoreResult<i64> {
        self.0.try_get(i).map_err(database)
    }

    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        self.0.try_get(i).map_err(database)
    }

    fn flag(&self, i: usize) -> StoreResult<bool> {
        self.0.try_get(i).map_err(database)
    }
}
