//! `/api/v1/images`: stored images with their open findings' counts, one image's layers,
//! tags, last scan and place in the hierarchy, and its inventory (patchline JSON,
//! CycloneDX or SPDX through patchline-report's renderers).
//!
//! Tier and team are the lineage catalog's (an image's catalog entries, by
//! `catalog_entries.image_id`); an image no entry owns has neither.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use patchline_lineage::CatalogEntry;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::common::{decode_cursor, etag_json, limit, page, ApiQuery, Page};
use crate::api::{ApiError, ApiResult};
use crate::auth::Principal;
use crate::db::{rfc3339, Result, Tx, Value};
use crate::params;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_image))
        .routes(routes!(inventory))
}

/// Severities from the worst; `at_least("high")` is `critical` and `high`.
pub const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "unknown"];

pub fn at_least(s: &str) -> ApiResult<&'static [&'static str]> {
    let s = s.to_ascii_lowercase();
    match SEVERITIES.iter().position(|x| *x == s) {
        Some(i) => Ok(&SEVERITIES[..=i]),
        None => Err(ApiError::bad_request(format!(
            "severity: expected critical, high, medium, low or unknown, got `{}`",
            s.chars().take(20).collect::<String>()
        ))),
    }
}

/// `(?, ?, ?)` for `n` values.
pub fn placeholders(n: usize) -> String {
    let mut s = String::from("(");
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s.push(')');
    s
}

/// Every catalog entry that names a stored image, by image id.
pub fn entries_by_image(tx: &mut dyn Tx) -> Result<HashMap<i64, Vec<CatalogEntry>>> {
    let mut out: HashMap<i64, Vec<CatalogEntry>> = HashMap::new();
    for r in tx.query(
        "SELECT image_id, doc FROM catalog_entries WHERE image_id IS NOT NULL",
        &[],
    )? {
        if let Ok(e) = serde_json::from_str::<CatalogEntry>(r.str(1)?) {
            out.entry(r.i64(0)?).or_default().push(e);
        }
    }
    Ok(out)
}

