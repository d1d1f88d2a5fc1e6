//! Impact analysis: which images a vulnerability, a package or a new base digest
//! affects, directly or by inheritance, and where each fix belongs.
//!
//! For every vulnerable package found in an image, the **root** is the highest ancestor
//! that already carries it: the package's layer (the one that installed the version now
//! present: `last_changed`, else `introduced`) is inherited from an ancestor when the
//! ancestor's chain covers that layer (same chain ID at that position). Walking up stops
//! at the first ancestor that does not carry the layer, or whose own scan/inventory shows
//! it is not affected. The root's owner must fix it; everything below inherits it and only
//! needs a rebuild. A COTS root is reported as "vendor must fix" with the vendor as owner,
//! and COTS images are never planned for rebuild.
//!
//! Evidence is what the CLI stores in the catalog: per-image [`ScanReport`]s (findings
//! with their packages' layers) and [`Inventory`]s, keyed by catalogued reference (any
//! alias works). Images without documents are affected when they carry the root's layer
//! (`evidence: layers`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use patchline_model::vuln::ScanReport;
use patchline_model::{Digest, Ecosystem, Inventory, LayerRef};
use serde::Serialize;

use crate::entry::{Owner, Tier};
use crate::error::{LineageError, Result};
use crate::graph::{Graph, NodeId};
use crate::name::ImageName;

/// A package as installed: the identity a root is computed for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PackageRef {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
}

/// What an image's owner has to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The image is a root: change it (upgrade the package), then rebuild.
    Fix,
    /// Inherits the problem: rebuild once its ancestors are fixed.
    Rebuild,
    /// A COTS image: only its vendor can fix it; never rebuilt here.
    VendorMustFix,
    /// Inherits from a COTS image: rebuild once the vendor has shipped a fix.
    RebuildAfterVendor,
}

/// How an image is known to be affected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    /// Its own stored scan report lists the finding.
    Scan,
    /// Its own stored inventory lists the package.
    Inventory,
    /// No document of its own: it carries the root's layer.
    Layers,
}

/// Where one vulnerable package must be fixed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RootFix {
    pub image: String,
    pub tier: Tier,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// [`Action::Fix`], or [`Action::VendorMustFix`] for a COTS root.
    pub action: Action,
    pub package: PackageRef,
    /// The root's layer that installed the package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
    /// Vulnerability ids (empty for a package query).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixed_versions: Vec<String>,
    /// Every image below the root that inherits the package, in topological order.
    pub inherited_by: Vec<String>,
    /// An ancestor that carries the same layer but no longer the package (it was fixed
    /// there after this image was built): the root only needs a rebuild on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_in: Option<String>,
}

/// One package of an affected image.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AffectedPackage {
    pub package: PackageRef,
    /// The root image of this package.
    pub root: String,
    pub inherited: bool,
    pub evidence: Evidence,
}

/// One affected image.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AffectedImage {
    pub image: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub tier: Tier,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// Affected by its own layers (a root, or a direct child of the changed base).
    pub direct: bool,
    pub action: Action,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<AffectedPackage>,
}

/// The base of an `impact --base` query.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BaseChange {
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// The catalogued digest of the base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalogued_digest: Option<Digest>,
    /// The digest given in the query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// The given digest is not the catalogued one: a new build of the base.
    pub new_digest: bool,
}

/// The answer to an impact query.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImpactReport {
    /// `cve`, `package` or `base`.
    pub kind: &'static str,
    pub query: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseChange>,
    pub roots: Vec<RootFix>,
    /// Every affected image, parents before children.
    pub images: Vec<AffectedImage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Catalogued images the query could not look into and does not list as affected
    /// through a parent (`impact --package`: no stored inventory, catalogued with
    /// `--no-inventory` or left by an interrupted or older writer): neither affected nor
    /// cleared.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_examined: Vec<String>,
}

impl ImpactReport {
    /// Images whose owner must act, grouped: (fix at root, rebuild, vendor).
    pub fn count(&self, action: Action) -> usize {
        self.images.iter().filter(|i| i.action == action).count()
    }
}

/// `NAME[@VERSION]` of `impact --package`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageQuery {
    pub name: String,
    pub version: Option<String>,
}

