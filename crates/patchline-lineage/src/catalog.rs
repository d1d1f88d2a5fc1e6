//! The catalog: a SQLite state store of an organisation's images.
//!
//! One file (default `$XDG_CACHE_HOME/patchline/state.sqlite`, see
//! [`Catalog::default_path`]) that the server will later share, so the schema is plain and
//! portable (no SQLite-only types, timestamps as RFC 3339 text, JSON in text columns):
//!
//! | table | rows |
//! |---|---|
//! | `images` | one per catalogued reference: declared fields (tier, owner, Containerfile, context, build args, labels, declared parent, declared base, build inputs) and resolved ones (manifest and config digests, created, platform, base annotations) |
//! | `layers` | `(image_id, position, diff_id, chain_id)`, bottom layer at position 0 (no index on `chain_id`: the hierarchy is computed in memory, and a random-key index would make a 100,000-image sync thrash; a later migration can add one when a query needs it) |
//! | `inventories`, `scans` | the last [`Inventory`] / [`ScanReport`] of an image as JSON, with the manifest digest it describes |
//!
//! The schema is versioned with `PRAGMA user_version`; [`MIGRATIONS`] lists the SQL steps,
//! applied in order at open, each in its own immediate transaction. Every write is one
//! transaction: a crash leaves the previous state. Stored documents of an image are
//! dropped when its digest or layers change, so impact never reads a scan of another
//! build.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use patchline_model::vuln::ScanReport;
use patchline_model::{Digest, ImageInfo, Inventory};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::catalog_file;
use crate::chain::chain_ids;
use crate::entry::{CatalogEntry, Owner, Tier};
use crate::error::{LineageError, Result};
use crate::graph::Graph;

/// Schema steps: `MIGRATIONS[i]` takes `user_version` from `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: images, layers, per-image documents.
    r#"
CREATE TABLE images (
    id              INTEGER PRIMARY KEY,
    reference       TEXT NOT NULL UNIQUE,
    digest          TEXT,
    config_digest   TEXT,
    created         TEXT,
    platform        TEXT,
    tier            TEXT NOT NULL,
    owner_team      TEXT,
    owner_contact   TEXT,
    containerfile   TEXT,
    context         TEXT,
    build_args      TEXT NOT NULL DEFAULT '{}',
    labels          TEXT NOT NULL DEFAULT '{}',
    base_name       TEXT,
    base_digest     TEXT,
    declared_base   TEXT,
    declared_parent TEXT,
    build_inputs    TEXT NOT NULL DEFAULT '[]',
    added_at        TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX images_digest ON images (digest);
CREATE TABLE layers (
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    diff_id  TEXT NOT NULL,
    chain_id TEXT NOT NULL,
    PRIMARY KEY (image_id, position)
);
CREATE TABLE inventories (
    image_id  INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    digest    TEXT,
    document  TEXT NOT NULL,
    stored_at TEXT NOT NULL
);
CREATE TABLE scans (
    image_id  INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    digest    TEXT,
    document  TEXT NOT NULL,
    stored_at TEXT NOT NULL
);
"#,
];

/// What [`Catalog::add`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    Inserted,
    Updated,
    Unchanged,
}

/// Options of [`Catalog::import_yaml_with`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ImportOptions {
    /// Remove catalogued images the file does not list (the file is the whole truth).
    pub prune: bool,
}

/// What an import did, and what the caller should do next.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub removed: Vec<String>,
    /// Images not resolved yet (no digest, no layers): resolve each and call
    /// [`Catalog::update_image`].
    pub needs_resolve: Vec<String>,
    /// Images with a Containerfile whose declared base is unknown (new, or the
    /// Containerfile or build args changed): compute it and call
    /// [`Catalog::set_declared_base`].
    pub needs_containerfile: Vec<String>,
    /// Declared parents that name no catalogued image (external bases, or typos).
    pub warnings: Vec<String>,
}

/// The catalog store.
pub struct Catalog {
    conn: Connection,
    path: String,
}

trait Ctx<T> {
    fn ctx(self, path: &str) -> Result<T>;
}

