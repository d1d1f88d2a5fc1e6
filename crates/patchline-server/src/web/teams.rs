//! `/teams` and `/teams/{name}`: who owns what, how exposed it is, whether it keeps its
//! SLAs, and how it is told.
//!
//! A team is any name in the catalog's `teams:` section or in an image's `owner:`; a
//! catalog may own images under a team it declares no channels for, and that team still
//! has findings to fix.
//!
//! - Open findings are counted over the images the team owns (what runs in them,
//!   inherited ones included: the image ships them).
//! - SLA status has two parts: the team's campaign items past due (`overdue`, which
//!   [`crate::campaigns::check_sla`] sets and escalates) and its open findings older than
//!   the `[sla]` days of their severity ([`crate::campaigns::sla_days`]).
//! - Channels: a webhook or Slack URL is a credential. Only `admin` and `security` see a
//!   webhook's whole URL and where its secret is read from; everyone else sees the host
//!   ([`crate::notify::channels::redact_url`]) and that a secret exists.
//! - A `team` token sees its own team only: another's page is 404, as if it did not
//!   exist, and lists show only images [`session::visible_images`] lets it see.
//!
//! The list of teams is small (one row per team, not per image), so it is aggregated,
//! sorted and paged in memory; the queries underneath are one grouped pass over the open
//! findings and one over campaign items, whatever the number of teams.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use patchline_lineage::teams::{Channel, Team};

use crate::api::ApiError;
use crate::auth::Role;
use crate::db::{now, Tx};
use crate::params;
use crate::state::AppState;
use crate::web::layout::{self, Nav};
use crate::web::session::{self, Viewer};
use crate::web::table::{self, ListParams};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/teams", get(list))
        .route("/teams/{name}", get(show))
}

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "unknown"];

// ---------------------------------------------------------------------------------------
// Shared by the list pages of this module, campaigns and exceptions.

/// A page-shaped error: the status with a sentence, inside the shell.
pub(crate) fn error_page(viewer: &Viewer, nav: Nav, e: ApiError) -> Response {
    let title = match e.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::CONFLICT => "Conflict",
        s if s.is_client_error() => "Bad request",
        _ => "Error",
    };
    let status = e.status;
    let body = html! { p class="error" role="alert" { (e.message) } };
    (status, layout::page(viewer, title, nav, body)).into_response()
}

/// Whether `viewer` may see the team `name`: a `team` token only its own.
pub(crate) fn may_see_team(viewer: &Viewer, name: &str) -> bool {
    viewer.principal.role != Role::Team || viewer.principal.team.as_deref() == Some(name)
}

/// Admin and security see channel targets in full.
fn sees_secrets(viewer: &Viewer) -> bool {
    matches!(viewer.principal.role, Role::Admin | Role::Security)
}

/// `reference → image id` of the catalogued, stored images.
pub(crate) fn catalog_ids(tx: &mut dyn Tx) -> crate::db::Result<HashMap<String, i64>> {
    tx.query(
        "SELECT reference, image_id FROM catalog_entries WHERE image_id IS NOT NULL",
        &[],
    )?
    .iter()
    .map(|r| Ok((r.string(0)?, r.i64(1)?)))
    .collect()
}

/// A reference, linked to its image page when the viewer may open it.
pub(crate) fn image_link(
    reference: &str,
    ids: &HashMap<String, i64>,
    visible: Option<&HashSet<i64>>,
) -> Markup {
    match ids.get(reference) {
        Some(id) if visible.is_none_or(|v| v.contains(id)) => {
            html! { a href={ "/images/" (id) } { (reference) } }
        }
        _ => html! { span class="ref" { (reference) } },
    }
}

// ---------------------------------------------------------------------------------------
// Data

#[derive(Default, Clone)]
struct Counts {
    by_severity: [i64; 5],
    kev: i64,
    past_sla: i64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        for (a, b) in self.by_severity.iter_mut().zip(o.by_severity) {
            *a += b;
        }
        self.kev += o.kev;
        self.past_sla += o.past_sla;
    }
    fn total(&self) -> i64 {
        self.by_severity.iter().sum()
    }
}

struct TeamRow {
    name: String,
    doc: Option<Team>,
    /// (image id, catalog reference), by reference.
    images: Vec<(i64, String)>,
    counts: Counts,
    overdue_items: i64,
    open_items: i64,
}

