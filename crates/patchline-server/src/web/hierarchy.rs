//! `/hierarchy`: the image graph (base → enterprise → application and builder images, COTS
//! beside), drawn here as SVG, and the same nodes as a plain table.
//!
//! # Layout
//!
//! Left to right by depth (roots at the left), one row per leaf: a tidy tree where each
//! parent sits at the middle of its children's rows, so edges never cross within a tree.
//! Trees are stacked top to bottom, the organisation's own first; roots that are COTS
//! images (vendor images with no catalogued parent) and their descendants form a second
//! group below, labelled. The layout is computed here, once per request, in time linear
//! in the nodes; 10,000 images draw as one tall SVG whose initial view is its top (pan and
//! zoom with graph.js, or read the table).
//!
//! # Counts
//!
//! Each node is coloured by its worst open finding (`sev-*` classes; the severity is also
//! written in the node's text and title) and shows its open findings split into own and
//! inherited: a finding is inherited when its package's layer is one the parent image also
//! has at the same position (the lineage graph's `same_layer`, the rule
//! `patchline_lineage::vuln_counts` applies to full scan reports; here it runs on the
//! findings table's `layer_diff_id`, so no finding document is read). Severity and KEV
//! totals are the images API's counts query.
//!
//! Team tokens see their images and their ancestors only ([`session::visible_in`]).
//!
//! Search: `?q=` highlights the matching nodes in the graph and filters the table, without
//! JavaScript; graph.js highlights as one types.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use patchline_lineage::{Graph, NodeId, Tier};

use crate::api::images::{counts, placeholders, Counts};
use crate::api::ApiError;
use crate::db::{Result, Tx, Value};
use crate::state::AppState;
use crate::web::layout::{self, Nav};
use crate::web::session::{self, Viewer};
use crate::web::table::{self, ListParams};

pub fn routes() -> Router<AppState> {
    Router::new().route("/hierarchy", get(page))
}

/// One node as drawn.
#[derive(Clone, Debug)]
pub struct NodeView {
    pub node: NodeId,
    pub reference: String,
    pub aliases: Vec<String>,
    pub tier: String,
    pub owner: Option<String>,
    pub parent: Option<NodeId>,
    pub image_id: Option<i64>,
    pub counts: Counts,
    pub own: i64,
    pub inherited: i64,
    pub stale: bool,
}

impl NodeView {
    /// The worst open severity, `none` without open findings.
    pub fn worst(&self) -> &'static str {
        let c = &self.counts;
        if c.critical > 0 {
            "critical"
        } else if c.high > 0 {
            "high"
        } else if c.medium > 0 {
            "medium"
        } else if c.low > 0 {
            "low"
        } else if c.unknown > 0 {
            "unknown"
        } else {
            "none"
        }
    }
    pub fn total(&self) -> i64 {
        let c = &self.counts;
        c.critical + c.high + c.medium + c.low + c.unknown
    }
    fn matches(&self, q: &str) -> bool {
        q.is_empty()
            || std::iter::once(&self.reference)
                .chain(&self.aliases)
                .any(|r| r.to_lowercase().contains(q))
    }
}

/// The graph as the viewer may see it: the nodes (by graph id; `None` = hidden) with
/// their counts.
pub struct Hierarchy {
    pub graph: Arc<Graph>,
    pub nodes: Arc<Vec<Option<NodeView>>>,
}

/// `image_id IN (...)` for `ids` (`None` = no restriction), and its arguments.
pub fn id_filter(column: &str, ids: Option<&HashSet<i64>>) -> (String, Vec<Value>) {
    match ids {
        None => (String::new(), Vec::new()),
        Some(ids) if ids.is_empty() => (" AND 1 = 0".into(), Vec::new()),
        Some(ids) => {
            let mut v: Vec<i64> = ids.iter().copied().collect();
            v.sort_unstable();
            (
                format!(" AND {column} IN {}", placeholders(v.len())),
                v.into_iter().map(Value::from).collect(),
            )
        }
    }
}

/// The image id of every catalogued reference.
pub fn ids_by_reference(tx: &mut dyn Tx) -> Result<HashMap<String, i64>> {
    let mut out = HashMap::new();
    for r in tx.query(
        "SELECT reference, image_id FROM catalog_entries WHERE image_id IS NOT NULL",
        &[],
    )? {
        out.insert(r.string(0)?, r.i64(1)?);
    }
    Ok(out)
}

