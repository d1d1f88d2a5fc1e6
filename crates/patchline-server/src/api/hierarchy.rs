//! The organisation's view through the image hierarchy: a CVE's impact grouped by the
//! root image that must be fixed (`GET /api/v1/cves/{id}`), the graph itself
//! (`GET /api/v1/graph`), patch plans (`GET /api/v1/plans`) and teams
//! (`GET /api/v1/teams`).
//!
//! The impact and the plans are the CLI's (`patchline impact --cve`, `patchline plan`):
//! the same `patchline_lineage` functions over the graph of the stored catalog entries
//! ([`crate::lineage::load_graph`]) and the stored open findings, rebuilt as scan
//! reports per catalogued reference.
//!
//! Plans differ from the CLI's in two ways, both for safety on a shared server: the
//! Containerfiles a catalog names are not read (a catalog entry must not make the
//! server read an arbitrary local file into a response), so the plan lists the upgrades
//! without patched Containerfiles; and `base=` plans need the new base pinned
//! (`to=REPO:TAG@DIGEST`): the server does not contact registries on a read.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use patchline_lineage::impact::ImpactReport;
use patchline_lineage::plan::{self, PlanImage, PlanRequest, TagScheme, Trigger};
use patchline_lineage::{Graph, NodeId, Tier};
use patchline_model::vuln::{DbInfo, Finding, ScanReport};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::common::{
    decode_text_cursor, encode_text_cursor, etag_json, limit, ApiQuery, Page,
};
use crate::api::{ApiError, ApiResult};
use crate::auth::Principal;
use crate::db::{rfc3339, Result, Tx};
use crate::params;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(cve))
        .routes(routes!(graph))
        .routes(routes!(plans))
        .routes(routes!(teams))
}

/// A vulnerability id as a path or query value: bounded, printable, no spaces.
pub fn check_vuln_id(id: &str) -> ApiResult<()> {
    if id.is_empty()
        || id.len() > 100
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'))
    {
        return Err(ApiError::bad_request(
            "vulnerability id: letters, digits, - . : (at most 100)",
        ));
    }
    Ok(())
}

/// A scan report holding only `findings`: the evidence the impact analysis reads.
pub fn empty_report(findings: Vec<Finding>) -> ScanReport {
    ScanReport {
        schema: patchline_model::vuln::SCAN_SCHEMA.to_string(),
        tool: Default::default(),
        image: Default::default(),
        distro: None,
        distro_eol: false,
        db: DbInfo::default(),
        packages_scanned: 0,
        packages_not_matched: 0,
        unmatched: Vec::new(),
        packages_managed_by_os: 0,
        findings,
        inventory_complete: true,
        warnings: Vec::new(),
        checks: Vec::new(),
        scanners: Vec::new(),
        policy: None,
    }
}

/// The open findings of `id` (or an alias of it), as scan reports keyed by every
/// catalogued reference of their image; and the affected images no catalog entry
/// names (digest, reference).
pub fn stored_reports(
    tx: &mut dyn Tx,
    id: &str,
) -> Result<(HashMap<String, ScanReport>, Vec<UncataloguedImage>)> {
    let mut by_image: BTreeMap<i64, Vec<Finding>> = BTreeMap::new();
    for r in tx.query(
        &format!(
            "SELECT f.image_id, f.doc FROM findings f WHERE f.state = 'open' AND {}",
            crate::store::VULN_OR_ALIAS
        ),
        params![id, id],
    )? {
        if let Some(Ok(f)) = r
            .opt_string(1)?
            .map(|d| serde_json::from_str::<Finding>(&d))
        {
            by_image.entry(r.i64(0)?).or_default().push(f);
        }
    }
    let mut reports = HashMap::new();
    let mut uncatalogued = Vec::new();
    for (image_id, findings) in by_image {
        let refs: Vec<String> = tx
            .query(
                "SELECT reference FROM catalog_entries WHERE image_id = ?",
                params![image_id],
            )?
            .iter()
            .map(|r| r.string(0))
            .collect::<Result<_>>()?;
        if refs.is_empty() {
            let r = tx.query_one(
                "SELECT digest, reference FROM images WHERE id = ?",
                params![image_id],
            )?;
            uncatalogued.push(UncataloguedImage {
                digest: r.string(0)?,
                reference: r.string(1)?,
            });
            continue;
        }
        let report = empty_report(findings);
        for r in refs {
            reports.insert(r, report.clone());
        }
    }
    Ok((reports, uncatalogued))
}

