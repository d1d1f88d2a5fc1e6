//! `/images/{id}`: one image, in the order a person works through it.
//!
//! - the header: references and tags, digest, platform, tier, owner, parent (linked) and
//!   the last scan, with the downloads;
//! - `#layers`: each layer with what it installed or changed (the packages whose
//!   `last_changed` layer it is, else `introduced`: the layer a fix must rebuild) and the
//!   ancestor it comes from: the highest catalogued ancestor whose layer chain has the
//!   same chain id at that position (`Graph::same_layer`), else the image itself;
//! - `#packages`: the stored inventory's packages, filtered and paged (the inventory is
//!   one compressed document, so this filter runs on the decoded list);
//! - `#findings`: the stored findings, filtered and paged in SQL, each with the ancestor
//!   where its fix belongs and that ancestor's owner. The root is patchline-lineage's
//!   `impact_cve` over this image and its ancestors' stored findings (the root of a
//!   package in this image depends only on its own chain), once per CVE on the page;
//! - `#plan`: the patch plan of one of the image's fixable CVEs (the most urgent by
//!   default), built as `GET /api/v1/plans?cve=` builds it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{html, Markup};
use patchline_lineage::plan::{self, PatchPlan, TagScheme};
use patchline_lineage::{Graph, NodeId};
use patchline_model::vuln::{Finding, ScanReport};
use patchline_model::Inventory;
use serde::Deserialize;

use super::{
    fail, given, image_ids_of, not_found, placeholders, require_read, short_digest, SEVERITY_RANK,
};
use crate::api::hierarchy::{empty_report, plan_request_in, PlanQuery};
use crate::api::images::{image_detail_in, ImageDetail};
use crate::api::ApiError;
use crate::db::{Tx, Value};
use crate::params;
use crate::state::AppState;
use crate::web::layout::{self, Nav};
use crate::web::session::{visible_images, Viewer};
use crate::web::table::{href, pager, ListParams};

#[derive(Deserialize, Default, Clone)]
pub struct ImagePageQuery {
    /// Findings: `1` for KEV only.
    kev: Option<String>,
    /// Findings of exactly this severity.
    severity: Option<String>,
    /// Findings in this state: `open` (default), `resolved`, `suppressed` or `all`.
    state: Option<String>,
    /// The findings' page.
    page: Option<String>,
    per: Option<String>,
    /// Packages whose name contains this.
    pkg: Option<String>,
    /// Packages of this ecosystem.
    eco: Option<String>,
    /// The packages' page.
    ppage: Option<String>,
    /// The CVE whose patch plan `#plan` shows.
    plan: Option<String>,
}

const STATES: [&str; 4] = ["open", "resolved", "suppressed", "all"];
const PACKAGES_PER_PAGE: usize = 100;

impl ImagePageQuery {
    fn kev(&self) -> bool {
        self.kev.as_deref() == Some("1")
    }
    fn severity(&self) -> Option<String> {
        given(&self.severity, 20)
            .map(|s| s.to_ascii_lowercase())
            .filter(|s| crate::api::images::SEVERITIES.contains(&s.as_str()))
    }
    fn state(&self) -> &'static str {
        let s = given(&self.state, 20).unwrap_or_default();
        STATES.iter().find(|x| **x == s).copied().unwrap_or("open")
    }
    fn findings_list(&self) -> ListParams {
        ListParams {
            page: self.page.as_deref().and_then(|p| p.parse().ok()),
            per: self.per.as_deref().and_then(|p| p.parse().ok()),
            ..ListParams::default()
        }
    }
    fn ppage(&self) -> usize {
        self.ppage
            .as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or(1usize)
            .max(1)
    }
    /// Every filter of the page, for links that change one of them.
    fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "kev",
                if self.kev() {
                    "1".into()
                } else {
                    String::new()
                },
            ),
            ("severity", self.severity().unwrap_or_default()),
            (
                "state",
                if self.state() == "open" {
                    String::new()
                } else {
                    self.state().to_string()
                },
            ),
            ("pkg", given(&self.pkg, 100).unwrap_or_default()),
            ("eco", given(&self.eco, 40).unwrap_or_default()),
            ("plan", given(&self.plan, 100).unwrap_or_default()),
        ]
    }
}