/// The layer index of `diff_id` in `node`'s image, if it has that layer.
pub fn layer_index(graph: &Graph, node: NodeId, diff_id: &str) -> Option<usize> {
    graph
        .node(node)
        .entry
        .diff_ids
        .iter()
        .position(|d| d.to_string() == diff_id)
}

/// Loads the graph, what `viewer` may see of it, and each visible node's counts (the
/// organisation-wide view from the [`cache`](crate::web::cache) while the store is
/// unchanged).
pub fn load(tx: &mut dyn Tx, viewer: &Viewer, scope: &str) -> Result<Hierarchy> {
    let (graph, key) = crate::web::cache::graph(tx, scope)?;
    let visible = session::visible_in(tx, viewer, &graph)?;
    let nodes = if visible.is_none() {
        crate::web::cache::get_or("hierarchy", &key, || node_views(tx, viewer, &graph, None))?
    } else {
        Arc::new(node_views(tx, viewer, &graph, visible.as_ref())?)
    };
    Ok(Hierarchy { graph, nodes })
}

fn node_views(
    tx: &mut dyn Tx,
    viewer: &Viewer,
    graph: &Graph,
    visible: Option<&HashSet<i64>>,
) -> Result<Vec<Option<NodeView>>> {
    let ids = ids_by_reference(tx)?;
    let mut views: Vec<Option<NodeView>> = Vec::with_capacity(graph.len());
    // A team also sees its catalogued images not scanned yet (no image id): owned ones
    // and their ancestors, as visible_images decides for the scanned.
    let team_nodes: Option<HashSet<NodeId>> = visible.map(|_| {
        let team = viewer.principal.team.clone().unwrap_or_default();
        let mut s = HashSet::new();
        for (i, n) in graph.nodes().iter().enumerate() {
            if n.entry.owner.as_ref().is_some_and(|o| o.team == team) {
                s.insert(i);
                s.extend(graph.ancestors(i));
            }
        }
        s
    });
    for (i, n) in graph.nodes().iter().enumerate() {
        let image_id = n.references().find_map(|r| ids.get(r).copied());
        let shown = match (&team_nodes, visible) {
            (Some(t), Some(v)) => t.contains(&i) || image_id.is_some_and(|id| v.contains(&id)),
            _ => true,
        };
        views.push(shown.then(|| NodeView {
            node: i,
            reference: n.reference().to_string(),
            aliases: n.aliases.clone(),
            tier: n.entry.tier.as_str().to_string(),
            owner: n.entry.owner.as_ref().map(|o| o.team.clone()),
            parent: n.parent,
            image_id,
            counts: Counts::default(),
            own: 0,
            inherited: 0,
            stale: n.stale,
        }));
    }
    let image_ids: Vec<i64> = views.iter().flatten().filter_map(|v| v.image_id).collect();
    let by_image: HashMap<i64, NodeId> = views
        .iter()
        .flatten()
        .filter_map(|v| Some((v.image_id?, v.node)))
        .collect();
    // In chunks: one IN list per 5,000 images stays under every engine's parameter limit.
    let mut c = HashMap::new();
    for chunk in image_ids.chunks(5000) {
        c.extend(counts(tx, chunk)?);
    }
    for v in views.iter_mut().flatten() {
        if let Some(id) = v.image_id {
            v.counts = c.remove(&id).unwrap_or_default();
        }
    }
    // Own vs inherited, by the layer each open finding's package came in.
    // A team's own images only; everyone else's query reads all (no parameter list).
    let scope: Option<HashSet<i64>> = visible
        .as_ref()
        .map(|_| image_ids.iter().copied().collect());
    let (filter, args) = id_filter("image_id", scope.as_ref());
    for r in tx.query(
        &format!(
            "SELECT image_id, layer_diff_id, COUNT(*) FROM findings
             WHERE state = 'open'{filter} GROUP BY image_id, layer_diff_id"
        ),
        &args,
    )? {
        let Some(&n) = by_image.get(&r.i64(0)?) else {
            continue;
        };
        let k = r.opt_string(1)?.and_then(|d| layer_index(graph, n, &d));
        let inherited = match (graph.parent(n), k) {
            (Some(p), Some(k)) => graph.same_layer(p, n, k),
            _ => false,
        };
        if let Some(v) = views[n].as_mut() {
            if inherited {
                v.inherited += r.i64(2)?;
            } else {
                v.own += r.i64(2)?;
            }
        }
    }
    Ok(views)
}

const COL: f64 = 260.0;
const ROW: f64 = 52.0;
const NODE_W: f64 = 230.0;
const NODE_H: f64 = 40.0;
const GROUP_GAP: f64 = 50.0;

