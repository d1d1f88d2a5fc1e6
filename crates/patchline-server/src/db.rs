//! The store's SQL layer: one dialect of SQL over SQLite (the embedded default) and
//! PostgreSQL (many processes), pooled, with migrations.
//!
//! Queries are written once, with `?` placeholders, in the SQL both engines share
//! (`INSERT ... ON CONFLICT ... DO UPDATE SET x = excluded.x`, `RETURNING`, partial
//! indexes); for PostgreSQL the placeholders become `$1, $2, ...`. Where the engines
//! differ (claiming a job with `FOR UPDATE SKIP LOCKED`), callers ask [`Tx::backend`].
//! Values are the few types both engines hold the same way ([`Value`]): integers
//! (timestamps are unix seconds), reals, text (JSON documents are text) and blobs.
//!
//! Why not an async driver: the work the server does (scans, matching) is the existing
//! synchronous library code, run on worker threads; HTTP handlers reach the store through
//! `tokio::task::spawn_blocking` ([`Db::run`]).

use std::path::Path;
use std::time::Duration;

use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;
use r2d2_sqlite::SqliteConnectionManager;

/// Which engine a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A failure of the store, naming the statement or the connection that failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("store {url}: {message}")]
    Open { url: String, message: String },
    #[error("store: {context}: {message}")]
    Query { context: String, message: String },
    #[error("store: migration {version} ({name}): {message}")]
    Migration {
        version: i64,
        name: String,
        message: String,
    },
    #[error("store: column {index} of `{sql}`: expected {expected}, found {found}")]
    Type {
        sql: String,
        index: usize,
        expected: &'static str,
        found: String,
    },
    /// A caller's own failure inside a transaction (which was rolled back).
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;

impl From<anyhow::Error> for DbError {
    fn from(e: anyhow::Error) -> DbError {
        DbError::Other(format!("{e:#}"))
    }
}

/// One SQL value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Int(v.into())
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::Int(v.into())
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::Int(v as i64)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Int(v as i64)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Blob(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Value {
        Value::Blob(v.to_vec())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map(Into::into).unwrap_or(Value::Null)
    }
}

/// Builds a `&[Value]` parameter list: `params![id, name, None::<i64>]`.
#[macro_export]
macro_rules! params {
    () => { &[] as &[$crate::db::Value] };
    ($($v:expr),+ $(,)?) => { &[$($crate::db::Value::from($v)),+] as &[$crate::db::Value] };
}

/// One result row.
#[derive(Clone, Debug, Default)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    pub fn len(&self) -> usize {
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    pub fn value(&self, i: usize) -> &Value {
        self.values.get(i).unwrap_or(&Value::Null)
    }
    pub fn i64(&self, i: usize) -> Result<i64> {
        match self.value(i) {
            Value::Int(v) => Ok(*v),
            other => Err(type_err(i, "integer", other)),
        }
    }
    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        match self.value(i) {
            Value::Null => Ok(None),
            _ => self.i64(i).map(Some),
        }
    }
    pub fn f64(&self, i: usize) -> Result<f64> {
        match self.value(i) {
            Value::Real(v) => Ok(*v),
            Value::Int(v) => Ok(*v as f64),
            other => Err(type_err(i, "real", other)),
        }
    }
    pub fn opt_f64(&self, i: usize) -> Result<Option<f64>> {
        match self.value(i) {
            Value::Null => Ok(None),
            _ => self.f64(i).map(Some),
        }
    }
    pub fn bool(&self, i: usize) -> Result<bool> {
        Ok(self.i64(i)? != 0)
    }
    pub fn str(&self, i: usize) -> Result<&str> {
        match self.value(i) {
            Value::Text(v) => Ok(v),
            other => Err(type_err(i, "text", other)),
        }
    }
    pub fn string(&self, i: usize) -> Result<String> {
        self.str(i).map(str::to_string)
    }
    pub fn opt_string(&self, i: usize) -> Result<Option<String>> {
        match self.value(i) {
            Value::Null => Ok(None),
            _ => self.string(i).map(Some),
        }
    }
    pub fn blob(&self, i: usize) -> Result<&[u8]> {
        match self.value(i) {
            Value::Blob(v) => Ok(v),
            other => Err(type_err(i, "blob", other)),
        }
    }
    pub fn opt_blob(&self, i: usize) -> Result<Option<&[u8]>> {
        match self.value(i) {
            Value::Null => Ok(None),
            _ => self.blob(i).map(Some),
        }
    }
}