#[derive(Serialize, ToSchema)]
pub struct UncataloguedImage {
    pub digest: String,
    pub reference: String,
}

#[derive(Serialize, ToSchema)]
pub struct CveImpact {
    pub id: String,
    /// `patchline impact --cve`'s report: `roots` (each image where the fix belongs, its
    /// owner, the package and who inherits it) and `images` (every affected catalogued
    /// image, parents first, with its action: fix, rebuild, vendor-must-fix,
    /// rebuild-after-vendor).
    #[schema(value_type = Object)]
    pub impact: serde_json::Value,
    /// Affected images no catalog entry names: their place in the hierarchy is unknown.
    pub uncatalogued: Vec<UncataloguedImage>,
}

/// `id`'s impact over the stored catalog and open findings (`patchline impact --cve`).
pub fn impact(
    tx: &mut dyn Tx,
    id: &str,
) -> Result<(std::sync::Arc<Graph>, ImpactReport, Vec<UncataloguedImage>)> {
    let graph = crate::lineage::load_graph(tx)?;
    let (report, uncatalogued) = impact_in(tx, &graph, id)?;
    Ok((graph, report, uncatalogued))
}

/// [`impact`] over a graph the caller has loaded already (loading it is most of the work
/// at 10,000 images).
pub fn impact_in(
    tx: &mut dyn Tx,
    graph: &Graph,
    id: &str,
) -> Result<(ImpactReport, Vec<UncataloguedImage>)> {
    let (reports, uncatalogued) = stored_reports(tx, id)?;
    let report = patchline_lineage::impact::impact_cve(graph, &reports, id);
    Ok((report, uncatalogued))
}

