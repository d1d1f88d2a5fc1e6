//! The one way a scan's result enters the store, whoever produced it (the registry scan
//! job, an upload from CI, a trusted-image request scanned on the spot): the image row, its
//! inventory, its findings and their delta, its catalog entries, then notifications and
//! campaigns, all in the caller's transaction.

use patchline_model::vuln::ScanReport;
use patchline_model::Inventory;

use crate::db::{Result, Tx};
use crate::state::Server;
use crate::store::{self, Delta, ImageKey};

/// Stores one scanned image; `references` are the catalogued names (`host/repo:tag`) it
/// now stands for (none: not catalogued). Returns the delta and the image's id.
#[allow(clippy::too_many_arguments)]
pub fn store_scan(
    tx: &mut dyn Tx,
    server: &Server,
    key: &ImageKey,
    references: &[String],
    inventory: &Inventory,
    report: &ScanReport,
    kind: &str,
    started_at: i64,
) -> Result<(Delta, i64)> {
    let image_id = store::upsert_image(tx, key)?;
    store::save_inventory(tx, image_id, inventory)?;
    let delta = store::record_scan(tx, image_id, kind, started_at, report)?;
    for reference in references {
        crate::lineage::record_image(tx, reference, image_id, &inventory.image)?;
    }
    // After record_scan and the catalog entries: a campaign's check sees the new findings
    // and the new chain.
    crate::notify::on_delta(tx, server, &delta)?;
    crate::campaigns::on_image_scanned(tx, server, image_id)?;
    Ok((delta, image_id))
}