fn type_err(index: usize, expected: &'static str, found: &Value) -> DbError {
    DbError::Type {
        sql: String::new(),
        index,
        expected,
        found: format!("{found:?}"),
    }
}

/// A transaction (or, from [`Db::read`], a read-only session). Everything done through
/// one `Tx` commits together or not at all.
pub trait Tx {
    fn backend(&self) -> Backend;
    /// Runs a statement; returns the rows it changed.
    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64>;
    /// Runs a query and collects its rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>>;
    /// Runs several statements without parameters (migrations).
    fn batch(&mut self, sql: &str) -> Result<()>;

    /// The first row, if any.
    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
    /// Exactly one row.
    fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row> {
        self.query_opt(sql, params)?.ok_or_else(|| DbError::Query {
            context: short(sql),
            message: "no row returned".into(),
        })
    }
    /// The first column of the first row as an integer (`SELECT count(*)`, `RETURNING id`).
    fn query_i64(&mut self, sql: &str, params: &[Value]) -> Result<i64> {
        self.query_one(sql, params)?.i64(0)
    }
}

fn short(sql: &str) -> String {
    let one_line: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.len() > 120 {
        let mut end = 120;
        while !one_line.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &one_line[..end])
    } else {
        one_line
    }
}

fn query_err(sql: &str, e: impl std::fmt::Display) -> DbError {
    DbError::Query {
        context: short(sql),
        message: e.to_string(),
    }
}

/// `?` placeholders → `$1, $2, ...`, leaving quoted text and comments alone.
pub fn to_postgres_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    out.push(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    // A comment runs to the end of the line.
                    out.push(c);
                    for c in chars.by_ref() {
                        out.push(c);
                        if c == '\n' {
                            break;
                        }
                    }
                }
                '?' => {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                }
                _ => out.push(c),
            },
        }
    }
    out
}

// ---------------------------------------------------------------------------- SQLite

struct SqliteTx<'a> {
    conn: &'a rusqlite::Connection,
}

fn sqlite_params(params: &[Value]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|v| match v {
            Value::Null => rusqlite::types::Value::Null,
            Value::Int(i) => rusqlite::types::Value::Integer(*i),
            Value::Real(f) => rusqlite::types::Value::Real(*f),
            Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
            Value::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
        })
        .collect()
}

impl Tx for SqliteTx<'_> {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| query_err(sql, e))?;
        let n = stmt
            .execute(rusqlite::params_from_iter(sqlite_params(params)))
            .map_err(|e| query_err(sql, e))?;
        Ok(n as u64)
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| query_err(sql, e))?;
        let cols = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(sqlite_params(params)))
            .map_err(|e| query_err(sql, e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| query_err(sql, e))? {
            let mut values = Vec::with_capacity(cols);
            for i in 0..cols {
                let v = match r.get_ref(i).map_err(|e| query_err(sql, e))? {
                    rusqlite::types::ValueRef::Null => Value::Null,
                    rusqlite::types::ValueRef::Integer(i) => Value::Int(i),
                    rusqlite::types::ValueRef::Real(f) => Value::Real(f),
                    rusqlite::types::ValueRef::Text(t) => {
                        Value::Text(String::from_utf8_lossy(t).into_owned())
                    }
                    rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                };
                values.push(v);
            }
            out.push(Row { values });
        }
        Ok(out)
    }
    fn batch(&mut self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql).map_err(|e| query_err(sql, e))
    }
}

// ---------------------------------------------------------------------------- PostgreSQL