/// A CVE across the organisation: affected images grouped by the root image that must
/// be fixed, with owners.
#[utoipa::path(get, path = "/api/v1/cves/{id}", tag = "hierarchy",
    params(("id" = String, Path, description = "CVE or other vulnerability id (aliases match)")),
    responses((status = 200, body = CveImpact), (status = 304), (status = 400, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn cve(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    who.require_read()?;
    check_vuln_id(&id)?;
    let body =
        s.db.run_read(move |tx| -> ApiResult<CveImpact> {
            let (_, report, unc) = impact(tx, &id)?;
            Ok(CveImpact {
                id,
                impact: serde_json::to_value(&report)
                    .map_err(|e| ApiError::internal(format!("impact report: {e}")))?,
                uncatalogued: unc,
            })
        })
        .await?;
    Ok(etag_json(&headers, &body))
}

#[derive(Serialize, ToSchema)]
pub struct GraphNode {
    pub reference: String,
    pub aliases: Vec<String>,
    pub tier: String,
    pub owner: Option<String>,
    pub digest: Option<String>,
    pub depth: usize,
    pub external_parent: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct GraphEdge {
    pub parent: String,
    pub child: String,
    /// Built on another build of the parent than the catalogued one.
    pub stale: bool,
}

#[derive(Serialize, ToSchema)]
pub struct GraphDoc {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// Disagreements between signals and other facts a person should look at.
    pub issues: Vec<String>,
}

/// The image hierarchy: nodes (catalogued images) and parent edges.
#[utoipa::path(get, path = "/api/v1/graph", tag = "hierarchy",
    responses((status = 200, body = GraphDoc), (status = 304)),
    security(("token" = [])))]
pub async fn graph(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
) -> ApiResult<Response> {
    who.require_read()?;
    let g = s.db.run_read(crate::lineage::load_graph).await?;
    let name = |i: NodeId| g.node(i).reference().to_string();
    let doc = GraphDoc {
        nodes: g
            .nodes()
            .iter()
            .map(|n| GraphNode {
                reference: n.reference().to_string(),
                aliases: n.aliases.clone(),
                tier: n.entry.tier.as_str().to_string(),
                owner: n.entry.owner.as_ref().map(|o| o.team.clone()),
                digest: n.entry.digest.as_ref().map(|d| d.to_string()),
                depth: n.depth,
                external_parent: n.external_parent.clone(),
            })
            .collect(),
        edges: g
            .edges()
            .map(|e| GraphEdge {
                parent: name(e.parent),
                child: name(e.child),
                stale: e.stale,
            })
            .collect(),
        issues: g.issues().iter().map(|i| i.to_string()).collect(),
    };
    Ok(etag_json(&headers, &doc))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    /// Plan the fix of this vulnerability.
    pub cve: Option<String>,
    /// Plan the rebuild of everything below this catalogued base ...
    pub base: Option<String>,
    /// ... onto this new base, pinned: `REPO:TAG@sha256:...`.
    pub to: Option<String>,
    /// `patch` (default), `suffix:-p` or `date`.
    pub tag_scheme: Option<String>,
}

fn parse_scheme(s: &str) -> ApiResult<TagScheme> {
    match s {
        "patch" => Ok(TagScheme::BumpPatch),
        "date" => Ok(TagScheme::Date),
        _ => match s.strip_prefix("suffix:") {
            Some(x) => {
                let x = x.trim_start_matches('-');
                if x.is_empty() || x.len() > 20 || !x.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(ApiError::bad_request(
                        "tag_scheme: the suffix must be letters or digits (suffix:-p)",
                    ));
                }
                Ok(TagScheme::Suffix(x.to_string()))
            }
            None => Err(ApiError::bad_request(
                "tag_scheme: expected patch, suffix:-p or date",
            )),
        },
    }
}

/// The plan input for one node (no Containerfile: see the module).
fn plan_image(tx: &mut dyn Tx, g: &Graph, id: NodeId, packages: Vec<String>) -> Result<PlanImage> {
    let n = g.node(id);
    let e = &n.entry;
    let row = tx.query_opt(
        "SELECT c.image_id, i.distro_id FROM catalog_entries c LEFT JOIN inventories i ON i.image_id = c.image_id
         WHERE c.reference = ?",
        params![&e.reference],
    )?;
    let (image_id, distro_id) = match row {
        Some(r) => (r.opt_i64(0)?, r.opt_string(1)?),
        None => (None, None),
    };
    // Inventories stored before migration 13 have no distro_id column value.
    let distro_id = match (image_id, distro_id) {
        (_, Some(d)) => Some(d),
        (Some(i), None) => {
            crate::store::load_inventory(tx, i)?.and_then(|inv| inv.distro.map(|d| d.id))
        }
        (None, None) => None,
    };
    Ok(PlanImage {
        reference: e.reference.clone(),
        parent: n.parent.map(|p| g.node(p).reference().to_string()),
        tier: e.tier.as_str().to_string(),
        owner: e
            .owner
            .as_ref()
            .map(|o| o.team.clone())
            .unwrap_or_else(|| "unknown".into()),
        contact: e.owner.as_ref().and_then(|o| o.contact.clone()),
        containerfile_path: e.containerfile.clone(),
        containerfile: None,
        distro_id,
        packages_to_upgrade: packages,
        cots: e.tier == Tier::Cots,
        ..PlanImage::default()
    })
}

