//! Salvage: copies every row that can still be read out of a damaged database into a
//! fresh one, row by row, skipping rows SQLite cannot read, and says which documents
//! could not be saved whole.
//!
//! Rows are found by seeking rowid after rowid, so one unreadable page costs the rows
//! on it, not the rest of the table. Rows keep their rowids, so a document's log,
//! snapshot, versions and membership still point at it. A document is saved when its
//! own row is readable and its update log has no hole (the snapshot and the rows after
//! it cover every sequence number); otherwise all its rows are left out of the fresh
//! file and it is named in the report. The search index is derived data and is not
//! copied: whoever opens the fresh file indexes the documents again.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params_from_iter};

use crate::private_files::create_private_file;
use crate::{StoreError, schema};

/// After this many rowids in a row that cannot be read, a table's scan stops: the
/// damage is taken to reach to its end. Each probe is one seek, so the cost of a
/// damaged stretch is bounded by this.
pub const MAX_UNREADABLE_ROWIDS_IN_A_ROW: i64 = 1 << 16;

/// The tables copied, parents first. The search index is rebuilt, not copied.
const TABLES: [&str; 6] = [
    "documents",
    "snapshots",
    "updates",
    "versions",
    "memberships",
    "settings",
];

/// Tables whose rows belong to one document, and the column naming it.
const DOC_TABLES: [(&str, &str); 4] = [
    ("snapshots", "doc"),
    ("updates", "doc"),
    ("versions", "doc"),
    ("memberships", "doc"),
];

/// What a salvage saved and lost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SalvageReport {
    /// Ids of the documents copied whole.
    pub saved: Vec<String>,
    /// Documents that could not be saved whole, and why.
    pub lost: Vec<LostDocument>,
    /// Per table: rows copied and rows that could not be read.
    pub rows: Vec<(String, u64, u64)>,
}

/// A document left out of the fresh file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostDocument {
    /// Its id, when its own row was readable.
    pub id: Option<String>,
    /// Its title, when its own row was readable.
    pub title: Option<String>,
    /// Its row number in the damaged file (names it when the id is lost).
    pub rowid: i64,
    /// What was missing.
    pub reason: String,
}

/// Copies what can be read of the database at `damaged` into a new database at
/// `fresh` (which must not exist), owner-only. `damaged` is only read.
pub fn salvage(damaged: &Path, fresh: &Path) -> Result<SalvageReport, StoreError> {
    let src = Connection::open_with_flags(
        damaged,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::classify(e, damaged))?;
    create_private_file(fresh).map_err(|e| StoreError::io(fresh, e))?;
    let mut dst = Connection::open(fresh).map_err(|e| StoreError::classify(e, fresh))?;
    schema::migrate(&mut dst, fresh)?;

    let mut report = SalvageReport::default();
    let tx = dst.transaction()?;
    let mut unreadable_documents = Vec::new();
    for table in TABLES {
        let columns = column_names(&tx, table)?;
        let copied = copy_table(&src, &tx, table, &columns)?;
        if table == "documents" {
            unreadable_documents = copied.lost_rowids;
        }
        report
            .rows
            .push((table.to_owned(), copied.rows, copied.unreadable));
    }
    let lost = find_incomplete(&tx, &unreadable_documents, &ids_by_rowid(&src))?;
    for doc in &lost {
        for (table, column) in DOC_TABLES {
            tx.execute(
                &format!("DELETE FROM {table} WHERE {column} = ?1"),
                [doc.rowid],
            )?;
        }
        tx.execute("DELETE FROM documents WHERE rowid = ?1", [doc.rowid])?;
    }
    let mut saved = tx.prepare("SELECT id FROM documents ORDER BY rowid")?;
    report.saved = saved
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    drop(saved);
    tx.commit()?;
    dst.close().map_err(|(_, e)| StoreError::Sqlite(e))?;
    report.lost = lost;
    Ok(report)
}

fn column_names(c: &Connection, table: &str) -> Result<Vec<String>, StoreError> {
    // `documents` names its rowid column `rowid`; it is copied as the rowid.
    let mut stmt = c.prepare(&format!(
        "SELECT name FROM pragma_table_info('{table}') WHERE name != 'rowid'"
    ))?;
    let names = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(names)
}

/// What [`copy_table`] copied and missed.
#[derive(Default)]
struct Copied {
    rows: u64,
    /// Rows and stretches of rowids that could not be read.
    unreadable: u64,
    /// Rowids that were found but whose row could not be read or stored.
    lost_rowids: Vec<i64>,
}