/// One stored finding as the table shows it.
struct FindingRow {
    vuln_id: String,
    ecosystem: String,
    package: String,
    version: String,
    severity: String,
    cvss: Option<f64>,
    kev: bool,
    epss: Option<f64>,
    fix_state: Option<String>,
    fixed_version: Option<String>,
    state: String,
    first_seen: i64,
    summary: Option<String>,
}

/// Where one finding's fix belongs.
struct Root {
    reference: String,
    image_id: Option<i64>,
    team: Option<String>,
    this_image: bool,
}

struct LayerRow {
    index: usize,
    diff_id: String,
    chain_id: Option<String>,
    size: Option<i64>,
    created_by: Option<String>,
    packages: Vec<String>,
    /// The ancestor the layer comes from (reference, stored image), `None`: this image.
    from: Option<(String, Option<i64>)>,
}

struct Lineage {
    reference: String,
    parent: Option<(String, Option<i64>)>,
    external_parent: Option<String>,
    /// Root first.
    ancestors: Vec<(String, Option<i64>)>,
    owner_contact: Option<String>,
    platform: Option<String>,
}

struct PlanView {
    cve: String,
    candidates: Vec<String>,
    plan: Result<PatchPlan, String>,
    /// Plan rows of images the viewer may not see, left out.
    hidden: usize,
    visible_refs: Option<BTreeSet<String>>,
}

struct PageData {
    detail: ImageDetail,
    last_scanned: Option<i64>,
    lineage: Option<Lineage>,
    layers: Vec<LayerRow>,
    inventory: bool,
    packages: Vec<(String, String, String, Option<usize>)>,
    packages_total: usize,
    ecosystems: Vec<String>,
    findings: Vec<FindingRow>,
    findings_total: i64,
    roots: HashMap<(String, String, String), Root>,
    plan: Option<PlanView>,
}

pub async fn page(
    State(s): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<ImagePageQuery>,
) -> Response {
    if let Err(r) = require_read(&viewer) {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return not_found(&viewer, Nav::Images, "This image");
    };
    let (v2, q2) = (viewer.clone(), q.clone());
    let found =
        s.db.run_read(move |tx| -> Result<Option<PageData>, ApiError> { load(tx, &v2, id, &q2) })
            .await;
    match found {
        Ok(Some(d)) => render(&viewer, id, &q, d),
        Ok(None) => not_found(&viewer, Nav::Images, "This image"),
        Err(e) => fail(e),
    }
}