/// Open findings per image: counts per severity, KEV, and how many are older than the
/// SLA of their severity.
fn counts_per_image(
    tx: &mut dyn Tx,
    server: &crate::state::Server,
) -> crate::db::Result<HashMap<i64, Counts>> {
    let t = now();
    let cutoff = |sev: &str| t - i64::from(crate::campaigns::sla_days(server, sev)) * 86_400;
    let rows = tx.query(
        "SELECT image_id, severity, COUNT(*), CAST(SUM(kev) AS BIGINT),
                CAST(SUM(CASE WHEN (severity = 'critical' AND first_seen < ?)
                              OR (severity = 'high' AND first_seen < ?)
                              OR (severity = 'medium' AND first_seen < ?)
                              OR (severity = 'low' AND first_seen < ?) THEN 1 ELSE 0 END) AS BIGINT)
         FROM findings WHERE state = 'open' GROUP BY image_id, severity",
        params![
            cutoff("critical"),
            cutoff("high"),
            cutoff("medium"),
            cutoff("low")
        ],
    )?;
    let mut out: HashMap<i64, Counts> = HashMap::new();
    for r in rows {
        let c = out.entry(r.i64(0)?).or_default();
        let sev = r.string(1)?;
        let i = SEVERITIES.iter().position(|s| *s == sev).unwrap_or(4);
        c.by_severity[i] += r.i64(2)?;
        c.kev += r.opt_i64(3)?.unwrap_or(0);
        c.past_sla += r.opt_i64(4)?.unwrap_or(0);
    }
    Ok(out)
}