impl<T> Ctx<T> for rusqlite::Result<T> {
    fn ctx(self, path: &str) -> Result<T> {
        self.map_err(|source| LineageError::Sqlite {
            path: path.to_string(),
            source,
        })
    }
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

const SELECT_IMAGE: &str = "SELECT id, reference, digest, config_digest, created, platform, tier, \
     owner_team, owner_contact, containerfile, context, build_args, labels, base_name, base_digest, \
     declared_base, declared_parent, build_inputs, added_at, updated_at FROM images";

impl Catalog {
    /// `$XDG_CACHE_HOME/patchline/state.sqlite`, else `$HOME/.cache/patchline/state.sqlite`,
    /// else `./.patchline/state.sqlite`.
    pub fn default_path() -> PathBuf {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".cache"))
            })
            .unwrap_or_else(|| PathBuf::from(".patchline"));
        base.join("patchline").join("state.sqlite")
    }

    /// Opens (creating it and its directory if needed) and migrates the catalog at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Catalog> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| LineageError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let shown = path.display().to_string();
        let conn = Connection::open(path).ctx(&shown)?;
        // WAL lets the server read while the CLI writes; a busy peer is waited for.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
            .ctx(&shown)?;
        Catalog::setup(conn, shown)
    }

    /// A private in-memory catalog (tests, one-shot runs).
    pub fn open_in_memory() -> Result<Catalog> {
        let conn = Connection::open_in_memory().ctx(":memory:")?;
        Catalog::setup(conn, ":memory:".into())
    }

    fn setup(mut conn: Connection, path: String) -> Result<Catalog> {
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .ctx(&path)?;
        conn.pragma_update(None, "foreign_keys", "ON").ctx(&path)?;
        // With WAL, NORMAL cannot corrupt the store; a power cut may lose the last commit.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .ctx(&path)?;
        // A 64 MiB page cache keeps a 100,000-image sync from spilling pages mid-transaction.
        conn.pragma_update(None, "cache_size", -65536).ctx(&path)?;
        migrate(&mut conn, &path)?;
        Ok(Catalog { conn, path })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> Result<i64> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .ctx(&self.path)
    }

    /// Adds an image, or replaces every field of the one catalogued under the same
    /// reference (its `added_at` is kept).
    pub fn add(&mut self, entry: CatalogEntry) -> Result<AddOutcome> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let out = upsert(&tx, &path, entry)?;
        tx.commit().ctx(&path)?;
        Ok(out)
    }

    /// [`Catalog::add`] for many images in one transaction (registry sync, imports).
    pub fn add_many(
        &mut self,
        entries: impl IntoIterator<Item = CatalogEntry>,
    ) -> Result<Vec<AddOutcome>> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let mut out = Vec::new();
        for e in entries {
            out.push(upsert(&tx, &path, e)?);
        }
        tx.commit().ctx(&path)?;
        Ok(out)
    }

    /// Adds or replaces an image together with its documents, in one transaction: the
    /// image row, its layers, its inventory and its scan report are all committed or none
    /// is (a crash or a failed write leaves the previous state). `None` keeps a stored
    /// document that still describes the image's digest. Every command that catalogues
    /// an image goes through this (or [`Catalog::import_yaml_resolving`]), so impact
    /// never sees an image whose inventory was lost half-way.
    pub fn put_image(
        &mut self,
        entry: CatalogEntry,
        inventory: Option<&Inventory>,
        scan: Option<&ScanReport>,
    ) -> Result<AddOutcome> {
        let path = self.path.clone();
        let reference = entry.reference.clone();
        let tx = self.write_tx()?;
        let out = upsert(&tx, &path, entry)?;
        put_docs(&tx, &path, &reference, inventory, scan)?;
        tx.commit().ctx(&path)?;
        Ok(out)
    }

    /// One image by the reference it was catalogued under.
    pub fn get(&self, reference: &str) -> Result<Option<CatalogEntry>> {
        get(&self.conn, &self.path, reference)
    }

    /// Every image, in the order they were first added.
    pub fn list(&self) -> Result<Vec<CatalogEntry>> {
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT_IMAGE} ORDER BY id"))
            .ctx(&self.path)?;
        let mut rows = stmt.query([]).ctx(&self.path)?;
        let mut ids = Vec::new();
        let mut entries = Vec::new();
        let mut pos: HashMap<i64, usize> = HashMap::new();
        while let Some(row) = rows.next().ctx(&self.path)? {
            let (id, e) = row_to_entry(row, &self.path)?;
            pos.insert(id, entries.len());
            ids.push(id);
            entries.push(e);
        }
        drop(rows);
        let mut stmt = self
            .conn
            .prepare("SELECT image_id, position, diff_id, chain_id FROM layers ORDER BY image_id, position")
            .ctx(&self.path)?;
        let mut rows = stmt.query([]).ctx(&self.path)?;
        while let Some(row) = rows.next().ctx(&self.path)? {
            let id: i64 = row.get(0).ctx(&self.path)?;
            let Some(&i) = pos.get(&id) else { continue };
            let e = &mut entries[i];
            push_layer(e, row, &self.path)?;
        }
        for e in &entries {
            check_layers(e, &self.path)?;
        }
        Ok(entries)
    }

    /// Removes an image (and its layers and documents). False when it was not catalogued.
    pub fn remove(&mut self, reference: &str) -> Result<bool> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let n = tx
            .execute("DELETE FROM images WHERE reference = ?1", [reference])
            .ctx(&path)?;
        tx.commit().ctx(&path)?;
        Ok(n > 0)
    }

    /// Refreshes the resolved fields (digests, layers, base annotations, platform,
    /// created) of a catalogued image from what its source now says; declared fields
    /// are kept. Returns whether anything changed.
    pub fn update_image(&mut self, reference: &str, info: &ImageInfo) -> Result<bool> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let mut e = get(&tx, &path, reference)?
            .ok_or_else(|| LineageError::NotFound(reference.to_string()))?;
        e.apply_image_info(info);
        let out = upsert(&tx, &path, e)?;
        tx.commit().ctx(&path)?;
        Ok(out != AddOutcome::Unchanged)
    }

    /// Records the base the image's Containerfile declares (final stage `FROM`, after
    /// `ARG` substitution; `scratch` for none) and the earlier stages' images.
    pub fn set_declared_base(
        &mut self,
        reference: &str,
        declared_base: Option<&str>,
        build_inputs: &[String],
    ) -> Result<()> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let mut e = get(&tx, &path, reference)?
            .ok_or_else(|| LineageError::NotFound(reference.to_string()))?;
        e.declared_base = declared_base.map(str::to_string);
        e.build_inputs = build_inputs.to_vec();
        upsert(&tx, &path, e)?;
        tx.commit().ctx(&path)
    }

    /// Imports a declarative catalog (see [`crate::catalog_file`]): adds the images it
    /// lists and updates the declared fields of those already catalogued, keeping what
    /// was resolved from the images. All or nothing: on any error nothing is written.
    pub fn import_yaml(&mut self, text: &str) -> Result<ImportReport> {
        self.import_yaml_with(text, ImportOptions::default())
    }

    pub fn import_yaml_with(&mut self, text: &str, opts: ImportOptions) -> Result<ImportReport> {
        self.import_yaml_resolving(text, opts, |_| None)
    }

    /// [`Catalog::import_yaml_with`] that also stores what was read from the images, in
    /// the same transaction: for each image of the file, after its declared fields are
    /// merged, `resolve` may update the entry (resolved fields, declared base) and return
    /// its documents. The report describes the import of the file itself.
    pub fn import_yaml_resolving<'r>(
        &mut self,
        text: &str,
        opts: ImportOptions,
        mut resolve: impl FnMut(&mut CatalogEntry) -> Option<ImageDocs<'r>>,
    ) -> Result<ImportReport> {
        let declared = catalog_file::parse(text)?;
        if opts.prune && declared.is_empty() {
            return Err(LineageError::CatalogFile(
                "the file lists no image: refusing to prune the whole catalog".into(),
            ));
        }
        let path = self.path.clone();
        let tx = self.write_tx()?;
        let existing = list_declared(&tx, &path)?;
        // The merged view the import would produce, to check parents across both.
        let in_file: std::collections::HashSet<String> =
            declared.iter().map(|e| e.reference.clone()).collect();
        let mut merged: Vec<(&str, Option<&str>)> = declared
            .iter()
            .map(|e| (e.reference.as_str(), e.declared_parent.as_deref()))
            .collect();
        for (r, p) in &existing {
            if !in_file.contains(r.as_str()) && !opts.prune {
                merged.push((r.as_str(), p.as_deref()));
            }
        }
        let (cycles, unknown) = catalog_file::check_parents(merged);
        if !cycles.is_empty() {
            if cycles.len() == 1 {
                return Err(LineageError::Cycle(
                    cycles.into_iter().next().unwrap_or_default(),
                ));
            }
            return Err(catalog_file::problems_error(
                cycles
                    .iter()
                    .map(|c| format!("cycle in declared parents: {}", c.join(" -> ")))
                    .collect(),
            ));
        }
        let mut report = ImportReport {
            warnings: unknown
                .into_iter()
                .map(|(img, p)| format!("{img}: parent {p} is not in the catalog (external base?)"))
                .collect(),
            ..Default::default()
        };
        for d in declared {
            let reference = d.reference.clone();
            let (merged, outcome) = match get(&tx, &path, &reference)? {
                None => (d, AddOutcome::Inserted),
                Some(mut e) => {
                    let recipe_changed =
                        e.containerfile != d.containerfile || e.build_args != d.build_args;
                    e.tier = d.tier;
                    e.owner = d.owner;
                    e.containerfile = d.containerfile;
                    e.context = d.context;
                    e.build_args = d.build_args;
                    e.labels = d.labels;
                    e.declared_parent = d.declared_parent;
                    if recipe_changed {
                        e.declared_base = None;
                        e.build_inputs.clear();
                    }
                    (e, AddOutcome::Updated)
                }
            };
            if !merged.is_resolved() {
                report.needs_resolve.push(reference.clone());
            }
            if merged.containerfile.is_some() && merged.declared_base.is_none() {
                report.needs_containerfile.push(reference.clone());
            }
            let mut resolved = merged.clone();
            match (outcome, upsert(&tx, &path, merged)?) {
                (AddOutcome::Inserted, _) => report.added.push(reference.clone()),
                (_, AddOutcome::Unchanged) => report.unchanged.push(reference.clone()),
                _ => report.updated.push(reference.clone()),
            }
            if let Some(docs) = resolve(&mut resolved) {
                resolved.reference = reference.clone();
                upsert(&tx, &path, resolved)?;
                put_docs(&tx, &path, &reference, docs.inventory, docs.scan)?;
            }
        }
        if opts.prune {
            for (r, _) in &existing {
                if !in_file.contains(r.as_str()) {
                    tx.execute("DELETE FROM images WHERE reference = ?1", [r])
                        .ctx(&path)?;
                    report.removed.push(r.clone());
                }
            }
        }
        tx.commit().ctx(&path)?;
        Ok(report)
    }

    /// The declared fields of every image as a catalog file.
    pub fn export_yaml(&self) -> Result<String> {
        catalog_file::to_yaml(&self.list()?)
    }

    /// Stores the inventory of a catalogued image (replacing the previous one). Refused
    /// when it describes another manifest than the catalogued one.
    pub fn put_inventory(&mut self, reference: &str, inventory: &Inventory) -> Result<()> {
        let json = document_json(reference, "inventory", inventory)?;
        self.put_document(
            "inventories",
            reference,
            inventory.image.manifest_digest.as_ref(),
            &json,
        )
    }

    /// Stores the scan report of a catalogued image (replacing the previous one).
    pub fn put_scan(&mut self, reference: &str, scan: &ScanReport) -> Result<()> {
        let json = document_json(reference, "scan report", scan)?;
        self.put_document(
            "scans",
            reference,
            scan.image.manifest_digest.as_ref(),
            &json,
        )
    }

    pub fn inventory(&self, reference: &str) -> Result<Option<Inventory>> {
        Ok(self
            .documents("inventories", Some(reference))?
            .into_values()
            .next())
    }

    pub fn scan(&self, reference: &str) -> Result<Option<ScanReport>> {
        Ok(self
            .documents("scans", Some(reference))?
            .into_values()
            .next())
    }

    /// Every stored inventory that describes the image's current digest, by reference.
    pub fn inventories(&self) -> Result<HashMap<String, Inventory>> {
        self.documents("inventories", None)
    }

    /// Every stored scan report that describes the image's current digest, by reference.
    pub fn scans(&self) -> Result<HashMap<String, ScanReport>> {
        self.documents("scans", None)
    }

    /// The hierarchy of everything catalogued: `Graph::build(self.list()?)`.
    pub fn graph(&self) -> Result<Graph> {
        Ok(Graph::build(self.list()?))
    }

    fn write_tx(&mut self) -> Result<Transaction<'_>> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&self.path)
    }

    fn put_document(
        &mut self,
        table: &'static str,
        reference: &str,
        describes: Option<&Digest>,
        json: &str,
    ) -> Result<()> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        put_document(&tx, &path, table, reference, describes, json)?;
        tx.commit().ctx(&path)
    }

    fn documents<T: serde::de::DeserializeOwned>(
        &self,
        table: &'static str,
        reference: Option<&str>,
    ) -> Result<HashMap<String, T>> {
        let sql = format!(
            "SELECT i.reference, d.document FROM {table} d JOIN images i ON i.id = d.image_id \
             WHERE (d.digest IS NULL OR i.digest IS NULL OR d.digest = i.digest) \
             AND (?1 IS NULL OR i.reference = ?1)"
        );
        let mut stmt = self.conn.prepare(&sql).ctx(&self.path)?;
        let mut rows = stmt.query([reference]).ctx(&self.path)?;
        let mut out = HashMap::new();
        while let Some(row) = rows.next().ctx(&self.path)? {
            let r: String = row.get(0).ctx(&self.path)?;
            let doc: String = row.get(1).ctx(&self.path)?;
            let v: T = serde_json::from_str(&doc).map_err(|e| LineageError::Corrupt {
                path: self.path.clone(),
                reference: r.clone(),
                reason: format!("stored {table} document: {e}"),
            })?;
            out.insert(r, v);
        }
        Ok(out)
    }
}