/// Node positions (left, top) and group labels (text, y).
struct Drawn {
    pos: HashMap<NodeId, (f64, f64)>,
    labels: Vec<(&'static str, f64)>,
    width: f64,
    height: f64,
}

fn layout_graph(h: &Hierarchy) -> Drawn {
    let g = &h.graph;
    let shown = |n: NodeId| h.nodes[n].is_some();
    // A root for drawing: a shown node whose parent is absent or hidden.
    let mut roots: Vec<NodeId> = (0..g.len())
        .filter(|&n| shown(n) && !g.parent(n).is_some_and(shown))
        .collect();
    roots.sort_by(|a, b| g.node(*a).reference().cmp(g.node(*b).reference()));
    let (cots, own): (Vec<NodeId>, Vec<NodeId>) = roots
        .into_iter()
        .partition(|&r| g.node(r).entry.tier == Tier::Cots);
    let mut pos = HashMap::new();
    let mut labels = Vec::new();
    let mut max_depth = 0usize;
    let mut y = 0.0;
    for (label, group) in [("Organisation images", own), ("COTS (vendor images)", cots)] {
        if group.is_empty() {
            continue;
        }
        labels.push((label, y + 16.0));
        let top = y + 28.0;
        let mut row = 0.0f64;
        for r in group {
            // Iterative post-order: a leaf takes the next row, a parent the middle of its
            // children's.
            let mut stack: Vec<(NodeId, usize, bool)> = vec![(r, 0, false)];
            let mut rows: HashMap<NodeId, f64> = HashMap::new();
            while let Some((n, depth, done)) = stack.pop() {
                let kids: Vec<NodeId> = {
                    let mut k: Vec<NodeId> = g
                        .children(n)
                        .iter()
                        .copied()
                        .filter(|&c| shown(c))
                        .collect();
                    k.sort_by(|a, b| g.node(*a).reference().cmp(g.node(*b).reference()));
                    k
                };
                max_depth = max_depth.max(depth);
                if done || kids.is_empty() {
                    let my = if kids.is_empty() {
                        let my = row;
                        row += 1.0;
                        my
                    } else {
                        let first = rows[&kids[0]];
                        let last = rows[&kids[kids.len() - 1]];
                        (first + last) / 2.0
                    };
                    rows.insert(n, my);
                    pos.insert(n, (10.0 + depth as f64 * COL, top + my * ROW));
                } else {
                    stack.push((n, depth, true));
                    for &c in kids.iter().rev() {
                        stack.push((c, depth + 1, false));
                    }
                }
            }
        }
        y = top + row * ROW + GROUP_GAP;
    }
    Drawn {
        pos,
        labels,
        width: 20.0 + (max_depth as f64 + 1.0) * COL,
        height: y.max(100.0),
    }
}

fn short(reference: &str) -> String {
    // The registry host says little on a small box: `platform/debian:12`.
    let s = match reference.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') => rest,
        _ => reference,
    };
    if s.chars().count() > 32 {
        let tail: String = s
            .chars()
            .rev()
            .take(31)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    } else {
        s.to_string()
    }
}

/// The graph as SVG: nodes are links to their image pages.
pub fn svg(h: &Hierarchy, q: &str) -> Markup {
    let d = layout_graph(h);
    // The first screenful: a tall graph opens at its top.
    let view_h = d.height.min((d.width * 0.6).max(600.0));
    let vb = format!("0 0 {:.0} {:.0}", d.width, view_h);
    let q = q.to_lowercase();
    html! {
        svg id="graph" class="graph" viewBox=(vb) role="group" aria-label="Image hierarchy graph" xmlns="http://www.w3.org/2000/svg" {
            @for (text, y) in &d.labels {
                text class="group-label" x="10" y=(format!("{y:.0}")) { (text) }
            }
            @for v in h.nodes.iter().flatten() {
                @if let (Some(p), Some(&(x, y))) = (v.parent, d.pos.get(&v.node)) {
                    @if let Some(&(px, py)) = d.pos.get(&p) {
                        path class=(if v.stale { "edge stale" } else { "edge" })
                            d=(format!("M{:.0},{:.0} C{:.0},{:.0} {:.0},{:.0} {:.0},{:.0}",
                                px + NODE_W, py + NODE_H / 2.0,
                                px + NODE_W + 15.0, py + NODE_H / 2.0,
                                x - 15.0, y + NODE_H / 2.0,
                                x, y + NODE_H / 2.0)) {}
                    }
                }
            }
            @for v in h.nodes.iter().flatten() {
                @if let Some(&(x, y)) = d.pos.get(&v.node) {
                    @let mut class = format!("node sev-{}", v.worst());
                    @if !q.is_empty() { @if v.matches(&q) { (push(&mut class, " hit")) } @else { (push(&mut class, " dim")) } }
                    @let label = format!("{} — {} · worst {} · {} own, {} inherited open findings{}",
                        v.reference, v.tier, v.worst(), v.own, v.inherited,
                        v.owner.as_ref().map(|o| format!(" · team {o}")).unwrap_or_default());
                    @let body = html! {
                        title { (label) }
                        rect x=(format!("{x:.0}")) y=(format!("{y:.0}")) width=(NODE_W) height=(NODE_H) {}
                        text x=(format!("{:.0}", x + 8.0)) y=(format!("{:.0}", y + 16.0)) { (short(&v.reference)) }
                        text class="counts" x=(format!("{:.0}", x + 8.0)) y=(format!("{:.0}", y + 32.0)) {
                            (v.worst()) " · " (v.own) " own · " (v.inherited) " inh."
                            @if v.counts.kev > 0 { " · " (v.counts.kev) " KEV" }
                        }
                    };
                    @if let Some(id) = v.image_id {
                        a class=(class) href=(format!("/images/{id}")) data-ref=(v.reference) { (body) }
                    } @else {
                        g class=(class) data-ref=(v.reference) { (body) }
                    }
                }
            }
        }
    }
}

