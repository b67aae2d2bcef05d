use std::time::Duration;

use hookline_store::StoreError;
use rusqlite::Connection;

use super::database;

/// A database at its size limit (`max_page_count`: SQLite's real `SQLITE_FULL`, as on a full disk) fails a
/// write as `Unavailable`; so does a write that waits past the busy timeout for another connection's lock. A
/// constraint violation is a plain `Database` error.
#[test]
fn full_and_locked_databases_are_unavailable_other_errors_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)").unwrap();
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |row| row.get(0)).unwrap();
    conn.pragma_update(None, "max_page_count", pages).unwrap();
    let full = conn.execute("INSERT INTO t (payload) VALUES (zeroblob(65536))", []).unwrap_err();
    assert!(matches!(database(full), StoreError::Unavailable(_)));

    let duplicate = conn.execute("INSERT INTO t (id) VALUES (1), (1)", []).unwrap_err();
    assert!(matches!(database(duplicate), StoreError::Database(_)));

    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    conn.busy_timeout(Duration::from_millis(50)).unwrap();
    let busy = conn.execute_batch("BEGIN IMMEDIATE").unwrap_err();
    assert!(matches!(database(busy), StoreError::Unavailable(_)));
}