impl PackageQuery {
    pub fn parse(s: &str) -> Result<PackageQuery> {
        let s = s.trim();
        // `@scope/name` (npm) starts with an @ that is part of the name.
        let (name, version) = match s.rfind('@') {
            Some(i) if i > 0 => (&s[..i], Some(s[i + 1..].to_string())),
            _ => (s, None),
        };
        if name.is_empty() || version.as_deref() == Some("") {
            return Err(LineageError::Query(format!(
                "invalid package {s:?}: expected NAME or NAME@VERSION"
            )));
        }
        Ok(PackageQuery {
            name: name.to_string(),
            version,
        })
    }

    fn matches(&self, name: &str, source: Option<&str>, version: &str, no_epoch: &str) -> bool {
        (name == self.name || source == Some(self.name.as_str()))
            && self
                .version
                .as_deref()
                .is_none_or(|v| v == version || v == no_epoch)
    }
}

/// One vulnerable package in one image, from that image's own document.
#[derive(Clone, Debug)]
struct Hit {
    package: PackageRef,
    layer: Option<LayerRef>,
    ids: BTreeSet<String>,
    fixed: BTreeSet<String>,
}

/// Per node: `None` without a document, else the hits its document shows.
struct Hits {
    per_node: Vec<Option<Vec<Hit>>>,
    evidence: Evidence,
}

impl Hits {
    /// Does node `n`'s own document show `pkg`? `None` when it has no document.
    fn shows(&self, n: NodeId, pkg: &PackageRef) -> Option<bool> {
        self.per_node[n]
            .as_ref()
            .map(|h| h.iter().any(|x| &x.package == pkg))
    }
}

/// Every image affected by vulnerability `id` (a CVE or any alias of it), from the
/// stored scan reports.
pub fn impact_cve(graph: &Graph, scans: &HashMap<String, ScanReport>, id: &str) -> ImpactReport {
    let id = id.trim();
    let per_node = (0..graph.len())
        .map(|n| {
            graph.lookup(n, scans).map(|s| {
                let mut hits: BTreeMap<PackageRef, Hit> = BTreeMap::new();
                for f in &s.findings {
                    let is = f.id.eq_ignore_ascii_case(id)
                        || f.aliases.iter().any(|a| a.eq_ignore_ascii_case(id));
                    if !is {
                        continue;
                    }
                    let p = &f.package;
                    let key = PackageRef {
                        ecosystem: p.ecosystem,
                        name: p.name.clone(),
                        version: p.version.clone(),
                        arch: p.arch.clone(),
                    };
                    let h = hits.entry(key.clone()).or_insert_with(|| Hit {
                        package: key,
                        layer: p.last_changed.clone().or_else(|| p.introduced.clone()),
                        ids: BTreeSet::new(),
                        fixed: BTreeSet::new(),
                    });
                    h.ids.insert(f.id.clone());
                    h.fixed.extend(f.fixed_versions.iter().cloned());
                }
                hits.into_values().collect()
            })
        })
        .collect();
    analyse(
        graph,
        "cve",
        id.to_string(),
        Hits {
            per_node,
            evidence: Evidence::Scan,
        },
    )
}

/// Every image carrying a package (binary or source name, optionally at one version),
/// from the stored inventories.
pub fn impact_package(
    graph: &Graph,
    inventories: &HashMap<String, Inventory>,
    query: &PackageQuery,
) -> ImpactReport {
    let per_node = (0..graph.len())
        .map(|n| {
            graph.lookup(n, inventories).map(|inv| {
                inv.packages
                    .iter()
                    .filter(|p| {
                        query.matches(
                            &p.name,
                            p.source_name.as_deref(),
                            &p.version,
                            p.version_without_epoch(),
                        )
                    })
                    .map(|p| Hit {
                        package: PackageRef {
                            ecosystem: p.ecosystem,
                            name: p.name.clone(),
                            version: p.version.clone(),
                            arch: p.arch.clone(),
                        },
                        layer: p.last_changed.clone().or_else(|| p.introduced.clone()),
                        ids: BTreeSet::new(),
                        fixed: BTreeSet::new(),
                    })
                    .collect()
            })
        })
        .collect();
    let q = match &query.version {
        Some(v) => format!("{}@{v}", query.name),
        None => query.name.clone(),
    };
    let mut report = analyse(
        graph,
        "package",
        q,
        Hits {
            per_node,
            evidence: Evidence::Inventory,
        },
    );
    let listed: HashSet<&str> = report.images.iter().map(|i| i.image.as_str()).collect();
    let not_examined: Vec<String> = graph
        .topological_order()
        .iter()
        .copied()
        .filter(|&n| graph.lookup(n, inventories).is_none())
        .map(|n| graph.node(n).reference().to_string())
        .filter(|r| !listed.contains(r.as_str()))
        .collect();
    if !not_examined.is_empty() {
        report.warnings.push(format!(
            "{} image(s) not examined, no inventory is stored (catalog them again without --no-inventory): {}",
            not_examined.len(),
            not_examined.join(", ")
        ));
    }
    report.not_examined = not_examined;
    report
}

