//! `/campaigns` and `/campaigns/{id}`: rebuild campaigns, what opened them, their waves,
//! and who is waiting for whom.
//!
//! The pages read what the API reads ([`crate::campaigns::summary`],
//! [`crate::campaigns::detail`]); only the order and paging of the list are the page's.
//!
//! - States shown as the server keeps them (`waiting` and `to-rebuild` are both
//!   *pending*: the first still blocked, the second free to rebuild), plus `rebuilt`,
//!   `verified`, `overdue` and `exempt` (COTS: the vendor rebuilds).
//! - Blocking: an item waits for its parent when the parent is an item of an earlier
//!   wave that is not yet rebuilt *and verified* — the server releases children only on
//!   a verified parent ([`crate::campaigns::on_image_scanned`]), so a parent that is
//!   `rebuilt` but failed verification still blocks, and the page says so by name.
//! - A `team` token sees campaigns with an item on an image it may see (or owned by its
//!   team), and only those items; others are 404.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;

use crate::api::ApiError;
use crate::auth::Role;
use crate::campaigns::{CampaignDetail, CampaignItem, CampaignSummary, CAMPAIGN_COLUMNS};
use crate::db::{Tx, Value};
use crate::params;
use crate::state::AppState;
use crate::web::layout::{self, Nav};
use crate::web::session::{self, Viewer};
use crate::web::table::{self, ListParams};
use crate::web::teams::{catalog_ids, error_page, image_link};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list))
        .route("/campaigns/{id}", get(show))
}

/// The campaigns a `team` viewer may see (`None`: all).
fn visible_campaigns(tx: &mut dyn Tx, viewer: &Viewer) -> crate::db::Result<Option<HashSet<i64>>> {
    let Some(visible) = session::visible_images(tx, viewer)? else {
        return Ok(None);
    };
    let ids = catalog_ids(tx)?;
    let team = viewer.principal.team.clone();
    let mut out = HashSet::new();
    for r in tx.query(
        "SELECT campaign_id, reference, team FROM campaign_items",
        &[],
    )? {
        let seen = ids.get(r.str(1)?).is_some_and(|i| visible.contains(i));
        if seen || (team.is_some() && r.opt_string(2)? == team) {
            out.insert(r.i64(0)?);
        }
    }
    Ok(Some(out))
}

fn item_visible(
    it: &CampaignItem,
    viewer: &Viewer,
    ids: &HashMap<String, i64>,
    visible: Option<&HashSet<i64>>,
) -> bool {
    let Some(v) = visible else { return true };
    ids.get(&it.reference).is_some_and(|i| v.contains(i))
        || (viewer.principal.role == Role::Team
            && it.team.is_some()
            && it.team == viewer.principal.team)
}

// ---------------------------------------------------------------------------------------
// /campaigns

