//! The images pages: `/images` (every stored image with its open findings, filtered,
//! sorted and paged in SQL), `/images/{id}` ([`detail`]: layers and their lineage,
//! packages, findings with the ancestor where each fix belongs, the patch plan) and
//! `/images/{id}/download/{format}` ([`download`]: CycloneDX, SPDX, SARIF, JSON).
//!
//! Rows, counts, tier and team are read through the API's own functions
//! ([`crate::api::images`]); what the API does not need (sorting by team or by severity,
//! a text filter) is SQL here. Tier and team live in the catalog entries' JSON documents:
//! the list reads them with the engine's JSON functions ([`entry_field`]) so that a
//! filter or a sort by team stays one query over 10,000 images, not 10,000 parsed
//! documents.
//!
//! A team token sees its team's images and their ancestors
//! ([`crate::web::session::visible_images`]); any other image is a 404 and absent from
//! the list.

mod detail;
mod download;

use std::collections::{BTreeMap, HashSet};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;

use crate::api::images::{at_least, decorate, placeholders, summary, ImageSummary, IMAGE_COLUMNS};
use crate::api::ApiError;
use crate::db::{Backend, Tx, Value};
use crate::state::AppState;
use crate::web::layout::{self, Nav};
use crate::web::session::{visible_images, Viewer};
use crate::web::table::{pager, sort_link, ListParams};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/images", get(list))
        .route("/images/{id}", get(detail::page))
        .route("/images/{id}/download/{format}", get(download::download))
}

/// A page's failure as a response (the store's errors in the API's shape).
pub(crate) fn fail(e: impl Into<ApiError>) -> Response {
    e.into().into_response()
}

/// The 404 of an image or CVE the viewer does not have or may not see: the same answer,
/// so a team token cannot tell another team's image from a missing one.
pub(crate) fn not_found(viewer: &Viewer, nav: Nav, what: &str) -> Response {
    let mut r = layout::page(
        viewer,
        "Not found",
        nav,
        html! { p { (what) " does not exist or is not visible to you." } },
    );
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

/// Refuses roles that do not read (the scanner's token).
pub(crate) fn require_read(viewer: &Viewer) -> Result<(), Response> {
    viewer.principal.require_read().map_err(fail)
}

/// A query value as given, or `None` when empty (an unset select of a GET form), cut
/// to `max` characters.
pub(crate) fn given(v: &Option<String>, max: usize) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(max).collect())
}

/// A LIKE pattern matching `s` anywhere, case-insensitively (compare with `LOWER(..)`
/// and `ESCAPE '\'`).
pub(crate) fn contains_pattern(s: &str) -> String {
    let mut p = String::from("%");
    for c in s.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A catalog entry's owner team (`team`) or tier (anything else) out of its JSON
/// document `c.doc`, in the engine's SQL.
pub(crate) fn entry_field(backend: Backend, field: &str) -> &'static str {
    match (backend, field == "team") {
        (Backend::Sqlite, true) => "json_extract(c.doc, '$.owner.team')",
        (Backend::Sqlite, false) => "json_extract(c.doc, '$.tier')",
        (Backend::Postgres, true) => "(c.doc::jsonb #>> '{owner,team}')",
        (Backend::Postgres, false) => "(c.doc::jsonb ->> 'tier')",
    }
}

/// Severities from the worst, as a number (`critical` = 0) for sorting in SQL.
pub(crate) const SEVERITY_RANK: &str = "CASE f.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END";

pub(crate) fn severity_of_rank(rank: i64) -> &'static str {
    match rank {
        0 => "critical",
        1 => "high",
        2 => "medium",
        3 => "low",
        _ => "unknown",
    }
}