fn load(
    tx: &mut dyn Tx,
    viewer: &Viewer,
    id: i64,
    q: &ImagePageQuery,
) -> Result<Option<PageData>, ApiError> {
    let visible = visible_images(tx, viewer)?;
    if visible.as_ref().is_some_and(|v| !v.contains(&id)) {
        return Ok(None);
    }
    let Some(row) = tx.query_opt(
        "SELECT last_scanned_at FROM images WHERE id = ? AND deleted_at IS NULL",
        params![id],
    )?
    else {
        return Ok(None);
    };
    let last_scanned = row.opt_i64(0)?;
    let mut graph = None;
    let detail = image_detail_in(tx, id, &mut graph)?;
    let inv = crate::store::load_inventory(tx, id)?;
    let node = graph.as_ref().and_then(|g| {
        detail
            .hierarchy
            .iter()
            .find_map(|h| g.find(&h.reference))
            .map(|n| (&**g, n))
    });

    // The chain above the image and where each of them is stored.
    let (lineage, chain_ids) = match node {
        Some((g, n)) => {
            let mut anc = g.ancestors(n);
            anc.reverse();
            let refs: Vec<String> = anc
                .iter()
                .map(|&a| g.node(a).reference().to_string())
                .collect();
            let ids = image_ids_of(tx, &refs)?;
            let with_id = |r: &str| (r.to_string(), ids.get(r).copied());
            let node_ = g.node(n);
            (
                Some(Lineage {
                    reference: node_.reference().to_string(),
                    parent: node_.parent.map(|p| with_id(g.node(p).reference())),
                    external_parent: node_.external_parent.clone(),
                    ancestors: refs.iter().map(|r| with_id(r)).collect(),
                    owner_contact: node_.entry.owner.as_ref().and_then(|o| o.contact.clone()),
                    platform: node_.entry.platform.clone(),
                }),
                ids,
            )
        }
        None => (None, BTreeMap::new()),
    };

    let layers = layer_rows(&detail, inv.as_ref(), node, &chain_ids);
    let (packages, packages_total, ecosystems) = package_rows(inv.as_ref(), q);

    // Findings: one page, in risk order (KEV, severity, CVSS).
    let mut wh = String::from(" WHERE f.image_id = ?");
    let mut args: Vec<Value> = vec![id.into()];
    if q.state() != "all" {
        wh.push_str(" AND f.state = ?");
        args.push(q.state().into());
    }
    if q.kev() {
        wh.push_str(" AND f.kev = 1");
    }
    if let Some(sev) = q.severity() {
        wh.push_str(" AND f.severity = ?");
        args.push(sev.into());
    }
    let findings_total = tx.query_i64(&format!("SELECT COUNT(*) FROM findings f{wh}"), &args)?;
    let lp = q.findings_list();
    let mut page_args = args;
    page_args.push((lp.per() as i64).into());
    page_args.push(lp.offset().into());
    let findings = tx
        .query(
            &format!(
                "SELECT f.vuln_id, f.ecosystem, f.package, f.version, f.severity, f.cvss, f.kev, f.epss,
                        f.fix_state, f.fixed_version, f.state, f.first_seen, f.summary
                 FROM findings f{wh}
                 ORDER BY f.kev DESC, {SEVERITY_RANK}, COALESCE(f.cvss, 0) DESC, f.vuln_id, f.package
                 LIMIT ? OFFSET ?"
            ),
            &page_args,
        )?
        .iter()
        .map(|r| {
            Ok(FindingRow {
                vuln_id: r.string(0)?,
                ecosystem: r.string(1)?,
                package: r.string(2)?,
                version: r.string(3)?,
                severity: r.string(4)?,
                cvss: r.opt_f64(5)?,
                kev: r.bool(6)?,
                epss: r.opt_f64(7)?,
                fix_state: r.opt_string(8)?,
                fixed_version: r.opt_string(9)?,
                state: r.string(10)?,
                first_seen: r.i64(11)?,
                summary: r.opt_string(12)?,
            })
        })
        .collect::<crate::db::Result<Vec<_>>>()?;
    let roots = match node {
        Some((g, n)) => roots_of(tx, g, n, id, &chain_ids, &findings)?,
        None => HashMap::new(),
    };
    let plan = match node {
        Some((g, _)) => Some(plan_view(tx, g, id, q, visible.as_ref())?),
        None => None,
    };
    Ok(Some(PageData {
        detail,
        last_scanned,
        lineage,
        layers,
        inventory: inv.is_some(),
        packages,
        packages_total,
        ecosystems,
        findings,
        findings_total,
        roots,
        plan,
    }))
}

fn layer_rows(
    detail: &ImageDetail,
    inv: Option<&Inventory>,
    node: Option<(&Graph, NodeId)>,
    ids: &BTreeMap<String, i64>,
) -> Vec<LayerRow> {
    let mut by_layer: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    if let Some(inv) = inv {
        for p in &inv.packages {
            if let Some(l) = p.last_changed.as_ref().or(p.introduced.as_ref()) {
                by_layer
                    .entry(l.index)
                    .or_default()
                    .push(format!("{} {}", p.name, p.version));
            }
        }
    }
    let history: HashMap<usize, (Option<String>, Option<u64>)> = inv
        .map(|i| {
            i.image
                .layers
                .iter()
                .map(|l| (l.index, (l.created_by.clone(), l.size)))
                .collect()
        })
        .unwrap_or_default();
    // Root first: the first ancestor carrying the same layer is where it comes from.
    let ancestors: Vec<NodeId> = node
        .map(|(g, n)| {
            let mut a = g.ancestors(n);
            a.reverse();
            a
        })
        .unwrap_or_default();
    detail
        .layers
        .iter()
        .map(|l| {
            let index = l.index.max(0) as usize;
            let (created_by, inv_size) = history.get(&index).cloned().unwrap_or((None, None));
            let from = node.and_then(|(g, n)| {
                ancestors
                    .iter()
                    .find(|&&a| g.same_layer(a, n, index))
                    .map(|&a| {
                        let r = g.node(a).reference().to_string();
                        let id = ids.get(&r).copied();
                        (r, id)
                    })
            });
            let mut packages = by_layer.remove(&index).unwrap_or_default();
            packages.sort();
            LayerRow {
                index,
                diff_id: l.diff_id.clone(),
                chain_id: node
                    .and_then(|(g, n)| g.node(n).chain().get(index).map(|c| c.to_string())),
                size: l.size.or(inv_size.map(|s| s as i64)),
                created_by,
                packages,
                from,
            }
        })
        .collect()
}