/// Every image below a base image (`IMAGE`, `IMAGE@DIGEST` or a catalogued reference):
/// what must be rebuilt when the base publishes a new digest. Its children are direct,
/// deeper images inherit.
pub fn impact_base(graph: &Graph, base: &str) -> Result<ImpactReport> {
    let base = base.trim();
    let name = ImageName::parse(base);
    let given = name
        .as_ref()
        .and_then(|n| n.digest.clone())
        .or_else(|| base.parse::<Digest>().ok());
    // By name first: a new digest of a catalogued tag is the usual question.
    let found = name
        .as_ref()
        .and_then(|n| {
            let tagged = n.tagged()?;
            graph.find(&tagged)
        })
        .or_else(|| graph.find(base));
    let Some(b) = found else {
        return Err(LineageError::Query(format!(
            "base {base:?} is not in the catalog (add it, or name it as catalogued)"
        )));
    };
    let node = graph.node(b);
    let catalogued = node.entry.digest.clone();
    let new_digest = matches!((&given, &catalogued), (Some(g), Some(c)) if g != c);
    let mut images = Vec::new();
    let cots = nearest_cots(graph);
    for d in graph.descendants(b) {
        let n = graph.node(d);
        let action = if n.entry.tier == Tier::Cots {
            Action::VendorMustFix
        } else if cots[d].is_some_and(|depth| depth > graph.node(b).depth) {
            Action::RebuildAfterVendor
        } else {
            Action::Rebuild
        };
        images.push(AffectedImage {
            image: n.entry.reference.clone(),
            aliases: n.aliases.clone(),
            tier: n.entry.tier,
            owner: n.entry.owner.clone(),
            direct: n.parent == Some(b),
            action,
            packages: Vec::new(),
        });
    }
    // Descendants come depth-first; present them parents-first across branches too.
    let order: HashMap<NodeId, usize> = graph
        .topological_order()
        .iter()
        .enumerate()
        .map(|(i, &n)| (n, i))
        .collect();
    images.sort_by_key(|i| graph.find(&i.image).and_then(|n| order.get(&n).copied()));
    Ok(ImpactReport {
        kind: "base",
        query: base.to_string(),
        base: Some(BaseChange {
            image: node.entry.reference.clone(),
            owner: node.entry.owner.clone(),
            catalogued_digest: catalogued,
            digest: given,
            new_digest,
        }),
        roots: Vec::new(),
        images,
        warnings: Vec::new(),
        not_examined: Vec::new(),
    })
}

#[derive(Default)]
struct RootAcc {
    layer: Option<usize>,
    fixed_in: Option<NodeId>,
    ids: BTreeSet<String>,
    fixed: BTreeSet<String>,
    inherited_by: BTreeSet<NodeId>,
}