#[derive(Deserialize, Default)]
struct CampaignsQuery {
    /// open (default), closed or all.
    state: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<CampaignsQuery>,
    Query(p): Query<ListParams>,
) -> Response {
    if let Err(e) = viewer.principal.require_read() {
        return error_page(&viewer, Nav::Campaigns, e);
    }
    let filter = q.state.clone().unwrap_or_else(|| "open".into());
    let cond = match filter.as_str() {
        "open" => "state = 'open'",
        "closed" => "state <> 'open'",
        "all" => "1 = 1",
        other => {
            return error_page(
                &viewer,
                Nav::Campaigns,
                ApiError::bad_request(format!("state: {other:?} (open, closed or all)")),
            )
        }
    };
    // Newest first unless asked otherwise (and the header's arrow says so).
    let mut p = p;
    if p.dir.is_none() {
        p.dir = Some("desc".into());
    }
    let key = p.sort_key(&["id", "opened", "title", "root", "state", "kind"], "id");
    let col = match key {
        "opened" => "opened_at",
        "title" => "title",
        "root" => "root_reference",
        "state" => "state",
        "kind" => "kind",
        _ => "id",
    };
    let dir = if p.desc() { "DESC" } else { "ASC" };
    let needle = p.q.clone().unwrap_or_default().trim().to_string();
    let v = viewer.clone();
    let (per, offset) = (p.per() as i64, p.offset());
    let loaded = state
        .db
        .run_read(move |tx| -> crate::db::Result<(Vec<CampaignSummary>, i64)> {
            let allowed = visible_campaigns(tx, &v)?;
            let like = format!("%{}%", needle.to_lowercase());
            let mut where_ = format!(
                "{cond} AND (? = '' OR LOWER(title) LIKE ? OR LOWER(root_reference) LIKE ? OR LOWER(COALESCE(vuln_id, '')) LIKE ?)"
            );
            let mut args: Vec<Value> = params![&needle, &like, &like, &like].to_vec();
            if let Some(a) = &allowed {
                if a.is_empty() {
                    return Ok((Vec::new(), 0));
                }
                where_.push_str(&format!(" AND id IN ({})", vec!["?"; a.len()].join(", ")));
                args.extend(a.iter().map(|i| Value::from(*i)));
            }
            let total = tx.query_i64(&format!("SELECT COUNT(*) FROM campaigns WHERE {where_}"), &args)?;
            let mut page_args = args.clone();
            page_args.push(per.into());
            page_args.push(offset.into());
            let rows = tx.query(
                &format!(
                    "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE {where_} ORDER BY {col} {dir}, id DESC LIMIT ? OFFSET ?"
                ),
                &page_args,
            )?;
            let out = rows
                .iter()
                .map(|r| crate::campaigns::summary(tx, r))
                .collect::<crate::db::Result<Vec<_>>>()?;
            Ok((out, total))
        })
        .await;
    let (rows, total) = match loaded {
        Ok(x) => x,
        Err(e) => return error_page(&viewer, Nav::Campaigns, e.into()),
    };
    let keep: Vec<(&str, String)> = vec![
        ("state", filter.clone()),
        ("q", p.q.clone().unwrap_or_default()),
    ];
    let th = |k: &str, label: &str| table::sort_link(&p, "/campaigns", &keep, k, label, key);
    let body = html! {
        form method="get" action="/campaigns" class="filters" {
            label for="campaigns-state" { "State" }
            select id="campaigns-state" name="state" {
                @for s in ["open", "closed", "all"] { option value=(s) selected[s == filter] { (s) } }
            }
            label for="campaigns-q" { "Title, root or CVE" }
            input id="campaigns-q" name="q" type="search" value=(p.q.clone().unwrap_or_default());
            button type="submit" { "Filter" }
        }
        table class="list campaigns" {
            caption { "Rebuild campaigns" }
            thead { tr {
                th scope="col" { (th("id", "#")) }
                th scope="col" { (th("title", "Campaign")) }
                th scope="col" { (th("kind", "Trigger")) }
                th scope="col" { (th("root", "Root")) }
                th scope="col" { (th("state", "State")) }
                th scope="col" { "Progress" }
                th scope="col" { (th("opened", "Opened")) }
            } }
            tbody {
                @for c in &rows {
                    tr data-campaign=(c.id) {
                        td { a href={ "/campaigns/" (c.id) } { "#" (c.id) } }
                        td { a href={ "/campaigns/" (c.id) } { (c.title) } }
                        td { @if let Some(v) = &c.vuln_id { "CVE " (v) } @else { "parent tag moved" } }
                        td { (c.root_reference) }
                        td { span class={ "state state-" (c.state) } { (c.state) } }
                        td { (progress(&c.counts)) }
                        td { (at(&c.opened_at)) }
                    }
                }
                @if rows.is_empty() { tr { td colspan="7" { "No campaign matches." } } }
            }
        }
        (table::pager(&p, "/campaigns", &keep, total))
    };
    layout::page(&viewer, "Campaigns", Nav::Campaigns, body)
}

