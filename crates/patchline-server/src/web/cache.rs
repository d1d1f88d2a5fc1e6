//! Caches of the organisation-wide figures the overview and the hierarchy read, so a page
//! over 10,000 images does not parse the catalog and group every open finding on each
//! view.
//!
//! Entries are keyed by a fingerprint of the store read in the same transaction: the
//! catalog's size and newest change, the newest scan (every scan and rematch adds one and
//! is the only thing that changes findings' severities and states outside the API), the
//! newest finding event, the newest audit record (every write through the API, so
//! exceptions and catalog imports), and the number of live images (retention). Any of
//! those moving makes the next page recompute; nothing is served stale past a change
//! that commits one of them. The cache is per process (each API process keeps its own)
//! and holds one value per kind: the organisation-wide (unfiltered) figures. Team views
//! filter their own, smaller queries and share only the graph.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use patchline_lineage::Graph;

use crate::db::{Result, Tx};

/// The store's fingerprint (see the module).
pub fn fingerprint(tx: &mut dyn Tx) -> Result<String> {
    let r = tx.query_one(
        "SELECT (SELECT COUNT(*) FROM catalog_entries),
                (SELECT COALESCE(MAX(updated_at), 0) FROM catalog_entries),
                (SELECT COALESCE(MAX(id), 0) FROM scans),
                (SELECT COALESCE(MAX(id), 0) FROM finding_events),
                (SELECT COALESCE(MAX(id), 0) FROM audit_log),
                (SELECT COUNT(*) FROM images WHERE deleted_at IS NULL)",
        &[],
    )?;
    Ok(format!(
        "{}:{}:{}:{}:{}:{}",
        r.i64(0)?,
        r.i64(1)?,
        r.i64(2)?,
        r.i64(3)?,
        r.i64(4)?,
        r.i64(5)?
    ))
}

type Slot = (String, Arc<dyn Any + Send + Sync>);

fn slots() -> &'static Mutex<HashMap<&'static str, Slot>> {
    static S: OnceLock<Mutex<HashMap<&'static str, Slot>>> = OnceLock::new();
    S.get_or_init(Default::default)
}

/// The value of `kind` for `key`, computed by `make` when missing or older.
pub fn get_or<T: Send + Sync + 'static>(
    kind: &'static str,
    key: &str,
    make: impl FnOnce() -> Result<T>,
) -> Result<Arc<T>> {
    if let Some((k, v)) = slots().lock().ok().and_then(|m| m.get(kind).cloned()) {
        if k == key {
            if let Ok(v) = v.downcast::<T>() {
                return Ok(v);
            }
        }
    }
    let v = Arc::new(make()?);
    if let Ok(mut m) = slots().lock() {
        m.insert(kind, (key.to_string(), v.clone()));
    }
    Ok(v)
}

/// The catalog's graph, and the key it was read under: `scope` names the store (the
/// server's instance name: tests and examples run several servers in one process) and the
/// fingerprint its state.
pub fn graph(tx: &mut dyn Tx, scope: &str) -> Result<(Arc<Graph>, String)> {
    let key = format!("{scope}|{}", fingerprint(tx)?);
    // lineage::load_graph keeps the graph itself, per store and catalog stamp.
    Ok((crate::lineage::load_graph(tx)?, key))
}