/// A [`Value`] as PostgreSQL wants it for the parameter's type the server inferred, so one
/// `Value::Int` binds to `bigint`, `integer` or `boolean` alike, and `Null` to anything.
/// Parameters travel in binary, so a value of the wrong type would be read as other bytes
/// (a real's bits as an integer): every other pairing is an error naming both types.
impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let is_text = |ty: &Type| {
            matches!(
                *ty,
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
            )
        };
        let mismatch = |what: &str| -> Box<dyn std::error::Error + Sync + Send> {
            format!("cannot bind {what} to a parameter of type {ty}").into()
        };
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::FLOAT4 => (*i as f32).to_sql(ty, out),
                ref t if is_text(t) => i.to_string().to_sql(&Type::TEXT, out),
                _ => Err(mismatch("an integer")),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                ref t if is_text(t) => f.to_string().to_sql(&Type::TEXT, out),
                _ => Err(mismatch("a real")),
            },
            Value::Text(s) => match *ty {
                ref t if is_text(t) => s.to_sql(&Type::TEXT, out),
                // json's binary form is its text.
                Type::JSON => {
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                _ => Err(mismatch("text")),
            },
            Value::Blob(b) => match *ty {
                Type::BYTEA => b.to_sql(ty, out),
                _ => Err(mismatch("a blob")),
            },
        }
    }
    fn accepts(_ty: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

fn pg_row(sql: &str, r: &postgres::Row) -> Result<Row> {
    let mut values = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let ty = col.type_();
        let err = |e: postgres::Error| query_err(sql, e);
        let v = match *ty {
            Type::INT8 => r.try_get::<_, Option<i64>>(i).map_err(err)?.map(Value::Int),
            Type::INT4 => r
                .try_get::<_, Option<i32>>(i)
                .map_err(err)?
                .map(|v| Value::Int(v.into())),
            Type::INT2 => r
                .try_get::<_, Option<i16>>(i)
                .map_err(err)?
                .map(|v| Value::Int(v.into())),
            Type::BOOL => r
                .try_get::<_, Option<bool>>(i)
                .map_err(err)?
                .map(|v| Value::Int(v as i64)),
            Type::FLOAT8 => r
                .try_get::<_, Option<f64>>(i)
                .map_err(err)?
                .map(Value::Real),
            Type::FLOAT4 => r
                .try_get::<_, Option<f32>>(i)
                .map_err(err)?
                .map(|v| Value::Real(v.into())),
            Type::BYTEA => r
                .try_get::<_, Option<Vec<u8>>>(i)
                .map_err(err)?
                .map(Value::Blob),
            Type::NUMERIC => {
                return Err(DbError::Type {
                    sql: short(sql),
                    index: i,
                    expected: "bigint or double precision (cast numeric results)",
                    found: "numeric".into(),
                })
            }
            // pg_advisory_xact_lock() and other functions returning nothing.
            Type::VOID => None,
            ref t if <String as postgres::types::FromSql>::accepts(t) => r
                .try_get::<_, Option<String>>(i)
                .map_err(err)?
                .map(Value::Text),
            ref t => {
                return Err(DbError::Type {
                    sql: short(sql),
                    index: i,
                    expected: "bigint, double precision, text or bytea (cast the column)",
                    found: t.to_string(),
                })
            }
        };
        values.push(v.unwrap_or(Value::Null));
    }
    Ok(Row { values })
}

struct PgTx<'a, 'b> {
    tx: &'a mut postgres::Transaction<'b>,
}

fn pg_params(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl Tx for PgTx<'_, '_> {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }
    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let pg = to_postgres_placeholders(sql);
        self.tx
            .execute(pg.as_str(), &pg_params(params))
            .map_err(|e| query_err(sql, pg_error(e)))
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let pg = to_postgres_placeholders(sql);
        let rows = self
            .tx
            .query(pg.as_str(), &pg_params(params))
            .map_err(|e| query_err(sql, pg_error(e)))?;
        rows.iter().map(|r| pg_row(sql, r)).collect()
    }
    fn batch(&mut self, sql: &str) -> Result<()> {
        self.tx
            .batch_execute(sql)
            .map_err(|e| query_err(sql, pg_error(e)))
    }
}

