//! `/`: the morning page. Open findings by severity and KEV, and their trend; images
//! scanned; the advisory DB's age; campaigns in progress and overdue items; the fixes that
//! clear the most findings.
//!
//! - **Trend**: from the stored scan history (`scans`: every scan and rematch with its
//!   counts). For each day of the last 30, the sum over images of each image's latest scan
//!   up to the end of that day: what the organisation carried that day. One pass over the
//!   scans in time order, so it costs one row per scan, not per day and image. Images
//!   deleted since are left out of every point. The current counts beside it are the
//!   findings table's (open findings now, exceptions applied), which the last point may
//!   differ from by findings suppressed since their scan.
//! - **Top fixes**: every open finding with a fixed version is charged to the image where
//!   its fix belongs: the highest ancestor that has the finding's layer at the same
//!   position (the lineage graph's `same_layer`, walked up from the image, as
//!   `patchline_lineage::impact` places a root). Grouped by (root, package), a fix is
//!   "upgrade this package in that image, rebuild below": the findings it clears over all
//!   descendants, the images, KEV among them, and the version to move to (the highest
//!   fixed version by the ecosystem's order: the plan's `highest_fixed`). Computed from
//!   the findings table grouped in SQL, so 10,000 images cost one grouped scan.
//! - **Cost**: the organisation-wide figures and the graph are kept in
//!   [`cache`](crate::web::cache) until the store changes; campaigns are read each time.
//! - **Role scope**: a team token's figures count its visible images only
//!   ([`session::visible_in`]); its campaigns are those with an item of its team.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use patchline_lineage::NodeId;
use patchline_model::Ecosystem;

use crate::api::ApiError;
use crate::auth::Role;
use crate::db::{now, Result, Tx};
use crate::params;
use crate::state::AppState;
use crate::web::hierarchy::{id_filter, ids_by_reference, layer_index};
use crate::web::layout::{self, Nav};
use crate::web::session::{self, Viewer};

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(page))
}

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "unknown"];
const TREND_DAYS: i64 = 30;
const DAY: i64 = 86_400;

/// Open findings per severity (in [`SEVERITIES`] order) and KEV.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub by_severity: [i64; 5],
    pub kev: i64,
}

impl Totals {
    pub fn total(&self) -> i64 {
        self.by_severity.iter().sum()
    }
}

fn sev_index(s: &str) -> usize {
    SEVERITIES.iter().position(|x| *x == s).unwrap_or(4)
}

/// One fix at a root.
#[derive(Clone, Debug)]
pub struct Fix {
    pub root: String,
    pub root_image: Option<i64>,
    pub owner: Option<String>,
    pub ecosystem: String,
    pub package: String,
    pub fixed: Option<String>,
    pub findings: i64,
    pub images: usize,
    pub kev: i64,
    pub worst: usize,
}

pub struct CampaignRow {
    pub id: i64,
    pub title: String,
    pub items: i64,
    pub done: i64,
    pub overdue: i64,
}

pub struct OverdueItem {
    pub campaign_id: i64,
    pub reference: String,
    pub team: Option<String>,
    pub due_at: i64,
}

pub struct Overview {
    pub now: Totals,
    /// (day's end, totals), oldest first.
    pub trend: Vec<(i64, Totals)>,
    /// scan_status → images.
    pub images: BTreeMap<String, i64>,
    pub fixes: Vec<Fix>,
    pub campaigns: Vec<CampaignRow>,
    pub overdue: Vec<OverdueItem>,
    pub overdue_total: i64,
}

fn totals(tx: &mut dyn Tx, visible: Option<&HashSet<i64>>) -> Result<Totals> {
    let (filter, args) = id_filter("f.image_id", visible);
    let mut t = Totals::default();
    for r in tx.query(
        &format!(
            "SELECT f.severity, COUNT(*), CAST(SUM(f.kev) AS BIGINT) FROM findings f
             JOIN images i ON i.id = f.image_id AND i.deleted_at IS NULL
             WHERE f.state = 'open'{filter} GROUP BY f.severity"
        ),
        &args,
    )? {
        t.by_severity[sev_index(r.str(0)?)] += r.i64(1)?;
        t.kev += r.opt_i64(2)?.unwrap_or(0);
    }
    Ok(t)
}

