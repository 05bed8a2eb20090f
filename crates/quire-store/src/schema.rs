//! Schema and migrations, versioned with `PRAGMA user_version`.

use std::path::Path;

use rusqlite::Connection;

use crate::StoreError;

/// The newest schema version this build writes.
pub const SCHEMA_VERSION: i64 = 3;

/// The search index (version 3 on): FTS5 over the terms `search::tokens` makes, split
/// on spaces only, with no copy of the terms (`content = ''`), and the text the
/// snippets are cut from. Both are derived data, rebuilt from the documents.
macro_rules! create_index_sql {
    () => {
        r#"
CREATE VIRTUAL TABLE search_index USING fts5(
    title, body, content = '', contentless_delete = 1, tokenize = 'ascii'
);
CREATE TABLE search_text (
    rowid       INTEGER PRIMARY KEY REFERENCES documents(rowid) ON DELETE CASCADE,
    body        TEXT NOT NULL
);
"#
    };
}

/// Makes the (empty) search index tables.
pub(crate) const CREATE_INDEX_SQL: &str = create_index_sql!();

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE documents (
    rowid       INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER,
    chars       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE snapshots (
    doc         INTEGER PRIMARY KEY REFERENCES documents(rowid) ON DELETE CASCADE,
    covers_seq  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    data        BLOB NOT NULL
);
CREATE TABLE updates (
    doc         INTEGER NOT NULL REFERENCES documents(rowid) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    origin      TEXT NOT NULL,
    at          INTEGER NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (doc, seq)
);
CREATE TABLE versions (
    doc         INTEGER NOT NULL REFERENCES documents(rowid) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT,
    created_at  INTEGER NOT NULL,
    chars       INTEGER NOT NULL,
    keyframe    INTEGER NOT NULL,
    patch       BLOB NOT NULL,
    PRIMARY KEY (doc, number)
);
CREATE VIRTUAL TABLE search USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2');
"#,
    r#"
CREATE TABLE memberships (
    doc         INTEGER PRIMARY KEY REFERENCES documents(rowid) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    ticket      BLOB NOT NULL,
    joined_at   INTEGER NOT NULL,
    syncing     INTEGER NOT NULL DEFAULT 1,
    last_sync   INTEGER
);
CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);
"#,
    // Version 3: the multilingual index. The old one cannot be converted (it holds
    // whole CJK runs as terms); the store reindexes every document after opening.
    concat!("DROP TABLE search;", create_index_sql!()),
];

/// Brings the database to [`SCHEMA_VERSION`], refusing files from a newer Quire.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    // The first read of the file is where a damaged or foreign file shows itself.
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| StoreError::classify(e, path))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == 0 {
        // Must precede the first table; lets compaction hand pages back to the OS.
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
            .map_err(|e| StoreError::classify(e, path))?;
    }
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| StoreError::classify(e, path))?;
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