/// PostgreSQL's own message (`db error: ERROR: ...` says little on its own).
fn pg_error(e: postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{} ({d})", db.message()),
            None => db.message().to_string(),
        },
        // "error serializing parameter 0" alone does not say why: add the cause.
        None => match std::error::Error::source(&e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

// ---------------------------------------------------------------------------- Db

#[derive(Clone)]
enum Inner {
    Sqlite(Pool<SqliteConnectionManager>),
    Postgres(Pool<PostgresConnectionManager<postgres::NoTls>>),
}

/// The pooled store. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Inner,
    /// The store's address with any password taken out, for messages and logs.
    display: String,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({})", self.display)
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{path}")
            } else {
                format!("{scheme}://{user}@{host}{path}")
            }
        }
        None => url.to_string(),
    }
}

impl Db {
    /// Opens `sqlite:PATH` / a plain path (created with its directory), or
    /// `postgres://...` / `postgresql://...`. Does not migrate: see [`Db::migrate`].
    pub fn open(url: &str, pool_size: u32) -> Result<Db> {
        let display = redact_url(url);
        let open_err = |m: String| DbError::Open {
            url: display.clone(),
            message: m,
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let config: postgres::Config = url.parse().map_err(|e| open_err(format!("{e}")))?;
            let manager = PostgresConnectionManager::new(config, postgres::NoTls);
            let pool = Pool::builder()
                .max_size(pool_size.max(1))
                .connection_timeout(Duration::from_secs(10))
                .build(manager)
                .map_err(|e| open_err(e.to_string()))?;
            return Ok(Db {
                inner: Inner::Postgres(pool),
                display,
            });
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let memory = path == ":memory:";
        if !memory {
            if let Some(dir) = Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir)
                    .map_err(|e| open_err(format!("creating {}: {e}", dir.display())))?;
            }
        }
        if !memory {
            // WAL is a property of the file: set it once here, before the pool opens its
            // connections at the same time (switching modes takes a lock each would race for).
            let c = rusqlite::Connection::open(path).map_err(|e| open_err(e.to_string()))?;
            c.busy_timeout(Duration::from_secs(30))
                .map_err(|e| open_err(e.to_string()))?;
            c.pragma_update(None, "journal_mode", "WAL")
                .map_err(|e| open_err(e.to_string()))?;
        }
        let manager = if memory {
            // One shared in-memory database for every pooled connection.
            SqliteConnectionManager::file(format!(
                "file:patchline-{}?mode=memory&cache=shared",
                uuid::Uuid::new_v4()
            ))
            .with_flags(
                rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                    | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
                    | rusqlite::OpenFlags::SQLITE_OPEN_URI,
            )
        } else {
            SqliteConnectionManager::file(path)
        }
        .with_init(|c| {
            c.busy_timeout(Duration::from_secs(30))?;
            // WAL: readers keep their snapshot while one writer commits; NORMAL sync is
            // durable across process crashes (only an OS crash can lose the last commit).
            c.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
            // A rescan reads thousands of images' findings and inventories: through a
            // memory map the pages come from the OS cache without a read call each
            // (1 GiB of address space, not memory), and each connection keeps 16 MiB of
            // pages of its own.
            c.execute_batch("PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -16384;")
        });
        let pool = Pool::builder()
            .max_size(pool_size.max(1))
            .connection_timeout(Duration::from_secs(30))
            .build(manager)
            .map_err(|e| open_err(e.to_string()))?;
        Ok(Db {
            inner: Inner::Sqlite(pool),
            display,
        })
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Postgres(_) => Backend::Postgres,
        }
    }

    /// The store's address, without its password.
    pub fn describe(&self) -> &str {
        &self.display
    }

    /// Runs `f` in one write transaction: committed when `f` returns `Ok`, rolled back
    /// otherwise. SQLite's is `BEGIN IMMEDIATE` (the write lock is taken up front, so two
    /// writers never deadlock upgrading a read lock).
    pub fn tx<T, E>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<DbError>,
    {
        match &self.inner {
            Inner::Sqlite(pool) => {
                let mut conn = self.sqlite_conn(pool)?;
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(|e| query_err("BEGIN IMMEDIATE", e))?;
                let out = f(&mut SqliteTx { conn: &tx })?;
                tx.commit().map_err(|e| query_err("COMMIT", e))?;
                Ok(out)
            }
            Inner::Postgres(pool) => {
                let mut conn = self.pg_conn(pool)?;
                let mut tx = conn
                    .transaction()
                    .map_err(|e| query_err("BEGIN", pg_error(e)))?;
                let out = f(&mut PgTx { tx: &mut tx })?;
                tx.commit().map_err(|e| query_err("COMMIT", pg_error(e)))?;
                Ok(out)
            }
        }
    }

    /// Runs `f` on a read-only snapshot (a deferred transaction on SQLite, `REPEATABLE
    /// READ READ ONLY` on PostgreSQL): every query in it sees the same state.
    pub fn read<T, E>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<DbError>,
    {
        match &self.inner {
            Inner::Sqlite(pool) => {
                let mut conn = self.sqlite_conn(pool)?;
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)
                    .map_err(|e| query_err("BEGIN", e))?;
                let out = f(&mut SqliteTx { conn: &tx })?;
                tx.commit().map_err(|e| query_err("COMMIT", e))?;
                Ok(out)
            }
            Inner::Postgres(pool) => {
                let mut conn = self.pg_conn(pool)?;
                let mut tx = conn
                    .build_transaction()
                    .isolation_level(postgres::IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()
                    .map_err(|e| query_err("BEGIN", pg_error(e)))?;
                let out = f(&mut PgTx { tx: &mut tx })?;
                tx.commit().map_err(|e| query_err("COMMIT", pg_error(e)))?;
                Ok(out)
            }
        }
    }

    /// [`Db::tx`] from async code: on tokio's blocking pool, so a handler never blocks
    /// the runtime's threads on the store.
    pub async fn run<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut dyn Tx) -> std::result::Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let db = self.clone();
        match tokio::task::spawn_blocking(move || db.tx(f)).await {
            Ok(r) => r,
            Err(e) => Err(E::from(DbError::Other(format!("store task failed: {e}")))),
        }
    }

    /// [`Db::read`] from async code.
    pub async fn run_read<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut dyn Tx) -> std::result::Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let db = self.clone();
        match tokio::task::spawn_blocking(move || db.read(f)).await {
            Ok(r) => r,
            Err(e) => Err(E::from(DbError::Other(format!("store task failed: {e}")))),
        }
    }

    fn sqlite_conn(
        &self,
        pool: &Pool<SqliteConnectionManager>,
    ) -> Result<PooledConnection<SqliteConnectionManager>> {
        pool.get().map_err(|e| DbError::Open {
            url: self.display.clone(),
            message: e.to_string(),
        })
    }

    fn pg_conn(
        &self,
        pool: &Pool<PostgresConnectionManager<postgres::NoTls>>,
    ) -> Result<PooledConnection<PostgresConnectionManager<postgres::NoTls>>> {
        pool.get().map_err(|e| DbError::Open {
            url: self.display.clone(),
            message: e.to_string(),
        })
    }

    /// Applies the migrations not applied yet, each in its own transaction, in order.
    /// Safe to run from many processes at once: PostgreSQL serialises them on an advisory
    /// lock, SQLite on its write lock. Returns the versions applied now.
    pub fn migrate(&self) -> Result<Vec<i64>> {
        let mut applied = Vec::new();
        for m in MIGRATIONS {
            let did = self.tx(|tx| -> Result<bool> {
                if tx.backend() == Backend::Postgres {
                    // Any number 'locks' the migrations; this one spells "patchlin".
                    tx.query("SELECT pg_advisory_xact_lock(7089068166357968494)", &[])?;
                }
                tx.batch(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (
                        version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                )?;
                let done = tx
                    .query_opt("SELECT version FROM schema_migrations WHERE version = ?", params![m.version])?
                    .is_some();
                if done {
                    return Ok(false);
                }
                let sql = match tx.backend() {
                    Backend::Sqlite => m.sqlite,
                    Backend::Postgres => m.postgres,
                };
                tx.batch(sql).map_err(|e| DbError::Migration {
                    version: m.version,
                    name: m.name.into(),
                    message: e.to_string(),
                })?;
                tx.exec(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    params![m.version, m.name, now()],
                )?;
                Ok(true)
            })?;
            if did {
                applied.push(m.version);
            }
        }
        // A name for this store that outlives processes: what per-process caches of
        // its contents are keyed by (lineage::load_graph).
        self.tx(|tx| -> Result<()> {
            tx.exec(
                "INSERT INTO server_state (key, value, updated_at) VALUES ('store.id', ?, ?) ON CONFLICT (key) DO NOTHING",
                params![uuid::Uuid::new_v4().to_string(), now()],
            )?;
            Ok(())
        })?;
        Ok(applied)
    }

    /// The highest migration applied, and whether the store is newer than this binary
    /// (a downgrade the code cannot serve).
    pub fn schema_version(&self) -> Result<i64> {
        self.read(|tx| -> Result<i64> {
            tx.query_i64(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
        })
    }
}

/// One schema change, in both dialects.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// Every migration, in order. A released migration is never edited; changes are new
/// migrations. Numbers are reserved per area while several people add them at once.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "queue",
        sqlite: include_str!("../migrations/sqlite/0002_queue.sql"),
        postgres: include_str!("../migrations/postgres/0002_queue.sql"),
    },
    Migration {
        version: 4,
        name: "rescan",
        sqlite: include_str!("../migrations/sqlite/0004_rescan.sql"),
        postgres: include_str!("../migrations/postgres/0004_rescan.sql"),
    },
    Migration {
        version: 6,
        name: "api",
        sqlite: include_str!("../migrations/sqlite/0006_api.sql"),
        postgres: include_str!("../migrations/postgres/0006_api.sql"),
    },
    Migration {
        version: 7,
        name: "trusted",
        sqlite: include_str!("../migrations/sqlite/0007_trusted.sql"),
        postgres: include_str!("../migrations/postgres/0007_trusted.sql"),
    },
    Migration {
        version: 8,
        name: "web",
        sqlite: include_str!("../migrations/sqlite/0008_web.sql"),
        postgres: include_str!("../migrations/postgres/0008_web.sql"),
    },
    Migration {
        version: 9,
        name: "web_lists",
        sqlite: include_str!("../migrations/sqlite/0009_web_lists.sql"),
        postgres: include_str!("../migrations/postgres/0009_web_lists.sql"),
    },
    Migration {
        version: 11,
        name: "harbor",
        sqlite: include_str!("../migrations/sqlite/0011_harbor.sql"),
        postgres: include_str!("../migrations/postgres/0011_harbor.sql"),
    },
    Migration {
        version: 13,
        name: "finding_hash",
        sqlite: include_str!("../migrations/sqlite/0013_finding_hash.sql"),
        postgres: include_str!("../migrations/postgres/0013_finding_hash.sql"),
    },
];

