//! The image hierarchy in the store: the lineage catalog's entries (`patchline-lineage`
//! `CatalogEntry`, as JSON in `catalog_entries`), one per catalogued reference (a tag, as
//! `host/repo:tag`), from two sources:
//!
//! - **declared**: a catalog YAML (tiers, owners, parents, Containerfiles, teams), loaded
//!   at start (`catalog` in the config) or through the API;
//! - **resolved**: every scanned image's digest, layers (diff_ids and chain ids) and base
//!   annotations, applied to its entry (created on first sight as an unowned application
//!   image until a catalog declares otherwise).
//!
//! The graph the API, notifications and campaigns use is built from all entries
//! ([`load_graph`]), exactly as the CLI builds it from its catalog.

use std::sync::{Arc, Mutex};

use patchline_lineage::{CatalogEntry, Graph, Tier};
use patchline_model::ImageInfo;

use crate::db::{now, DbError, Result, Tx};
use crate::params;

fn to_json(e: &CatalogEntry) -> Result<String> {
    serde_json::to_string(e)
        .map_err(|err| DbError::Other(format!("catalog entry {}: {err}", e.reference)))
}

fn from_json(reference: &str, doc: &str) -> Result<CatalogEntry> {
    serde_json::from_str(doc)
        .map_err(|err| DbError::Other(format!("catalog entry {reference}: {err}")))
}

/// One entry by reference.
pub fn get_entry(tx: &mut dyn Tx, reference: &str) -> Result<Option<CatalogEntry>> {
    match tx.query_opt(
        "SELECT doc FROM catalog_entries WHERE reference = ?",
        params![reference],
    )? {
        Some(r) => Ok(Some(from_json(reference, r.str(0)?)?)),
        None => Ok(None),
    }
}

/// Stores an entry as it is (replacing the one under its reference).
pub fn put_entry(tx: &mut dyn Tx, entry: &CatalogEntry, image_id: Option<i64>) -> Result<()> {
    let doc = to_json(entry)?;
    tx.exec(
        "INSERT INTO catalog_entries (reference, image_id, doc, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (reference) DO UPDATE SET image_id = COALESCE(excluded.image_id, catalog_entries.image_id),
             doc = excluded.doc, updated_at = excluded.updated_at",
        params![&entry.reference, image_id, doc, now()],
    )?;
    bump_generation(tx)
}

/// Moves the catalog's generation (see [`load_graph`]).
fn bump_generation(tx: &mut dyn Tx) -> Result<()> {
    let next = crate::store::get_state(tx, "catalog.generation")?
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0)
        + 1;
    crate::store::set_state(tx, "catalog.generation", &next.to_string())
}

/// A scanned image under `reference` (`host/repo:tag`): its entry's resolved fields are
/// replaced by what the image says now, its declared fields (tier, owner, parent) kept.
/// Returns the entry as stored.
pub fn record_image(
    tx: &mut dyn Tx,
    reference: &str,
    image_id: i64,
    info: &ImageInfo,
) -> Result<CatalogEntry> {
    let mut entry = get_entry(tx, reference)?
        .unwrap_or_else(|| CatalogEntry::new(reference, Tier::Application));
    entry.apply_image_info(info);
    let t = crate::db::rfc3339(now());
    if entry.added_at.is_none() {
        entry.added_at = Some(t.clone());
    }
    entry.updated_at = Some(t);
    put_entry(tx, &entry, Some(image_id))?;
    Ok(entry)
}

/// Every entry, by reference.
pub fn load_entries(tx: &mut dyn Tx) -> Result<Vec<CatalogEntry>> {
    tx.query(
        "SELECT reference, doc FROM catalog_entries ORDER BY reference",
        &[],
    )?
    .iter()
    .map(|r| from_json(r.str(0)?, r.str(1)?))
    .collect()
}

/// The hierarchy of every catalogued image.
///
/// Parsing every entry and building the graph takes ~0.5 s at 10,000 images, and most
/// pages and API calls need it, while the catalog changes rarely: the graph is kept per
/// process and store, and built again when the catalog's stamp moves (its generation,
/// bumped by every [`put_entry`], and its row count and newest `updated_at`, which also
/// catch a write that went around `put_entry`).
pub fn load_graph(tx: &mut dyn Tx) -> Result<Arc<Graph>> {
    type Cached = (String, (String, i64, i64), Arc<Graph>);
    static GRAPHS: Mutex<Vec<Cached>> = Mutex::new(Vec::new());
    let r = tx.query_one(
        "SELECT (SELECT value FROM server_state WHERE key = 'store.id'),
                (SELECT value FROM server_state WHERE key = 'catalog.generation'),
                COUNT(*), COALESCE(MAX(updated_at), 0)
         FROM catalog_entries",
        &[],
    )?;
    let store = r.opt_string(0)?;
    let stamp = (r.opt_string(1)?.unwrap_or_default(), r.i64(2)?, r.i64(3)?);
    let Some(store) = store else {
        return Ok(Arc::new(Graph::build(load_entries(tx)?)));
    };
    if let Ok(graphs) = GRAPHS.lock() {
        if let Some((_, _, g)) = graphs.iter().find(|(s, st, _)| *s == store && *st == stamp) {
            return Ok(g.clone());
        }
    }
    let graph = Arc::new(Graph::build(load_entries(tx)?));
    if let Ok(mut graphs) = GRAPHS.lock() {
        graphs.retain(|(s, _, _)| *s != store);
        // Tests run many stores in one process: keep a few.
        if graphs.len() >= 8 {
            graphs.remove(0);
        }
        graphs.push((store, stamp, graph.clone()));
    }
    Ok(graph)
}

/// Loads a catalog YAML's declarations (`patchline catalog import`'s format): each
/// image's declared fields replace the stored ones; resolved fields already stored (from
/// scans) are kept. Returns the references declared.
pub fn import_yaml(tx: &mut dyn Tx, text: &str) -> Result<Vec<String>> {
    let mut mem =
        patchline_lineage::Catalog::open_in_memory().map_err(|e| DbError::Other(e.to_string()))?;
    mem.import_yaml(text)
        .map_err(|e| DbError::Other(format!("catalog YAML: {e}")))?;
    let declared = mem.list().map_err(|e| DbError::Other(e.to_string()))?;
    let mut refs = Vec::new();
    for mut d in declared {
        if let Some(stored) = get_entry(tx, &d.reference)? {
            if stored.is_resolved() && !d.is_resolved() {
                d.digest = stored.digest;
                d.config_digest = stored.config_digest;
                d.created = stored.created;
                d.platform = stored.platform;
                d.base_name = stored.base_name;
                d.base_digest = stored.base_digest;
                d.diff_ids = stored.diff_ids;
                d.chain_ids = stored.chain_ids;
                d.added_at = stored.added_at;
            }
        }
        refs.push(d.reference.clone());
        put_entry(tx, &d, None)?;
    }
    Ok(refs)
}
