//! SQLite rows as [`Columns`] for the shared decoders in `decode.rs`.

use rusqlite::Row;

use crate::StoreResult;
use crate::decode::{Columns, summary_columns};

/// Columns of a delivery summary; see [`summary_columns`].
pub(super) const SUMMARY_COLUMNS: &str = summary_columns!("a.attempt_number DESC");

impl Columns for Row<'_> {
    fn text(&self, i: usize) -> StoreResult<String> {
        Ok(self.get(i)?)
    }

    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        Ok(self.get(i)?)
    }

    fn int(&self, i: usize) -> StoreResult<i64> {
        Ok(self.get(i)?)
    }

    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        Ok(self.get(i)?)
    }

    fn flag(&self, i: usize) -> StoreResult<bool> {
        Ok(self.get(i)?)
    }
}

/// A shared decoder as a rusqlite row callback: rusqlite's errors outside, decoding errors inside (collect
/// them with `row?`).
pub(super) fn lift<T>(
    decode: fn(&dyn Columns) -> StoreResult<T>,
) -> impl Fn(&Row<'_>) -> rusqlite::Result<StoreResult<T>> {
    move |row| Ok(decode(row))
}