fn analyse(graph: &Graph, kind: &'static str, query: String, hits: Hits) -> ImpactReport {
    let mut warnings = Vec::new();
    // node → package → (root, evidence)
    let mut affected: BTreeMap<NodeId, BTreeMap<PackageRef, (NodeId, Evidence)>> = BTreeMap::new();
    let mut roots: BTreeMap<(NodeId, PackageRef), RootAcc> = BTreeMap::new();
    for b in 0..graph.len() {
        let Some(node_hits) = &hits.per_node[b] else {
            continue;
        };
        for h in node_hits {
            let (root, layer, fixed_in) = find_root(graph, &hits, b, h, &mut warnings);
            affected
                .entry(b)
                .or_default()
                .insert(h.package.clone(), (root, hits.evidence));
            let acc = roots.entry((root, h.package.clone())).or_default();
            acc.layer = acc.layer.or(layer);
            acc.fixed_in = acc.fixed_in.or(fixed_in);
            acc.ids.extend(h.ids.iter().cloned());
            acc.fixed.extend(h.fixed.iter().cloned());
            if root != b {
                acc.inherited_by.insert(b);
                if hits.per_node[root].is_none() {
                    // A root placed by its layers alone is affected too.
                    affected
                        .entry(root)
                        .or_default()
                        .entry(h.package.clone())
                        .or_insert((root, Evidence::Layers));
                }
            }
        }
    }
    // Images without documents of their own inherit from the roots whose layer they carry.
    for ((root, pkg), acc) in roots.iter_mut() {
        let Some(k) = acc.layer else { continue };
        let mut stack: Vec<NodeId> = graph.children(*root).to_vec();
        while let Some(d) = stack.pop() {
            if !graph.same_layer(*root, d, k) {
                continue;
            }
            match hits.shows(d, pkg) {
                Some(false) => continue, // fixed in this image's own layers
                Some(true) => {}
                None => {
                    affected
                        .entry(d)
                        .or_default()
                        .entry(pkg.clone())
                        .or_insert((*root, Evidence::Layers));
                    acc.inherited_by.insert(d);
                }
            }
            stack.extend_from_slice(graph.children(d));
        }
    }
    let order: Vec<usize> = {
        let mut o = vec![0; graph.len()];
        for (i, &n) in graph.topological_order().iter().enumerate() {
            o[n] = i;
        }
        o
    };
    let cots = nearest_cots(graph);
    // Is there a COTS image on the path from `from` up to `root` (both included)?
    let cots_between = |from: NodeId, root: NodeId| -> bool {
        cots[from].is_some_and(|depth| depth >= graph.node(root).depth)
    };
    // Roots whose fix already exists upstream only need a rebuild.
    let fixed_upstream: BTreeSet<(NodeId, PackageRef)> = roots
        .iter()
        .filter(|(_, a)| a.fixed_in.is_some())
        .map(|(k, _)| k.clone())
        .collect();
    let mut images: Vec<(usize, AffectedImage)> = affected
        .into_iter()
        .map(|(n, pkgs)| {
            let node = graph.node(n);
            let direct = pkgs.values().any(|(r, _)| *r == n);
            let must_fix = pkgs
                .iter()
                .any(|(p, (r, _))| *r == n && !fixed_upstream.contains(&(n, p.clone())));
            let action = if node.entry.tier == Tier::Cots {
                Action::VendorMustFix
            } else if must_fix {
                Action::Fix
            } else if pkgs.values().any(|(r, _)| cots_between(n, *r)) {
                Action::RebuildAfterVendor
            } else {
                Action::Rebuild
            };
            let packages = pkgs
                .into_iter()
                .map(|(package, (r, evidence))| AffectedPackage {
                    package,
                    root: graph.node(r).entry.reference.clone(),
                    inherited: r != n,
                    evidence,
                })
                .collect();
            (
                order[n],
                AffectedImage {
                    image: node.entry.reference.clone(),
                    aliases: node.aliases.clone(),
                    tier: node.entry.tier,
                    owner: node.entry.owner.clone(),
                    direct,
                    action,
                    packages,
                },
            )
        })
        .collect();
    images.sort_by_key(|(o, _)| *o);
    let mut root_list: Vec<(usize, RootFix)> = roots
        .into_iter()
        .map(|((r, package), acc)| {
            let node = graph.node(r);
            let mut inherited: Vec<NodeId> = acc.inherited_by.into_iter().collect();
            inherited.sort_by_key(|&n| order[n]);
            (
                order[r],
                RootFix {
                    image: node.entry.reference.clone(),
                    tier: node.entry.tier,
                    owner: node.entry.owner.clone(),
                    action: if node.entry.tier == Tier::Cots {
                        Action::VendorMustFix
                    } else if acc.fixed_in.is_some() {
                        Action::Rebuild
                    } else {
                        Action::Fix
                    },
                    package,
                    layer: acc.layer,
                    ids: acc.ids.into_iter().collect(),
                    fixed_versions: acc.fixed.into_iter().collect(),
                    inherited_by: inherited
                        .into_iter()
                        .map(|n| graph.node(n).entry.reference.clone())
                        .collect(),
                    fixed_in: acc.fixed_in.map(|n| graph.node(n).entry.reference.clone()),
                },
            )
        })
        .collect();
    root_list.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.package.cmp(&b.1.package)));
    warnings.sort();
    warnings.dedup();
    ImpactReport {
        kind,
        query,
        base: None,
        roots: root_list.into_iter().map(|(_, r)| r).collect(),
        images: images.into_iter().map(|(_, i)| i).collect(),
        warnings,
        not_examined: Vec::new(),
    }
}