/// The daily totals of the last [`TREND_DAYS`] days (see the module).
fn trend(tx: &mut dyn Tx, visible: Option<&HashSet<i64>>, t: i64) -> Result<Vec<(i64, Totals)>> {
    let (filter, args) = id_filter("s.image_id", visible);
    let today_end = (t / DAY + 1) * DAY;
    let ends: Vec<i64> = (0..TREND_DAYS).rev().map(|d| today_end - d * DAY).collect();
    let mut current: HashMap<i64, Totals> = HashMap::new();
    let mut sum = Totals::default();
    let mut out = Vec::with_capacity(ends.len());
    let mut next = 0;
    let rows = tx.query(
        &format!(
            "SELECT s.image_id, COALESCE(s.finished_at, s.started_at) AS at, s.critical, s.high,
                    s.medium, s.low, s.unknown, s.kev
             FROM scans s JOIN images i ON i.id = s.image_id AND i.deleted_at IS NULL
             WHERE 1 = 1{filter} ORDER BY at, s.id"
        ),
        &args,
    )?;
    for r in &rows {
        let at = r.i64(1)?;
        while next < ends.len() && at >= ends[next] {
            out.push((ends[next], sum));
            next += 1;
        }
        let new = Totals {
            by_severity: [r.i64(2)?, r.i64(3)?, r.i64(4)?, r.i64(5)?, r.i64(6)?],
            kev: r.i64(7)?,
        };
        let old = current.insert(r.i64(0)?, new).unwrap_or_default();
        for k in 0..5 {
            sum.by_severity[k] += new.by_severity[k] - old.by_severity[k];
        }
        sum.kev += new.kev - old.kev;
    }
    while next < ends.len() {
        out.push((ends[next], sum));
        next += 1;
    }
    Ok(out)
}