/// maud has no statements: pushes and renders nothing.
fn push(s: &mut String, more: &str) -> Markup {
    s.push_str(more);
    html! {}
}

async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListParams>,
) -> Response {
    use axum::response::IntoResponse;
    if viewer.principal.require_read().is_err() {
        return layout::forbidden(
            "A scanner token may upload and request scans, not read findings.",
        );
    }
    let v2 = viewer.clone();
    let scope = state.instance.clone();
    let loaded = state.db.run_read(move |tx| load(tx, &v2, &scope)).await;
    match loaded {
        Ok(h) => {
            let body = render(&h, &q);
            layout::page(&viewer, "Hierarchy", Nav::Hierarchy, body)
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The page body: search, graph and table.
pub fn render(h: &Hierarchy, p: &ListParams) -> Markup {
    let q: String = p.q.clone().unwrap_or_default().chars().take(200).collect();
    let ql = q.to_lowercase();
    let mut rows: Vec<&NodeView> = h
        .nodes
        .iter()
        .flatten()
        .filter(|v| v.matches(&ql))
        .collect();
    let sort = p.sort_key(
        &["reference", "worst", "own", "inherited", "tier", "team"],
        "reference",
    );
    let rank = |s: &str| match s {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        "unknown" => 4,
        _ => 5,
    };
    rows.sort_by(|a, b| {
        let o = match sort {
            "worst" => rank(a.worst())
                .cmp(&rank(b.worst()))
                .then(b.total().cmp(&a.total())),
            "own" => b.own.cmp(&a.own),
            "inherited" => b.inherited.cmp(&a.inherited),
            "tier" => a.tier.cmp(&b.tier),
            "team" => a.owner.cmp(&b.owner),
            _ => std::cmp::Ordering::Equal,
        };
        o.then_with(|| a.reference.cmp(&b.reference))
    });
    if p.desc() {
        rows.reverse();
    }
    let total = rows.len() as i64;
    let shown: Vec<&NodeView> = rows
        .into_iter()
        .skip(p.offset().max(0) as usize)
        .take(p.per() as usize)
        .collect();
    let keep = [("q", q.clone())];
    let base = "/hierarchy";
    let count = h.nodes.iter().flatten().count();
    html! {
        p class="muted" { (count) " catalogued images. Each node is coloured by its worst open finding and shows its own and inherited open findings; select one to open the image." }
        form class="filters graph-tools" method="get" action="/hierarchy" role="search" {
            div {
                label for="graph-q" { "Find an image" }
                input id="graph-q" type="search" name="q" value=(q) placeholder="repository or tag" autocomplete="off";
            }
            button type="submit" { "Search" }
            span id="graph-status" class="muted" aria-live="polite" {}
        }
        div class="graph-tools" {
            button type="button" data-zoom="in" { "Zoom in" }
            button type="button" data-zoom="out" { "Zoom out" }
            button type="button" data-zoom="reset" { "Reset view" }
            span class="muted" { "Drag to pan, wheel to zoom; with the graph focused: + − 0 and the arrow keys." }
        }
        div class="graph-box" tabindex="0" aria-label="Image hierarchy graph: pan with the arrow keys, zoom with + and −" {
            (svg(h, &q))
        }
        h2 id="table" { "Images in the hierarchy" }
        div class="table-wrap" {
            table {
                caption { "The graph's nodes as a table" @if !q.is_empty() { ", matching “" (q) "”" } }
                thead { tr {
                    th scope="col" { (table::sort_link(p, base, &keep, "reference", "Image", sort)) }
                    th scope="col" { (table::sort_link(p, base, &keep, "tier", "Tier", sort)) }
                    th scope="col" { (table::sort_link(p, base, &keep, "team", "Team", sort)) }
                    th scope="col" { "Parent" }
                    th scope="col" { (table::sort_link(p, base, &keep, "worst", "Worst", sort)) }
                    th scope="col" class="num" { (table::sort_link(p, base, &keep, "own", "Own", sort)) }
                    th scope="col" class="num" { (table::sort_link(p, base, &keep, "inherited", "Inherited", sort)) }
                    th scope="col" class="num" { "KEV" }
                } }
                tbody {
                    @for v in &shown {
                        tr data-ref=(v.reference) {
                            th scope="row" {
                                @if let Some(id) = v.image_id { a href=(format!("/images/{id}")) { (v.reference) } }
                                @else { (v.reference) " " span class="muted" { "(not scanned)" } }
                            }
                            td { (v.tier) }
                            td { (v.owner.as_deref().unwrap_or("—")) }
                            td { @if let Some(p) = v.parent { (h.graph.node(p).reference()) } @else { "—" } }
                            td { @if v.worst() == "none" { span class="sev sev-none" { "none" } } @else { (layout::severity(v.worst())) } }
                            td class="num" { (v.own) }
                            td class="num" { (v.inherited) }
                            td class="num" { (v.counts.kev) }
                        }
                    }
                }
            }
        }
        (table::pager(p, base, &keep, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchline_lineage::{CatalogEntry, Owner};

    fn entry(r: &str, tier: Tier, parent: Option<&str>) -> CatalogEntry {
        let mut e = CatalogEntry::new(r, tier);
        e.declared_parent = parent.map(str::to_string);
        e.owner = Some(Owner::new("t", None));
        e
    }

    fn view(g: &Graph, n: NodeId) -> NodeView {
        NodeView {
            node: n,
            reference: g.node(n).reference().to_string(),
            aliases: Vec::new(),
            tier: g.node(n).entry.tier.as_str().to_string(),
            owner: None,
            parent: g.parent(n),
            image_id: Some(n as i64 + 1),
            counts: Counts::default(),
            own: 0,
            inherited: 0,
            stale: false,
        }
    }

    #[test]
    fn parents_sit_between_their_children_and_cots_goes_below() {
        let graph = Graph::build(vec![
            entry("r.example/base:1", Tier::Base, None),
            entry(
                "r.example/app-a:1",
                Tier::Application,
                Some("r.example/base:1"),
            ),
            entry(
                "r.example/app-b:1",
                Tier::Application,
                Some("r.example/base:1"),
            ),
            entry("r.example/vendor:1", Tier::Cots, None),
        ]);
        let nodes = Arc::new((0..graph.len()).map(|n| Some(view(&graph, n))).collect());
        let h = Hierarchy {
            graph: Arc::new(graph),
            nodes,
        };
        let d = layout_graph(&h);
        let at = |r: &str| d.pos[&h.graph.find(r).unwrap()];
        let (bx, by) = at("r.example/base:1");
        let (ax, ay) = at("r.example/app-a:1");
        let (_, b2y) = at("r.example/app-b:1");
        let (vx, vy) = at("r.example/vendor:1");
        assert!(ax > bx, "children right of their parent");
        assert!((by - (ay + b2y) / 2.0).abs() < 0.01, "parent centred");
        assert_eq!(vx, bx);
        assert!(vy > ay.max(b2y), "COTS below the organisation's images");
        assert_eq!(d.labels.len(), 2);
        let html = svg(&h, "app-a").into_string();
        assert_eq!(html.matches("<a class=\"node ").count(), 4);
        assert!(
            html.contains("hit\" href=\"/images/") || html.contains(" hit\""),
            "{html}"
        );
        assert!(!html.contains("style="));
    }

    #[test]
    fn short_names_drop_the_registry_host() {
        assert_eq!(short("registry.example/shop/app:1.0"), "shop/app:1.0");
        assert_eq!(short("debian:12"), "debian:12");
        assert!(short(&format!("r.example/{}", "x".repeat(60))).starts_with('…'));
    }
}
