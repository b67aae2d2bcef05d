//! Output: tables for people, one JSON document for scripts, progress on stderr for long work.

use std::io::IsTerminal;

use comfy_table::{ContentArrangement, Table, presets};
use futures_util::{Stream, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::exit::CliError;

/// Prints `value` as one JSON document on stdout.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|error| CliError::local(error.to_string()))?;
    println!("{text}");
    Ok(())
}

/// A table with `header`.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    // Never wrapped: an id broken over two lines cannot be copied. On a terminal, light rules; piped into
    // `grep` or `less`, plain columns.
    table.set_content_arrangement(ContentArrangement::Disabled);
    table.load_style(if std::io::stdout().is_terminal() { presets::UTF8_HORIZONTAL_ONLY } else { presets::NOTHING });
    table.set_header(header.to_vec());
    table
}

/// A two-column table of `(field, value)` for one record.
pub fn record(rows: &[(&str, String)]) -> Table {
    let mut table = table(&["field", "value"]);
    for (name, value) in rows {
        table.add_row(vec![(*name).to_owned(), value.clone()]);
    }
    table
}

/// Text for an optional value.
pub fn or_dash(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "-".to_owned())
}

/// A progress bar on stderr for `len` steps (a spinner when unknown); invisible when stderr is not a terminal.
pub fn progress(len: Option<u64>, message: &str) -> ProgressBar {
    let bar = match len {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg} {pos}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_message(message.to_owned());
    bar
}

/// Collects at most `limit` items of a listing stream (all when `None`), counting them on a spinner.
pub async fn collect<T, E>(
    stream: impl Stream<Item = Result<T, E>>,
    limit: Option<usize>,
    what: &str,
) -> Result<Vec<T>, E> {
    let bar = progress(None, &format!("fetching {what}"));
    let mut items = Vec::new();
    let mut stream = std::pin::pin!(stream);
    while limit.is_none_or(|limit| items.len() < limit) {
        let Some(item) = stream.next().await else { break };
        items.push(item?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(items)
}