/// The plan input of a query (`GET /api/v1/plans`): the dashboard's image page plans
/// through it too.
pub fn plan_request(tx: &mut dyn Tx, q: &PlanQuery, scheme: TagScheme) -> ApiResult<PlanRequest> {
    let g = crate::lineage::load_graph(tx)?;
    plan_request_in(tx, &g, q, scheme)
}

/// [`plan_request`] over a graph the caller has loaded already.
pub fn plan_request_in(
    tx: &mut dyn Tx,
    g: &Graph,
    q: &PlanQuery,
    scheme: TagScheme,
) -> ApiResult<PlanRequest> {
    let mut images = Vec::new();
    let trigger = match (&q.cve, &q.base, &q.to) {
        (Some(id), None, None) => {
            check_vuln_id(id)?;
            let (report, _) = impact_in(tx, g, id)?;
            if report.images.is_empty() {
                return Err(ApiError::not_found(format!(
                    "no catalogued image is affected by {id}"
                )));
            }
            let mut fixes = plan::RootFixes::from_impact(&report);
            let mut seen = HashSet::new();
            for img in &report.images {
                let Some(node) = g.find(&img.image) else {
                    continue;
                };
                if !seen.insert(node) {
                    continue;
                }
                let pkgs = fixes.packages_of(&img.image);
                let mut p = plan_image(tx, g, node, pkgs)?;
                fixes.apply(&img.image, &mut p);
                images.push(p);
            }
            Trigger::Cve { id: id.clone() }
        }
        (None, Some(base), Some(to)) => {
            let b = g
                .find(base)
                .ok_or_else(|| ApiError::not_found(format!("base {base} is not in the catalog")))?;
            let to = to.strip_prefix("docker://").unwrap_or(to);
            let Some((new_ref, digest)) = to.split_once('@') else {
                return Err(ApiError::bad_request(
                    "to: pin the new base (REPO:TAG@sha256:...): the server does not resolve tags on a read",
                ));
            };
            for d in g.descendants(b) {
                images.push(plan_image(tx, g, d, Vec::new())?);
            }
            Trigger::NewBase {
                image: g.node(b).reference().to_string(),
                new_ref: new_ref.to_string(),
                new_digest: digest.to_string(),
            }
        }
        (None, Some(_), None) => {
            return Err(ApiError::bad_request("base: needs to=REPO:TAG@DIGEST"))
        }
        _ => {
            return Err(ApiError::bad_request(
                "give cve=ID, or base=IMAGE and to=REPO:TAG@DIGEST",
            ))
        }
    };
    let mut req = PlanRequest::new(trigger, images, scheme);
    // The tags already stored are taken: a new tag never reuses one.
    for r in tx.query("SELECT registry, repository, tag FROM tags", &[])? {
        req.existing_tags
            .entry(format!("{}/{}", r.str(0)?, r.str(1)?))
            .or_default()
            .insert(r.string(2)?);
    }
    Ok(req)
}