/// An RFC 3339 time as the other pages show times (`2026-12-08 01:02 UTC`).
fn at(rfc: &str) -> Markup {
    let short = rfc.get(..16).unwrap_or(rfc).replace('T', " ");
    html! { time datetime=(rfc) { (short) " UTC" } }
}

fn progress(counts: &BTreeMap<String, i64>) -> String {
    let total: i64 = counts.values().sum();
    let done =
        counts.get("verified").copied().unwrap_or(0) + counts.get("exempt").copied().unwrap_or(0);
    let mut parts = vec![format!("{done}/{total} done")];
    for (s, n) in counts {
        if !["verified", "exempt"].contains(&s.as_str()) {
            parts.push(format!("{n} {s}"));
        }
    }
    parts.join(", ")
}

// ---------------------------------------------------------------------------------------
// /campaigns/{id}

/// `waiting`/`to-rebuild` → pending, with what it is.
fn state_label(s: &str) -> String {
    match s {
        "waiting" => "pending (waiting for its parent)".into(),
        "to-rebuild" => "pending (to rebuild)".into(),
        other => other.into(),
    }
}

/// The item blocking `it`, if any: its parent, an item of an earlier wave not yet verified.
fn blocker<'a>(
    it: &CampaignItem,
    by_ref: &HashMap<&str, &'a CampaignItem>,
) -> Option<&'a CampaignItem> {
    if ["verified", "exempt"].contains(&it.state.as_str()) {
        return None;
    }
    let parent = by_ref.get(it.parent_reference.as_deref()?)?;
    (parent.wave < it.wave && !["verified", "exempt"].contains(&parent.state.as_str()))
        .then_some(*parent)
}