/// The fixes that clear the most open findings (see the module).
fn top_fixes(
    tx: &mut dyn Tx,
    graph: &patchline_lineage::Graph,
    visible: Option<&HashSet<i64>>,
    limit: usize,
) -> Result<Vec<Fix>> {
    let ids = ids_by_reference(tx)?;
    let mut node_of: HashMap<i64, NodeId> = HashMap::new();
    for (i, n) in graph.nodes().iter().enumerate() {
        for r in n.references() {
            if let Some(&id) = ids.get(r) {
                node_of.entry(id).or_insert(i);
            }
        }
    }
    let (filter, args) = id_filter("f.image_id", visible);
    #[derive(Default)]
    struct Acc {
        findings: i64,
        images: HashSet<i64>,
        kev: i64,
        worst: usize,
        fixed: HashSet<String>,
    }
    // Key: (root node, or the image itself when uncatalogued; ecosystem; package).
    let mut acc: HashMap<(FixAt, String, String), Acc> = HashMap::new();
    let rows = tx.query(
        &format!(
            "SELECT f.image_id, f.ecosystem, f.package, f.layer_diff_id, f.severity, f.fixed_version,
                    COUNT(*), CAST(SUM(f.kev) AS BIGINT)
             FROM findings f JOIN images i ON i.id = f.image_id AND i.deleted_at IS NULL
             WHERE f.state = 'open' AND f.fixed_version IS NOT NULL AND f.fixed_version <> ''{filter}
             GROUP BY f.image_id, f.ecosystem, f.package, f.layer_diff_id, f.severity, f.fixed_version"
        ),
        &args,
    )?;
    for r in &rows {
        let image = r.i64(0)?;
        let root = match node_of.get(&image) {
            Some(&n) => {
                let k = r.opt_string(3)?.and_then(|d| layer_index(graph, n, &d));
                let mut root = n;
                if let Some(k) = k {
                    while let Some(p) = graph.parent(root) {
                        if !graph.same_layer(p, n, k) {
                            break;
                        }
                        root = p;
                    }
                }
                FixAt::Node(root)
            }
            None => FixAt::Image(image),
        };
        let a = acc
            .entry((root, r.string(1)?, r.string(2)?))
            .or_insert_with(|| Acc {
                worst: 4,
                ..Acc::default()
            });
        let n = r.i64(6)?;
        a.findings += n;
        a.images.insert(image);
        a.kev += r.opt_i64(7)?.unwrap_or(0);
        a.worst = a.worst.min(sev_index(r.str(4)?));
        if let Some(f) = r.opt_string(5)? {
            a.fixed.insert(f);
        }
    }
    let mut fixes: Vec<Fix> = Vec::with_capacity(acc.len());
    let mut names: HashMap<i64, String> = HashMap::new();
    let mut ranked: Vec<_> = acc.into_iter().collect();
    ranked.sort_by(|a, b| {
        b.1.findings
            .cmp(&a.1.findings)
            .then(b.1.kev.cmp(&a.1.kev))
            .then(a.1.worst.cmp(&b.1.worst))
            .then((&a.0 .1, &a.0 .2).cmp(&(&b.0 .1, &b.0 .2)))
    });
    for ((root, eco, pkg), a) in ranked.into_iter().take(limit) {
        let fixed: Vec<String> = a.fixed.into_iter().collect();
        let best = match serde_json::from_value::<Ecosystem>(serde_json::Value::String(eco.clone()))
        {
            Ok(e) => patchline_lineage::plan::highest_fixed(e, &fixed),
            Err(_) => fixed.iter().max().cloned(),
        };
        let (name, image, owner) = match root {
            FixAt::Node(n) => {
                let node = graph.node(n);
                (
                    node.reference().to_string(),
                    node.references().find_map(|r| ids.get(r).copied()),
                    node.entry.owner.as_ref().map(|o| o.team.clone()),
                )
            }
            FixAt::Image(id) => {
                if let std::collections::hash_map::Entry::Vacant(v) = names.entry(id) {
                    let r =
                        tx.query_one("SELECT reference FROM images WHERE id = ?", params![id])?;
                    v.insert(r.string(0)?);
                }
                (names[&id].clone(), Some(id), None)
            }
        };
        fixes.push(Fix {
            root: name,
            root_image: image,
            owner,
            ecosystem: eco,
            package: pkg,
            fixed: best,
            findings: a.findings,
            images: a.images.len(),
            kev: a.kev,
            worst: a.worst,
        });
    }
    Ok(fixes)
}

/// Where a fix belongs: a graph node, or an uncatalogued image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum FixAt {
    Node(NodeId),
    Image(i64),
}