/// Per node, the depth of the nearest COTS image among itself and its ancestors: a
/// COTS image lies between a node and one of its ancestors A exactly when that depth is
/// at least A's. One pass in topological order instead of a walk per question.
fn nearest_cots(graph: &Graph) -> Vec<Option<usize>> {
    let mut out = vec![None; graph.len()];
    for &n in graph.topological_order() {
        let node = graph.node(n);
        out[n] = if node.entry.tier == Tier::Cots {
            Some(node.depth)
        } else {
            node.parent.and_then(|p| out[p])
        };
    }
    out
}

/// The highest ancestor of `b` that already carries `h`, the layer index it was installed
/// in, and the ancestor above the root that carries that layer without the package (it
/// fixed it in a later layer), if any.
fn find_root(
    graph: &Graph,
    hits: &Hits,
    b: NodeId,
    h: &Hit,
    warnings: &mut Vec<String>,
) -> (NodeId, Option<usize>, Option<NodeId>) {
    let node = graph.node(b);
    let Some(layer) = &h.layer else {
        warnings.push(format!(
            "{}: {} has no layer information; its root cannot be placed above the image",
            node.entry.reference, h.package.name
        ));
        return (b, None, None);
    };
    let k = layer.index;
    if node.entry.diff_ids.get(k) != Some(&layer.diff_id) {
        warnings.push(format!(
            "{}: the stored document's layer {k} ({}) is not the catalogued image's; rescan it",
            node.entry.reference, layer.diff_id
        ));
        return (b, Some(k), None);
    }
    let mut root = b;
    let mut cur = b;
    let mut fixed_in = None;
    while let Some(p) = graph.parent(cur) {
        if !graph.same_layer(p, b, k) {
            break;
        }
        match hits.shows(p, &h.package) {
            Some(true) => root = p,
            Some(false) => {
                fixed_in = Some(p);
                break;
            }
            // No document: carrying the layer under a consistent lineage is enough.
            None if graph.is_layer_prefix(p, b) => root = p,
            None => break,
        }
        cur = p;
    }
    (root, Some(k), fixed_in)
}

/// Vulnerability counts of one image: findings in its own layers vs inherited from its
/// parent's layers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VulnCounts {
    pub own: usize,
    pub inherited: usize,
}

