//! `/exceptions`: accepted vulnerabilities, what state each is in, and the forms that
//! decide them.
//!
//! The stored states (pending, approved, rejected, revoked) are what the API keeps; the
//! page derives the ones people act on:
//! - *active*: approved and not past its last day; *expiring soon* when that day is
//!   within [`EXPIRING_DAYS`]; *expired* once it is past;
//! - *unused*: active but matching no open finding in the store (by
//!   `patchline_policy`'s own matcher, against the image's catalog references and the
//!   reference it was scanned under): a candidate to revoke.
//!
//! Forms post to `/exceptions/{id}/decide` (`action` = approve, reject or revoke) and
//! `/exceptions` (a request), both carrying the session's `csrf`, and go through the API's
//! own functions ([`crate::api::exceptions::decide`], [`crate::api::exceptions::create_exception`]):
//! same roles, same checks, same audit rows. A `team` token sees and requests only its
//! team's exceptions.
//!
//! Policy verdicts: the server judges its own scans by the configured policy
//! (`registry::scan::governance`) but stores no verdict (neither `scans` nor `findings`
//! keep the report's `policy` outcome), so the page says so instead of showing any.
//!
//! Exceptions are few next to images (a team's handful), so states are derived, sorted
//! and paged in memory after one query.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use patchline_model::vuln::Finding;
use serde::Deserialize;

use crate::api::exceptions::{self as api, Decision, ExceptionDoc, ExceptionItem};
use crate::api::ApiError;
use crate::auth::Role;
use crate::db::{now, Tx, Value};
use crate::params;
use crate::state::AppState;
use crate::web::layout::{self, Nav};
use crate::web::session::{self, Viewer};
use crate::web::table::{self, ListParams};
use crate::web::teams::error_page;

/// "Expiring soon": the last day is this close.
pub const EXPIRING_DAYS: i64 = 14;
/// Open findings read to decide whether a wildcard exception is used; past it, it counts
/// as used (the page never claims "unused" without having looked at everything).
const MAX_SCANNED: usize = 100_000;

const STATUSES: [&str; 8] = [
    "pending", "active", "expiring", "expired", "unused", "revoked", "rejected", "all",
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/exceptions", get(list).post(request))
        .route("/exceptions/{id}/decide", post(decide))
}

struct Row {
    item: ExceptionItem,
    expires_at: Option<i64>,
    /// Derived: pending, active, expiring, expired, revoked, rejected.
    status: &'static str,
    unused: bool,
}

fn derive(state: &str, expires_at: Option<i64>, t: i64) -> &'static str {
    match state {
        "pending" => "pending",
        "rejected" => "rejected",
        "revoked" => "revoked",
        _ => match expires_at {
            Some(e) if e <= t => "expired",
            Some(e) if e - t <= EXPIRING_DAYS * 86_400 => "expiring",
            _ => "active",
        },
    }
}

fn to_policy(d: &ExceptionDoc) -> patchline_policy::exceptions::Exception {
    patchline_policy::exceptions::Exception {
        id: d.id.clone(),
        packages: d.packages.clone(),
        images: d.images.clone(),
        paths: d.paths.clone(),
        fix_state: d.fix_state,
        reason: d.reason.clone(),
        ..Default::default()
    }
}

/// Does any open finding match `d`? Read a chunk at a time (stopping at the first match),
/// so a wildcard exception never holds more than a chunk of findings in memory.
fn is_used(tx: &mut dyn Tx, d: &ExceptionDoc) -> crate::db::Result<bool> {
    const CHUNK: i64 = 1000;
    let exc = to_policy(d);
    let glob = d.id.contains(['*', '?', '[']);
    let base = "SELECT f.id, f.doc, i.reference, c.reference FROM findings f
         JOIN images i ON i.id = f.image_id LEFT JOIN catalog_entries c ON c.image_id = f.image_id
         WHERE f.state = 'open' AND f.doc IS NOT NULL AND f.id > ?";
    let mut after = 0i64;
    let mut scanned = 0usize;
    loop {
        let rows = if glob {
            tx.query(
                &format!("{base} ORDER BY f.id LIMIT ?"),
                params![after, CHUNK],
            )?
        } else {
            tx.query(
                &format!(
                    "{base} AND {} ORDER BY f.id LIMIT ?",
                    crate::store::VULN_OR_ALIAS
                ),
                params![after, &d.id, &d.id, CHUNK],
            )?
        };
        let n = rows.len();
        let first = rows.first().map(|r| r.i64(0)).transpose()?.unwrap_or(after);
        let mut last = after;
        for r in rows {
            last = r.i64(0)?;
            let Ok(f) = serde_json::from_str::<Finding>(r.str(1)?) else {
                continue;
            };
            let mut refs = vec![r.string(2)?];
            refs.extend(r.opt_string(3)?);
            if refs.iter().any(|image| exc.matches_finding(&f, image)) {
                return Ok(true);
            }
        }
        scanned += n;
        if (n as i64) < CHUNK {
            return Ok(false);
        }
        // A finding comes once per catalog reference of its image: the last one of a full
        // chunk is read again whole in the next.
        after = if last > first { last - 1 } else { last };
        if scanned >= MAX_SCANNED {
            return Ok(true);
        }
    }
}