/// The documents of one image stored with it (see [`Catalog::import_yaml_resolving`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct ImageDocs<'a> {
    pub inventory: Option<&'a Inventory>,
    pub scan: Option<&'a ScanReport>,
}

fn document_json<T: serde::Serialize>(reference: &str, what: &str, doc: &T) -> Result<String> {
    serde_json::to_string(doc).map_err(|e| LineageError::InvalidEntry {
        reference: reference.into(),
        reason: format!("cannot serialise the {what}: {e}"),
    })
}

/// Stores the given documents of a catalogued image inside the caller's transaction.
fn put_docs(
    tx: &Transaction<'_>,
    path: &str,
    reference: &str,
    inventory: Option<&Inventory>,
    scan: Option<&ScanReport>,
) -> Result<()> {
    if let Some(inv) = inventory {
        let json = document_json(reference, "inventory", inv)?;
        let d = inv.image.manifest_digest.as_ref();
        put_document(tx, path, "inventories", reference, d, &json)?;
    }
    if let Some(s) = scan {
        let json = document_json(reference, "scan report", s)?;
        let d = s.image.manifest_digest.as_ref();
        put_document(tx, path, "scans", reference, d, &json)?;
    }
    Ok(())
}

fn put_document(
    tx: &Transaction<'_>,
    path: &str,
    table: &'static str,
    reference: &str,
    describes: Option<&Digest>,
    json: &str,
) -> Result<()> {
    let row: Option<(i64, Option<String>)> = tx
        .query_row(
            "SELECT id, digest FROM images WHERE reference = ?1",
            [reference],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .ctx(path)?;
    let (id, current) = row.ok_or_else(|| LineageError::NotFound(reference.to_string()))?;
    if let (Some(cur), Some(d)) = (&current, describes) {
        if cur != &d.to_string() {
            return Err(LineageError::InvalidEntry {
                reference: reference.into(),
                reason: format!(
                    "the document describes {d} but the catalog has {cur}: refresh the catalog entry first"
                ),
            });
        }
    }
    let digest = describes.map(|d| d.to_string()).or(current);
    tx.execute(
        &format!(
            "INSERT INTO {table} (image_id, digest, document, stored_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (image_id) DO UPDATE SET digest = excluded.digest, \
             document = excluded.document, stored_at = excluded.stored_at"
        ),
        params![id, digest, json, now()],
    )
    .ctx(path)?;
    Ok(())
}

fn migrate(conn: &mut Connection, path: &str) -> Result<()> {
    let known = MIGRATIONS.len() as i64;
    let current: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .ctx(path)?;
    if current > known {
        return Err(LineageError::SchemaTooNew {
            path: path.into(),
            found: current,
            known,
        });
    }
    if current == known {
        return Ok(());
    }
    // Immediate: two processes opening a fresh store do not both run the steps.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx(path)?;
    let current: i64 = tx
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .ctx(path)?;
    for (i, step) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        tx.execute_batch(step).ctx(path)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .ctx(path)?;
    }
    tx.commit().ctx(path)
}