/// Per node (indexed by [`NodeId`]): counts from its stored scan, `None` without one. A
/// finding is inherited when the parent carries the layer of its package.
pub fn vuln_counts(graph: &Graph, scans: &HashMap<String, ScanReport>) -> Vec<Option<VulnCounts>> {
    (0..graph.len())
        .map(|n| {
            let s = graph.lookup(n, scans)?;
            let parent = graph.parent(n);
            let node = graph.node(n);
            let mut c = VulnCounts::default();
            for f in &s.findings {
                let layer = f
                    .package
                    .last_changed
                    .as_ref()
                    .or(f.package.introduced.as_ref());
                let inherited = match (parent, layer) {
                    (Some(p), Some(l)) => {
                        node.entry.diff_ids.get(l.index) == Some(&l.diff_id)
                            && graph.same_layer(p, n, l.index)
                    }
                    _ => false,
                };
                if inherited {
                    c.inherited += 1;
                } else {
                    c.own += 1;
                }
            }
            Some(c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::CatalogEntry;
    use crate::testutil::{dg, finding, img, scan};
    use patchline_model::{ImageInfo, Package};

    struct World {
        entries: Vec<CatalogEntry>,
    }

    impl World {
        fn get(&self, r: &str) -> &CatalogEntry {
            self.entries.iter().find(|e| e.reference == r).unwrap()
        }
    }

    fn world() -> World {
        let owner = |t: &str| Some(Owner::new(t, Some(format!("{t}@example.com"))));
        let mut base = img("r.example/base:1", Tier::Base, &["d0"]);
        base.owner = owner("platform");
        let mut ent = img("r.example/ent:1", Tier::Enterprise, &["d0", "e1"]);
        ent.owner = owner("platform");
        let mut app1 = img("r.example/app1:1", Tier::Application, &["d0", "e1", "a1"]);
        app1.owner = owner("team-a");
        let mut app2 = img("r.example/app2:1", Tier::Application, &["d0", "e1", "a2"]);
        app2.owner = owner("team-b");
        let mut fixed = img("r.example/app3:1", Tier::Application, &["d0", "e1", "a3"]);
        fixed.owner = owner("team-c");
        let mut cots = img("vendor.example/db:9", Tier::Cots, &["x0", "x1"]);
        cots.owner = Some(Owner::new("Acme DB", Some("support@acme.example".into())));
        let mut on_cots = img(
            "r.example/db-custom:9",
            Tier::Application,
            &["x0", "x1", "c"],
        );
        on_cots.owner = owner("team-d");
        World {
            entries: vec![base, ent, app1, app2, fixed, cots, on_cots],
        }
    }

    fn scans(w: &World, with: &[&str]) -> HashMap<String, ScanReport> {
        let mut m = HashMap::new();
        let curl = |e: &CatalogEntry| finding("CVE-2023-38545", "curl", "7.88.1-10", 0, e);
        for r in with {
            let e = w.get(r);
            let findings = match *r {
                "r.example/base:1" | "r.example/ent:1" | "r.example/app2:1" => vec![curl(e)],
                "r.example/app1:1" => {
                    vec![curl(e), finding("CVE-2024-0001", "libxml2", "2.9.14", 2, e)]
                }
                "r.example/app3:1" => vec![],
                "vendor.example/db:9" => vec![finding("CVE-2023-38545", "curl", "7.74.0-1", 1, e)],
                _ => vec![],
            };
            m.insert(r.to_string(), scan(e, findings));
        }
        m
    }

    fn image<'a>(r: &'a ImpactReport, name: &str) -> &'a AffectedImage {
        r.images
            .iter()
            .find(|i| i.image == name)
            .unwrap_or_else(|| panic!("{name} not affected: {r:#?}"))
    }

    #[test]
    fn base_layer_package_has_its_root_in_the_base() {
        let w = world();
        let g = Graph::build(w.entries.clone());
        let all = [
            "r.example/base:1",
            "r.example/ent:1",
            "r.example/app1:1",
            "r.example/app3:1",
            "vendor.example/db:9",
        ];
        let r = impact_cve(&g, &scans(&w, &all), "cve-2023-38545");
        assert_eq!(r.roots.len(), 2, "{:#?}", r.roots);
        let base_root = &r.roots[0];
        assert_eq!(base_root.image, "r.example/base:1");
        assert_eq!(base_root.action, Action::Fix);
        assert_eq!(base_root.owner.as_ref().unwrap().team, "platform");
        assert_eq!(base_root.layer, Some(0));
        assert_eq!(base_root.fixed_versions, ["7.88.1-10+fix"]);
        // app2 has no scan: it carries the base layer, so it inherits. app3 fixed curl.
        assert_eq!(
            base_root.inherited_by,
            ["r.example/ent:1", "r.example/app1:1", "r.example/app2:1"]
        );
        let vendor = &r.roots[1];
        assert_eq!(vendor.image, "vendor.example/db:9");
        assert_eq!(vendor.action, Action::VendorMustFix);
        assert_eq!(
            vendor.owner.as_ref().unwrap().contact.as_deref(),
            Some("support@acme.example")
        );
        assert_eq!(vendor.inherited_by, ["r.example/db-custom:9"]);

        assert_eq!(image(&r, "r.example/base:1").action, Action::Fix);
        assert!(image(&r, "r.example/base:1").direct);
        for i in ["r.example/ent:1", "r.example/app1:1", "r.example/app2:1"] {
            let a = image(&r, i);
            assert_eq!(a.action, Action::Rebuild, "{i}");
            assert!(!a.direct);
            assert_eq!(a.packages[0].root, "r.example/base:1");
        }
        assert_eq!(
            image(&r, "r.example/app2:1").packages[0].evidence,
            Evidence::Layers
        );
        assert_eq!(
            image(&r, "r.example/app1:1").packages[0].evidence,
            Evidence::Scan
        );
        assert_eq!(
            image(&r, "vendor.example/db:9").action,
            Action::VendorMustFix
        );
        assert_eq!(
            image(&r, "r.example/db-custom:9").action,
            Action::RebuildAfterVendor
        );
        assert!(r.images.iter().all(|i| i.image != "r.example/app3:1"));
        // Parents first.
        assert_eq!(r.images[0].image, "r.example/base:1");
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        let text = crate::render::impact_text(&r);
        assert!(text.contains("r.example/base:1 [base] FIX: platform <platform@example.com>: curl 7.88.1-10 (layer 0)"), "{text}");
        assert!(
            text.contains("VENDOR MUST FIX: Acme DB <support@acme.example>"),
            "{text}"
        );
    }

    #[test]
    fn root_is_inferred_from_layers_without_ancestor_scans() {
        let w = world();
        let g = Graph::build(w.entries.clone());
        let r = impact_cve(&g, &scans(&w, &["r.example/app1:1"]), "CVE-2023-38545");
        assert_eq!(r.roots.len(), 1);
        assert_eq!(r.roots[0].image, "r.example/base:1");
        // Every image carrying the base layer without a scan of its own is affected.
        assert_eq!(
            r.roots[0].inherited_by,
            [
                "r.example/ent:1",
                "r.example/app1:1",
                "r.example/app2:1",
                "r.example/app3:1"
            ]
        );
        assert_eq!(
            image(&r, "r.example/base:1").packages[0].evidence,
            Evidence::Layers
        );
    }

    #[test]
    fn app_layer_package_has_its_root_in_the_app() {
        let w = world();
        let g = Graph::build(w.entries.clone());
        let all = ["r.example/base:1", "r.example/ent:1", "r.example/app1:1"];
        let r = impact_cve(&g, &scans(&w, &all), "CVE-2024-0001");
        assert_eq!(r.roots.len(), 1);
        assert_eq!(r.roots[0].image, "r.example/app1:1");
        assert_eq!(r.roots[0].owner.as_ref().unwrap().team, "team-a");
        assert!(r.roots[0].inherited_by.is_empty());
        assert_eq!(r.images.len(), 1);
        assert_eq!(r.images[0].action, Action::Fix);
    }

    #[test]
    fn fix_already_upstream_means_rebuild() {
        // The base was patched (new top layer upgrades curl); the app still has the old build.
        let base = img("r.example/base:1", Tier::Base, &["d0", "patch"]);
        let mut app = img("r.example/app:1", Tier::Application, &["d0", "a"]);
        app.declared_base = Some("r.example/base:1".into());
        let mut s = HashMap::new();
        s.insert(base.reference.clone(), scan(&base, vec![]));
        s.insert(
            app.reference.clone(),
            scan(&app, vec![finding("CVE-1", "curl", "1", 0, &app)]),
        );
        let g = Graph::build(vec![base, app]);
        assert!(g.node(1).stale);
        let r = impact_cve(&g, &s, "CVE-1");
        assert_eq!(r.roots[0].image, "r.example/app:1");
        assert_eq!(r.roots[0].fixed_in.as_deref(), Some("r.example/base:1"));
        assert_eq!(r.roots[0].action, Action::Rebuild);
        assert_eq!(r.images[0].action, Action::Rebuild);
    }

    #[test]
    fn stored_document_of_another_build_is_not_trusted() {
        let w = world();
        let g = Graph::build(w.entries.clone());
        let mut s = scans(&w, &["r.example/app1:1"]);
        let other = img("r.example/app1:1", Tier::Application, &["zz", "e1", "a1"]);
        s.insert(
            "r.example/app1:1".into(),
            scan(
                &other,
                vec![finding("CVE-2023-38545", "curl", "1", 0, &other)],
            ),
        );
        let r = impact_cve(&g, &s, "CVE-2023-38545");
        assert_eq!(r.roots[0].image, "r.example/app1:1");
        assert!(r.warnings[0].contains("rescan"), "{:?}", r.warnings);
    }

    #[test]
    fn package_query() {
        let w = world();
        let g = Graph::build(w.entries.clone());
        let inv = |e: &CatalogEntry, pkgs: &[(&str, &str, usize)]| {
            let mut i = Inventory::new(ImageInfo {
                reference: e.reference.clone(),
                manifest_digest: e.digest.clone(),
                ..Default::default()
            });
            for (name, version, layer) in pkgs {
                let mut p = Package::new(Ecosystem::Deb, *name, *version);
                if *name == "libcurl4" {
                    p.source_name = Some("curl".into());
                }
                p.introduced = Some(LayerRef {
                    index: *layer,
                    diff_id: e.diff_ids[*layer].clone(),
                });
                i.packages.push(p);
            }
            i
        };
        let mut m = HashMap::new();
        let base = w.get("r.example/base:1");
        m.insert(
            base.reference.clone(),
            inv(base, &[("libcurl4", "7.88.1-10", 0), ("bash", "5.2", 0)]),
        );
        let app1 = w.get("r.example/app1:1");
        m.insert(
            app1.reference.clone(),
            inv(app1, &[("libcurl4", "7.88.1-10", 0), ("jq", "1.6", 2)]),
        );
        let r = impact_package(&g, &m, &PackageQuery::parse("curl").unwrap());
        assert_eq!(r.roots.len(), 1);
        assert_eq!(r.roots[0].image, "r.example/base:1");
        assert_eq!(r.roots[0].package.name, "libcurl4");
        assert_eq!(r.images.len(), 5, "{:#?}", r.images);
        // The images without an inventory that inherit nothing are named, not skipped.
        assert_eq!(
            r.not_examined,
            ["vendor.example/db:9", "r.example/db-custom:9"],
            "{r:#?}"
        );
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains("2 image(s) not examined")),
            "{:?}",
            r.warnings
        );
        let r = impact_package(&g, &m, &PackageQuery::parse("libcurl4@7.88.1-11").unwrap());
        assert!(r.images.is_empty());
        assert_eq!(r.not_examined.len(), 5, "{:?}", r.not_examined);
        let r = impact_package(&g, &m, &PackageQuery::parse("jq@1.6").unwrap());
        assert_eq!(r.roots[0].image, "r.example/app1:1");
        assert_eq!(r.query, "jq@1.6");
        assert!(PackageQuery::parse("x@").is_err());
        assert_eq!(
            PackageQuery::parse("@scope/pkg").unwrap().name,
            "@scope/pkg"
        );
    }

    #[test]
    fn base_query_lists_descendants() {
        let w = world();
        let g = Graph::build(w.entries.clone());
        let r = impact_base(&g, &format!("r.example/base:1@{}", dg("new build"))).unwrap();
        let b = r.base.as_ref().unwrap();
        assert!(b.new_digest);
        assert_eq!(b.owner.as_ref().unwrap().team, "platform");
        let names: Vec<(&str, bool)> = r
            .images
            .iter()
            .map(|i| (i.image.as_str(), i.direct))
            .collect();
        assert_eq!(
            names,
            [
                ("r.example/ent:1", true),
                ("r.example/app1:1", false),
                ("r.example/app2:1", false),
                ("r.example/app3:1", false)
            ]
        );
        assert!(r.images.iter().all(|i| i.action == Action::Rebuild));
        let r = impact_base(&g, "vendor.example/db:9").unwrap();
        assert!(!r.base.as_ref().unwrap().new_digest);
        assert_eq!(r.images.len(), 1);
        assert!(impact_base(&g, "r.example/nothing:1").is_err());
    }

    #[test]
    fn counts_own_and_inherited() {
        let w = world();
        let g = Graph::build(w.entries.clone());
        let s = scans(&w, &["r.example/base:1", "r.example/app1:1"]);
        let c = vuln_counts(&g, &s);
        let at = |r: &str| c[g.find(r).unwrap()];
        assert_eq!(
            at("r.example/base:1"),
            Some(VulnCounts {
                own: 1,
                inherited: 0
            })
        );
        assert_eq!(
            at("r.example/app1:1"),
            Some(VulnCounts {
                own: 1,
                inherited: 1
            })
        );
        assert_eq!(at("r.example/ent:1"), None);
    }
}