/// Copies every readable row of `table`.
fn copy_table(
    src: &Connection,
    dst: &Connection,
    table: &str,
    columns: &[String],
) -> Result<Copied, StoreError> {
    let list = columns.join(", ");
    let placeholders = vec!["?"; columns.len() + 1].join(", ");
    let mut insert = dst.prepare(&format!(
        "INSERT INTO {table} (rowid, {list}) VALUES ({placeholders})"
    ))?;
    let mut copied = Copied::default();
    let lost_table = Copied {
        unreadable: 1,
        ..Copied::default()
    };
    // A table whose root page is unreadable cannot even be prepared: all of it is lost.
    let Ok(mut next) = src.prepare(&format!(
        "SELECT rowid FROM {table} WHERE rowid > ?1 ORDER BY rowid LIMIT 1"
    )) else {
        return Ok(lost_table);
    };
    let Ok(mut row) = src.prepare(&format!(
        "SELECT rowid, {list} FROM {table} WHERE rowid = ?1"
    )) else {
        return Ok(lost_table);
    };
    let mut copy = |rowid: i64| -> bool {
        let values: Result<Vec<Value>, _> = row.query_row([rowid], |r| {
            (0..=columns.len()).map(|i| r.get::<_, Value>(i)).collect()
        });
        // A row that reads but breaks the schema (a damaged page can decode to
        // nonsense) is as lost as one that does not read.
        matches!(
            values.map(|v| insert.execute(params_from_iter(v))),
            Ok(Ok(_))
        )
    };
    let mut after = i64::MIN;
    let mut misses = 0;
    loop {
        let found: Result<Option<i64>, _> = next.query_row([after], |r| r.get(0)).optional();
        match found {
            // A damaged page can also answer out of order: that is a miss too, or
            // the scan would never end.
            Ok(Some(rowid)) if rowid > after => {
                misses = 0;
                after = rowid;
                if copy(rowid) {
                    copied.rows += 1;
                } else {
                    copied.unreadable += 1;
                    copied.lost_rowids.push(rowid);
                }
            }
            Ok(None) => break,
            _ => {
                // The seek ran into a damaged page: read the next rowid directly,
                // then seek on from there.
                misses += 1;
                if misses > MAX_UNREADABLE_ROWIDS_IN_A_ROW || after == i64::MAX {
                    break;
                }
                after = if after < 0 { 0 } else { after + 1 };
                if copy(after) {
                    copied.rows += 1;
                    misses = 0;
                }
            }
        }
    }
    // Rowids probed past without finding a row were unreadable, but how many rows they
    // held is unknown; count the stretch as one.
    if misses > 0 {
        copied.unreadable += 1;
    }
    Ok(copied)
}

/// Document ids by rowid, from the index on `documents.id` alone: it is on other
/// pages than the table, so it can still name a document whose row is unreadable.
/// Read until the first unreadable index page.
fn ids_by_rowid(src: &Connection) -> BTreeMap<i64, String> {
    let mut ids = BTreeMap::new();
    let Ok(mut stmt) = src.prepare(
        "SELECT rowid, id FROM documents INDEXED BY sqlite_autoindex_documents_1 ORDER BY id",
    ) else {
        return ids;
    };
    let Ok(mut rows) = stmt.query([]) else {
        return ids;
    };
    while let Ok(Some(row)) = rows.next() {
        if let (Ok(rowid), Ok(id)) = (row.get::<_, i64>(0), row.get::<_, String>(1)) {
            ids.insert(rowid, id);
        }
    }
    ids
}

/// Documents whose own row is missing, or whose update log has a hole.
fn find_incomplete(
    c: &Connection,
    unreadable_documents: &[i64],
    ids: &BTreeMap<i64, String>,
) -> Result<Vec<LostDocument>, StoreError> {
    let mut docs: BTreeMap<i64, (String, String)> = BTreeMap::new();
    let mut stmt = c.prepare("SELECT rowid, id, title FROM documents")?;
    for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
        let (rowid, id, title) = row?;
        docs.insert(rowid, (id, title));
    }
    let mut referenced = BTreeSet::new();
    for (table, column) in DOC_TABLES {
        let mut stmt = c.prepare(&format!("SELECT DISTINCT {column} FROM {table}"))?;
        for doc in stmt.query_map([], |r| r.get::<_, i64>(0))? {
            referenced.insert(doc?);
        }
    }
    referenced.extend(unreadable_documents);
    let mut lost = Vec::new();
    for rowid in referenced.difference(&docs.keys().copied().collect()) {
        lost.push(LostDocument {
            id: ids.get(rowid).cloned(),
            title: None,
            rowid: *rowid,
            reason: "its own row (title, times) is unreadable".to_owned(),
        });
    }
    for (rowid, (id, title)) in docs {
        if let Some(reason) = log_hole(c, rowid)? {
            lost.push(LostDocument {
                id: Some(id),
                title: Some(title),
                rowid,
                reason,
            });
        }
    }
    lost.sort_by_key(|d| d.rowid);
    Ok(lost)
}

/// Where a document's log misses updates, if it does: the snapshot covers sequence
/// numbers up to `covers_seq`, and each log row covers `seq..=last_seq`.
fn log_hole(c: &Connection, doc: i64) -> Result<Option<String>, StoreError> {
    let covers: i64 = c
        .query_row(
            "SELECT covers_seq FROM snapshots WHERE doc = ?1",
            [doc],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    let mut stmt = c.prepare(
        "SELECT seq, last_seq FROM updates WHERE doc = ?1 AND last_seq > ?2 ORDER BY seq",
    )?;
    let mut covered = covers;
    for row in stmt.query_map([doc, covers], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (seq, last) = row?;
        if seq > covered + 1 {
            return Ok(Some(format!(
                "updates {} to {} of its log are unreadable",
                covered + 1,
                seq - 1
            )));
        }
        covered = covered.max(last);
    }
    Ok(None)
}

/// Most problems [`check_file`] reports.
pub const MAX_PROBLEMS_REPORTED: usize = 20;

/// Runs SQLite's `integrity_check` (or the faster `quick_check`) on the database at
/// `path`, only reading it; returns the problems found (none: the file is whole). A
/// file that SQLite cannot read at all is one problem, not an error.
pub fn check_file(path: &Path, quick: bool) -> Result<Vec<String>, StoreError> {
    let src = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::classify(e, path))?;
    let pragma = if quick {
        "quick_check"
    } else {
        "integrity_check"
    };
    let answer = src
        .prepare(&format!("PRAGMA {pragma}({MAX_PROBLEMS_REPORTED})"))
        .and_then(|mut stmt| {
            stmt.query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()
        });
    Ok(match answer {
        Ok(lines) if lines.iter().all(|l| l == "ok") => Vec::new(),
        Ok(lines) => lines,
        Err(e) => vec![e.to_string()],
    })
}