type PackageRows = (
    Vec<(String, String, String, Option<usize>)>,
    usize,
    Vec<String>,
);

fn package_rows(inv: Option<&Inventory>, q: &ImagePageQuery) -> PackageRows {
    let Some(inv) = inv else {
        return (Vec::new(), 0, Vec::new());
    };
    let name = given(&q.pkg, 100).map(|s| s.to_lowercase());
    let eco = given(&q.eco, 40);
    let ecosystems: BTreeSet<String> = inv
        .packages
        .iter()
        .map(|p| p.ecosystem.to_string())
        .collect();
    let mut kept: Vec<_> = inv
        .packages
        .iter()
        .filter(|p| {
            name.as_ref()
                .is_none_or(|n| p.name.to_lowercase().contains(n))
        })
        .filter(|p| eco.as_ref().is_none_or(|e| &p.ecosystem.to_string() == e))
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone(),
                p.ecosystem.to_string(),
                p.last_changed
                    .as_ref()
                    .or(p.introduced.as_ref())
                    .map(|l| l.index),
            )
        })
        .collect();
    kept.sort();
    let total = kept.len();
    let start = (q.ppage() - 1).saturating_mul(PACKAGES_PER_PAGE).min(total);
    let page = kept.drain(start..).take(PACKAGES_PER_PAGE).collect();
    (page, total, ecosystems.into_iter().collect())
}

/// The root (and its owner) of every finding on the page, by (CVE, package, version).
fn roots_of(
    tx: &mut dyn Tx,
    g: &Graph,
    n: NodeId,
    image_id: i64,
    chain_ids: &BTreeMap<String, i64>,
    findings: &[FindingRow],
) -> Result<HashMap<(String, String, String), Root>, ApiError> {
    let mut out = HashMap::new();
    let vulns: BTreeSet<&str> = findings.iter().map(|f| f.vuln_id.as_str()).collect();
    if vulns.is_empty() {
        return Ok(out);
    }
    // The evidence: this image's and its ancestors' open findings of these CVEs.
    let mut chain: Vec<(NodeId, i64)> = vec![(n, image_id)];
    for a in g.ancestors(n) {
        if let Some(&i) = chain_ids.get(g.node(a).reference()) {
            chain.push((a, i));
        }
    }
    let image_ids: Vec<Value> = chain.iter().map(|(_, i)| Value::from(*i)).collect();
    let mut args = image_ids.clone();
    args.extend(vulns.iter().map(|v| Value::from(*v)));
    let mut by_image: HashMap<i64, Vec<Finding>> = HashMap::new();
    for r in tx.query(
        &format!(
            "SELECT image_id, doc FROM findings WHERE state = 'open' AND image_id IN {} AND vuln_id IN {}",
            placeholders(image_ids.len()),
            placeholders(vulns.len())
        ),
        &args,
    )? {
        if let Some(Ok(f)) = r
            .opt_string(1)?
            .map(|d| serde_json::from_str::<Finding>(&d))
        {
            by_image.entry(r.i64(0)?).or_default().push(f);
        }
    }
    let mut reports: HashMap<String, ScanReport> = HashMap::new();
    for (node, i) in &chain {
        reports.insert(
            g.node(*node).reference().to_string(),
            empty_report(by_image.remove(i).unwrap_or_default()),
        );
    }
    let me = g.node(n).reference().to_string();
    let mut found: Vec<((String, String, String), String)> = Vec::new();
    for v in &vulns {
        let report = patchline_lineage::impact::impact_cve(g, &reports, v);
        if let Some(img) = report.images.iter().find(|i| i.image == me) {
            for p in &img.packages {
                found.push((
                    (
                        v.to_string(),
                        p.package.name.clone(),
                        p.package.version.clone(),
                    ),
                    p.root.clone(),
                ));
            }
        }
    }
    let root_refs: Vec<String> = found
        .iter()
        .map(|(_, r)| r.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let ids = image_ids_of(tx, &root_refs)?;
    for (key, root) in found {
        let team = g
            .find(&root)
            .and_then(|r| g.node(r).entry.owner.as_ref().map(|o| o.team.clone()));
        out.insert(
            key,
            Root {
                image_id: ids.get(&root).copied(),
                this_image: root == me,
                reference: root,
                team,
            },
        );
    }
    Ok(out)
}

fn plan_view(
    tx: &mut dyn Tx,
    g: &Graph,
    id: i64,
    q: &ImagePageQuery,
    visible: Option<&std::collections::HashSet<i64>>,
) -> Result<PlanView, ApiError> {
    let candidates: Vec<String> = tx
        .query(
            &format!(
                "SELECT f.vuln_id, MAX(f.kev), MIN({SEVERITY_RANK}), MAX(COALESCE(f.cvss, 0)) FROM findings f
                 WHERE f.image_id = ? AND f.state = 'open' AND f.fixed_version IS NOT NULL
                 GROUP BY f.vuln_id ORDER BY 2 DESC, 3, 4 DESC, 1 LIMIT 200"
            ),
            params![id],
        )?
        .iter()
        .map(|r| r.string(0))
        .collect::<crate::db::Result<_>>()?;
    let asked = given(&q.plan, 100).filter(|c| candidates.contains(c));
    let Some(cve) = asked.or_else(|| candidates.first().cloned()) else {
        return Ok(PlanView {
            cve: String::new(),
            candidates,
            plan: Err("No open finding of this image has a fixed version: nothing to plan.".into()),
            hidden: 0,
            visible_refs: None,
        });
    };
    let pq = PlanQuery {
        cve: Some(cve.clone()),
        base: None,
        to: None,
        tag_scheme: None,
    };
    let plan = match plan_request_in(tx, g, &pq, TagScheme::BumpPatch) {
        Ok(req) => plan::build_plan(&req).map_err(|e| format!("plan: {e}")),
        Err(e) => Err(e.message),
    };
    // A team sees only the plan's rows of the images it may see.
    let visible_refs = match visible {
        Some(v) => {
            let mut ids: Vec<i64> = v.iter().copied().collect();
            ids.sort_unstable();
            let refs = super::references_of(tx, &ids)?;
            Some(refs.into_values().flatten().collect::<BTreeSet<String>>())
        }
        None => None,
    };
    let hidden = match (&plan, &visible_refs) {
        (Ok(p), Some(v)) => p
            .waves
            .iter()
            .flat_map(|w| &w.images)
            .filter(|i| !v.contains(&i.reference))
            .count(),
        _ => 0,
    };
    Ok(PlanView {
        cve,
        candidates,
        plan,
        hidden,
        visible_refs,
    })
}

fn image_link(reference: &str, id: Option<i64>) -> Markup {
    html! {
        @match id {
            Some(i) => a href={ "/images/" (i) } { (reference) },
            None => span { (reference) },
        }
    }
}

fn human_size(n: i64) -> String {
    let n = n.max(0) as f64;
    if n >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", n / (1024.0 * 1024.0))
    } else if n >= 1024.0 {
        format!("{:.1} KiB", n / 1024.0)
    } else {
        format!("{n} B")
    }
}

