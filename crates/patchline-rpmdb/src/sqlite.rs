//! `rpmdb.sqlite`: table `Packages(hnum INTEGER PRIMARY KEY, blob BLOB)`, opened from memory.

use std::ptr::NonNull;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, DatabaseName, OpenFlags};

use crate::{Collector, Error, ErrorKind, Origin};

/// Offsets of the file format's write and read version bytes: 1 = rollback journal, 2 = WAL.
const WRITE_VERSION: usize = 18;
const READ_VERSION: usize = 19;
const SQLITE_HEADER: usize = 100;

fn err(kind: ErrorKind, location: Option<String>, message: impl Into<String>) -> Error {
    Error::new(Origin::Sqlite, kind, location, message)
}

fn sql_err(what: &str) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| err(ErrorKind::Sqlite, None, format!("{what}: {e}"))
}

/// Copies `bytes` into a buffer from `sqlite3_malloc64`, which `sqlite3_deserialize`
/// takes ownership of, switching the copy out of WAL mode on the way.
#[allow(unsafe_code)]
fn sqlite_copy(bytes: &[u8]) -> Result<rusqlite::serialize::OwnedData, Error> {
    let len = bytes.len();
    // SAFETY: sqlite3_malloc64 returns either null or a buffer of at least `len` bytes.
    let ptr = unsafe { rusqlite::ffi::sqlite3_malloc64(len as u64) }.cast::<u8>();
    let Some(ptr) = NonNull::new(ptr) else {
        return Err(err(
            ErrorKind::Sqlite,
            None,
            format!("SQLite could not allocate {len} bytes for the database copy"),
        ));
    };
    // SAFETY: `ptr` is valid for `len` writable bytes and does not overlap `bytes`.
    let copy = unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr.as_ptr(), len);
        std::slice::from_raw_parts_mut(ptr.as_ptr(), len)
    };
    // An in-memory database cannot use a WAL; the pages themselves are the same.
    for b in [WRITE_VERSION, READ_VERSION] {
        if copy[b] == 2 {
            copy[b] = 1;
        }
    }
    // SAFETY: `ptr` was allocated by sqlite3_malloc64 and is handed over exactly once.
    Ok(unsafe { rusqlite::serialize::OwnedData::from_raw_nonnull(ptr, len) })
}

pub(crate) fn walk(bytes: &[u8], sink: &mut Collector) -> Result<(), Error> {
    if bytes.len() < SQLITE_HEADER {
        return Err(err(
            ErrorKind::Truncated,
            None,
            format!(
                "input is {} bytes, shorter than SQLite's {SQLITE_HEADER}-byte file header",
                bytes.len()
            ),
        ));
    }
    let mut conn = Connection::open_with_flags(
        ":memory:",
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_err("opening an in-memory connection"))?;
    // Functions reachable from the schema (views, generated columns) stay disabled.
    conn.pragma_update(None, "trusted_schema", false)
        .map_err(sql_err("setting trusted_schema"))?;
    // Should SQLite ever need scratch space, it stays in memory: no temporary files.
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(sql_err("setting temp_store"))?;
    conn.deserialize(DatabaseName::Main, sqlite_copy(bytes)?, true)
        .map_err(sql_err("loading the database"))?;

    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_master WHERE name = 'Packages' COLLATE NOCASE",
            [],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(sql_err("reading the schema"))?;
    match kind.as_deref() {
        Some("table") => {}
        Some(other) => {
            return Err(err(
                ErrorKind::Malformed,
                Some("schema".into()),
                format!("Packages is a {other}, not a table"),
            ))
        }
        None => {
            return Err(err(
                ErrorKind::Malformed,
                Some("schema".into()),
                "no Packages table",
            ))
        }
    }
    // Column name -> `hidden` (0 for an ordinary column, 2 or 3 when generated).
    let mut columns: Vec<(String, i64)> = Vec::new();
    {
        let mut stmt = conn
            .prepare("SELECT name, hidden FROM pragma_table_xinfo('Packages')")
            .map_err(sql_err("reading the Packages columns"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(sql_err("reading the Packages columns"))?;
        for row in rows {
            columns.push(row.map_err(sql_err("reading the Packages columns"))?);
        }
    }
    for want in ["hnum", "blob"] {
        match columns.iter().find(|(n, _)| n.eq_ignore_ascii_case(want)) {
            Some((_, 0)) => {}
            Some((_, h)) => {
                return Err(err(
                    ErrorKind::Malformed,
                    Some(format!("column Packages.{want}")),
                    format!("column is hidden or generated (hidden = {h}), not stored"),
                ))
            }
            None => {
                return Err(err(
                    ErrorKind::Malformed,
                    Some(format!("column Packages.{want}")),
                    "no such column",
                ))
            }
        }
    }

    let mut stmt = conn
        // No ORDER BY: the collector sorts, and SQLite needs no sorter (nor its temp files).
        .prepare("SELECT hnum, blob FROM Packages")
        .map_err(sql_err("preparing the Packages query"))?;
    let mut rows = stmt.query([]).map_err(sql_err("querying Packages"))?;
    let mut row_no = 0u64;
    while let Some(row) = rows.next().map_err(|e| {
        err(
            ErrorKind::Sqlite,
            Some(format!("after row {row_no}")),
            format!("reading Packages: {e}"),
        )
    })? {
        row_no += 1;
        let hnum = match row.get_ref(0) {
            Ok(ValueRef::Integer(h)) => h,
            other => {
                sink.warn(format!(
                    "rpm database (SQLite), Packages row {row_no}: hnum is {}, not an integer; row skipped",
                    describe(&other)
                ));
                continue;
            }
        };
        let where_ = || format!("rpm database (SQLite), record {hnum} (Packages row {row_no})");
        match row.get_ref(1) {
            Ok(ValueRef::Blob(b)) | Ok(ValueRef::Text(b)) => sink.record(hnum, where_, b),
            other => sink.warn(format!(
                "{}: blob column holds {}, not bytes",
                where_(),
                describe(&other)
            )),
        }
    }
    Ok(())
}

/// A value's type, for messages (never its content, which may be large).
fn describe(v: &rusqlite::Result<ValueRef<'_>>) -> String {
    match v {
        Ok(ValueRef::Null) => "NULL".into(),
        Ok(ValueRef::Integer(_)) => "an integer".into(),
        Ok(ValueRef::Real(_)) => "a real".into(),
        Ok(ValueRef::Text(t)) => format!("{} bytes of text", t.len()),
        Ok(ValueRef::Blob(b)) => format!("a {}-byte blob", b.len()),
        Err(e) => format!("unreadable ({e})"),
    }
}