fn corrupt(path: &str, reference: &str, reason: impl Into<String>) -> LineageError {
    LineageError::Corrupt {
        path: path.into(),
        reference: reference.into(),
        reason: reason.into(),
    }
}

fn opt_digest(
    v: Option<String>,
    path: &str,
    reference: &str,
    column: &str,
) -> Result<Option<Digest>> {
    v.map(|s| {
        s.parse::<Digest>()
            .map_err(|e| corrupt(path, reference, format!("{column}: {e}")))
    })
    .transpose()
}

fn json_col<T: serde::de::DeserializeOwned>(
    s: String,
    path: &str,
    reference: &str,
    column: &str,
) -> Result<T> {
    serde_json::from_str(&s).map_err(|e| corrupt(path, reference, format!("{column}: {e}")))
}

fn row_to_entry(row: &rusqlite::Row<'_>, path: &str) -> Result<(i64, CatalogEntry)> {
    let g = |i: usize| -> Result<Option<String>> { row.get(i).ctx(path) };
    let id: i64 = row.get(0).ctx(path)?;
    let reference: String = row.get(1).ctx(path)?;
    let r = reference.as_str();
    let tier: String = row.get(6).ctx(path)?;
    let tier: Tier = tier.parse().map_err(|e: String| corrupt(path, r, e))?;
    let owner = g(7)?.map(|team| Owner {
        team,
        contact: None,
    });
    let owner = match (owner, g(8)?) {
        (Some(mut o), c) => {
            o.contact = c;
            Some(o)
        }
        (None, _) => None,
    };
    let e = CatalogEntry {
        digest: opt_digest(g(2)?, path, r, "digest")?,
        config_digest: opt_digest(g(3)?, path, r, "config_digest")?,
        created: g(4)?,
        platform: g(5)?,
        tier,
        owner,
        containerfile: g(9)?,
        context: g(10)?,
        build_args: json_col(row.get(11).ctx(path)?, path, r, "build_args")?,
        labels: json_col(row.get(12).ctx(path)?, path, r, "labels")?,
        base_name: g(13)?,
        base_digest: opt_digest(g(14)?, path, r, "base_digest")?,
        declared_base: g(15)?,
        declared_parent: g(16)?,
        build_inputs: json_col(row.get(17).ctx(path)?, path, r, "build_inputs")?,
        added_at: g(18)?,
        updated_at: g(19)?,
        diff_ids: Vec::new(),
        chain_ids: Vec::new(),
        reference,
    };
    Ok((id, e))
}