/// The catalogued references of `ids`, each image's sorted (one query).
pub(crate) fn references_of(
    tx: &mut dyn Tx,
    ids: &[i64],
) -> crate::db::Result<BTreeMap<i64, Vec<String>>> {
    let mut out: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let args: Vec<Value> = ids.iter().map(|&i| i.into()).collect();
    for r in tx.query(
        &format!(
            "SELECT image_id, reference FROM catalog_entries WHERE image_id IN {} ORDER BY reference",
            placeholders(ids.len())
        ),
        &args,
    )? {
        out.entry(r.i64(0)?).or_default().push(r.string(1)?);
    }
    Ok(out)
}

/// The stored image of each catalogued reference in `refs` (one query).
pub(crate) fn image_ids_of(
    tx: &mut dyn Tx,
    refs: &[String],
) -> crate::db::Result<BTreeMap<String, i64>> {
    let mut out = BTreeMap::new();
    if refs.is_empty() {
        return Ok(out);
    }
    let args: Vec<Value> = refs.iter().map(Value::from).collect();
    for r in tx.query(
        &format!(
            "SELECT c.reference, c.image_id FROM catalog_entries c JOIN images i ON i.id = c.image_id
             WHERE i.deleted_at IS NULL AND c.reference IN {}",
            placeholders(refs.len())
        ),
        &args,
    )? {
        out.insert(r.string(0)?, r.i64(1)?);
    }
    Ok(out)
}

/// The `/images` query: the list's own parameters and its filters.
#[derive(Deserialize, Default, Clone)]
pub struct ImagesQuery {
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<String>,
    per: Option<String>,
    team: Option<String>,
    tier: Option<String>,
    /// At least this severity among the open findings.
    severity: Option<String>,
    /// `1`: only images with an open KEV finding.
    kev: Option<String>,
}

const SORTS: [&str; 5] = ["worst", "reference", "team", "tier", "scanned"];