fn campaigns(
    tx: &mut dyn Tx,
    team: Option<&str>,
    t: i64,
) -> Result<(Vec<CampaignRow>, Vec<OverdueItem>, i64)> {
    // An item is overdue when marked so or past its due time and not done.
    const OVERDUE: &str = "(ci.state = 'overdue' OR (ci.due_at IS NOT NULL AND ci.due_at < ? AND ci.state NOT IN ('rebuilt', 'verified', 'exempt')))";
    // The team filters are written in only when there is a team: PostgreSQL cannot type
    // an untyped `? IS NULL`.
    let (camp_team, item_team, team_args): (&str, &str, Vec<crate::db::Value>) = match team {
        Some(t) => (
            " AND EXISTS (SELECT 1 FROM campaign_items x WHERE x.campaign_id = c.id AND x.team = ?)",
            " AND ci.team = ?",
            vec![t.into()],
        ),
        None => ("", "", Vec::new()),
    };
    let mut args: Vec<crate::db::Value> = vec![t.into()];
    args.extend(team_args.iter().cloned());
    let mut rows = Vec::new();
    for r in tx.query(
        &format!(
            "SELECT c.id, c.title, COUNT(ci.reference),
                    CAST(SUM(CASE WHEN ci.state IN ('verified', 'exempt') THEN 1 ELSE 0 END) AS BIGINT),
                    CAST(SUM(CASE WHEN {OVERDUE} THEN 1 ELSE 0 END) AS BIGINT)
             FROM campaigns c LEFT JOIN campaign_items ci ON ci.campaign_id = c.id
             WHERE c.state = 'open'{camp_team}
             GROUP BY c.id, c.title ORDER BY c.id DESC LIMIT 20"
        ),
        &args,
    )? {
        rows.push(CampaignRow {
            id: r.i64(0)?,
            title: r.string(1)?,
            items: r.i64(2)?,
            done: r.opt_i64(3)?.unwrap_or(0),
            overdue: r.opt_i64(4)?.unwrap_or(0),
        });
    }
    let scope = format!(
        "FROM campaign_items ci JOIN campaigns c ON c.id = ci.campaign_id
         WHERE c.state = 'open'{item_team} AND {OVERDUE}"
    );
    let mut args: Vec<crate::db::Value> = team_args.clone();
    args.push(t.into());
    let total = tx.query_i64(&format!("SELECT COUNT(*) {scope}"), &args)?;
    let mut overdue = Vec::new();
    for r in tx.query(
        &format!(
            "SELECT ci.campaign_id, ci.reference, ci.team, COALESCE(ci.due_at, 0) {scope}
             ORDER BY ci.due_at, ci.reference LIMIT 10"
        ),
        &args,
    )? {
        overdue.push(OverdueItem {
            campaign_id: r.i64(0)?,
            reference: r.string(1)?,
            team: r.opt_string(2)?,
            due_at: r.i64(3)?,
        });
    }
    Ok((rows, overdue, total))
}

fn images(tx: &mut dyn Tx, visible: Option<&HashSet<i64>>) -> Result<BTreeMap<String, i64>> {
    let (filter, args) = id_filter("id", visible);
    let mut out = BTreeMap::new();
    for r in tx.query(
        &format!(
            "SELECT scan_status, COUNT(*) FROM images WHERE deleted_at IS NULL{filter} GROUP BY scan_status"
        ),
        &args,
    )? {
        out.insert(r.string(0)?, r.i64(1)?);
    }
    Ok(out)
}

/// The organisation-wide part (cached while the store is unchanged).
struct Figures {
    now: Totals,
    trend: Vec<(i64, Totals)>,
    images: BTreeMap<String, i64>,
    fixes: Vec<Fix>,
}

fn figures(
    tx: &mut dyn Tx,
    graph: &patchline_lineage::Graph,
    visible: Option<&HashSet<i64>>,
    t: i64,
) -> Result<Figures> {
    Ok(Figures {
        now: totals(tx, visible)?,
        trend: trend(tx, visible, t)?,
        images: images(tx, visible)?,
        fixes: top_fixes(tx, graph, visible, 10)?,
    })
}

/// Everything the page shows, as `viewer` may see it.
pub fn load(tx: &mut dyn Tx, viewer: &Viewer, scope: &str) -> Result<Overview> {
    let t = now();
    let (graph, key) = crate::web::cache::graph(tx, scope)?;
    let visible = session::visible_in(tx, viewer, &graph)?;
    let team = (viewer.principal.role == Role::Team)
        .then(|| viewer.principal.team.clone().unwrap_or_default());
    let (campaigns, overdue, overdue_total) = campaigns(tx, team.as_deref(), t)?;
    let f = if visible.is_none() {
        // The trend's days move at midnight: the day is part of the key.
        let key = format!("{key}:{}", t / DAY);
        crate::web::cache::get_or("overview", &key, || figures(tx, &graph, None, t))?
    } else {
        std::sync::Arc::new(figures(tx, &graph, visible.as_ref(), t)?)
    };
    Ok(Overview {
        now: f.now,
        trend: f.trend.clone(),
        images: f.images.clone(),
        fixes: f.fixes.clone(),
        campaigns,
        overdue,
        overdue_total,
    })
}