/// Appends one `layers` row (`image_id, position, diff_id, chain_id`) to the entry.
fn push_layer(e: &mut CatalogEntry, row: &rusqlite::Row<'_>, path: &str) -> Result<()> {
    let position: i64 = row.get(1).ctx(path)?;
    if position != e.diff_ids.len() as i64 {
        return Err(corrupt(
            path,
            &e.reference,
            format!("layer positions skip at {position}"),
        ));
    }
    let diff: String = row.get(2).ctx(path)?;
    let chain: String = row.get(3).ctx(path)?;
    e.diff_ids.push(
        diff.parse()
            .map_err(|x| corrupt(path, &e.reference, format!("layer {position} diff_id: {x}")))?,
    );
    e.chain_ids.push(chain.parse().map_err(|x| {
        corrupt(
            path,
            &e.reference,
            format!("layer {position} chain_id: {x}"),
        )
    })?);
    Ok(())
}

/// The stored chain IDs are trusted (this code wrote them) but their first element is
/// cheap to check against the definition, which catches a mixed-up row.
fn check_layers(e: &CatalogEntry, path: &str) -> Result<()> {
    if let (Some(d), Some(c)) = (e.diff_ids.first(), e.chain_ids.first()) {
        if d != c {
            return Err(corrupt(
                path,
                &e.reference,
                "chain_id of layer 0 differs from its diff_id",
            ));
        }
    }
    Ok(())
}

fn get(conn: &Connection, path: &str, reference: &str) -> Result<Option<CatalogEntry>> {
    let mut stmt = conn
        .prepare_cached(&format!("{SELECT_IMAGE} WHERE reference = ?1"))
        .ctx(path)?;
    let mut rows = stmt.query([reference]).ctx(path)?;
    let Some(row) = rows.next().ctx(path)? else {
        return Ok(None);
    };
    let (id, mut e) = row_to_entry(row, path)?;
    drop(rows);
    let mut stmt = conn
        .prepare_cached("SELECT image_id, position, diff_id, chain_id FROM layers WHERE image_id = ?1 ORDER BY position")
        .ctx(path)?;
    let mut rows = stmt.query([id]).ctx(path)?;
    while let Some(row) = rows.next().ctx(path)? {
        push_layer(&mut e, row, path)?;
    }
    check_layers(&e, path)?;
    Ok(Some(e))
}

/// `(reference, declared_parent)` of every image.
fn list_declared(conn: &Connection, path: &str) -> Result<Vec<(String, Option<String>)>> {
    let mut stmt = conn
        .prepare("SELECT reference, declared_parent FROM images ORDER BY id")
        .ctx(path)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .ctx(path)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().ctx(path)
}

fn same_content(a: &CatalogEntry, b: &CatalogEntry) -> bool {
    let strip = |e: &CatalogEntry| {
        let mut e = e.clone();
        e.added_at = None;
        e.updated_at = None;
        e.chain_ids.clear();
        e
    };
    strip(a) == strip(b)
}