/// Every team the viewer may see, with its images and counts.
fn load_teams(
    tx: &mut dyn Tx,
    server: &crate::state::Server,
    viewer: &Viewer,
) -> crate::db::Result<Vec<TeamRow>> {
    let visible = session::visible_images(tx, viewer)?;
    let docs: BTreeMap<String, Team> = crate::notify::teams::all(tx)?
        .into_iter()
        .map(|t| (t.name.clone(), t))
        .collect();
    let ids = catalog_ids(tx)?;
    let mut owned: BTreeMap<String, BTreeMap<i64, String>> = BTreeMap::new();
    for e in crate::lineage::load_entries(tx)? {
        let Some(owner) = e.owner.as_ref() else {
            continue;
        };
        let imgs = owned.entry(owner.team.clone()).or_default();
        if let Some(id) = ids.get(&e.reference) {
            if visible.as_ref().is_none_or(|v| v.contains(id)) {
                imgs.entry(*id).or_insert(e.reference.clone());
            }
        }
    }
    let names: BTreeSet<String> = docs.keys().chain(owned.keys()).cloned().collect();
    let per_image = counts_per_image(tx, server)?;
    let mut items: HashMap<String, (i64, i64)> = HashMap::new();
    for r in tx.query(
        "SELECT i.team, i.state, COUNT(*) FROM campaign_items i JOIN campaigns c ON c.id = i.campaign_id
         WHERE c.state = 'open' AND i.team IS NOT NULL AND i.state NOT IN ('verified', 'exempt')
         GROUP BY i.team, i.state",
        &[],
    )? {
        let e = items.entry(r.string(0)?).or_default();
        let n = r.i64(2)?;
        e.1 += n;
        if r.str(1)? == "overdue" {
            e.0 += n;
        }
    }
    let mut out = Vec::new();
    for name in names {
        if !may_see_team(viewer, &name) {
            continue;
        }
        let images: Vec<(i64, String)> = owned
            .get(&name)
            .map(|m| m.iter().map(|(id, r)| (*id, r.clone())).collect())
            .unwrap_or_default();
        let mut counts = Counts::default();
        for (id, _) in &images {
            if let Some(c) = per_image.get(id) {
                counts.add(c);
            }
        }
        let (overdue_items, open_items) = items.get(&name).copied().unwrap_or_default();
        out.push(TeamRow {
            doc: docs.get(&name).cloned(),
            name,
            images,
            counts,
            overdue_items,
            open_items,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Rendering pieces

fn severity_cells(c: &Counts) -> Markup {
    html! {
        @for (i, _) in SEVERITIES.iter().enumerate().take(4) {
            td class="num" { (c.by_severity[i]) }
        }
        td class="num" { (c.kev) }
    }
}

fn sla_status(row: &TeamRow) -> Markup {
    let late = row.overdue_items + row.counts.past_sla;
    html! {
        @if late == 0 {
            span class="sla sla-ok" { "within SLA" }
        } @else {
            span class="sla sla-overdue" {
                "overdue: " (row.overdue_items) " campaign item(s), " (row.counts.past_sla) " finding(s) past SLA"
            }
        }
    }
}

/// One channel as the viewer may see it: kind and target.
fn channel_target(ch: &Channel, full: bool) -> Markup {
    if let Some(w) = &ch.webhook {
        let secret = match (&w.secret_file, &w.secret_env) {
            (Some(f), _) => format!("secret from file {f}"),
            (None, Some(e)) => format!("secret from ${e}"),
            _ => "no secret".into(),
        };
        return if full {
            html! { code { (w.url) } " (signed; " (secret) ")" }
        } else {
            html! { code { (crate::notify::channels::redact_url(&w.url)) } " (path and secret hidden)" }
        };
    }
    if let Some(s) = &ch.slack {
        let from = match (&s.url_file, &s.url_env) {
            (Some(f), _) => format!("URL from file {f}"),
            (None, Some(e)) => format!("URL from ${e}"),
            _ => "no URL configured".into(),
        };
        return if full {
            html! { (from) }
        } else {
            html! { "incoming webhook (URL hidden)" }
        };
    }
    if let Some(e) = &ch.email {
        return html! { (e.to.join(", ")) };
    }
    html! { "—" }
}

fn channels_table(doc: Option<&Team>, full: bool) -> Markup {
    html! {
        @match doc {
            None => p { "No notification settings: the catalog names this team as an owner but declares no " code { "teams:" } " entry for it." },
            Some(t) => {
                @if t.notify.is_empty() {
                    p { "No channels." }
                } @else {
                    table class="channels" {
                        thead { tr { th scope="col" { "Channel" } th scope="col" { "Kind" } th scope="col" { "Target" } } }
                        tbody {
                            @for (i, ch) in t.notify.iter().enumerate() {
                                tr { td { (ch.kind()) "#" (i + 1) } td { (ch.kind()) } td { (channel_target(ch, full)) } }
                            }
                        }
                    }
                }
                p {
                    "Sent at once: "
                    @if t.immediate.is_empty() { "nothing" } @else {
                        (t.immediate.iter().map(|u| format!("{u:?}").to_lowercase()).collect::<Vec<_>>().join(", "))
                    }
                    "; the rest in a " (format!("{:?}", t.digest).to_lowercase()) " digest."
                    @if t.security { " Security team: receives escalations of overdue campaign items." }
                }
                @if !t.vendor_relationships.is_empty() {
                    p { "Vendor of: " (t.vendor_relationships.join(", ")) }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// /teams

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<ListParams>,
) -> Response {
    if let Err(e) = viewer.principal.require_read() {
        return error_page(&viewer, Nav::Teams, e);
    }
    let server = state.clone();
    let v = viewer.clone();
    let rows = match state
        .db
        .run_read(move |tx| load_teams(tx, &server, &v))
        .await
    {
        Ok(r) => r,
        Err(e) => return error_page(&viewer, Nav::Teams, e.into()),
    };
    let needle = p.q.as_deref().unwrap_or("").trim().to_lowercase();
    let mut rows: Vec<TeamRow> = rows
        .into_iter()
        .filter(|r| needle.is_empty() || r.name.to_lowercase().contains(&needle))
        .collect();
    let key = p.sort_key(
        &[
            "name", "images", "critical", "high", "kev", "open", "overdue",
        ],
        "name",
    );
    rows.sort_by(|a, b| {
        let o = match key {
            "images" => a.images.len().cmp(&b.images.len()),
            "critical" => a.counts.by_severity[0].cmp(&b.counts.by_severity[0]),
            "high" => a.counts.by_severity[1].cmp(&b.counts.by_severity[1]),
            "kev" => a.counts.kev.cmp(&b.counts.kev),
            "open" => a.counts.total().cmp(&b.counts.total()),
            "overdue" => {
                (a.overdue_items + a.counts.past_sla).cmp(&(b.overdue_items + b.counts.past_sla))
            }
            _ => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.name.cmp(&b.name));
        if p.desc() {
            o.reverse()
        } else {
            o
        }
    });
    let total = rows.len() as i64;
    let page: Vec<&TeamRow> = rows
        .iter()
        .skip(p.offset() as usize)
        .take(p.per() as usize)
        .collect();
    let keep: Vec<(&str, String)> = vec![("q", p.q.clone().unwrap_or_default())];
    let full = sees_secrets(&viewer);
    let th = |k: &str, label: &str| table::sort_link(&p, "/teams", &keep, k, label, key);
    let body = html! {
        form method="get" action="/teams" class="filters" {
            label for="teams-q" { "Team name" }
            input id="teams-q" name="q" type="search" value=(p.q.clone().unwrap_or_default());
            button type="submit" { "Filter" }
        }
        table class="list teams" {
            caption { "Teams, their images, open findings and SLA status" }
            thead { tr {
                th scope="col" { (th("name", "Team")) }
                th scope="col" { (th("images", "Images")) }
                th scope="col" { (th("open", "Open")) }
                th scope="col" { (th("critical", "Critical")) }
                th scope="col" { (th("high", "High")) }
                th scope="col" { "Medium" }
                th scope="col" { "Low" }
                th scope="col" { (th("kev", "KEV")) }
                th scope="col" { (th("overdue", "SLA")) }
                th scope="col" { "Channels" }
            } }
            tbody {
                @for r in &page {
                    tr data-team=(r.name) {
                        td { a href={ "/teams/" (session::urlencode(&r.name)) } { (r.name) } }
                        td class="num" { (r.images.len()) }
                        td class="num" { (r.counts.total()) }
                        (severity_cells(&r.counts))
                        td { (sla_status(r)) }
                        td {
                            @match &r.doc {
                                Some(t) if !t.notify.is_empty() => {
                                    ul class="channels" {
                                        @for ch in &t.notify { li { (ch.kind()) ": " (channel_target(ch, full)) } }
                                    }
                                }
                                _ => "none",
                            }
                        }
                    }
                }
                @if page.is_empty() { tr { td colspan="10" { "No team matches." } } }
            }
        }
        (table::pager(&p, "/teams", &keep, total))
    };
    layout::page(&viewer, "Teams", Nav::Teams, body)
}

// ---------------------------------------------------------------------------------------
// /teams/{name}

struct TeamFinding {
    image_id: i64,
    reference: String,
    vuln_id: String,
    package: String,
    version: String,
    severity: String,
    kev: bool,
    fixed_version: Option<String>,
    first_seen: i64,
}

struct TeamCampaign {
    id: i64,
    title: String,
    items: Vec<(String, String, Option<i64>)>,
}

struct Delivery {
    at: i64,
    channel: String,
    kind: String,
    attempt: i64,
    ok: bool,
    status: Option<String>,
}

struct TeamPage {
    row: TeamRow,
    findings: Vec<TeamFinding>,
    findings_total: i64,
    campaigns: Vec<TeamCampaign>,
    deliveries: Vec<Delivery>,
}

fn load_team(
    tx: &mut dyn Tx,
    server: &crate::state::Server,
    viewer: &Viewer,
    name: &str,
    p: &ListParams,
) -> crate::db::Result<Option<TeamPage>> {
    let Some(row) = load_teams(tx, server, viewer)?
        .into_iter()
        .find(|r| r.name == name)
    else {
        return Ok(None);
    };
    let refs: HashMap<i64, String> = row.images.iter().cloned().collect();
    let mut findings = Vec::new();
    let mut findings_total = 0;
    if !refs.is_empty() {
        // The team's images are few next to the store: their ids are bound one by one.
        let marks = vec!["?"; refs.len()].join(", ");
        let ids: Vec<crate::db::Value> = refs.keys().map(|i| (*i).into()).collect();
        findings_total = tx.query_i64(
            &format!(
                "SELECT COUNT(*) FROM findings WHERE state = 'open' AND image_id IN ({marks})"
            ),
            &ids,
        )?;
        let order = match p.sort_key(&["severity", "cve", "package", "age"], "severity") {
            "cve" => "vuln_id",
            "package" => "package",
            "age" => "first_seen",
            _ => "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END",
        };
        let dir = if p.desc() { "DESC" } else { "ASC" };
        let mut args = ids.clone();
        args.push(i64::from(p.per()).into());
        args.push(p.offset().into());
        for r in tx.query(
            &format!(
                "SELECT image_id, vuln_id, package, version, severity, kev, fixed_version, first_seen
                 FROM findings WHERE state = 'open' AND image_id IN ({marks})
                 ORDER BY {order} {dir}, kev DESC, vuln_id, id LIMIT ? OFFSET ?"
            ),
            &args,
        )? {
            let image_id = r.i64(0)?;
            findings.push(TeamFinding {
                image_id,
                reference: refs.get(&image_id).cloned().unwrap_or_default(),
                vuln_id: r.string(1)?,
                package: r.string(2)?,
                version: r.string(3)?,
                severity: r.string(4)?,
                kev: r.bool(5)?,
                fixed_version: r.opt_string(6)?,
                first_seen: r.i64(7)?,
            });
        }
    }
    let mut campaigns: BTreeMap<i64, TeamCampaign> = BTreeMap::new();
    for r in tx.query(
        "SELECT c.id, c.title, i.reference, i.state, i.due_at FROM campaign_items i
         JOIN campaigns c ON c.id = i.campaign_id
         WHERE c.state = 'open' AND i.team = ? AND i.state NOT IN ('verified', 'exempt')
         ORDER BY c.id DESC, i.wave, i.reference",
        params![name],
    )? {
        let id = r.i64(0)?;
        let c = campaigns.entry(id).or_insert(TeamCampaign {
            id,
            title: r.string(1)?,
            items: Vec::new(),
        });
        c.items.push((r.string(2)?, r.string(3)?, r.opt_i64(4)?));
    }
    let deliveries = tx
        .query(
            "SELECT d.at, d.channel, n.kind, d.attempt, d.ok, d.status FROM deliveries d
             JOIN notifications n ON n.id = d.notification_id
             WHERE n.team = ? ORDER BY d.at DESC, d.id DESC LIMIT 20",
            params![name],
        )?
        .iter()
        .map(|r| {
            Ok(Delivery {
                at: r.i64(0)?,
                channel: r.string(1)?,
                kind: r.string(2)?,
                attempt: r.i64(3)?,
                ok: r.bool(4)?,
                status: r.opt_string(5)?,
            })
        })
        .collect::<crate::db::Result<_>>()?;
    Ok(Some(TeamPage {
        row,
        findings,
        findings_total,
        campaigns: campaigns.into_values().rev().collect(),
        deliveries,
    }))
}

async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(p): Query<ListParams>,
) -> Response {
    if let Err(e) = viewer.principal.require_read() {
        return error_page(&viewer, Nav::Teams, e);
    }
    let not_found = || ApiError::not_found(format!("no team {name}"));
    if name.len() > 200 || !may_see_team(&viewer, &name) {
        return error_page(&viewer, Nav::Teams, not_found());
    }
    let server = state.clone();
    let v = viewer.clone();
    let (n2, p2) = (name.clone(), p.clone());
    let page = match state
        .db
        .run_read(move |tx| load_team(tx, &server, &v, &n2, &p2))
        .await
    {
        Ok(Some(t)) => t,
        Ok(None) => return error_page(&viewer, Nav::Teams, not_found()),
        Err(e) => return error_page(&viewer, Nav::Teams, e.into()),
    };
    let base = format!("/teams/{}", session::urlencode(&name));
    let key = p.sort_key(&["severity", "cve", "package", "age"], "severity");
    let keep: Vec<(&str, String)> = Vec::new();
    let th = |k: &str, label: &str| table::sort_link(&p, &base, &keep, k, label, key);
    let r = &page.row;
    let body = html! {
        section id="summary" {
            h2 { "Summary" }
            table class="summary" {
                thead { tr {
                    th scope="col" { "Images" } th scope="col" { "Open" }
                    th scope="col" { "Critical" } th scope="col" { "High" } th scope="col" { "Medium" } th scope="col" { "Low" }
                    th scope="col" { "KEV" } th scope="col" { "Open campaign items" } th scope="col" { "SLA" }
                } }
                tbody { tr {
                    td class="num" { (r.images.len()) } td class="num" { (r.counts.total()) }
                    (severity_cells(&r.counts))
                    td class="num" { (r.open_items) }
                    td { (sla_status(r)) }
                } }
            }
        }
        section id="images" {
            h2 { "Images" }
            @if r.images.is_empty() { p { "No catalogued image of this team is stored yet." } } @else {
                ul { @for (id, reference) in &r.images { li { a href={ "/images/" (id) } { (reference) } } } }
            }
        }
        section id="findings" {
            h2 { "Open findings" }
            table class="list findings" {
                thead { tr {
                    th scope="col" { (th("cve", "Vulnerability")) }
                    th scope="col" { (th("severity", "Severity")) }
                    th scope="col" { "Image" }
                    th scope="col" { (th("package", "Package")) }
                    th scope="col" { "Fixed in" }
                    th scope="col" { (th("age", "First seen")) }
                } }
                tbody {
                    @for f in &page.findings {
                        tr data-cve=(f.vuln_id) {
                            td { a href={ "/cves/" (session::urlencode(&f.vuln_id)) } { (f.vuln_id) } @if f.kev { " " (layout::kev()) } }
                            td { (layout::severity(&f.severity)) }
                            td { a href={ "/images/" (f.image_id) } { (f.reference) } }
                            td { (f.package) " " (f.version) }
                            td { (f.fixed_version.as_deref().unwrap_or("not fixed")) }
                            td { (layout::when(f.first_seen)) }
                        }
                    }
                    @if page.findings.is_empty() { tr { td colspan="6" { "No open finding." } } }
                }
            }
            (table::pager(&p, &base, &keep, page.findings_total))
        }
        section id="campaigns" {
            h2 { "Campaigns to act in" }
            @if page.campaigns.is_empty() { p { "None open." } } @else {
                table class="list" {
                    thead { tr { th scope="col" { "Campaign" } th scope="col" { "Image" } th scope="col" { "State" } th scope="col" { "Due" } } }
                    tbody {
                        @for c in &page.campaigns { @for (reference, st, due) in &c.items {
                            tr {
                                td { a href={ "/campaigns/" (c.id) } { "#" (c.id) " " (c.title) } }
                                td { (reference) }
                                td { span class={ "state state-" (st) } { (st) } }
                                td { @if let Some(d) = due { (layout::when(*d)) } @else { "—" } }
                            }
                        } }
                    }
                }
            }
        }
        section id="channels" {
            h2 { "Notification settings" }
            (channels_table(r.doc.as_ref(), sees_secrets(&viewer)))
        }
        section id="deliveries" {
            h2 { "Recent deliveries" }
            @if page.deliveries.is_empty() { p { "Nothing sent yet." } } @else {
                table class="list" {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Channel" } th scope="col" { "Kind" } th scope="col" { "Attempt" } th scope="col" { "Result" } } }
                    tbody {
                        @for d in &page.deliveries {
                            tr {
                                td { (layout::when(d.at)) } td { (d.channel) } td { (d.kind) } td class="num" { (d.attempt) }
                                td { @if d.ok { "sent" } @else { "failed" } @if let Some(s) = &d.status { ": " (s) } }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page(&viewer, &format!("Team {name}"), Nav::Teams, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchline_lineage::teams::{Slack, Webhook};

    #[test]
    fn channel_targets_hide_secrets_unless_allowed() {
        let w = Channel {
            webhook: Some(Webhook {
                url: "https://hooks.example:8443/secret-path/xyz?token=1".into(),
                secret_file: Some("/etc/patchline/hook.key".into()),
                secret_env: None,
            }),
            ..Channel::default()
        };
        let hidden = channel_target(&w, false).into_string();
        assert!(hidden.contains("https://hooks.example:8443"), "{hidden}");
        for s in ["secret-path", "token=1", "hook.key"] {
            assert!(!hidden.contains(s), "{s} in {hidden}");
        }
        let shown = channel_target(&w, true).into_string();
        assert!(
            shown.contains("secret-path") && shown.contains("hook.key"),
            "{shown}"
        );
        let s = Channel {
            slack: Some(Slack {
                url_file: None,
                url_env: Some("SHOP_SLACK_URL".into()),
            }),
            ..Channel::default()
        };
        assert!(!channel_target(&s, false)
            .into_string()
            .contains("SHOP_SLACK"));
        assert!(channel_target(&s, true)
            .into_string()
            .contains("SHOP_SLACK_URL"));
    }
}