async fn show(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> Response {
    if let Err(e) = viewer.principal.require_read() {
        return error_page(&viewer, Nav::Campaigns, e);
    }
    let not_found = || ApiError::not_found(format!("no campaign {id}"));
    let Ok(n) = id.parse::<i64>() else {
        return error_page(&viewer, Nav::Campaigns, not_found());
    };
    let v = viewer.clone();
    type Loaded = Option<(CampaignDetail, HashMap<String, i64>, Option<HashSet<i64>>)>;
    let loaded = state
        .db
        .run_read(move |tx| -> crate::db::Result<Loaded> {
            if let Some(allowed) = visible_campaigns(tx, &v)? {
                if !allowed.contains(&n) {
                    return Ok(None);
                }
            }
            let Some(d) = crate::campaigns::detail(tx, n)? else {
                return Ok(None);
            };
            Ok(Some((
                d,
                catalog_ids(tx)?,
                session::visible_images(tx, &v)?,
            )))
        })
        .await;
    let (d, ids, visible) = match loaded {
        Ok(Some(x)) => x,
        Ok(None) => return error_page(&viewer, Nav::Campaigns, not_found()),
        Err(e) => return error_page(&viewer, Nav::Campaigns, e.into()),
    };
    let by_ref: HashMap<&str, &CampaignItem> =
        d.items.iter().map(|i| (i.reference.as_str(), i)).collect();
    let shown: Vec<&CampaignItem> = d
        .items
        .iter()
        .filter(|i| item_visible(i, &viewer, &ids, visible.as_ref()))
        .collect();
    let hidden = d.items.len() - shown.len();
    let mut waves: BTreeMap<i64, Vec<&CampaignItem>> = BTreeMap::new();
    for i in &shown {
        waves.entry(i.wave).or_default().push(i);
    }
    let mut owners: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for i in &shown {
        *owners
            .entry(i.team.clone().unwrap_or_else(|| "no owning team".into()))
            .or_default()
            .entry(i.state.clone())
            .or_default() += 1;
    }
    // Who blocks whom, from the blocker's side.
    let mut blocking: BTreeMap<&str, Vec<&CampaignItem>> = BTreeMap::new();
    for i in &shown {
        if let Some(b) = blocker(i, &by_ref) {
            blocking.entry(b.reference.as_str()).or_default().push(i);
        }
    }
    let s = &d.summary;
    let due = d.items.iter().filter_map(|i| i.due_at.as_deref()).min();
    let vis = visible.as_ref();
    let body = html! {
        section id="trigger" {
            h2 { "Trigger" }
            dl {
                dt { "State" } dd { span class={ "state state-" (s.state) } { (s.state) } " — " (progress(&s.counts)) }
                @if let Some(v) = &s.vuln_id {
                    dt { "Vulnerability" } dd { a href={ "/cves/" (session::urlencode(v)) } { (v) } " (fixed at its roots, then rebuilt below them)" }
                    dt { "Root" } dd { (image_link(&s.root_reference, &ids, vis)) }
                } @else {
                    dt { "Parent tag moved" } dd { (image_link(&s.root_reference, &ids, vis)) }
                    dt { "From" } dd { code { (s.old_digest.as_deref().unwrap_or("—")) } }
                    dt { "To" } dd { code { (s.new_digest.as_deref().unwrap_or("—")) } }
                }
                dt { "Opened" } dd { (at(&s.opened_at)) }
                @if let Some(c) = &s.closed_at { dt { "Closed" } dd { (at(c)) } }
                dt { "Due (SLA)" } dd { @if let Some(d) = due { (at(d)) } @else { "—" } }
            }
        }
        section id="waves" {
            h2 { "Waves" }
            @if hidden > 0 { p { (hidden) " item(s) of other teams are not shown." } }
            @for (wave, items) in &waves {
                table class="list wave" data-wave=(wave) {
                    caption { "Wave " (wave) }
                    thead { tr {
                        th scope="col" { "Image" } th scope="col" { "Team" } th scope="col" { "State" }
                        th scope="col" { "Due" } th scope="col" { "Blocked by" } th scope="col" { "New tag" }
                    } }
                    tbody {
                        @for i in items {
                            tr data-ref=(i.reference) data-state=(i.state) {
                                td { (image_link(&i.reference, &ids, vis)) }
                                td { @if let Some(t) = &i.team { a href={ "/teams/" (session::urlencode(t)) } { (t) } } @else { "—" } }
                                td { span class={ "state state-" (i.state) } { (state_label(&i.state)) } }
                                td { @if let Some(d) = &i.due_at { (at(d)) } @else { "—" } }
                                td { @if let Some(b) = blocker(i, &by_ref) {
                                    "blocked by " (b.reference) " (" (b.team.as_deref().unwrap_or("no owning team")) ", " (b.state) ")"
                                } @else { "—" } }
                                td { (i.new_reference.as_deref().unwrap_or("—")) }
                            }
                        }
                    }
                }
            }
            @if waves.is_empty() { p { "No item to show." } }
        }
        section id="blocking" {
            h2 { "What is blocking whom" }
            @if blocking.is_empty() { p { "Nothing is blocked." } } @else {
                ul {
                    @for (b, waiting) in &blocking {
                        li { (b) " blocks " (waiting.iter().map(|w| format!("{} ({})", w.reference, w.team.as_deref().unwrap_or("no owning team"))).collect::<Vec<_>>().join(", ")) }
                    }
                }
            }
        }
        section id="owners" {
            h2 { "Owners" }
            table class="list" {
                thead { tr { th scope="col" { "Team" } th scope="col" { "Items by state" } } }
                tbody {
                    @for (t, counts) in &owners {
                        tr { td { (t) } td { (counts.iter().map(|(s, n)| format!("{n} {s}")).collect::<Vec<_>>().join(", ")) } }
                    }
                }
            }
        }
    };
    layout::page(
        &viewer,
        &format!("Campaign #{}: {}", s.id, s.title),
        Nav::Campaigns,
        body,
    )
}