async fn page(State(state): State<AppState>, viewer: Viewer) -> Response {
    if viewer.principal.require_read().is_err() {
        return layout::forbidden(
            "A scanner token may upload and request scans, not read findings.",
        );
    }
    let v2 = viewer.clone();
    let path = state.advisory_db.clone();
    let age = tokio::task::spawn_blocking(move || crate::api::health::advisory_db_age(&path));
    let scope = state.instance.clone();
    let loaded = state.db.run_read(move |tx| load(tx, &v2, &scope)).await;
    let age = age.await.ok().flatten();
    match loaded {
        Ok(o) => layout::page(&viewer, "Overview", Nav::Overview, render(&o, age)),
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn age_text(secs: f64) -> String {
    let s = secs.max(0.0) as i64;
    if s < 3600 {
        format!("{} minutes", s / 60)
    } else if s < 2 * DAY {
        format!("{} hours", s / 3600)
    } else {
        format!("{} days", s / DAY)
    }
}

/// The trend as a line chart (server-side SVG, classes only: the CSP allows no inline
/// style), with the figures in a table below for screen readers and exact reading.
fn chart(trend: &[(i64, Totals)]) -> Markup {
    const W: f64 = 720.0;
    const H: f64 = 220.0;
    const L: f64 = 48.0;
    const B: f64 = 24.0;
    let max = trend
        .iter()
        .flat_map(|(_, t)| t.by_severity.iter().copied().chain([t.kev]))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = trend.len().max(2) as f64;
    let x = |i: usize| L + (W - L - 10.0) * i as f64 / (n - 1.0);
    let y = |v: i64| 10.0 + (H - B - 10.0) * (1.0 - v as f64 / max);
    let line = |f: &dyn Fn(&Totals) -> i64| {
        trend
            .iter()
            .enumerate()
            .map(|(i, (_, t))| format!("{:.1},{:.1}", x(i), y(f(t))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let day = |ts: i64| {
        crate::db::rfc3339(ts - 1)
            .get(..10)
            .unwrap_or("")
            .to_string()
    };
    html! {
        svg class="chart" viewBox=(format!("0 0 {W} {H}")) role="img"
            aria-label="Open findings by severity and KEV over the last 30 days" xmlns="http://www.w3.org/2000/svg" {
            line class="axis" x1=(L) y1=(H - B) x2=(W - 10.0) y2=(H - B) {}
            line class="axis" x1=(L) y1="10" x2=(L) y2=(H - B) {}
            text x=(L - 6.0) y="16" text-anchor="end" { (max as i64) }
            text x=(L - 6.0) y=(H - B) text-anchor="end" { "0" }
            @if let (Some(first), Some(last)) = (trend.first(), trend.last()) {
                text x=(L) y=(H - 6.0) { (day(first.0)) }
                text x=(W - 10.0) y=(H - 6.0) text-anchor="end" { (day(last.0)) }
            }
            @for (k, s) in SEVERITIES.iter().enumerate().take(4) {
                polyline class=(format!("line sev-{s}")) points=(line(&|t: &Totals| t.by_severity[k])) {}
            }
            polyline class="line kev" points=(line(&|t: &Totals| t.kev)) {}
        }
        ul class="legend" {
            @for s in &SEVERITIES[..4] { li { span class=(format!("swatch sev-{s}")) {} (s) } }
            li { span class="swatch kev" {} "KEV (dashed)" }
        }
        details {
            summary { "The figures" }
            div class="table-wrap" { table {
                thead { tr { th scope="col" { "Day" } @for s in SEVERITIES { th scope="col" class="num" { (s) } } th scope="col" class="num" { "KEV" } } }
                tbody { @for (ts, t) in trend.iter().rev() {
                    tr { th scope="row" { (day(*ts)) } @for v in t.by_severity { td class="num" { (v) } } td class="num" { (t.kev) } }
                } }
            } }
        }
    }
}

pub fn render(o: &Overview, db_age: Option<f64>) -> Markup {
    let scanned = o.images.get("scanned").copied().unwrap_or(0);
    let all: i64 = o.images.values().sum();
    let failed = o.images.get("failed").copied().unwrap_or(0);
    let pending = o.images.get("pending").copied().unwrap_or(0);
    html! {
        section aria-labelledby="now-h" {
            h2 id="now-h" { "Open findings" }
            div class="cards" {
                @for (k, s) in SEVERITIES.iter().enumerate() {
                    a class=(format!("card sev-{s}")) href=(format!("/images?severity={s}")) {
                        span class="n" { (o.now.by_severity[k]) } span class="label" { (s) }
                    }
                }
                a class="card" href="/images?kev=1" { span class="n" { (o.now.kev) } span class="label" { (layout::kev()) " known exploited" } }
                div class="card" {
                    span class="n" { (scanned) } span class="label" { "of " (all) " images scanned" }
                    @if failed > 0 { br; span class="error" { (failed) " failed" } }
                    @if pending > 0 { br; span class="muted" { (pending) " pending" } }
                }
                div class="card" {
                    @match db_age {
                        Some(a) => {
                            span class="n" { (age_text(a)) }
                            span class="label" { "advisory DB age" }
                            @if a > 2.0 * DAY as f64 { br; span class="warn" { "stale: check the feed updates" } }
                        }
                        None => { span class="n" { "—" } span class="label warn" { "no advisory DB yet" } }
                    }
                }
            }
        }
        section aria-labelledby="trend-h" {
            h2 id="trend-h" { "Trend, last 30 days" }
            (chart(&o.trend))
        }
        div class="grid2" {
            section aria-labelledby="fix-h" {
                h2 id="fix-h" { "Top fixes" }
                p class="muted" { "Upgrading the package where it was introduced clears its findings in every image built on it." }
                @if o.fixes.is_empty() { p { "No open finding has a fixed version." } } @else {
                    div class="table-wrap" { table {
                        thead { tr {
                            th scope="col" { "Fix in" } th scope="col" { "Package" } th scope="col" { "To" }
                            th scope="col" class="num" { "Findings" } th scope="col" class="num" { "Images" } th scope="col" { "Worst" }
                        } }
                        tbody { @for f in &o.fixes { tr {
                            th scope="row" {
                                @if let Some(id) = f.root_image { a href=(format!("/images/{id}#plan")) { (f.root) } } @else { (f.root) }
                                @if let Some(t) = &f.owner { br; span class="muted" { "team " (t) } }
                            }
                            td { code { (f.package) } " " span class="muted" { (f.ecosystem) } }
                            td { @if let Some(v) = &f.fixed { code { (v) } } @else { "—" } }
                            td class="num" { (f.findings) @if f.kev > 0 { " " (layout::kev()) } }
                            td class="num" { (f.images) }
                            td { (layout::severity(SEVERITIES[f.worst.min(4)])) }
                        } } }
                    } }
                }
            }
            section aria-labelledby="camp-h" {
                h2 id="camp-h" { "Campaigns in progress" }
                @if o.campaigns.is_empty() { p { "No open campaign." } } @else {
                    div class="table-wrap" { table {
                        thead { tr { th scope="col" { "Campaign" } th scope="col" class="num" { "Done" } th scope="col" class="num" { "Overdue" } } }
                        tbody { @for c in &o.campaigns { tr {
                            th scope="row" { a href=(format!("/campaigns/{}", c.id)) { (c.title) } }
                            td class="num" { (c.done) " / " (c.items) }
                            td class="num" { @if c.overdue > 0 { span class="error" { (c.overdue) } } @else { "0" } }
                        } } }
                    } }
                }
                h3 { "Overdue (" (o.overdue_total) ")" }
                @if o.overdue.is_empty() { p { "Nothing overdue." } } @else {
                    ul { @for i in &o.overdue { li {
                        a href=(format!("/campaigns/{}", i.campaign_id)) { (i.reference) }
                        @if let Some(t) = &i.team { " · team " (t) }
                        @if i.due_at > 0 { " · due " (layout::when(i.due_at)) }
                    } } }
                }
            }
        }
    }
}