fn load(tx: &mut dyn Tx, team: Option<&str>) -> crate::db::Result<(Vec<Row>, Vec<String>)> {
    let t = now();
    let mut sql = format!("SELECT {} FROM exceptions", api::COLUMNS);
    let mut args: Vec<Value> = Vec::new();
    if let Some(team) = team {
        sql.push_str(" WHERE team = ?");
        args.push(team.into());
    }
    let mut out = Vec::new();
    for r in tx.query(&sql, &args)? {
        let item = match api::item(&r) {
            Ok(i) => i,
            // A stored document that no longer parses is left out, not the whole page.
            Err(e) => {
                tracing::warn!("exceptions page: {}", e.message);
                continue;
            }
        };
        let expires_at = r.opt_i64(4)?;
        let status = derive(&item.state, expires_at, t);
        let unused = matches!(status, "active" | "expiring") && !is_used(tx, &item.exception)?;
        out.push(Row {
            item,
            expires_at,
            status,
            unused,
        });
    }
    let mut teams: BTreeSet<String> = out.iter().filter_map(|r| r.item.team.clone()).collect();
    teams.extend(crate::notify::teams::all(tx)?.into_iter().map(|t| t.name));
    Ok((out, teams.into_iter().collect()))
}

#[derive(Deserialize, Default)]
struct ExceptionsQuery {
    status: Option<String>,
    team: Option<String>,
}

fn may_decide(viewer: &Viewer, r: &Row, d: Decision) -> bool {
    let p = &viewer.principal;
    match d {
        Decision::Revoke => {
            matches!(r.item.state.as_str(), "pending" | "approved")
                && (matches!(p.role, Role::Admin | Role::Security)
                    || (p.role == Role::Team && r.item.team == p.team))
        }
        _ => r.item.state == "pending" && matches!(p.role, Role::Admin | Role::Security),
    }
}