fn render(viewer: &Viewer, id: i64, q: &ImagePageQuery, d: PageData) -> Response {
    let img = &d.detail.image;
    let title = d
        .lineage
        .as_ref()
        .map(|l| l.reference.clone())
        .unwrap_or_else(|| img.reference.clone());
    let base = format!("/images/{id}");
    let c = &img.counts;
    let body = html! {
        nav class="sections" aria-label="Sections" {
            ul {
                li { a href="#layers" { "Layers" } }
                li { a href="#packages" { "Packages" } }
                li { a href="#findings" { "Findings" } }
                li { a href="#plan" { "Patch plan" } }
            }
        }
        section id="summary" aria-labelledby="summary-h" {
            h2 id="summary-h" { "Image" }
            dl class="facts" {
                dt { "References" }
                dd {
                    ul {
                        @for h in &d.detail.hierarchy { li { (h.reference) } }
                        @if d.detail.hierarchy.is_empty() { li { (img.reference) } }
                    }
                }
                @if !d.detail.tags.is_empty() {
                    dt { "Tags" }
                    dd { ul { @for t in &d.detail.tags { li { (t.registry) "/" (t.repository) ":" (t.tag) } } } }
                }
                dt { "Digest" } dd { code { (img.digest) } }
                @if let Some(p) = d.lineage.as_ref().and_then(|l| l.platform.clone()) {
                    dt { "Platform" } dd { (p) }
                }
                dt { "Tier" } dd { (img.tier.as_deref().unwrap_or("not catalogued")) }
                dt { "Owner" }
                dd {
                    (img.team.as_deref().unwrap_or("no owner"))
                    @if let Some(c) = d.lineage.as_ref().and_then(|l| l.owner_contact.as_ref()) { " · " (c) }
                }
                dt { "Parent" }
                dd {
                    @match d.lineage.as_ref() {
                        Some(l) => {
                            @match (&l.parent, &l.external_parent) {
                                (Some((r, i)), _) => (image_link(r, *i)),
                                (None, Some(x)) => { (x) " (not catalogued)" },
                                (None, None) => "none (a root of the hierarchy)",
                            }
                            @if l.ancestors.len() > 1 {
                                " · chain: "
                                @for (k, (r, i)) in l.ancestors.iter().enumerate() {
                                    @if k > 0 { " → " }
                                    (image_link(r, *i))
                                }
                            }
                        },
                        None => "not in the hierarchy (no catalog entry)",
                    }
                }
                dt { "Last scan" }
                dd {
                    @match d.last_scanned { Some(t) => (layout::when(t)), None => (img.scan_status) }
                    @if let Some(e) = &d.detail.scan_error { " · " (e) }
                }
                dt { "Open findings" }
                dd {
                    (c.critical) " critical, " (c.high) " high, " (c.medium) " medium, " (c.low) " low, "
                    (c.unknown) " unknown"
                    @if c.kev > 0 { " · " (c.kev) " " (layout::kev()) }
                }
            }
            @if d.inventory {
                p class="downloads" {
                    "Download: "
                    a href={ (base) "/download/cyclonedx" } download { "CycloneDX SBOM" } " · "
                    a href={ (base) "/download/spdx" } download { "SPDX SBOM" } " · "
                    a href={ (base) "/download/sarif" } download { "SARIF report" } " · "
                    a href={ (base) "/download/json" } download { "JSON report" }
                }
            } @else {
                p { "No inventory is stored for this image yet: nothing to download." }
            }
        }
        (layers_section(&d))
        (packages_section(&base, q, &d))
        (findings_section(&base, q, &d))
        (plan_section(&base, q, &d))
    };
    layout::page(viewer, &title, Nav::Images, body)
}