/// Now, in unix seconds (every timestamp in the store).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Unix seconds as RFC 3339 UTC (`2026-12-07T22:03:00Z`), as the API shows them.
pub fn rfc3339(ts: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ts.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered_outside_quotes() {
        assert_eq!(
            to_postgres_placeholders("SELECT '?', x FROM t WHERE a = ? AND b = ? -- ?\nAND c = ?"),
            "SELECT '?', x FROM t WHERE a = $1 AND b = $2 -- ?\nAND c = $3"
        );
    }

    #[test]
    fn url_password_is_redacted() {
        assert_eq!(
            redact_url("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("/var/lib/x.sqlite"), "/var/lib/x.sqlite");
    }

    #[test]
    fn sqlite_migrates_and_round_trips_values() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("s.sqlite").to_str().unwrap(), 4).unwrap();
        let all: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(db.migrate().unwrap(), all);
        assert!(db.migrate().unwrap().is_empty(), "migrations apply once");
        let row = db
            .tx(|tx| -> Result<Row> {
                tx.query_one(
                    "SELECT ?, ?, ?, ?, ?",
                    params![1i64, 2.5f64, "x", vec![1u8, 2], None::<i64>],
                )
            })
            .unwrap();
        assert_eq!(row.i64(0).unwrap(), 1);
        assert_eq!(row.f64(1).unwrap(), 2.5);
        assert_eq!(row.str(2).unwrap(), "x");
        assert_eq!(row.blob(3).unwrap(), &[1, 2]);
        assert_eq!(row.opt_i64(4).unwrap(), None);
    }
}