fn decide_form(viewer: &Viewer, id: i64, action: &str, label: &str, back: &str) -> Markup {
    html! {
        form method="post" action={ "/exceptions/" (id) "/decide" } class="inline" {
            input type="hidden" name="csrf" value=(viewer.csrf);
            input type="hidden" name="action" value=(action);
            input type="hidden" name="back" value=(back);
            button type="submit" { (label) " #" (id) }
        }
    }
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ExceptionsQuery>,
    Query(p): Query<ListParams>,
) -> Response {
    if let Err(e) = viewer.principal.require_read() {
        return error_page(&viewer, Nav::Exceptions, e);
    }
    let status = q.status.clone().unwrap_or_else(|| "all".into());
    if !STATUSES.contains(&status.as_str()) {
        return error_page(
            &viewer,
            Nav::Exceptions,
            ApiError::bad_request(format!("status: one of {}", STATUSES.join(", "))),
        );
    }
    // A team token's view is its own team's, whatever the URL says.
    let team_filter = match viewer.principal.role {
        Role::Team => Some(viewer.principal.team.clone().unwrap_or_default()),
        _ => q.team.clone().filter(|t| !t.is_empty()),
    };
    let tf = team_filter.clone();
    let (rows, teams) = match state.db.run_read(move |tx| load(tx, tf.as_deref())).await {
        Ok(x) => x,
        Err(e) => return error_page(&viewer, Nav::Exceptions, e.into()),
    };
    let counts: Vec<(&str, usize)> = STATUSES
        .iter()
        .map(|s| {
            let n = rows.iter().filter(|r| matches_status(r, s)).count();
            (*s, n)
        })
        .collect();
    let needle = p.q.clone().unwrap_or_default().trim().to_lowercase();
    let mut shown: Vec<&Row> = rows
        .iter()
        .filter(|r| matches_status(r, &status))
        .filter(|r| {
            needle.is_empty()
                || r.item.exception.id.to_lowercase().contains(&needle)
                || r.item.exception.reason.to_lowercase().contains(&needle)
                || r.item
                    .exception
                    .images
                    .iter()
                    .any(|i| i.to_lowercase().contains(&needle))
        })
        .collect();
    let key = p.sort_key(&["id", "expires", "team", "status", "vuln"], "id");
    shown.sort_by(|a, b| {
        let o = match key {
            "expires" => a.expires_at.cmp(&b.expires_at),
            "team" => a.item.team.cmp(&b.item.team),
            "status" => a.status.cmp(b.status),
            "vuln" => a.item.exception.id.cmp(&b.item.exception.id),
            _ => std::cmp::Ordering::Equal,
        }
        .then(a.item.id.cmp(&b.item.id));
        if p.desc() {
            o.reverse()
        } else {
            o
        }
    });
    let total = shown.len() as i64;
    let page: Vec<&Row> = shown
        .into_iter()
        .skip(p.offset() as usize)
        .take(p.per() as usize)
        .collect();
    let keep: Vec<(&str, String)> = vec![
        ("status", status.clone()),
        ("team", team_filter.clone().unwrap_or_default()),
        ("q", p.q.clone().unwrap_or_default()),
    ];
    let back = table::href("/exceptions", &keep);
    let th = |k: &str, label: &str| table::sort_link(&p, "/exceptions", &keep, k, label, key);
    let is_team = viewer.principal.role == Role::Team;
    let can_request = matches!(
        viewer.principal.role,
        Role::Admin | Role::Security | Role::Team
    );
    let body = html! {
        nav class="tabs" aria-label="Exception states" {
            ul { @for (s, n) in &counts {
                li { a href=(table::href("/exceptions", &[("status", s.to_string()), ("team", team_filter.clone().unwrap_or_default())]))
                       aria-current=[(*s == status).then_some("page")] { (s) " (" (n) ")" } }
            } }
        }
        form method="get" action="/exceptions" class="filters" {
            label for="exceptions-status" { "State" }
            select id="exceptions-status" name="status" {
                @for s in STATUSES { option value=(s) selected[s == status] { (s) } }
            }
            @if !is_team {
                label for="exceptions-team" { "Team" }
                select id="exceptions-team" name="team" {
                    option value="" selected[team_filter.is_none()] { "any" }
                    @for t in &teams { option value=(t) selected[team_filter.as_deref() == Some(t.as_str())] { (t) } }
                }
            }
            label for="exceptions-q" { "Vulnerability, image or reason" }
            input id="exceptions-q" name="q" type="search" value=(p.q.clone().unwrap_or_default());
            button type="submit" { "Filter" }
        }
        table class="list exceptions" {
            caption { "Exceptions" }
            thead { tr {
                th scope="col" { (th("id", "#")) }
                th scope="col" { (th("vuln", "Vulnerability")) }
                th scope="col" { (th("team", "Team")) }
                th scope="col" { (th("status", "State")) }
                th scope="col" { "Images" }
                th scope="col" { "Packages" }
                th scope="col" { "Reason" }
                th scope="col" { (th("expires", "Expires")) }
                th scope="col" { "Requested / decided" }
                th scope="col" { "Actions" }
            } }
            tbody {
                @for r in &page {
                    tr data-exception=(r.item.id) data-status=(r.status) {
                        td { (r.item.id) }
                        td { a href={ "/cves/" (session::urlencode(&r.item.exception.id)) } { (r.item.exception.id) } }
                        td { (r.item.team.as_deref().unwrap_or("—")) }
                        td {
                            span class={ "state state-" (r.status) } { (status_label(r.status)) }
                            @if r.unused { " " span class="state state-unused" { "unused: matches no open finding" } }
                        }
                        td { (list_or_any(&r.item.exception.images)) }
                        td { (list_or_any(&r.item.exception.packages)) }
                        td { (r.item.exception.reason) @if let Some(j) = &r.item.exception.justification { " (" (j) ")" } }
                        td { (r.item.exception.expires) }
                        td { (r.item.created_by) " " (r.item.created_at)
                             @if let Some(d) = &r.item.decided_by { br; (r.item.state) " by " (d) " " (r.item.decided_at.as_deref().unwrap_or("")) } }
                        td {
                            @if may_decide(&viewer, r, Decision::Approve) { (decide_form(&viewer, r.item.id, "approve", "Approve", &back)) }
                            @if may_decide(&viewer, r, Decision::Reject) { (decide_form(&viewer, r.item.id, "reject", "Reject", &back)) }
                            @if may_decide(&viewer, r, Decision::Revoke) { (decide_form(&viewer, r.item.id, "revoke", "Revoke", &back)) }
                        }
                    }
                }
                @if page.is_empty() { tr { td colspan="10" { "No exception matches." } } }
            }
        }
        (table::pager(&p, "/exceptions", &keep, total))
        @if can_request { (request_form(&viewer)) }
        section id="policy-verdicts" {
            h2 { "Policy verdicts" }
            p { "The server judges its own scans by the configured policy's registry stage, but does not store the verdicts yet: there is nothing to show here. Run " code { "patchline scan --policy" } " for an image's verdict." }
        }
    };
    layout::page(&viewer, "Exceptions", Nav::Exceptions, body)
}