fn layers_section(d: &PageData) -> Markup {
    html! {
        section id="layers" aria-labelledby="layers-h" {
            h2 id="layers-h" { "Layers" }
            table class="list layers" {
                caption { "Layers, bottom first, with what each installed or changed and the ancestor it comes from" }
                thead { tr {
                    th scope="col" class="num" { "#" }
                    th scope="col" { "Layer (diff id)" }
                    th scope="col" { "Created by" }
                    th scope="col" class="num" { "Size" }
                    th scope="col" { "Packages" }
                    th scope="col" { "From" }
                } }
                tbody {
                    @for l in &d.layers {
                        tr data-layer=(l.index) {
                            td class="num" { (l.index) }
                            td {
                                code title=(l.diff_id) { (short_digest(&l.diff_id)) }
                                @if let Some(c) = &l.chain_id { br; span class="chain" { "chain " code title=(c) { (short_digest(c)) } } }
                            }
                            td { @if let Some(c) = &l.created_by { code class="created-by" { (c) } } @else { "—" } }
                            td class="num" { @if let Some(s) = l.size { (human_size(s)) } @else { "—" } }
                            td {
                                @if l.packages.is_empty() { "0" } @else {
                                    details {
                                        summary { (l.packages.len()) " package" @if l.packages.len() != 1 { "s" } }
                                        ul class="packages" { @for p in &l.packages { li { (p) } } }
                                    }
                                }
                            }
                            td {
                                @match &l.from {
                                    Some((r, i)) => (image_link(r, *i)),
                                    None => "this image",
                                }
                            }
                        }
                    }
                    @if d.layers.is_empty() { tr { td colspan="6" { "No layers are stored for this image." } } }
                }
            }
        }
    }
}

