//! Builders for unit tests: synthetic digests, entries, findings.

use patchline_model::vuln::{
    DbInfo, Finding, FindingPackage, FixState, ScanReport, Severity, SCAN_SCHEMA,
};
use patchline_model::{Digest, Ecosystem, ImageInfo, LayerRef, Tool};

use crate::chain::chain_ids;
use crate::entry::{CatalogEntry, Tier};

/// A digest derived from a name, so tests can write layers as words.
pub fn dg(name: &str) -> Digest {
    use sha2::Digest as _;
    Digest::sha256_from_bytes(&sha2::Sha256::digest(name.as_bytes()))
}

/// A resolved entry: layers named by words, digest derived from the reference.
pub fn img(reference: &str, tier: Tier, layers: &[&str]) -> CatalogEntry {
    let mut e = CatalogEntry::new(reference, tier);
    e.digest = Some(dg(&format!("manifest {reference}")));
    e.diff_ids = layers.iter().map(|l| dg(l)).collect();
    e.chain_ids = chain_ids(&e.diff_ids);
    e.created = Some("2026-01-01T00:00:00Z".into());
    e
}

pub fn finding(id: &str, pkg: &str, version: &str, layer: usize, entry: &CatalogEntry) -> Finding {
    Finding {
        id: id.into(),
        aliases: Vec::new(),
        advisories: vec![format!("test:{id}")],
        package: FindingPackage {
            ecosystem: Ecosystem::Deb,
            name: pkg.into(),
            version: version.into(),
            arch: Some("amd64".into()),
            source_name: None,
            source_version: None,
            purl: format!("pkg:deb/debian/{pkg}@{version}?arch=amd64"),
            introduced: Some(LayerRef {
                index: layer,
                diff_id: entry.diff_ids[layer].clone(),
            }),
            last_changed: None,
            sbom_ref: None,
            path: None,
        },
        ecosystem: "Debian:12".into(),
        state: FixState::Fixed,
        fixed_versions: vec![format!("{version}+fix")],
        severity: Severity::High,
        severity_source: "debian".into(),
        cvss: Vec::new(),
        kev: None,
        epss: None,
        summary: None,
        references: Vec::new(),
    }
}

pub fn scan(entry: &CatalogEntry, findings: Vec<Finding>) -> ScanReport {
    ScanReport {
        scanners: Default::default(),
        checks: Default::default(),
        policy: Default::default(),
        schema: SCAN_SCHEMA.into(),
        tool: Tool::default(),
        image: ImageInfo {
            reference: entry.reference.clone(),
            manifest_digest: entry.digest.clone(),
            ..Default::default()
        },
        distro: None,
        distro_eol: false,
        db: DbInfo::default(),
        packages_scanned: 100,
        packages_not_matched: 0,
        unmatched: vec![],
        packages_managed_by_os: 0,
        findings,
        inventory_complete: true,
        warnings: Vec::new(),
    }
}