/// The ids of the images whose catalog entries satisfy `keep`.
pub fn image_ids_where(tx: &mut dyn Tx, keep: impl Fn(&CatalogEntry) -> bool) -> Result<Vec<i64>> {
    let mut ids: Vec<i64> = entries_by_image(tx)?
        .into_iter()
        .filter(|(_, es)| es.iter().any(&keep))
        .map(|(id, _)| id)
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

pub fn team_of(e: &CatalogEntry) -> Option<&str> {
    e.owner.as_ref().map(|o| o.team.as_str())
}

/// Open findings per severity, and KEV ones.
#[derive(Serialize, ToSchema, Default, Clone, PartialEq, Debug)]
pub struct Counts {
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    pub unknown: i64,
    pub kev: i64,
}

/// Open findings' counts of `ids` (one query).
pub fn counts(tx: &mut dyn Tx, ids: &[i64]) -> Result<HashMap<i64, Counts>> {
    let mut out: HashMap<i64, Counts> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let args: Vec<Value> = ids.iter().map(|&i| i.into()).collect();
    for r in tx.query(
        &format!(
            "SELECT image_id, severity, COUNT(*), CAST(SUM(kev) AS BIGINT) FROM findings
             WHERE state = 'open' AND image_id IN {} GROUP BY image_id, severity",
            placeholders(ids.len())
        ),
        &args,
    )? {
        let c = out.entry(r.i64(0)?).or_default();
        let n = r.i64(2)?;
        match r.str(1)? {
            "critical" => c.critical += n,
            "high" => c.high += n,
            "medium" => c.medium += n,
            "low" => c.low += n,
            _ => c.unknown += n,
        }
        c.kev += r.opt_i64(3)?.unwrap_or(0);
    }
    Ok(out)
}

#[derive(Serialize, ToSchema, Clone)]
pub struct ImageSummary {
    pub id: i64,
    pub digest: String,
    pub registry: String,
    pub repository: String,
    pub reference: String,
    pub source: String,
    pub scan_status: String,
    pub first_seen: String,
    pub last_scanned_at: Option<String>,
    /// The catalog's tier (`base`, `runtime`, `application`, ...), when catalogued.
    pub tier: Option<String>,
    /// The owning team, when catalogued with one.
    pub team: Option<String>,
    /// Open findings.
    pub counts: Counts,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    pub cursor: Option<String>,
    /// 1 to 500; default 100.
    pub limit: Option<i64>,
    /// Exactly this repository (`team/app`).
    pub repository: Option<String>,
    pub registry: Option<String>,
    /// The catalog tier.
    pub tier: Option<String>,
    /// The owning team.
    pub team: Option<String>,
    /// Only images with (true) or without (false) an open KEV finding.
    pub kev: Option<bool>,
    /// Only images with an open finding of at least this severity.
    pub severity: Option<String>,
}

/// The columns [`summary`] reads, in its order (`images` as `i`).
pub const IMAGE_COLUMNS: &str = "i.id, i.digest, i.registry, i.repository, i.reference, i.source, i.scan_status, i.first_seen, i.last_scanned_at";

/// An image row of [`IMAGE_COLUMNS`], without tier, team and counts ([`decorate`]).
pub fn summary(r: &crate::db::Row) -> Result<ImageSummary> {
    Ok(ImageSummary {
        id: r.i64(0)?,
        digest: r.string(1)?,
        registry: r.string(2)?,
        repository: r.string(3)?,
        reference: r.string(4)?,
        source: r.string(5)?,
        scan_status: r.string(6)?,
        first_seen: rfc3339(r.i64(7)?),
        last_scanned_at: r.opt_i64(8)?.map(rfc3339),
        tier: None,
        team: None,
        counts: Counts::default(),
    })
}

/// Fills in tier, team and counts: two queries for the whole page.
pub fn decorate(tx: &mut dyn Tx, items: &mut [ImageSummary]) -> Result<()> {
    let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
    let mut c = counts(tx, &ids)?;
    let entries = if items.is_empty() {
        HashMap::new()
    } else {
        let args: Vec<Value> = ids.iter().map(|&i| i.into()).collect();
        let mut m: HashMap<i64, CatalogEntry> = HashMap::new();
        for r in tx.query(
            &format!(
                "SELECT image_id, doc FROM catalog_entries WHERE image_id IN {} ORDER BY reference",
                placeholders(ids.len())
            ),
            &args,
        )? {
            if let Ok(e) = serde_json::from_str::<CatalogEntry>(r.str(1)?) {
                m.entry(r.i64(0)?).or_insert(e);
            }
        }
        m
    };
    for i in items {
        i.counts = c.remove(&i.id).unwrap_or_default();
        if let Some(e) = entries.get(&i.id) {
            i.tier = Some(e.tier.as_str().to_string());
            i.team = team_of(e).map(str::to_string);
        }
    }
    Ok(())
}

/// Stored images, by id, with their open findings' counts.
#[utoipa::path(get, path = "/api/v1/images", tag = "images", params(ImageQuery),
    responses((status = 200, body = Page<ImageSummary>), (status = 304), (status = 400, body = crate::api::error::ErrorBody), (status = 403, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn list(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<ImageQuery>,
) -> ApiResult<Response> {
    who.require_read()?;
    let n = limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref())?.unwrap_or(0);
    let sev = q.severity.as_deref().map(at_least).transpose()?;
    let items = s
        .db
        .run_read(move |tx| -> ApiResult<Vec<ImageSummary>> {
            let mut sql = format!(
                "SELECT {IMAGE_COLUMNS} FROM images i WHERE i.deleted_at IS NULL AND i.id > ?"
            );
            let mut args: Vec<Value> = vec![after.into()];
            if let Some(r) = &q.repository {
                sql.push_str(" AND i.repository = ?");
                args.push(r.as_str().into());
            }
            if let Some(r) = &q.registry {
                sql.push_str(" AND i.registry = ?");
                args.push(r.as_str().into());
            }
            if q.tier.is_some() || q.team.is_some() {
                let ids = image_ids_where(tx, |e| {
                    q.tier.as_deref().is_none_or(|t| e.tier.as_str() == t)
                        && q.team.as_deref().is_none_or(|t| team_of(e) == Some(t))
                })?;
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                sql.push_str(&format!(" AND i.id IN {}", placeholders(ids.len())));
                args.extend(ids.into_iter().map(Value::from));
            }
            match q.kev {
                Some(true) => sql.push_str(
                    " AND EXISTS (SELECT 1 FROM findings f WHERE f.image_id = i.id AND f.state = 'open' AND f.kev = 1)",
                ),
                Some(false) => sql.push_str(
                    " AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.image_id = i.id AND f.state = 'open' AND f.kev = 1)",
                ),
                None => {}
            }
            if let Some(sev) = sev {
                sql.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM findings f WHERE f.image_id = i.id AND f.state = 'open' AND f.severity IN {})",
                    placeholders(sev.len())
                ));
                args.extend(sev.iter().map(|s| Value::from(*s)));
            }
            sql.push_str(" ORDER BY i.id LIMIT ?");
            args.push((n + 1).into());
            let mut items = tx
                .query(&sql, &args)?
                .iter()
                .map(summary)
                .collect::<Result<Vec<_>>>()?;
            decorate(tx, &mut items)?;
            Ok(items)
        })
        .await?;
    Ok(etag_json(&headers, &page(items, n, |i| i.id)))
}