fn packages_section(base: &str, q: &ImagePageQuery, d: &PageData) -> Markup {
    let pairs = q.pairs();
    let keep = |skip: &[&str]| -> Vec<(&str, String)> {
        pairs
            .iter()
            .filter(|(k, _)| !skip.contains(k))
            .cloned()
            .collect()
    };
    let pages = d.packages_total.div_ceil(PACKAGES_PER_PAGE).max(1);
    let at = q.ppage();
    let link = |n: usize| {
        let mut p = keep(&[]);
        p.push(("ppage", n.to_string()));
        format!("{}#packages", href(base, &p))
    };
    let eco = given(&q.eco, 40).unwrap_or_default();
    html! {
        section id="packages" aria-labelledby="packages-h" {
            h2 id="packages-h" { "Packages" }
            form class="filters" method="get" action={ (base) "#packages" } role="search" {
                @for (k, v) in keep(&["pkg", "eco"]) { @if !v.is_empty() { input type="hidden" name=(k) value=(v); } }
                label for="p-name" { "Name" }
                input id="p-name" name="pkg" type="search" value=(given(&q.pkg, 100).unwrap_or_default());
                label for="p-eco" { "Type" }
                select id="p-eco" name="eco" {
                    option value="" { "any" }
                    @for e in &d.ecosystems { option value=(e) selected[&eco == e] { (e) } }
                }
                button type="submit" { "Filter packages" }
            }
            table class="list packages" {
                caption { "Inventory packages (" (d.packages_total) ")" }
                thead { tr {
                    th scope="col" { "Name" }
                    th scope="col" { "Version" }
                    th scope="col" { "Type" }
                    th scope="col" class="num" { "Layer" }
                } }
                tbody {
                    @for (name, version, eco, layer) in &d.packages {
                        tr {
                            td { (name) }
                            td { (version) }
                            td { (eco) }
                            td class="num" { @if let Some(l) = layer { (l) } @else { "—" } }
                        }
                    }
                    @if d.packages.is_empty() { tr { td colspan="4" { "No package matches." } } }
                }
            }
            nav class="pager" aria-label="Package pages" {
                @if at > 1 { a rel="prev" href=(link(at - 1)) { "← Previous" } }
                span { "Page " (at) " of " (pages) " · " (d.packages_total) " in all" }
                @if at < pages { a rel="next" href=(link(at + 1)) { "Next →" } }
            }
        }
    }
}

fn findings_section(base: &str, q: &ImagePageQuery, d: &PageData) -> Markup {
    let pairs = q.pairs();
    let sev = q.severity().unwrap_or_default();
    let state = q.state();
    let lp = q.findings_list();
    html! {
        section id="findings" aria-labelledby="findings-h" {
            h2 id="findings-h" { "Findings" }
            form class="filters" method="get" action={ (base) "#findings" } role="search" {
                @for (k, v) in pairs.iter().filter(|(k, _)| !["kev", "severity", "state"].contains(k)) {
                    @if !v.is_empty() { input type="hidden" name=(k) value=(v); }
                }
                label for="x-severity" { "Severity" }
                select id="x-severity" name="severity" {
                    option value="" { "any" }
                    @for s in crate::api::images::SEVERITIES { option value=(s) selected[sev == s] { (s) } }
                }
                label for="x-state" { "State" }
                select id="x-state" name="state" {
                    @for s in STATES { option value=(s) selected[state == s] { (s) } }
                }
                input id="x-kev" name="kev" type="checkbox" value="1" checked[q.kev()];
                label for="x-kev" { "Known exploited (KEV) only" }
                button type="submit" { "Filter findings" }
            }
            table class="list findings" {
                caption { (d.findings_total) " " (if state == "all" { "" } else { state }) " finding" @if d.findings_total != 1 { "s" } }
                thead { tr {
                    th scope="col" { "Vulnerability" }
                    th scope="col" { "Package" }
                    th scope="col" { "Severity" }
                    th scope="col" class="num" { "CVSS" }
                    th scope="col" { "Fixed in" }
                    th scope="col" { "KEV" }
                    th scope="col" class="num" { "EPSS" }
                    th scope="col" { "State" }
                    th scope="col" { "Fix belongs in" }
                    th scope="col" { "First seen" }
                } }
                tbody {
                    @for f in &d.findings {
                        @let root = d.roots.get(&(f.vuln_id.clone(), f.package.clone(), f.version.clone()));
                        tr data-cve=(f.vuln_id) class={ "sev-row-" (f.severity) } {
                            th scope="row" {
                                a href={ "/cves/" (crate::web::session::urlencode(&f.vuln_id)) } { (f.vuln_id) }
                                @if let Some(s) = &f.summary { br; span class="summary" { (s.chars().take(160).collect::<String>()) } }
                            }
                            td { (f.package) " " (f.version) br; span class="eco" { (f.ecosystem) } }
                            td { (layout::severity(&f.severity)) }
                            td class="num" { @if let Some(s) = f.cvss { (format!("{s:.1}")) } @else { "—" } }
                            td {
                                @match (&f.fixed_version, &f.fix_state) {
                                    (Some(v), _) => (v),
                                    (None, Some(s)) => (s),
                                    (None, None) => "—",
                                }
                            }
                            td { @if f.kev { (layout::kev()) } @else { "no" } }
                            td class="num" { @if let Some(e) = f.epss { (format!("{:.1}%", e * 100.0)) } @else { "—" } }
                            td { (f.state) }
                            td class="root" {
                                @match root {
                                    Some(r) => {
                                        @if r.this_image { "this image" } @else { (image_link(&r.reference, r.image_id)) }
                                        " · " (r.team.as_deref().unwrap_or("no owner"))
                                    },
                                    None => "—",
                                }
                            }
                            td { (layout::when(f.first_seen)) }
                        }
                    }
                    @if d.findings.is_empty() { tr { td colspan="10" { "No finding matches these filters." } } }
                }
            }
            (pager(&lp, base, &pairs, d.findings_total))
        }
    }
}

