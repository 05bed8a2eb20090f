//! Gives the mailbox file's free pages back to the OS after items are removed
//! (expiry, compaction), so a burst of stored items does not leave the file at its
//! largest for ever on a relay's small disk.
//!
//! A file made by this relay has `auto_vacuum = INCREMENTAL` (set before its first
//! table). A file made before that cannot shrink this way: its free pages are reused
//! for new items, and `sqlite3 FILE 'PRAGMA auto_vacuum=INCREMENTAL; VACUUM'` (relay
//! stopped) converts it.

use rusqlite::Connection;

/// Hand pages back once at least this many are free...
const WORTHWHILE_FREE_PAGES: i64 = 64;
/// ...and they are at least a 1/N share of the file.
const WORTHWHILE_FREE_SHARE: i64 = 4;
/// At most this many pages (4 MiB at 4 KiB) per removal, to keep its commit short;
/// the next expiry sweep takes the rest.
const MOST_PAGES_PER_REMOVAL: i64 = 1024;

/// Makes a new, empty file able to shrink; a no-op on a file that has pages.
pub(super) fn allow_on_new_file(conn: &Connection) -> rusqlite::Result<()> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    if pages == 0 {
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    }
    Ok(())
}

/// The file's size in pages, and how many of them are free.
fn page_use(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(
        "SELECT * FROM pragma_page_count(), pragma_freelist_count()",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Inside a transaction that removed items: hands back up to
/// [`MOST_PAGES_PER_REMOVAL`] free pages if enough are free.
pub(super) fn hand_back(conn: &Connection) -> rusqlite::Result<()> {
    let (pages, free) = page_use(conn)?;
    if free < WORTHWHILE_FREE_PAGES || free * WORTHWHILE_FREE_SHARE < pages {
        return Ok(());
    }
    // It frees one page per step: step it until it is done.
    let mut stmt = conn.prepare(&format!(
        "PRAGMA incremental_vacuum({MOST_PAGES_PER_REMOVAL})"
    ))?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::super::{Limits, Mailbox};

    const LIMITS: Limits = Limits {
        topic_bytes: 1 << 30,
        peer_bytes: 1 << 30,
        retention: Duration::from_secs(3600),
    };
    const HOUR_MS: i64 = 3_600_000;

    fn page_use(m: &Mailbox) -> (i64, i64) {
        super::page_use(&m.conn).unwrap()
    }

    /// 2.4 MB of items stored at time 0 and one an hour later.
    fn fill(m: &mut Mailbox) {
        for _ in 0..600 {
            m.put(&[1; 32], b"ann", &[7; 4000], 0).unwrap();
        }
        m.put(&[1; 32], b"ann", &[8; 10], HOUR_MS).unwrap();
    }

    #[test]
    fn expired_items_give_their_space_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Mailbox::open(&dir.path().join("mailbox.sqlite"), LIMITS).unwrap();
        fill(&mut m);
        let (before, _) = page_use(&m);
        assert!(before > 550, "{before} pages");
        assert_eq!(m.expire(HOUR_MS + 1).unwrap(), 600);
        let (pages, free) = page_use(&m);
        assert!(
            pages < 40 && free < super::WORTHWHILE_FREE_PAGES,
            "{before} pages -> {pages}, {free} free"
        );
        // What is left reads back.
        assert_eq!(m.get(&[1; 32], 0, 1000).unwrap().0.len(), 1);
    }

    #[test]
    fn a_file_from_before_keeps_working_without_shrinking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mailbox.sqlite");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            conn.execute_batch("CREATE TABLE unrelated (x)").unwrap();
        }
        let mut m = Mailbox::open(&path, LIMITS).unwrap();
        fill(&mut m);
        assert_eq!(m.expire(HOUR_MS + 1).unwrap(), 600);
        let (pages, free) = page_use(&m);
        assert!(free > 550 && pages > free, "{pages} pages, {free} free");
        // Its free pages hold the next items: the file does not grow.
        fill(&mut m);
        assert!(page_use(&m).0 <= pages + 5);
    }
}
