//! Image lineage: the catalog of an organisation's images, their hierarchy, the impact
//! of a vulnerability or a new base digest, and patch plans.
//!
//! # The pieces
//!
//! - [`catalog::Catalog`]: the state store (one SQLite file, shared later with the
//!   server). Images are keyed by the reference they were catalogued under and carry
//!   declared fields (tier, owner, Containerfile, build args, labels, declared parent and
//!   base) and resolved ones (manifest/config digests, layer diff_ids and chain IDs, base
//!   annotations). It also keeps the last inventory and scan report of each image, so
//!   impact and graph questions need no pull. [`catalog_file`] is the declarative YAML
//!   catalog (import/export; all-or-nothing, cycles reported with the images in them).
//! - [`chain`]: OCI chain IDs.
//! - [`graph::Graph`]: the hierarchy, reconciled from layer chains (longest catalogued
//!   prefix, found through a hash of chain IDs in time linear in the catalog's layers),
//!   base annotations and declarations (Containerfile `FROM`, catalog `parent`). Aliases
//!   (one digest, several tags) are one node. Disagreements are [`graph::Issue`]s; an
//!   image whose declared parent is not a prefix of its layers is **stale**.
//! - [`impact`]: every image a CVE, a package or a new base digest affects, the **root**
//!   of each vulnerable package (the highest ancestor that already carries it: its owner
//!   fixes it, everything below rebuilds), COTS roots as "vendor must fix".
//! - [`render`]: the graph as text, JSON, Graphviz dot and Mermaid; impact reports as text.
//! - [`containerfile`] (Containerfile parsing and editing) and [`plan`] (patch plans).
//!
//! # What the CLI calls
//!
//! ```text
//! catalog add IMAGE --tier T --owner O [--containerfile F]
//!     info  = patchline_image::open(&r, IMAGE, &opts)?.resolve()?.info
//!     entry = CatalogEntry::from_image_info(IMAGE, tier, &info); entry.owner = ...; entry.containerfile = ...
//!     (with a Containerfile) cf = containerfile::parse(&text)?;
//!         entry.declared_base = Some(cf.final_base(&entry.build_args)?.map(|b| b.0).unwrap_or("scratch".into()));
//!         entry.build_inputs = cf.build_time_inputs(&entry.build_args)?.into_iter().map(|i| i.reference.0).collect();
//!     Catalog::open(path or Catalog::default_path())?.add(entry)?
//! catalog import FILE [--prune]
//!     report = catalog.import_yaml_with(&text, ImportOptions { prune })?
//!     for r in report.needs_resolve:        catalog.update_image(r, &resolve(r)?.info)?
//!     for r in report.needs_containerfile:  (as above) catalog.set_declared_base(r, Some(base or "scratch"), &inputs)?
//! catalog export                 catalog.export_yaml()?
//! catalog list                   catalog.list()?
//! catalog remove IMAGE           catalog.remove(IMAGE)?
//! catalog sync REGISTRY          patchline_image::registry::catalog(..) + RegistryStore::list_tags()
//!                                -> resolve each -> update_image (known) or add_many (new)
//! scan/sbom --catalog            catalog.put_scan(IMAGE, &report)? / catalog.put_inventory(IMAGE, &inv)?
//! graph [--format F]             g = catalog.graph()?; counts = impact::vuln_counts(&g, &catalog.scans()?);
//!                                render::{text, json, dot, mermaid}(&g, &RenderOptions { counts: Some(&counts), now: None })
//! impact CVE                     impact::impact_cve(&g, &catalog.scans()?, CVE)
//! impact --package NAME[@V]      impact::impact_package(&g, &catalog.inventories()?, &PackageQuery::parse(spec)?)
//! impact --base IMAGE@DIGEST     impact::impact_base(&g, spec)?
//!                                -> render::impact_text(&report) or serde_json::to_string(&report)
//! outdated                       for pin in g.parent_pins(): RegistryStore::head_manifest(tag of pin.parent_tag)
//!                                != pin.built_on -> outdated
//! ```
//!
//! The Containerfile boundary: the catalog stores the Containerfile path, the build
//! args, and `declared_base`, the final stage's `FROM` after `ARG` substitution, as
//! written (`registry.example/enterprise:1`, `python:3.11@sha256:…`, or `scratch`), and
//! `build_inputs`, the images earlier stages use. The CLI fills them from
//! `containerfile::parse(text)?.final_base(&build_args)` and `.build_time_inputs(..)`
//! (`None`, i.e. `FROM scratch`, is stored as `"scratch"`, so that "no parent" and "not
//! parsed yet" stay apart).
//!
//! Conventions: every image is named by the reference it was catalogued under; other
//! spellings are matched through [`name::ImageName`] normalisation (`python:3.11` is
//! `docker.io/library/python:3.11`).

pub mod catalog;
pub mod catalog_file;
pub mod chain;
pub mod containerfile;
pub mod entry;
pub mod error;
pub mod graph;
pub mod impact;
pub mod name;
pub mod plan;
pub mod render;
pub mod teams;

pub use catalog::{AddOutcome, Catalog, ImageDocs, ImportOptions, ImportReport};
pub use entry::{CatalogEntry, Owner, Tier};
pub use error::{LineageError, Result};
pub use graph::{Graph, Issue, Node, NodeId};
pub use impact::{
    impact_base, impact_cve, impact_package, vuln_counts, ImpactReport, PackageQuery,
};

#[cfg(test)]
mod testutil;