impl ImagesQuery {
    fn list(&self) -> ListParams {
        ListParams {
            q: given(&self.q, 200),
            sort: given(&self.sort, 20),
            dir: given(&self.dir, 4),
            page: self.page.as_deref().and_then(|p| p.parse().ok()),
            per: self.per.as_deref().and_then(|p| p.parse().ok()),
        }
    }
    fn kev(&self) -> bool {
        self.kev.as_deref() == Some("1")
    }
    /// The filters, as carried by sort links and the pager.
    fn keep(&self) -> Vec<(&'static str, String)> {
        vec![
            ("q", given(&self.q, 200).unwrap_or_default()),
            ("team", given(&self.team, 100).unwrap_or_default()),
            ("tier", given(&self.tier, 20).unwrap_or_default()),
            ("severity", given(&self.severity, 20).unwrap_or_default()),
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

/// One row of the list.
struct Row {
    image: ImageSummary,
    references: Vec<String>,
}

/// One page of the list and the number of images the filters keep.
fn query_page(
    tx: &mut dyn Tx,
    q: &ImagesQuery,
    p: &ListParams,
    visible: Option<&HashSet<i64>>,
) -> Result<(Vec<Row>, i64), ApiError> {
    let backend = tx.backend();
    let mut wh = String::from(" WHERE i.deleted_at IS NULL");
    let mut args: Vec<Value> = Vec::new();
    if let Some(text) = &p.q {
        wh.push_str(
            " AND (LOWER(i.reference) LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM catalog_entries c
               WHERE c.image_id = i.id AND LOWER(c.reference) LIKE ? ESCAPE '\\'))",
        );
        let pat = contains_pattern(text);
        args.push(pat.clone().into());
        args.push(pat.into());
    }
    for (field, value) in [
        ("team", given(&q.team, 100)),
        ("tier", given(&q.tier, 20).map(|t| t.to_ascii_lowercase())),
    ] {
        if let Some(v) = value {
            // A set of ids, found through the index on the team (migration 9).
            wh.push_str(&format!(
                " AND i.id IN (SELECT c.image_id FROM catalog_entries c WHERE {} = ?)",
                entry_field(backend, field)
            ));
            args.push(v.into());
        }
    }
    if q.kev() {
        wh.push_str(
            " AND EXISTS (SELECT 1 FROM findings f WHERE f.image_id = i.id AND f.state = 'open' AND f.kev = 1)",
        );
    }
    if let Some(sev) = given(&q.severity, 20) {
        let sev = at_least(&sev)?;
        wh.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM findings f WHERE f.image_id = i.id AND f.state = 'open' AND f.severity IN {})",
            placeholders(sev.len())
        ));
        args.extend(sev.iter().map(|s| Value::from(*s)));
    }
    if let Some(v) = visible {
        if v.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let mut ids: Vec<i64> = v.iter().copied().collect();
        ids.sort_unstable();
        wh.push_str(&format!(" AND i.id IN {}", placeholders(ids.len())));
        args.extend(ids.into_iter().map(Value::from));
    }
    let total = tx.query_i64(&format!("SELECT COUNT(*) FROM images i{wh}"), &args)?;

    let desc = p.desc();
    let (asc_word, desc_word) = if desc {
        ("DESC", "ASC")
    } else {
        ("ASC", "DESC")
    };
    let first_entry = |field: &str| {
        format!(
            "(SELECT {} FROM catalog_entries c WHERE c.image_id = i.id ORDER BY c.reference LIMIT 1)",
            entry_field(backend, field)
        )
    };
    let open_count = |sev: &str| {
        format!("(SELECT COUNT(*) FROM findings f WHERE f.image_id = i.id AND f.state = 'open' AND f.severity = '{sev}')")
    };
    let order = match p.sort_key(&SORTS, "worst") {
        "reference" => format!("i.reference {asc_word}, i.id"),
        f @ ("team" | "tier") => {
            let e = first_entry(f);
            format!("{e} IS NULL, {e} {asc_word}, i.reference, i.id")
        }
        "scanned" => format!("i.last_scanned_at IS NULL, i.last_scanned_at {asc_word}, i.id"),
        // Ascending is the worst first: most critical, then most high, ... (an unrated
        // finding counts last: it may be anything)
        _ => format!(
            "{} {desc_word}, {} {desc_word}, {} {desc_word}, {} {desc_word}, {} {desc_word}, i.reference, i.id",
            open_count("critical"),
            open_count("high"),
            open_count("medium"),
            open_count("low"),
            open_count("unknown")
        ),
    };
    let mut page_args = args;
    page_args.push(Value::from(p.per() as i64));
    page_args.push(Value::from(p.offset()));
    let mut images = tx
        .query(
            &format!("SELECT {IMAGE_COLUMNS} FROM images i{wh} ORDER BY {order} LIMIT ? OFFSET ?"),
            &page_args,
        )?
        .iter()
        .map(summary)
        .collect::<crate::db::Result<Vec<_>>>()?;
    decorate(tx, &mut images)?;
    let ids: Vec<i64> = images.iter().map(|i| i.id).collect();
    let mut refs = references_of(tx, &ids)?;
    let rows = images
        .into_iter()
        .map(|image| Row {
            references: refs.remove(&image.id).unwrap_or_default(),
            image,
        })
        .collect();
    Ok((rows, total))
}

async fn list(State(s): State<AppState>, viewer: Viewer, Query(q): Query<ImagesQuery>) -> Response {
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
    let current = p.sort_key(&SORTS, "worst");
    let th = |key: &str, label: &str| sort_link(&p, "/images", &keep, key, label, current);
    let body = html! {
        (filters(&q))
        table class="list images" {
            caption { "Stored images and their open findings" }
            thead { tr {
                th scope="col" { (th("reference", "Image")) }
                th scope="col" { (th("team", "Team")) }
                th scope="col" { (th("tier", "Tier")) }
                th scope="col" { (th("scanned", "Last scan")) }
                th scope="col" class="num" { (th("worst", "Critical")) }
                th scope="col" class="num" { "High" }
                th scope="col" class="num" { "Medium" }
                th scope="col" class="num" { "Low" }
                th scope="col" class="num" { abbr title="No severity rated yet" { "Unrated" } }
                th scope="col" class="num" { "KEV" }
            } }
            tbody {
                @for r in &rows { (row(r)) }
                @if rows.is_empty() {
                    tr { td colspan="10" { "No image matches these filters." } }
                }
            }
        }
        (pager(&p, "/images", &keep, total))
    };
    layout::page(&viewer, "Images", Nav::Images, body)
}

