//! SQLite rows as [`Columns`] for the shared decoders in `hookline_store::decode`.

use hookline_store::decode::Columns;
use hookline_store::{StoreResult, summary_columns};
use rusqlite::Row;

use crate::error::{DbResult, database};

/// Columns of a delivery summary; see [`summary_columns`].
pub(crate) const SUMMARY_COLUMNS: &str = summary_columns!("a.attempt_number DESC");

/// A SQLite row, read through the shared decoders (a local type, so this crate may implement their trait).
pub(crate) struct SqliteRow<'a, 'stmt>(pub(crate) &'a Row<'stmt>);

impl Columns for SqliteRow<'_, '_> {
    fn text(&self, i: usize) -> StoreResult<String> {
        self.0.get(i).map_err(database)
    }

    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        self.0.get(i).map_err(database)
    }

    fn int(&self, i: usize) -> StoreResult<i64> {
        self.0.get(i).map_err(database)
    }

    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        self.0.get(i).map_err(database)
    }

    fn flag(&self, i: usize) -> StoreResult<bool> {
        self.0.get(i).map_err(database)
    }
}

/// A shared decoder as a rusqlite row callback: rusqlite's errors outside, decoding errors inside (collect
/// them with `row?`).
pub(crate) fn lift<T>(
    decode: impl Fn(&dyn Columns) -> StoreResult<T>,
) -> impl Fn(&Row<'_>) -> rusqlite::Result<DbResult<T>> {
    move |row| Ok(decode(&SqliteRow(row)).map_err(Into::into))
}