fn matches_status(r: &Row, s: &str) -> bool {
    match s {
        "all" => true,
        "active" => matches!(r.status, "active" | "expiring"),
        "unused" => r.unused,
        other => r.status == other,
    }
}

fn status_label(s: &str) -> &str {
    match s {
        "expiring" => "active, expiring soon",
        other => other,
    }
}

fn list_or_any(v: &[String]) -> Markup {
    html! { @if v.is_empty() { "any" } @else { (v.join(", ")) } }
}

fn request_form(viewer: &Viewer) -> Markup {
    let is_team = viewer.principal.role == Role::Team;
    html! {
        section id="request" {
            h2 { "Request an exception" }
            p { "It stays pending until the security team approves it." }
            form method="post" action="/exceptions" class="stacked" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label for="req-id" { "Vulnerability (CVE or other id)" }
                input id="req-id" name="id" required maxlength="200";
                label for="req-images" { "Images (one reference per line)" }
                textarea id="req-images" name="images" rows="3" required[is_team] {}
                label for="req-packages" { "Packages (one per line: name or name@version; empty for any)" }
                textarea id="req-packages" name="packages" rows="2" {}
                label for="req-reason" { "Reason" }
                textarea id="req-reason" name="reason" rows="3" required maxlength="2000" {}
                label for="req-expires" { "Last day (YYYY-MM-DD)" }
                input id="req-expires" name="expires" type="date" required;
                label for="req-justification" { "VEX justification" }
                select id="req-justification" name="justification" {
                    option value="" { "none" }
                    @for j in patchline_policy::exceptions::JUSTIFICATIONS { option value=(j) { (j) } }
                }
                @if !is_team {
                    label for="req-team" { "Owning team" }
                    input id="req-team" name="team" maxlength="100";
                }
                button type="submit" { "Request" }
            }
        }
    }
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    back: Option<String>,
}

/// Only back to this page (never an open redirect).
fn back_to(back: Option<&str>) -> String {
    match back {
        Some(b) if b.starts_with("/exceptions") && !b.contains(['\\', '\r', '\n']) => b.to_string(),
        _ => "/exceptions".into(),
    }
}

async fn decide(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<DecideForm>,
) -> Response {
    if let Err(r) = viewer.check_csrf(&f.csrf) {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return error_page(
            &viewer,
            Nav::Exceptions,
            ApiError::not_found(format!("no exception {id}")),
        );
    };
    let Some(decision) = Decision::parse(&f.action) else {
        return error_page(
            &viewer,
            Nav::Exceptions,
            ApiError::bad_request("action: approve, reject or revoke"),
        );
    };
    match api::decide(&state, viewer.principal.clone(), None, id, decision).await {
        Ok(_) => Redirect::to(&back_to(f.back.as_deref())).into_response(),
        Err(e) => error_page(&viewer, Nav::Exceptions, e),
    }
}

#[derive(Deserialize)]
struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    images: String,
    #[serde(default)]
    packages: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    expires: String,
    justification: Option<String>,
    team: Option<String>,
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

async fn request(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<RequestForm>,
) -> Response {
    if let Err(r) = viewer.check_csrf(&f.csrf) {
        return r;
    }
    let doc = ExceptionDoc {
        id: f.id.trim().to_string(),
        packages: lines(&f.packages),
        images: lines(&f.images),
        paths: Vec::new(),
        fix_state: None,
        reason: f.reason.trim().to_string(),
        expires: f.expires.trim().to_string(),
        justification: f.justification.filter(|j| !j.is_empty()),
    };
    let team = f
        .team
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    match api::create_exception(&state, viewer.principal.clone(), team, doc, None).await {
        Ok(_) => Redirect::to("/exceptions?status=pending").into_response(),
        Err(e) => error_page(&viewer, Nav::Exceptions, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_states() {
        let t = 1_800_000_000;
        assert_eq!(derive("pending", Some(t + 10), t), "pending");
        assert_eq!(derive("approved", Some(t - 1), t), "expired");
        assert_eq!(derive("approved", Some(t + 86_400), t), "expiring");
        assert_eq!(derive("approved", Some(t + 15 * 86_400), t), "active");
        assert_eq!(derive("revoked", Some(t + 15 * 86_400), t), "revoked");
        assert_eq!(back_to(Some("https://evil.example/")), "/exceptions");
        assert_eq!(
            back_to(Some("/exceptions?status=pending")),
            "/exceptions?status=pending"
        );
    }
}