fn upsert(tx: &Transaction<'_>, path: &str, mut e: CatalogEntry) -> Result<AddOutcome> {
    e.validate()?;
    e.chain_ids = chain_ids(&e.diff_ids);
    let old = get(tx, path, &e.reference)?;
    if let Some(o) = &old {
        if same_content(o, &e) {
            return Ok(AddOutcome::Unchanged);
        }
    }
    let ts = now();
    let values = params![
        e.reference,
        e.digest.as_ref().map(|d| d.to_string()),
        e.config_digest.as_ref().map(|d| d.to_string()),
        e.created,
        e.platform,
        e.tier.as_str(),
        e.owner.as_ref().map(|o| o.team.clone()),
        e.owner.as_ref().and_then(|o| o.contact.clone()),
        e.containerfile,
        e.context,
        to_json(&e.build_args),
        to_json(&e.labels),
        e.base_name,
        e.base_digest.as_ref().map(|d| d.to_string()),
        e.declared_base,
        e.declared_parent,
        to_json(&e.build_inputs),
        ts,
    ];
    let id: i64 = match &old {
        None => {
            tx.prepare_cached(
                "INSERT INTO images (reference, digest, config_digest, created, platform, tier, \
                 owner_team, owner_contact, containerfile, context, build_args, labels, base_name, \
                 base_digest, declared_base, declared_parent, build_inputs, added_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18)",
            )
            .and_then(|mut st| st.execute(values))
            .ctx(path)?;
            tx.last_insert_rowid()
        }
        Some(_) => tx
            .prepare_cached(
                "UPDATE images SET digest = ?2, config_digest = ?3, created = ?4, platform = ?5, \
                 tier = ?6, owner_team = ?7, owner_contact = ?8, containerfile = ?9, context = ?10, \
                 build_args = ?11, labels = ?12, base_name = ?13, base_digest = ?14, \
                 declared_base = ?15, declared_parent = ?16, build_inputs = ?17, updated_at = ?18 \
                 WHERE reference = ?1 RETURNING id",
            )
            .and_then(|mut st| st.query_row(values, |r| r.get(0)))
            .ctx(path)?,
    };
    let layers_changed = old.as_ref().is_none_or(|o| o.diff_ids != e.diff_ids);
    if layers_changed {
        tx.prepare_cached("DELETE FROM layers WHERE image_id = ?1")
            .and_then(|mut st| st.execute([id]))
            .ctx(path)?;
        let mut ins = tx
            .prepare_cached(
                "INSERT INTO layers (image_id, position, diff_id, chain_id) VALUES (?1, ?2, ?3, ?4)",
            )
            .ctx(path)?;
        for (i, (d, c)) in e.diff_ids.iter().zip(&e.chain_ids).enumerate() {
            ins.execute(params![id, i as i64, d.to_string(), c.to_string()])
                .ctx(path)?;
        }
    }
    if let Some(o) = &old {
        // Documents describe one build: a new digest or layer stack makes them another image's.
        if o.digest != e.digest || layers_changed {
            for sql in [
                "DELETE FROM inventories WHERE image_id = ?1",
                "DELETE FROM scans WHERE image_id = ?1",
            ] {
                tx.prepare_cached(sql)
                    .and_then(|mut st| st.execute([id]))
                    .ctx(path)?;
            }
        }
    }
    Ok(if old.is_some() {
        AddOutcome::Updated
    } else {
        AddOutcome::Inserted
    })
}