fn row(r: &Row) -> Markup {
    let i = &r.image;
    let name = r.references.first().unwrap_or(&i.reference);
    let c = &i.counts;
    html! {
        tr data-image=(i.id) {
            th scope="row" {
                a href={ "/images/" (i.id) } { (name) }
                @for other in r.references.iter().skip(1) { br; span class="alias" { (other) } }
                br; code class="digest" title=(i.digest) { (short_digest(&i.digest)) }
            }
            td { (i.team.as_deref().unwrap_or("—")) }
            td { (i.tier.as_deref().unwrap_or("—")) }
            td {
                @match &i.last_scanned_at {
                    Some(t) => { (t.replace('T', " ").trim_end_matches('Z')) " UTC" },
                    None => { (i.scan_status) }
                }
            }
            (count_cell(c.critical, "critical"))
            (count_cell(c.high, "high"))
            (count_cell(c.medium, "medium"))
            (count_cell(c.low, "low"))
            (count_cell(c.unknown, "unknown"))
            td class="num" { @if c.kev > 0 { (c.kev) " " (layout::kev()) } @else { "0" } }
        }
    }
}

fn count_cell(n: i64, sev: &str) -> Markup {
    html! {
        td class={ "num" @if n > 0 { " has-" (sev) } } { (n) }
    }
}

/// `sha256:0123456789ab`: enough to tell digests apart in a table; the full one is the
/// title.
pub(crate) fn short_digest(d: &str) -> String {
    match d.split_once(':') {
        Some((alg, hex)) => format!("{alg}:{}", hex.get(..12).unwrap_or(hex)),
        None => d.chars().take(19).collect(),
    }
}

fn filters(q: &ImagesQuery) -> Markup {
    let tier = given(&q.tier, 20).unwrap_or_default();
    let sev = given(&q.severity, 20).unwrap_or_default();
    html! {
        form class="filters" method="get" action="/images" role="search" {
            label for="f-q" { "Reference" }
            input id="f-q" name="q" type="search" value=(given(&q.q, 200).unwrap_or_default());
            label for="f-team" { "Team" }
            input id="f-team" name="team" type="text" value=(given(&q.team, 100).unwrap_or_default());
            label for="f-tier" { "Tier" }
            select id="f-tier" name="tier" {
                option value="" { "any" }
                @for t in patchline_lineage::Tier::ALL {
                    option value=(t.as_str()) selected[tier == t.as_str()] { (t.as_str()) }
                }
            }
            label for="f-severity" { "Severity at least" }
            select id="f-severity" name="severity" {
                option value="" { "any" }
                @for s in ["critical", "high", "medium", "low"] {
                    option value=(s) selected[sev == s] { (s) }
                }
            }
            input id="f-kev" name="kev" type="checkbox" value="1" checked[q.kev()];
            label for="f-kev" { "Known exploited (KEV) only" }
            @if let Some(s) = given(&q.sort, 20) { input type="hidden" name="sort" value=(s); }
            @if let Some(d) = given(&q.dir, 4) { input type="hidden" name="dir" value=(d); }
            button type="submit" { "Filter" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("A_b%"), "%a\\_b\\%%");
    }

    #[test]
    fn digests_are_shortened() {
        assert_eq!(
            short_digest("sha256:0123456789abcdef0123"),
            "sha256:0123456789ab"
        );
        assert_eq!(short_digest("x"), "x");
    }
}