fn plan_section(base: &str, q: &ImagePageQuery, d: &PageData) -> Markup {
    let pairs = q.pairs();
    html! {
        section id="plan" aria-labelledby="plan-h" {
            h2 id="plan-h" { "Patch plan" }
            @match &d.plan {
                None => p { "This image is not in the hierarchy (no catalog entry): there is no plan to build." },
                Some(pv) => {
                    @if !pv.candidates.is_empty() {
                        form class="filters" method="get" action={ (base) "#plan" } {
                            @for (k, v) in pairs.iter().filter(|(k, _)| *k != "plan") {
                                @if !v.is_empty() { input type="hidden" name=(k) value=(v); }
                            }
                            label for="plan-cve" { "Plan the fix of" }
                            select id="plan-cve" name="plan" {
                                @for c in &pv.candidates { option value=(c) selected[*c == pv.cve] { (c) } }
                            }
                            button type="submit" { "Show plan" }
                        }
                    }
                    @match &pv.plan {
                        Err(e) => p class="note" { (e) },
                        Ok(plan) => (plan_tables(plan, &pv.cve, pv.visible_refs.as_ref(), pv.hidden)),
                    }
                },
            }
        }
    }
}

fn plan_tables(
    plan: &PatchPlan,
    cve: &str,
    visible: Option<&BTreeSet<String>>,
    hidden: usize,
) -> Markup {
    let shown = |r: &str| visible.is_none_or(|v| v.contains(r));
    html! {
        p { "Rebuilds to fix " a href={ "/cves/" (crate::web::session::urlencode(cve)) } { (cve) } ", wave by wave (each wave builds on the previous one)." }
        table class="list plan" {
            caption { "Plan for " (cve) }
            thead { tr {
                th scope="col" class="num" { "Wave" }
                th scope="col" { "Image" }
                th scope="col" { "Owner" }
                th scope="col" { "Action" }
                th scope="col" { "New tag" }
            } }
            tbody {
                @for w in &plan.waves {
                    @for i in w.images.iter().filter(|i| shown(&i.reference)) {
                        tr {
                            td class="num" { (w.index) }
                            td { (i.reference) }
                            td { (i.owner) }
                            td {
                                @if i.root_of_fix { strong { "fix here" } ": " } @else { "rebuild" }
                                @if let Some(u) = &i.upgrade { " " code { (u.command) } }
                                @for lf in &i.language_fixes {
                                    br; (lf.name) " " (lf.installed) " → " (lf.fixed.as_deref().unwrap_or("no fix yet"))
                                }
                                @if i.manual { br; "manual: " (i.notes.join("; ")) }
                            }
                            td { code { (i.new_reference) } }
                        }
                    }
                }
                @if plan.waves.is_empty() { tr { td colspan="5" { "Nothing to rebuild." } } }
            }
        }
        @if hidden > 0 { p class="note" { (hidden) " more image(s) of other teams are in this plan." } }
        @for v in plan.vendor_must_fix.iter().filter(|v| shown(&v.reference)) {
            p class="note" { "Vendor must fix " (v.reference) " (" (v.owner) "): " (v.reason) }
        }
        @for b in plan.blocked.iter().filter(|b| shown(&b.reference)) {
            p class="note" { (b.reference) " (" (b.owner) ") waits on " (b.waiting_on) }
        }
    }
}
