//! The CVE pages: `/cves` (every vulnerability with open findings in the images the
//! viewer sees: worst severity, KEV, EPSS, how many images; filtered, sorted and paged in
//! SQL) and `/cves/{id}` (every affected image grouped by the root image that must be
//! fixed, with the root's owner and the campaigns rebuilding it).
//!
//! The grouping is the API's `GET /api/v1/cves/{id}` (`api::hierarchy::impact`:
//! patchline-lineage's `impact_cve` over the stored catalog and open findings). A team
//! token sees the groups of images it may see only; a root outside its view never is
//! (roots are ancestors, and a team sees its images' ancestors).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use patchline_lineage::impact::{Action, AffectedImage, ImpactReport, RootFix};
use serde::Deserialize;

use crate::api::hierarchy::{check_vuln_id, impact, UncataloguedImage};
use crate::api::images::placeholders;
use crate::api::ApiError;
use crate::db::{Tx, Value};
use crate::state::AppState;
use crate::web::images::{
    contains_pattern, fail, given, image_ids_of, not_found, require_read, severity_of_rank,
    SEVERITY_RANK,
};
use crate::web::layout::{self, Nav};
use crate::web::session::{urlencode, visible_images, Viewer};
use crate::web::table::{pager, sort_link, ListParams};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cves", get(list))
        .route("/cves/{id}", get(detail))
}

#[derive(Deserialize, Default, Clone)]
pub struct CvesQuery {
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<String>,
    per: Option<String>,
    /// `1`: only known exploited.
    kev: Option<String>,
}

const SORTS: [&str; 5] = ["severity", "id", "images", "epss", "kev"];

impl CvesQuery {
    fn list(&self) -> ListParams {
        ListParams {
            q: given(&self.q, 100),
            sort: given(&self.sort, 20),
            dir: given(&self.dir, 4),
            page: self.page.as_deref().and_then(|p| p.parse().ok()),
            per: self.per.as_deref().and_then(|p| p.parse().ok()),
        }
    }
    fn kev(&self) -> bool {
        self.kev.as_deref() == Some("1")
    }
    fn keep(&self) -> Vec<(&'static str, String)> {
        vec![
            ("q", given(&self.q, 100).unwrap_or_default()),
            (
                "kev",
                if self.kev() {
                    "1".into()
                } else {
                    String::new()
                },
            ),
        ]
    }
}

struct CveRow {
    id: String,
    worst: i64,
    kev: bool,
    epss: Option<f64>,
    cvss: Option<f64>,
    images: i64,
    fixed: bool,
}

fn query_page(
    tx: &mut dyn Tx,
    q: &CvesQuery,
    p: &ListParams,
    visible: Option<&HashSet<i64>>,
) -> Result<(Vec<CveRow>, i64), ApiError> {
    // Deleted images are few: excluded as a set, not by a lookup per finding.
    let mut wh = String::from(
        " WHERE f.state = 'open' AND f.image_id NOT IN (SELECT id FROM images WHERE deleted_at IS NOT NULL)",
    );
    let mut args: Vec<Value> = Vec::new();
    if let Some(text) = &p.q {
        wh.push_str(" AND LOWER(f.vuln_id) LIKE ? ESCAPE '\\'");
        args.push(contains_pattern(text).into());
    }
    if let Some(v) = visible {
        if v.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let mut ids: Vec<i64> = v.iter().copied().collect();
        ids.sort_unstable();
        wh.push_str(&format!(" AND f.image_id IN {}", placeholders(ids.len())));
        args.extend(ids.into_iter().map(Value::from));
    }
    let having = if q.kev() {
        " HAVING MAX(f.kev) = 1"
    } else {
        ""
    };
    let grouped = format!(
        "SELECT f.vuln_id, MIN({SEVERITY_RANK}) AS worst, MAX(f.kev) AS kev, MAX(f.epss) AS epss,
                MAX(f.cvss) AS cvss, COUNT(DISTINCT f.image_id) AS images,
                MAX(CASE WHEN f.fixed_version IS NULL THEN 0 ELSE 1 END) AS fixed
         FROM findings f{wh}
         GROUP BY f.vuln_id{having}"
    );
    let (asc, desc) = if p.desc() {
        ("DESC", "ASC")
    } else {
        ("ASC", "DESC")
    };
    // Ascending on a risk column is the riskiest first.
    let order = match p.sort_key(&SORTS, "severity") {
        "id" => format!("vuln_id {asc}"),
        "images" => format!("images {desc}, worst, vuln_id"),
        "epss" => format!("epss IS NULL, epss {desc}, vuln_id"),
        "kev" => format!("kev {desc}, worst, vuln_id"),
        _ => format!("worst {asc}, kev DESC, epss IS NULL, epss DESC, images DESC, vuln_id"),
    };
    let mut page_args = args.clone();
    page_args.push(Value::from(p.per() as i64));
    page_args.push(Value::from(p.offset()));
    // The number of groups comes with the page (one aggregation, not two); a page past
    // the end has no row to carry it.
    let found = tx.query(
        &format!(
            "SELECT t.*, COUNT(*) OVER () FROM ({grouped}) t ORDER BY {order} LIMIT ? OFFSET ?"
        ),
        &page_args,
    )?;
    let total = match found.first() {
        Some(r) => r.i64(7)?,
        None => tx.query_i64(&format!("SELECT COUNT(*) FROM ({grouped}) t"), &args)?,
    };
    let rows = found
        .iter()
        .map(|r| {
            Ok(CveRow {
                id: r.string(0)?,
                worst: r.i64(1)?,
                kev: r.i64(2)? != 0,
                epss: r.opt_f64(3)?,
                cvss: r.opt_f64(4)?,
                images: r.i64(5)?,
                fixed: r.i64(6)? != 0,
            })
        })
        .collect::<crate::db::Result<Vec<_>>>()?;
    Ok((rows, total))
}