#[derive(Serialize, ToSchema)]
pub struct Layer {
    pub index: i64,
    pub diff_id: String,
    pub size: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Tag {
    pub registry: String,
    pub repository: String,
    pub tag: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct LastScan {
    pub id: i64,
    pub kind: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub db_built: Option<String>,
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    pub unknown: i64,
    pub kev: i64,
    pub new_findings: i64,
    pub resolved_findings: i64,
    pub unmatched: i64,
}

/// Where the image sits in the hierarchy (the lineage graph).
#[derive(Serialize, ToSchema)]
pub struct Hierarchy {
    /// The catalog reference the image is known by.
    pub reference: String,
    pub tier: String,
    pub owner: Option<String>,
    pub parent: Option<String>,
    /// A parent declared or annotated that is not catalogued.
    pub external_parent: Option<String>,
    /// Root first, the image's parent last.
    pub ancestors: Vec<String>,
    pub children: Vec<String>,
    pub depth: usize,
    /// Built on another build of its parent than the catalogued one.
    pub stale: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ImageDetail {
    #[serde(flatten)]
    pub image: ImageSummary,
    pub config_digest: Option<String>,
    pub created: Option<String>,
    pub scan_error: Option<String>,
    pub layers: Vec<Layer>,
    pub tags: Vec<Tag>,
    pub last_scan: Option<LastScan>,
    /// One per catalog reference naming the image.
    pub hierarchy: Vec<Hierarchy>,
}

pub fn check_digest(d: &str) -> ApiResult<()> {
    let ok = d.len() <= 200
        && d.split_once(':').is_some_and(|(a, h)| {
            !a.is_empty()
                && a.chars().all(|c| {
                    c.is_ascii_alphanumeric() || c == '+' || c == '.' || c == '_' || c == '-'
                })
                && !h.is_empty()
                && h.chars().all(|c| c.is_ascii_hexdigit())
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "digest: expected ALGORITHM:HEX (sha256:...)",
        ))
    }
}

/// The image's row id, or 404.
pub fn image_by_digest(tx: &mut dyn Tx, digest: &str) -> ApiResult<i64> {
    tx.query_opt(
        "SELECT id FROM images WHERE digest = ? AND deleted_at IS NULL",
        params![digest],
    )?
    .map(|r| r.i64(0))
    .transpose()?
    .ok_or_else(|| ApiError::not_found(format!("no image {digest}")))
}

/// One image: layers, tags, last scan, counts and its place in the hierarchy.
#[utoipa::path(get, path = "/api/v1/images/{digest}", tag = "images",
    params(("digest" = String, Path, description = "The manifest digest (sha256:...)")),
    responses((status = 200, body = ImageDetail), (status = 304), (status = 404, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn get_image(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Path(digest): Path<String>,
) -> ApiResult<Response> {
    who.require_read()?;
    check_digest(&digest)?;
    let detail =
        s.db.run_read(move |tx| -> ApiResult<ImageDetail> {
            let id = image_by_digest(tx, &digest)?;
            image_detail(tx, id)
        })
        .await?;
    Ok(etag_json(&headers, &detail))
}

/// One stored image by row id: layers, tags, last scan, counts and its place in the
/// hierarchy (the API's image document; the dashboard's image page reads it too).
pub fn image_detail(tx: &mut dyn Tx, id: i64) -> ApiResult<ImageDetail> {
    image_detail_in(tx, id, &mut None)
}

/// [`image_detail`], loading the hierarchy into `graph` when the image is catalogued
/// and it is not loaded yet: a caller reading more of the graph reuses it.
pub fn image_detail_in(
    tx: &mut dyn Tx,
    id: i64,
    graph: &mut Option<std::sync::Arc<patchline_lineage::Graph>>,
) -> ApiResult<ImageDetail> {
    let row = tx.query_one(
        &format!("SELECT {IMAGE_COLUMNS}, i.config_digest, i.created, i.scan_error FROM images i WHERE i.id = ?"),
        params![id],
    )?;
    let mut image = [summary(&row)?];
    decorate(tx, &mut image)?;
    let [image] = image;
    let layers = tx
        .query(
            "SELECT il.idx, il.diff_id, l.size FROM image_layers il LEFT JOIN layers l ON l.diff_id = il.diff_id
             WHERE il.image_id = ? ORDER BY il.idx",
            params![id],
        )?
        .iter()
        .map(|r| Ok(Layer { index: r.i64(0)?, diff_id: r.string(1)?, size: r.opt_i64(2)? }))
        .collect::<Result<Vec<_>>>()?;
    let tags = tx
        .query(
            "SELECT registry, repository, tag, updated_at FROM tags WHERE digest = ? ORDER BY registry, repository, tag",
            params![&image.digest],
        )?
        .iter()
        .map(|r| Ok(Tag { registry: r.string(0)?, repository: r.string(1)?, tag: r.string(2)?, updated_at: rfc3339(r.i64(3)?) }))
        .collect::<Result<Vec<_>>>()?;
    let last_scan = tx
        .query_opt(
            "SELECT id, kind, started_at, finished_at, db_built, critical, high, medium, low, unknown, kev,
                    new_findings, resolved_findings, unmatched
             FROM scans WHERE image_id = ? ORDER BY started_at DESC, id DESC LIMIT 1",
            params![id],
        )?
        .map(|r| -> Result<LastScan> {
            Ok(LastScan {
                id: r.i64(0)?,
                kind: r.string(1)?,
                started_at: rfc3339(r.i64(2)?),
                finished_at: r.opt_i64(3)?.map(rfc3339),
                db_built: r.opt_string(4)?,
                critical: r.i64(5)?,
                high: r.i64(6)?,
                medium: r.i64(7)?,
                low: r.i64(8)?,
                unknown: r.i64(9)?,
                kev: r.i64(10)?,
                new_findings: r.i64(11)?,
                resolved_findings: r.i64(12)?,
                unmatched: r.i64(13)?,
            })
        })
        .transpose()?;
    let refs: Vec<String> = tx
        .query(
            "SELECT reference FROM catalog_entries WHERE image_id = ? ORDER BY reference",
            params![id],
        )?
        .iter()
        .map(|r| r.string(0))
        .collect::<Result<_>>()?;
    let mut hierarchy = Vec::new();
    if !refs.is_empty() {
        let g: &patchline_lineage::Graph = match graph {
            Some(g) => g,
            None => graph.insert(crate::lineage::load_graph(tx)?),
        };
        for r in refs {
            let Some(n) = g.find(&r) else { continue };
            let node = g.node(n);
            let name = |i: usize| g.node(i).reference().to_string();
            // `ancestors` lists the parent first; root first reads as a path.
            let mut ancestors: Vec<String> = g.ancestors(n).into_iter().map(name).collect();
            ancestors.reverse();
            hierarchy.push(Hierarchy {
                reference: node.reference().to_string(),
                tier: node.entry.tier.as_str().to_string(),
                owner: team_of(&node.entry).map(str::to_string),
                parent: node.parent.map(name),
                external_parent: node.external_parent.clone(),
                ancestors,
                children: node.children.iter().map(|&c| name(c)).collect(),
                depth: node.depth,
                stale: node.stale,
            });
        }
    }
    Ok(ImageDetail {
        image,
        config_digest: row.opt_string(9)?,
        created: row.opt_string(10)?,
        scan_error: row.opt_string(11)?,
        layers,
        tags,
        last_scan,
        hierarchy,
    })
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InventoryQuery {
    /// `json` (patchline's inventory, the default), `cyclonedx` or `spdx`.
    pub format: Option<String>,
}

/// The image's inventory: patchline JSON, CycloneDX 1.6 or SPDX 2.3.
#[utoipa::path(get, path = "/api/v1/images/{digest}/inventory", tag = "images",
    params(("digest" = String, Path, description = "The manifest digest (sha256:...)"), InventoryQuery),
    responses((status = 200, description = "The inventory document", content_type = "application/json"), (status = 304), (status = 404, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn inventory(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Path(digest): Path<String>,
    ApiQuery(q): ApiQuery<InventoryQuery>,
) -> ApiResult<Response> {
    who.require_read()?;
    check_digest(&digest)?;
    use patchline_report::SbomFormat;
    let format = match q.format.as_deref().unwrap_or("json") {
        "json" => SbomFormat::Json,
        "cyclonedx" => SbomFormat::CycloneDx,
        "spdx" => SbomFormat::Spdx,
        other => {
            return Err(ApiError::bad_request(format!(
                "format: expected json, cyclonedx or spdx, got `{}`",
                other.chars().take(20).collect::<String>()
            )))
        }
    };
    let d = digest.clone();
    let (inv, updated) =
        s.db.run_read(move |tx| -> ApiResult<_> {
            let id = image_by_digest(tx, &d)?;
            let inv = crate::store::load_inventory(tx, id)?
                .ok_or_else(|| ApiError::not_found(format!("image {d} has no stored inventory")))?;
            let updated = tx.query_i64(
                "SELECT updated_at FROM inventories WHERE image_id = ?",
                params![id],
            )?;
            Ok((inv, updated))
        })
        .await?;
    let out = render_inventory(&inv, &digest, updated, format)?;
    let value: serde_json::Value = serde_json::from_slice(&out)
        .map_err(|e| ApiError::internal(format!("rendering the inventory: {e}")))?;
    let mut resp = etag_json(&headers, &value);
    if format == SbomFormat::CycloneDx {
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/vnd.cyclonedx+json"),
        );
    }
    Ok(resp.into_response())
}

/// An image's stored inventory as a document (`updated`: the inventory's `updated_at`).
/// The document's time and serial come from the stored inventory, so one inventory
/// renders to the same bytes (and ETag) every time.
pub fn render_inventory(
    inv: &patchline_model::Inventory,
    digest: &str,
    updated: i64,
    format: patchline_report::SbomFormat,
) -> ApiResult<Vec<u8>> {
    let opts = patchline_report::RenderOptions {
        color: false,
        timestamp: time::OffsetDateTime::from_unix_timestamp(updated).ok(),
        started: None,
        serial: Some(uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_OID,
            format!("{digest}@{updated}").as_bytes(),
        )),
    };
    let mut out = Vec::new();
    patchline_report::render_sbom(inv, format, &opts, &mut out)
        .map_err(|e| ApiError::internal(format!("rendering the inventory: {e}")))?;
    Ok(out)
}