/// JSON text of a column value (maps and lists of strings cannot fail to serialise).
fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{dg, finding, img, scan};

    fn temp_catalog() -> (tempfile::TempDir, Catalog) {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(dir.path().join("sub/state.sqlite")).unwrap();
        (dir, c)
    }

    #[test]
    fn add_get_list_remove() {
        let (dir, mut c) = temp_catalog();
        assert_eq!(c.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let mut base = img("r.example/base:1", Tier::Base, &["d0"]);
        base.owner = Some(Owner::new("platform", Some("p@example.com".into())));
        base.labels.insert("criticality".into(), "high".into());
        base.containerfile = Some("images/base/Containerfile".into());
        base.build_inputs = vec!["golang:1.22".into()];
        base.build_args.insert("V".into(), "1".into());
        let app = img("r.example/app:1", Tier::Application, &["d0", "a1", "a2"]);
        assert_eq!(c.add(base.clone()).unwrap(), AddOutcome::Inserted);
        assert_eq!(c.add(app.clone()).unwrap(), AddOutcome::Inserted);
        assert_eq!(c.add(base.clone()).unwrap(), AddOutcome::Unchanged);
        let got = c.get("r.example/base:1").unwrap().unwrap();
        assert!(got.added_at.is_some());
        let mut strip = got.clone();
        strip.added_at = None;
        strip.updated_at = None;
        assert_eq!(strip, base);
        let list = c.list().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].chain_ids, app.chain_ids);
        let mut moved = app.clone();
        moved.tier = Tier::Builder;
        assert_eq!(c.add(moved).unwrap(), AddOutcome::Updated);
        assert_eq!(
            c.get("r.example/app:1").unwrap().unwrap().added_at,
            c.list().unwrap()[1].added_at
        );
        // Survives reopening (migrations are not rerun).
        drop(c);
        let mut c = Catalog::open(dir.path().join("sub/state.sqlite")).unwrap();
        assert_eq!(c.list().unwrap().len(), 2);
        assert!(c.remove("r.example/app:1").unwrap());
        assert!(!c.remove("r.example/app:1").unwrap());
        assert_eq!(c.get("r.example/app:1").unwrap(), None);
        let g = c.graph().unwrap();
        assert_eq!(g.len(), 1);
        let bad = CatalogEntry::new("has space", Tier::Base);
        assert!(matches!(c.add(bad), Err(LineageError::InvalidEntry { .. })));
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.sqlite");
        drop(Catalog::open(&p).unwrap());
        let conn = Connection::open(&p).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = Catalog::open(&p).err().unwrap().to_string();
        assert!(
            err.contains("schema version 99") && err.contains("newer patchline"),
            "{err}"
        );
    }

    #[test]
    fn documents_follow_the_build() {
        let mut c = Catalog::open_in_memory().unwrap();
        let app = img("r.example/app:1", Tier::Application, &["d0", "a"]);
        c.add(app.clone()).unwrap();
        let report = scan(&app, vec![finding("CVE-1", "curl", "1", 0, &app)]);
        c.put_scan("r.example/app:1", &report).unwrap();
        assert_eq!(c.scan("r.example/app:1").unwrap().unwrap(), report);
        assert_eq!(c.scans().unwrap().len(), 1);
        // A report of another build is refused.
        let mut other = report.clone();
        other.image.manifest_digest = Some(dg("other"));
        assert!(c.put_scan("r.example/app:1", &other).is_err());
        assert!(matches!(
            c.put_scan("r.example/none:1", &report),
            Err(LineageError::NotFound(_))
        ));
        let inv = Inventory::new(report.image.clone());
        c.put_inventory("r.example/app:1", &inv).unwrap();
        assert_eq!(c.inventories().unwrap().len(), 1);
        // The image is rebuilt: its documents are gone.
        let mut rebuilt = app.clone();
        rebuilt.digest = Some(dg("rebuilt"));
        rebuilt.diff_ids = vec![dg("d0"), dg("b")];
        c.add(rebuilt).unwrap();
        assert!(c.scan("r.example/app:1").unwrap().is_none());
        assert!(c.inventory("r.example/app:1").unwrap().is_none());
    }

    /// Makes every insert into `table` fail, as a crash or a full disk would half-way.
    fn break_table(c: &Catalog, table: &str) {
        c.conn
            .execute_batch(&format!(
                "CREATE TRIGGER boom_{table} BEFORE INSERT ON {table} \
                 BEGIN SELECT RAISE(ABORT, 'boom'); END;"
            ))
            .unwrap();
    }

    fn count(c: &Catalog, table: &str) -> i64 {
        c.conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn put_image_is_all_or_nothing() {
        let (_dir, mut c) = temp_catalog();
        let app = img("r.example/app:1", Tier::Application, &["d0", "a"]);
        let report = scan(&app, vec![finding("CVE-1", "curl", "1", 0, &app)]);
        let inv = Inventory::new(report.image.clone());
        // Stored together.
        assert_eq!(
            c.put_image(app.clone(), Some(&inv), Some(&report)).unwrap(),
            AddOutcome::Inserted
        );
        assert_eq!(c.inventory("r.example/app:1").unwrap().unwrap(), inv);
        assert_eq!(c.scan("r.example/app:1").unwrap().unwrap(), report);

        // The inventory write fails: the new image is not catalogued at all.
        break_table(&c, "inventories");
        let new = img("r.example/new:1", Tier::Application, &["d0", "n"]);
        let new_inv = Inventory::new(scan(&new, Vec::new()).image);
        let err = c.put_image(new.clone(), Some(&new_inv), None).unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
        assert_eq!(c.get("r.example/new:1").unwrap(), None);
        assert_eq!(c.list().unwrap().len(), 1);
        assert_eq!(count(&c, "layers"), 2);
        assert_eq!(count(&c, "inventories"), 1);

        // A rebuild whose inventory cannot be stored leaves the previous build and its
        // documents in place.
        let mut rebuilt = app.clone();
        rebuilt.digest = Some(dg("rebuilt"));
        rebuilt.diff_ids = vec![dg("d0"), dg("b")];
        let mut rebuilt_inv = inv.clone();
        rebuilt_inv.image.manifest_digest = rebuilt.digest.clone();
        assert!(c.put_image(rebuilt, Some(&rebuilt_inv), None).is_err());
        let got = c.get("r.example/app:1").unwrap().unwrap();
        assert_eq!(got.digest, app.digest);
        assert_eq!(got.diff_ids, app.diff_ids);
        assert_eq!(c.inventory("r.example/app:1").unwrap().unwrap(), inv);
        assert_eq!(c.scan("r.example/app:1").unwrap().unwrap(), report);

        // Same for an import: nothing of the file is written.
        let yaml = "images:\n  - reference: r.example/new:1\n    tier: application\n";
        let err = c
            .import_yaml_resolving(yaml, ImportOptions::default(), |e| {
                e.digest = new.digest.clone();
                e.diff_ids = new.diff_ids.clone();
                Some(ImageDocs {
                    inventory: Some(&new_inv),
                    scan: None,
                })
            })
            .unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
        assert_eq!(c.get("r.example/new:1").unwrap(), None);

        // Reopened from disk: still one image, with its inventory.
        drop(c);
        let c = Catalog::open(_dir.path().join("sub/state.sqlite")).unwrap();
        assert_eq!(c.list().unwrap().len(), 1);
        assert_eq!(c.inventories().unwrap().len(), 1);
    }

    #[test]
    fn import_stores_resolved_documents() {
        let mut c = Catalog::open_in_memory().unwrap();
        let base = img("r.example/base:1", Tier::Base, &["d0"]);
        let inv = Inventory::new(scan(&base, Vec::new()).image);
        let r = c
            .import_yaml_resolving(YAML, ImportOptions::default(), |e| {
                if e.reference != base.reference {
                    return None;
                }
                e.digest = base.digest.clone();
                e.diff_ids = base.diff_ids.clone();
                Some(ImageDocs {
                    inventory: Some(&inv),
                    scan: None,
                })
            })
            .unwrap();
        assert_eq!(r.added.len(), 4);
        let got = c.get("r.example/base:1").unwrap().unwrap();
        assert_eq!(got.digest, base.digest);
        assert_eq!(got.owner.unwrap().team, "platform");
        assert_eq!(c.inventory("r.example/base:1").unwrap().unwrap(), inv);
        assert_eq!(c.inventories().unwrap().len(), 1);
    }

    #[test]
    fn impact_names_images_without_inventory() {
        use crate::impact::{impact_package, PackageQuery};
        let mut c = Catalog::open_in_memory().unwrap();
        let base = img("r.example/base:1", Tier::Base, &["d0"]);
        let mut inv = Inventory::new(scan(&base, Vec::new()).image);
        inv.packages.push(patchline_model::Package::new(
            patchline_model::Ecosystem::Deb,
            "curl",
            "1",
        ));
        c.put_image(base, Some(&inv), None).unwrap();
        // Left by an older patchline, or an interrupted one: no inventory.
        let other = img("r.example/other:1", Tier::Application, &["x0"]);
        c.add(other).unwrap();
        let r = impact_package(
            &c.graph().unwrap(),
            &c.inventories().unwrap(),
            &PackageQuery::parse("curl").unwrap(),
        );
        assert_eq!(r.images.len(), 1);
        assert_eq!(r.not_examined, ["r.example/other:1"]);
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains("not examined") && w.contains("r.example/other:1")),
            "{:?}",
            r.warnings
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["not_examined"][0], "r.example/other:1", "{json}");
    }

    #[test]
    fn update_image_keeps_declared_fields() {
        let mut c = Catalog::open_in_memory().unwrap();
        let mut e = CatalogEntry::new("r.example/app:1", Tier::Application);
        e.owner = Some(Owner::new("team-a", None));
        c.add(e).unwrap();
        let info = ImageInfo {
            manifest_digest: Some(dg("m")),
            layers: vec![patchline_model::LayerInfo {
                index: 0,
                digest: None,
                diff_id: dg("d0"),
                media_type: String::new(),
                size: None,
                created_by: None,
            }],
            ..Default::default()
        };
        assert!(c.update_image("r.example/app:1", &info).unwrap());
        assert!(!c.update_image("r.example/app:1", &info).unwrap());
        let got = c.get("r.example/app:1").unwrap().unwrap();
        assert_eq!(got.owner.unwrap().team, "team-a");
        assert_eq!(got.chain_ids, vec![dg("d0")]);
        assert!(matches!(
            c.update_image("r.example/x:1", &info),
            Err(LineageError::NotFound(_))
        ));
        c.set_declared_base(
            "r.example/app:1",
            Some("r.example/base:1"),
            &["golang:1.22".into()],
        )
        .unwrap();
        let got = c.get("r.example/app:1").unwrap().unwrap();
        assert_eq!(got.declared_base.as_deref(), Some("r.example/base:1"));
        assert_eq!(got.build_inputs, ["golang:1.22"]);
    }

    const YAML: &str = r#"