async fn list(State(s): State<AppState>, viewer: Viewer, Query(q): Query<CvesQuery>) -> Response {
    if let Err(r) = require_read(&viewer) {
        return r;
    }
    let p = q.list();
    let (v2, q2, p2) = (viewer.clone(), q.clone(), p.clone());
    let found =
        s.db.run_read(move |tx| -> Result<_, ApiError> {
            let visible = visible_images(tx, &v2)?;
            query_page(tx, &q2, &p2, visible.as_ref())
        })
        .await;
    let (rows, total) = match found {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let keep = q.keep();
    let current = p.sort_key(&SORTS, "severity");
    let th = |key: &str, label: &str| sort_link(&p, "/cves", &keep, key, label, current);
    let body = html! {
        form class="filters" method="get" action="/cves" role="search" {
            label for="c-q" { "Vulnerability id" }
            input id="c-q" name="q" type="search" value=(given(&q.q, 100).unwrap_or_default());
            input id="c-kev" name="kev" type="checkbox" value="1" checked[q.kev()];
            label for="c-kev" { "Known exploited (KEV) only" }
            @if let Some(s) = given(&q.sort, 20) { input type="hidden" name="sort" value=(s); }
            @if let Some(d) = given(&q.dir, 4) { input type="hidden" name="dir" value=(d); }
            button type="submit" { "Filter" }
        }
        table class="list cves" {
            caption { "Vulnerabilities with open findings" }
            thead { tr {
                th scope="col" { (th("id", "Vulnerability")) }
                th scope="col" { (th("severity", "Worst severity")) }
                th scope="col" { (th("kev", "KEV")) }
                th scope="col" class="num" { (th("epss", "EPSS")) }
                th scope="col" class="num" { "CVSS" }
                th scope="col" class="num" { (th("images", "Images")) }
                th scope="col" { "Fix" }
            } }
            tbody {
                @for r in &rows {
                    tr data-cve=(r.id) {
                        th scope="row" { a href={ "/cves/" (urlencode(&r.id)) } { (r.id) } }
                        td { (layout::severity(severity_of_rank(r.worst))) }
                        td { @if r.kev { (layout::kev()) } @else { "no" } }
                        td class="num" { @if let Some(e) = r.epss { (format!("{:.1}%", e * 100.0)) } @else { "—" } }
                        td class="num" { @if let Some(c) = r.cvss { (format!("{c:.1}")) } @else { "—" } }
                        td class="num" { (r.images) }
                        td { @if r.fixed { "available" } @else { "none yet" } }
                    }
                }
                @if rows.is_empty() { tr { td colspan="7" { "No open vulnerability matches these filters." } } }
            }
        }
        (pager(&p, "/cves", &keep, total))
    };
    layout::page(&viewer, "CVEs", Nav::Cves, body)
}

/// A campaign touching a root's group.
struct Campaign {
    id: i64,
    kind: String,
    title: String,
    state: String,
    root: String,
    /// Item states of the campaign (reference → state).
    items: BTreeMap<String, String>,
}

struct Facts {
    worst: Option<i64>,
    kev: bool,
    epss: Option<f64>,
    cvss: Option<f64>,
    summary: Option<String>,
    fixed_versions: BTreeSet<String>,
}

struct CveData {
    id: String,
    facts: Facts,
    report: ImpactReport,
    uncatalogued: Vec<(UncataloguedImage, Option<i64>)>,
    /// Stored image of each catalogued reference in the report.
    ids: BTreeMap<String, i64>,
    campaigns: Vec<Campaign>,
    /// References the viewer may see (`None`: all).
    visible_refs: Option<BTreeSet<String>>,
}

async fn detail(State(s): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> Response {
    if let Err(r) = require_read(&viewer) {
        return r;
    }
    if check_vuln_id(&id).is_err() {
        return not_found(&viewer, Nav::Cves, "This vulnerability");
    }
    let v2 = viewer.clone();
    let found = s.db.run_read(move |tx| load(tx, &v2, id)).await;
    match found {
        Ok(Some(d)) => render(&viewer, d),
        Ok(None) => not_found(&viewer, Nav::Cves, "This vulnerability"),
        Err(e) => fail(e),
    }
}

fn load(tx: &mut dyn Tx, viewer: &Viewer, id: String) -> Result<Option<CveData>, ApiError> {
    let visible = visible_images(tx, viewer)?;
    // The facts over the open findings the viewer may see.
    let mut wh = format!(
        " WHERE f.state = 'open' AND i.deleted_at IS NULL AND {}",
        crate::store::VULN_OR_ALIAS
    );
    let mut args: Vec<Value> = vec![id.as_str().into(), id.as_str().into()];
    if let Some(v) = &visible {
        if v.is_empty() {
            return Ok(None);
        }
        let mut ids: Vec<i64> = v.iter().copied().collect();
        ids.sort_unstable();
        wh.push_str(&format!(" AND f.image_id IN {}", placeholders(ids.len())));
        args.extend(ids.into_iter().map(Value::from));
    }
    let rows = tx.query(
        &format!(
            "SELECT {SEVERITY_RANK}, f.kev, f.epss, f.cvss, f.summary, f.fixed_version, f.image_id
             FROM findings f JOIN images i ON i.id = f.image_id{wh}"
        ),
        &args,
    )?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut facts = Facts {
        worst: None,
        kev: false,
        epss: None,
        cvss: None,
        summary: None,
        fixed_versions: BTreeSet::new(),
    };
    for r in &rows {
        let rank = r.i64(0)?;
        facts.worst = Some(facts.worst.map_or(rank, |w| w.min(rank)));
        facts.kev |= r.bool(1)?;
        if let Some(e) = r.opt_f64(2)? {
            facts.epss = Some(facts.epss.map_or(e, |x| x.max(e)));
        }
        if let Some(c) = r.opt_f64(3)? {
            facts.cvss = Some(facts.cvss.map_or(c, |x| x.max(c)));
        }
        if facts.summary.is_none() {
            facts.summary = r.opt_string(4)?;
        }
        if let Some(v) = r.opt_string(5)? {
            facts.fixed_versions.insert(v);
        }
    }
    let (_, report, uncatalogued) = impact(tx, &id)?;
    let mut refs: BTreeSet<String> = report.images.iter().map(|i| i.image.clone()).collect();
    refs.extend(report.roots.iter().map(|r| r.image.clone()));
    let ids = image_ids_of(tx, &refs.iter().cloned().collect::<Vec<_>>())?;
    let visible_refs = visible.as_ref().map(|v| {
        ids.iter()
            .filter(|(_, i)| v.contains(i))
            .map(|(r, _)| r.clone())
            .collect::<BTreeSet<_>>()
    });
    let mut unc = Vec::new();
    for u in uncatalogued {
        let image_id = tx
            .query_opt(
                "SELECT id FROM images WHERE digest = ? AND deleted_at IS NULL",
                crate::params![&u.digest],
            )?
            .map(|r| r.i64(0))
            .transpose()?;
        if visible
            .as_ref()
            .is_none_or(|v| image_id.is_some_and(|i| v.contains(&i)))
        {
            unc.push((u, image_id));
        }
    }
    let campaigns = campaigns_of(tx, &id, &report)?;
    Ok(Some(CveData {
        id,
        facts,
        report,
        uncatalogued: unc,
        ids,
        campaigns,
        visible_refs,
    }))
}

/// The campaigns of this CVE, and open base-moved campaigns of its roots (the rebuilds
/// that follow a root's fix).
fn campaigns_of(
    tx: &mut dyn Tx,
    id: &str,
    report: &ImpactReport,
) -> Result<Vec<Campaign>, ApiError> {
    let roots: Vec<String> = report
        .roots
        .iter()
        .map(|r| r.image.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut args: Vec<Value> = vec![id.into()];
    let mut sql = String::from(
        "SELECT id, kind, title, state, root_reference FROM campaigns WHERE vuln_id = ?",
    );
    if !roots.is_empty() {
        sql.push_str(&format!(
            " OR (kind = 'base-moved' AND state = 'open' AND root_reference IN {})",
            placeholders(roots.len())
        ));
        args.extend(roots.iter().map(Value::from));
    }
    sql.push_str(" ORDER BY opened_at DESC, id DESC LIMIT 50");
    let mut out: Vec<Campaign> = tx
        .query(&sql, &args)?
        .iter()
        .map(|r| {
            Ok(Campaign {
                id: r.i64(0)?,
                kind: r.string(1)?,
                title: r.string(2)?,
                state: r.string(3)?,
                root: r.string(4)?,
                items: BTreeMap::new(),
            })
        })
        .collect::<crate::db::Result<_>>()?;
    if out.is_empty() {
        return Ok(out);
    }
    let cids: Vec<Value> = out.iter().map(|c| Value::from(c.id)).collect();
    for r in tx.query(
        &format!(
            "SELECT campaign_id, reference, state FROM campaign_items WHERE campaign_id IN {}",
            placeholders(cids.len())
        ),
        &cids,
    )? {
        let cid = r.i64(0)?;
        if let Some(c) = out.iter_mut().find(|c| c.id == cid) {
            c.items.insert(r.string(1)?, r.string(2)?);
        }
    }
    Ok(out)
}

/// `2 to-rebuild, 1 verified`: the campaign's items within one root's group.
fn item_states(c: &Campaign, group: &BTreeSet<&str>) -> String {
    let mut n: BTreeMap<&str, usize> = BTreeMap::new();
    for (r, s) in &c.items {
        if group.contains(r.as_str()) {
            *n.entry(s.as_str()).or_default() += 1;
        }
    }
    n.iter()
        .map(|(s, k)| format!("{k} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::Fix => "fix",
        Action::Rebuild => "rebuild",
        Action::VendorMustFix => "vendor must fix",
        Action::RebuildAfterVendor => "rebuild after the vendor's fix",
    }
}

fn link(reference: &str, ids: &BTreeMap<String, i64>) -> Markup {
    html! {
        @match ids.get(reference) {
            Some(i) => a href={ "/images/" (i) } { (reference) },
            None => span { (reference) },
        }
    }
}

fn render(viewer: &Viewer, d: CveData) -> Response {
    let shown = |r: &str| d.visible_refs.as_ref().is_none_or(|v| v.contains(r));
    // Root image → its fixes (one per vulnerable package).
    let mut groups: BTreeMap<&str, Vec<&RootFix>> = BTreeMap::new();
    for r in &d.report.roots {
        groups.entry(r.image.as_str()).or_default().push(r);
    }
    // Each root with the affected images the viewer may see; a root none of whose
    // images is visible is left out.
    let sections: Vec<(&str, &Vec<&RootFix>, Vec<&AffectedImage>)> = groups
        .iter()
        .map(|(root, fixes)| {
            let members: Vec<&AffectedImage> = d
                .report
                .images
                .iter()
                .filter(|i| shown(&i.image) && i.packages.iter().any(|p| p.root == *root))
                .collect();
            (*root, fixes, members)
        })
        .filter(|(root, _, members)| {
            !members.is_empty() || (d.visible_refs.is_none() && shown(root))
        })
        .collect();
    let f = &d.facts;
    let upper = d.id.to_ascii_uppercase();
    let body = html! {
        section id="facts" aria-labelledby="facts-h" {
            h2 id="facts-h" { "Summary" }
            dl class="facts" {
                dt { "Worst severity" } dd { (layout::severity(severity_of_rank(f.worst.unwrap_or(4)))) }
                dt { "Known exploited" } dd { @if f.kev { (layout::kev()) " yes" } @else { "no" } }
                dt { "EPSS" } dd { @if let Some(e) = f.epss { (format!("{:.1}%", e * 100.0)) } @else { "—" } }
                dt { "CVSS" } dd { @if let Some(c) = f.cvss { (format!("{c:.1}")) } @else { "—" } }
                dt { "Fixed versions" }
                dd { @if f.fixed_versions.is_empty() { "none yet" } @else { (f.fixed_versions.iter().cloned().collect::<Vec<_>>().join(", ")) } }
                @if let Some(s) = &f.summary { dt { "Summary" } dd { (s) } }
                @if upper.starts_with("CVE-") {
                    dt { "Elsewhere" } dd { a href={ "https://nvd.nist.gov/vuln/detail/" (urlencode(&d.id)) } rel="noreferrer" { "NVD" } }
                }
            }
            p {
                (sections.iter().map(|(_, _, m)| m.len()).sum::<usize>()) " affected catalogued image(s) under "
                (sections.len()) " root(s)."
            }
        }
        @for (root, fixes, members) in &sections {
            (root_section(root, fixes, members, &d))
        }
        @if !d.uncatalogued.is_empty() {
            section id="uncatalogued" aria-labelledby="unc-h" {
                h2 id="unc-h" { "Affected images outside the hierarchy" }
                p { "No catalog entry names these images: where their fix belongs is unknown." }
                ul {
                    @for (u, i) in &d.uncatalogued {
                        li {
                            @match i { Some(i) => a href={ "/images/" (i) } { (u.reference) }, None => (u.reference) }
                            " " code { (crate::web::images::short_digest(&u.digest)) }
                        }
                    }
                }
            }
        }
        @for w in &d.report.warnings { p class="note" { (w) } }
    };
    layout::page(viewer, &d.id, Nav::Cves, body)
}

fn root_section(root: &str, fixes: &[&RootFix], members: &[&AffectedImage], d: &CveData) -> Markup {
    let first = fixes[0];
    let owner = first.owner.as_ref().map(|o| o.team.as_str());
    let group: BTreeSet<&str> = members
        .iter()
        .map(|m| m.image.as_str())
        .chain(std::iter::once(root))
        .collect();
    let campaigns: Vec<&Campaign> = d
        .campaigns
        .iter()
        .filter(|c| c.root == root || c.items.keys().any(|r| group.contains(r.as_str())))
        .collect();
    html! {
        section class="root" data-root=(root) aria-label={ "Root " (root) } {
            h2 { "Fix at " (link(root, &d.ids)) }
            dl class="facts" {
                dt { "Owner" }
                dd class="owner" {
                    @match owner { Some(t) => { a href={ "/teams/" (urlencode(t)) } { (t) } }, None => "no owner" }
                    @if let Some(c) = first.owner.as_ref().and_then(|o| o.contact.as_ref()) { " · " (c) }
                }
                dt { "Tier" } dd { (first.tier.as_str()) }
                dt { "Action" } dd { (action_word(first.action)) }
                dt { "Packages" }
                dd {
                    ul {
                        @for fx in fixes {
                            li {
                                (fx.package.name) " " (fx.package.version)
                                @if !fx.fixed_versions.is_empty() { " → " (fx.fixed_versions.join(", ")) } @else { " (no fixed version yet)" }
                                @if let Some(l) = fx.layer { " · layer " (l) }
                                @if let Some(x) = &fx.fixed_in { " · already fixed in " (link(x, &d.ids)) ": rebuild on it" }
                            }
                        }
                    }
                }
                dt { "Campaigns" }
                dd {
                    @if campaigns.is_empty() { "none" } @else {
                        ul {
                            @for c in &campaigns {
                                li class="campaign" data-state=(c.state) {
                                    a href={ "/campaigns/" (c.id) } { (c.title) }
                                    " · " (c.kind) " · " strong { (c.state) }
                                    @let states = item_states(c, &group);
                                    @if !states.is_empty() { " (" (states) ")" }
                                }
                            }
                        }
                    }
                }
            }
            table class="list affected" {
                caption { "Images affected through " (root) }
                thead { tr {
                    th scope="col" { "Image" }
                    th scope="col" { "Tier" }
                    th scope="col" { "Owner" }
                    th scope="col" { "Action" }
                    th scope="col" { "Package" }
                    th scope="col" { "Campaign item" }
                } }
                tbody {
                    @for m in members {
                        @let item = campaigns.iter().find_map(|c| c.items.get(&m.image));
                        tr data-image=(m.image) {
                            th scope="row" { (link(&m.image, &d.ids)) }
                            td { (m.tier.as_str()) }
                            td { (m.owner.as_ref().map(|o| o.team.as_str()).unwrap_or("no owner")) }
                            td { (action_word(m.action)) @if !m.direct { " (inherited)" } }
                            td {
                                @for (k, p) in m.packages.iter().filter(|p| p.root == root).enumerate() {
                                    @if k > 0 { ", " }
                                    (p.package.name) " " (p.package.version)
                                }
                            }
                            td { (item.map(String::as_str).unwrap_or("—")) }
                        }
                    }
                }
            }
        }
    }
}