/// A patch plan (rebuild waves, new tags, owners to notify), as `patchline plan
/// --format json` builds it.
#[utoipa::path(get, path = "/api/v1/plans", tag = "hierarchy", params(PlanQuery),
    responses((status = 200, description = "patchline's plan JSON", body = Object), (status = 304), (status = 400, body = crate::api::error::ErrorBody), (status = 404, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn plans(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> ApiResult<Response> {
    who.require_read()?;
    for (f, v) in [("cve", &q.cve), ("base", &q.base), ("to", &q.to)] {
        if v.as_ref().is_some_and(|v| v.len() > 500) {
            return Err(ApiError::bad_request(format!(
                "{f}: longer than 500 characters"
            )));
        }
    }
    let scheme = parse_scheme(q.tag_scheme.as_deref().unwrap_or("patch"))?;
    let req =
        s.db.run_read(move |tx| plan_request(tx, &q, scheme))
            .await?;
    let p = plan::build_plan(&req).map_err(|e| ApiError::unprocessable(format!("plan: {e}")))?;
    let json = plan::render_json(&p).map_err(|e| ApiError::internal(format!("plan: {e}")))?;
    let value: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| ApiError::internal(format!("plan: {e}")))?;
    Ok(etag_json(&headers, &value))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TeamQuery {
    pub cursor: Option<String>,
    /// 1 to 500; default 100.
    pub limit: Option<i64>,
}

/// A team's channels hold secrets (a Slack or webhook URL is its own credential, a
/// header may carry a token): every string under a key that names one is replaced by its
/// host or `***` before any role reads it.
fn redact(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    const SECRET_KEYS: [&str; 6] = ["secret", "token", "password", "webhook", "url", "header"];
    fn hide(v: Value) -> Value {
        match v {
            Value::String(s) => Value::String(match s.split_once("://") {
                Some((scheme, rest)) => {
                    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
                    let host = host.rsplit('@').next().unwrap_or(host);
                    format!("{scheme}://{host}/***")
                }
                None => "***".into(),
            }),
            Value::Array(a) => Value::Array(a.into_iter().map(hide).collect()),
            Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, hide(v))).collect()),
            other => other,
        }
    }
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    if SECRET_KEYS.iter().any(|s| lower.contains(s)) {
                        (k, hide(v))
                    } else {
                        (k, redact(v))
                    }
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(redact).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_documents_lose_their_secrets() {
        let doc = serde_json::json!({
            "name": "shop",
            "notify": [
                {"slack": {"webhook_url": "https://hooks.slack.com/services/T0/B0/XYZ"}},
                {"webhook": "https://user:pw@hooks.example/x?token=1"},
                {"email": ["shop@example.com"], "headers": {"Authorization": "Bearer abc"}}
            ],
            "sla": {"critical": 7}
        });
        let r = redact(doc).to_string();
        for secret in ["XYZ", "pw", "token=1", "abc", "T0"] {
            assert!(!r.contains(secret), "{secret} in {r}");
        }
        assert!(
            r.contains("hooks.slack.com")
                && r.contains("shop@example.com")
                && r.contains("\"critical\":7"),
            "{r}"
        );
    }
}

#[derive(Serialize, ToSchema)]
pub struct TeamItem {
    pub name: String,
    /// The catalog's team document (channels, SLAs), channel secrets redacted.
    #[schema(value_type = Object)]
    pub doc: serde_json::Value,
    pub updated_at: String,
}

/// Teams, by name.
#[utoipa::path(get, path = "/api/v1/teams", tag = "hierarchy", params(TeamQuery),
    responses((status = 200, body = Page<TeamItem>), (status = 304)),
    security(("token" = [])))]
pub async fn teams(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<TeamQuery>,
) -> ApiResult<Response> {
    who.require_read()?;
    let n = limit(q.limit)?;
    let after = decode_text_cursor(q.cursor.as_deref())?.unwrap_or_default();
    let mut rows =
        s.db.run_read(move |tx| -> ApiResult<Vec<TeamItem>> {
            tx.query(
                "SELECT name, doc, updated_at FROM teams WHERE name > ? ORDER BY name LIMIT ?",
                params![after, n + 1],
            )?
            .iter()
            .map(|r| {
                Ok(TeamItem {
                    name: r.string(0)?,
                    doc: redact(serde_json::from_str(r.str(1)?).unwrap_or(serde_json::Value::Null)),
                    updated_at: rfc3339(r.i64(2)?),
                })
            })
            .collect::<Result<_, ApiError>>()
        })
        .await?;
    let more = rows.len() as i64 > n;
    rows.truncate(n as usize);
    let next_cursor = if more {
        rows.last().map(|t| encode_text_cursor(&t.name))
    } else {
        None
    };
    Ok(etag_json(
        &headers,
        &Page {
            items: rows,
            next_cursor,
        },
    ))
}