version: 1
images:
  - reference: r.example/base:1
    tier: base
    owner: { team: platform, contact: platform@example.com }
    containerfile: images/base/Containerfile
  - reference: r.example/ent:1
    tier: enterprise
    owner: { team: platform }
    parent: r.example/base:1
  - reference: r.example/app:1
    tier: application
    owner: { team: team-a }
    parent: r.example/ent:1
    labels: { criticality: high }
  - reference: r.example/tool:1
    tier: builder
    parent: docker.io/library/golang:1.22
"#;

    #[test]
    fn import_export_round_trip() {
        let mut c = Catalog::open_in_memory().unwrap();
        // Resolved fields of an image catalogued before the import are kept.
        c.add(img("r.example/base:1", Tier::Application, &["d0"]))
            .unwrap();
        let r = c.import_yaml(YAML).unwrap();
        assert_eq!(
            r.added,
            ["r.example/ent:1", "r.example/app:1", "r.example/tool:1"]
        );
        assert_eq!(r.updated, ["r.example/base:1"]);
        assert_eq!(
            r.needs_resolve,
            ["r.example/ent:1", "r.example/app:1", "r.example/tool:1"]
        );
        assert_eq!(r.needs_containerfile, ["r.example/base:1"]);
        assert_eq!(r.warnings.len(), 1);
        assert!(
            r.warnings[0].contains("docker.io/library/golang:1.22"),
            "{:?}",
            r.warnings
        );
        let base = c.get("r.example/base:1").unwrap().unwrap();
        assert_eq!(base.tier, Tier::Base);
        assert_eq!(base.diff_ids, vec![dg("d0")]);
        let again = c.import_yaml(YAML).unwrap();
        assert_eq!(again.unchanged.len(), 4, "{again:?}");
        let out = c.export_yaml().unwrap();
        let mut d = Catalog::open_in_memory().unwrap();
        d.import_yaml(&out).unwrap();
        let strip = |v: Vec<CatalogEntry>| -> Vec<CatalogEntry> {
            v.into_iter()
                .map(|mut e| {
                    e.added_at = None;
                    e.updated_at = None;
                    e.digest = None;
                    e.created = None;
                    e.diff_ids.clear();
                    e.chain_ids.clear();
                    e
                })
                .collect()
        };
        assert_eq!(strip(c.list().unwrap()), strip(d.list().unwrap()), "{out}");
        // The graph uses declared parents of unresolved images.
        let g = c.graph().unwrap();
        let app = g.find("r.example/app:1").unwrap();
        assert_eq!(
            g.node(g.parent(app).unwrap()).reference(),
            "r.example/ent:1"
        );
    }

    #[test]
    fn import_is_all_or_nothing() {
        let mut c = Catalog::open_in_memory().unwrap();
        c.import_yaml(YAML).unwrap();
        let before = c.list().unwrap();
        // The cycle closes through an image already catalogued and not in this file.
        let cyclic = r#"
images:
  - reference: r.example/base:1
    tier: base
    parent: r.example/app:1
  - reference: r.example/new:1
    tier: application
"#;
        let err = c.import_yaml(cyclic).unwrap_err().to_string();
        assert_eq!(
            err,
            "catalog file: cycle in declared parents: r.example/base:1 -> r.example/app:1 -> r.example/ent:1 -> r.example/base:1"
        );
        assert_eq!(c.list().unwrap(), before);
        let bad_tier = "images:\n  - reference: r.example/new:1\n    tier: library\n";
        assert!(c.import_yaml(bad_tier).is_err());
        assert_eq!(c.list().unwrap(), before);
    }

    #[test]
    fn import_with_prune() {
        let mut c = Catalog::open_in_memory().unwrap();
        c.import_yaml(YAML).unwrap();
        let small = "images:\n  - reference: r.example/base:1\n    tier: base\n";
        let r = c
            .import_yaml_with(small, ImportOptions { prune: true })
            .unwrap();
        assert_eq!(r.removed.len(), 3);
        assert_eq!(c.list().unwrap().len(), 1);
        assert!(c
            .import_yaml_with("images: []", ImportOptions { prune: true })
            .is_err());
        assert_eq!(c.list().unwrap().len(), 1);
    }
}
