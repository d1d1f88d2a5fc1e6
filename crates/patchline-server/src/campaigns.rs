//! Rebuild campaigns: when a watched parent tag moves to a new digest (a patched base is
//! published) or a plan is accepted for a CVE, every descendant is tracked wave by wave
//! until it is rebuilt on the new parent and verified.
//!
//! - **Open** ([`on_tag_moved`], `POST /api/v1/campaigns`): the descendants come from the
//!   stored graph as it was before the move (the old digest's layers are put back for
//!   the root when the entry already shows the new one), the waves and the patched
//!   Containerfiles and new tags from `patchline_lineage::plan::build_plan`. Wave 1 is
//!   `to-rebuild`, later waves `waiting`; COTS images are `exempt` (their vendor
//!   rebuilds). Each item is due after the SLA (`[sla]`, days) of the worst open severity
//!   of the root's old digest (`medium` when it has none).
//! - **Verify** ([`on_image_scanned`]): a new digest stored under an item's reference is
//!   verified as `patchline verify` does — its layer chain starts with the new parent's
//!   (the chain ID at the parent's top layer is the parent's top chain ID), and the
//!   campaign's vulnerability is no longer open in it. Verified items release their
//!   children (`waiting` → `to-rebuild`); a new digest that fails stays `rebuilt`. The
//!   campaign is done when every item is verified or exempt.
//! - **SLA** ([`sla_job`]): items past due become `overdue`, escalated once to their team
//!   and to the security team.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use patchline_lineage::plan::{build_plan, PatchPlan, PlanImage, PlanRequest, TagScheme, Trigger};
use patchline_lineage::{CatalogEntry, Graph, Tier};
use patchline_model::Digest;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::api::{ApiError, ApiResult};
use crate::auth::{Principal, Role};
use crate::db::{now, rfc3339, DbError, Result, Tx};
use crate::jobs::{Job, JobResult};
use crate::notify::{self, NewNotification};
use crate::params;
use crate::state::{AppState, Server};

/// `/api/v1/campaigns`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list_campaigns, open_campaign))
        .routes(utoipa_axum::routes!(get_campaign))
}

/// The layers (diff_ids) of an image by digest: its stored layers, else a catalog
/// entry's resolved ones.
fn layers_of(tx: &mut dyn Tx, digest: &str) -> Result<Vec<Digest>> {
    let rows = tx.query(
        "SELECT l.diff_id FROM image_layers l JOIN images i ON i.id = l.image_id
         WHERE i.digest = ? ORDER BY l.idx",
        params![digest],
    )?;
    if !rows.is_empty() {
        return rows
            .iter()
            .map(|r| {
                r.str(0)?
                    .parse()
                    .map_err(|e| DbError::Other(format!("layer of {digest}: {e}")))
            })
            .collect();
    }
    for e in crate::lineage::load_entries(tx)? {
        if e.digest.as_ref().map(|d| d.to_string()).as_deref() == Some(digest) {
            return Ok(e.diff_ids);
        }
    }
    Ok(Vec::new())
}

/// Is `child` built on `parent`? As `patchline verify`: the parent's layers are a
/// strict prefix of the child's, compared by chain ID.
pub fn built_on(parent: &[Digest], child: &[Digest]) -> bool {
    if parent.is_empty() || parent.len() >= child.len() {
        return false;
    }
    let p = patchline_lineage::chain::chain_ids(parent);
    let c = patchline_lineage::chain::chain_ids(&child[..parent.len()]);
    p.last() == c.last()
}

pub fn sla_days(server: &Server, severity: &str) -> u32 {
    let s = &server.config.sla;
    match severity {
        "critical" => s.critical,
        "high" => s.high,
        "low" => s.low,
        _ => s.medium,
    }
}

/// The worst open severity of an image (by digest), if it has open findings.
fn worst_open(tx: &mut dyn Tx, digest: Option<&str>) -> Result<Option<String>> {
    let Some(d) = digest else { return Ok(None) };
    let rows = tx.query(
        "SELECT DISTINCT f.severity FROM findings f JOIN images i ON i.id = f.image_id
         WHERE i.digest = ? AND f.state = 'open'",
        params![d],
    )?;
    let mut best: Option<(usize, String)> = None;
    for r in rows {
        let s = r.string(0)?;
        let rank = ["critical", "high", "medium", "low"]
            .iter()
            .position(|x| *x == s)
            .unwrap_or(4);
        if best.as_ref().is_none_or(|(b, _)| rank < *b) {
            best = Some((rank, s));
        }
    }
    Ok(best.map(|b| b.1))
}

fn plan_image(graph: &Graph, id: usize, cots_team: Option<String>) -> PlanImage {
    let n = graph.node(id);
    let e = &n.entry;
    PlanImage {
        reference: e.reference.clone(),
        parent: graph
            .parent(id)
            .map(|p| graph.node(p).reference().to_string()),
        tier: e.tier.as_str().to_string(),
        owner: e
            .owner
            .as_ref()
            .map(|o| o.team.clone())
            .or(cots_team)
            .unwrap_or_else(|| "unknown".into()),
        contact: e.owner.as_ref().and_then(|o| o.contact.clone()),
        containerfile_path: e.containerfile.clone(),
        cots: e.tier == Tier::Cots,
        ..PlanImage::default()
    }
}

/// What a new campaign tracks.
struct Opening<'a> {
    kind: &'a str,
    title: String,
    root: String,
    old_digest: Option<String>,
    new_digest: Option<String>,
    vuln_id: Option<String>,
    severity: Option<String>,
    /// A CVE campaign's roots (fixed in place, not items): each one's packages to
    /// upgrade and their fixed versions, so that the plan starts its waves there.
    fixes: BTreeMap<String, (Vec<String>, BTreeMap<String, String>)>,
}

/// Opens a campaign over `members` (graph nodes, the root excluded, parents first).
fn open(
    tx: &mut dyn Tx,
    server: &Server,
    graph: &Graph,
    members: &[usize],
    trigger: Trigger,
    o: Opening<'_>,
) -> Result<i64> {
    let teams = notify::teams::all(tx)?;
    let cve = matches!(trigger, Trigger::Cve { .. });
    let mut root_ids: Vec<usize> = Vec::new();
    let mut images: Vec<PlanImage> = Vec::new();
    let root_refs: Vec<String> = if o.fixes.is_empty() {
        vec![o.root.clone()]
    } else {
        o.fixes.keys().cloned().collect()
    };
    for r in root_refs {
        if let Some(id) = graph.find(&r) {
            let mut img = plan_image(graph, id, None);
            if let Some((pkgs, fixed)) = o.fixes.get(&r) {
                img.packages_to_upgrade = pkgs.clone();
                img.fixed_versions = fixed.clone();
            }
            root_ids.push(id);
            images.push(img);
        }
    }
    let n_roots = images.len();
    for &m in members {
        let vendor = notify::teams::vendor_team(&teams, graph.node(m).reference());
        images.push(plan_image(graph, m, vendor));
    }
    // The plan gives waves, new tags and patched Containerfiles; when it refuses (an
    // odd reference), waves fall back to the depth below the root.
    let plan: Option<PatchPlan> = build_plan(&PlanRequest::new(
        trigger,
        images.clone(),
        TagScheme::Suffix("p".into()),
    ))
    .ok();
    let mut wave_of: HashMap<String, usize> = HashMap::new();
    if let Some(p) = &plan {
        for w in &p.waves {
            for i in &w.images {
                // Campaigns count waves from 1: a base move's plan puts the base's
                // children in its wave 0, a CVE plan its roots (not items).
                wave_of.insert(i.reference.clone(), w.index + usize::from(!cve));
            }
        }
    }
    let depth = |id: usize| -> usize {
        let mut d = 0;
        let mut cur = id;
        while let Some(p) = graph.parent(cur) {
            d += 1;
            if root_ids.contains(&p) {
                break;
            }
            cur = p;
        }
        d.max(1)
    };
    let t = now();
    let severity = o.severity.clone().unwrap_or_else(|| "medium".into());
    let due = t + i64::from(sla_days(server, &severity)) * 86_400;
    let plan_json = plan.as_ref().and_then(|p| serde_json::to_string(p).ok());
    let id = tx.query_i64(
        "INSERT INTO campaigns (kind, title, root_reference, old_digest, new_digest, vuln_id, state, opened_at, plan)
         VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?) RETURNING id",
        params![o.kind, &o.title, &o.root, o.old_digest.clone(), o.new_digest.clone(), o.vuln_id.clone(), t, plan_json],
    )?;
    let mut to_tell: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (img, &m) in images.iter().skip(n_roots).zip(members) {
        let wave = wave_of
            .get(&img.reference)
            .copied()
            .unwrap_or_else(|| depth(m));
        let state = if img.cots {
            "exempt"
        } else if wave <= 1 {
            "to-rebuild"
        } else {
            "waiting"
        };
        let team = (img.owner != "unknown").then(|| img.owner.clone());
        let old = graph.node(m).entry.digest.as_ref().map(|d| d.to_string());
        tx.exec(
            "INSERT INTO campaign_items (campaign_id, reference, team, wave, parent_reference, state, due_at, old_digest, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params![id, &img.reference, team.clone(), wave, img.parent.clone(), state, due, old, t],
        )?;
        if state == "to-rebuild" {
            if let Some(team) = team {
                to_tell.entry(team).or_default().push(img.reference.clone());
            }
        }
    }
    for (team, refs) in to_tell {
        let key = format!("campaign:{id}:to-rebuild");
        notify::queue(
            tx,
            NewNotification {
                team: &team,
                dedupe_key: &key,
                kind: "campaign",
                urgent: severity == "critical",
                subject: format!("[rebuild] campaign #{id}: {}", o.title),
                text: format!(
                    "Rebuild on {}{} by {}: {}",
                    o.root,
                    o.new_digest
                        .as_deref()
                        .map(|d| format!("@{d}"))
                        .unwrap_or_default(),
                    rfc3339(due),
                    refs.join(", ")
                ),
                details: serde_json::json!({"campaign": id, "images": refs, "due_at": rfc3339(due)}),
            },
        )?;
    }
    Ok(id)
}

/// A tag moved from `old` to `new` (in the transaction that recorded the move).
pub fn on_tag_moved(
    tx: &mut dyn Tx,
    server: &Server,
    registry: &str,
    repository: &str,
    tag: &str,
    old: Option<&str>,
    new: &str,
) -> Result<()> {
    let Some(old) = old.filter(|o| *o != new) else {
        return Ok(());
    };
    let reference = if registry.is_empty() {
        format!("{repository}:{tag}")
    } else {
        format!("{registry}/{repository}:{tag}")
    };
    let mut entries: Vec<CatalogEntry> = crate::lineage::load_entries(tx)?;
    // The hierarchy before the move: the root as it was at the old digest.
    let old_layers = layers_of(tx, old)?;
    let probe = Graph::build(entries.clone());
    let Some(root_id) = probe.find(&reference) else {
        return Ok(());
    };
    let root_ref = probe.node(root_id).reference().to_string();
    if let Some(e) = entries.iter_mut().find(|e| e.reference == root_ref) {
        if e.digest.as_ref().map(|d| d.to_string()).as_deref() != Some(old)
            && !old_layers.is_empty()
        {
            e.digest = old.parse().ok();
            e.diff_ids = old_layers;
            e.chain_ids.clear();
            e.ensure_chain_ids();
        }
    }
    let graph = Graph::build(entries);
    let Some(root_id) = graph.find(&root_ref) else {
        return Ok(());
    };
    let members = graph.descendants(root_id);
    if members.is_empty() {
        return Ok(());
    }
    let exists = tx.query_opt(
        "SELECT id FROM campaigns WHERE kind = 'base-moved' AND root_reference = ? AND new_digest = ?",
        params![&root_ref, new],
    )?;
    if exists.is_some() {
        return Ok(());
    }
    let severity = worst_open(tx, Some(old))?;
    let short = &new[..new.len().min(19)];
    open(
        tx,
        server,
        &graph,
        &members,
        Trigger::NewBase {
            image: root_ref.clone(),
            new_ref: root_ref.clone(),
            new_digest: new.to_string(),
        },
        Opening {
            kind: "base-moved",
            title: format!("rebuild on {root_ref} ({short})"),
            root: root_ref.clone(),
            old_digest: Some(old.to_string()),
            new_digest: Some(new.to_string()),
            vuln_id: None,
            severity,
            fixes: BTreeMap::new(),
        },
    )?;
    // Campaigns this move closes a step of: the root itself may be an item elsewhere.
    Ok(())
}

/// An image was scanned (in the transaction that stored it): it may close its part of a
/// campaign.
pub fn on_image_scanned(tx: &mut dyn Tx, _server: &Server, image_id: i64) -> Result<()> {
    let Some(row) = tx.query_opt("SELECT digest FROM images WHERE id = ?", params![image_id])?
    else {
        return Ok(());
    };
    let digest = row.string(0)?;
    let refs: Vec<String> = tx
        .query(
            "SELECT reference FROM catalog_entries WHERE image_id = ?",
            params![image_id],
        )?
        .iter()
        .map(|r| r.string(0))
        .collect::<Result<_>>()?;
    for reference in refs {
        let items = tx.query(
            "SELECT c.id, c.root_reference, c.new_digest, c.vuln_id, i.parent_reference, i.old_digest
             FROM campaign_items i JOIN campaigns c ON c.id = i.campaign_id
             WHERE c.state = 'open' AND i.reference = ? AND i.state NOT IN ('verified', 'exempt')",
            params![&reference],
        )?;
        for it in items {
            let campaign = it.i64(0)?;
            let root = it.string(1)?;
            if it.opt_string(5)?.as_deref() == Some(digest.as_str()) {
                continue;
            }
            let parent = it.opt_string(4)?;
            // The digest the item must be built on: the new root, or its parent item's
            // verified rebuild.
            let parent_digest = match parent.as_deref() {
                Some(p) if p != root => tx
                    .query_opt(
                        "SELECT new_digest FROM campaign_items WHERE campaign_id = ? AND reference = ? AND state = 'verified'",
                        params![campaign, p],
                    )?
                    .and_then(|r| r.opt_string(0).ok().flatten()),
                // A CVE campaign has no new root digest: the CVE alone decides.
                _ => it.opt_string(2)?,
            };
            let on_parent = match &parent_digest {
                Some(pd) => {
                    let pl = layers_of(tx, pd)?;
                    let cl = layers_of(tx, &digest)?;
                    built_on(&pl, &cl)
                }
                // No new parent to check against (a CVE campaign's root): the CVE decides.
                None => parent.is_none() || parent.as_deref() == Some(root.as_str()),
            };
            let cve_gone = match it.opt_string(3)? {
                Some(v) => tx
                    .query_opt(
                        &format!(
                            "SELECT 1 FROM findings f WHERE f.image_id = ? AND f.state = 'open' AND {}",
                            crate::store::VULN_OR_ALIAS
                        ),
                        params![image_id, &v, &v],
                    )?
                    .is_none(),
                None => true,
            };
            let state = if on_parent && cve_gone {
                "verified"
            } else {
                "rebuilt"
            };
            tx.exec(
                "UPDATE campaign_items SET state = ?, new_digest = ?, updated_at = ? WHERE campaign_id = ? AND reference = ?",
                params![state, &digest, now(), campaign, &reference],
            )?;
            if state == "verified" {
                let released = tx.query(
                    "UPDATE campaign_items SET state = 'to-rebuild', updated_at = ?
                     WHERE campaign_id = ? AND parent_reference = ? AND state = 'waiting'
                     RETURNING reference, team, due_at",
                    params![now(), campaign, &reference],
                )?;
                // Each released item's team hears that its parent is ready.
                for r in released {
                    let (child, team, due) = (r.string(0)?, r.opt_string(1)?, r.opt_i64(2)?);
                    let Some(team) = team else { continue };
                    let key = format!("campaign:{campaign}:release:{child}");
                    notify::queue(
                        tx,
                        NewNotification {
                            team: &team,
                            dedupe_key: &key,
                            kind: "campaign",
                            urgent: false,
                            subject: format!("[rebuild] {child}: its parent is rebuilt (campaign #{campaign})"),
                            text: format!(
                                "{reference} is rebuilt and verified as {digest}: rebuild {child} on it{}.",
                                due.map(|d| format!(" by {}", rfc3339(d))).unwrap_or_default()
                            ),
                            details: serde_json::json!({
                                "campaign": campaign, "image": child, "parent": reference, "parent_digest": digest,
                            }),
                        },
                    )?;
                }
                let left = tx.query_i64(
                    "SELECT COUNT(*) FROM campaign_items WHERE campaign_id = ? AND state NOT IN ('verified', 'exempt')",
                    params![campaign],
                )?;
                if left == 0 {
                    tx.exec(
                        "UPDATE campaigns SET state = 'done', closed_at = ? WHERE id = ?",
                        params![now(), campaign],
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// Items past their SLA are marked overdue and escalated (once per item) to the item's
/// team and the security team.
pub fn sla_job(server: &Arc<Server>, _job: &Job) -> JobResult {
    server.db.tx(|tx| check_sla(tx, now()))?;
    // Approvals of external images expire, or are revoked when the image gains a KEV
    // finding or falls behind its own upstream, on the same schedule.
    let revoked = server.db.tx(|tx| crate::trusted::review(tx, server))?;
    for r in &revoked {
        tracing::info!(trusted_image = r.id, reason = %r.reason, "trusted image approval ended");
    }
    Ok(())
}

/// [`sla_job`]'s work at time `t`; returns the items escalated.
pub fn check_sla(tx: &mut dyn Tx, t: i64) -> Result<usize> {
    let rows = tx.query(
        "SELECT i.campaign_id, i.reference, i.team, i.due_at, c.title FROM campaign_items i
         JOIN campaigns c ON c.id = i.campaign_id
         WHERE c.state = 'open' AND i.due_at < ? AND i.state IN ('waiting', 'to-rebuild', 'rebuilt')",
        params![t],
    )?;
    let teams = notify::teams::all(tx)?;
    let security = notify::teams::security_teams(&teams);
    let mut n = 0;
    for r in rows {
        let (campaign, reference, team, due, title) = (
            r.i64(0)?,
            r.string(1)?,
            r.opt_string(2)?,
            r.opt_i64(3)?,
            r.string(4)?,
        );
        tx.exec(
            "UPDATE campaign_items SET state = 'overdue', updated_at = ? WHERE campaign_id = ? AND reference = ?",
            params![t, campaign, &reference],
        )?;
        let owner = team.clone().unwrap_or_else(|| "no owning team".into());
        let due_text = due.map(rfc3339).unwrap_or_default();
        let mut to: Vec<String> = team.into_iter().collect();
        to.extend(security.iter().cloned());
        to.dedup();
        for dest in to {
            let key = format!("escalation:{campaign}:{reference}");
            notify::queue(
                tx,
                NewNotification {
                    team: &dest,
                    dedupe_key: &key,
                    kind: "escalation",
                    urgent: true,
                    subject: format!("[overdue] {reference} in campaign #{campaign}"),
                    text: format!(
                        "{reference} ({owner}) was due {due_text} in campaign #{campaign} ({title}) and is not rebuilt and verified."
                    ),
                    details: serde_json::json!({
                        "campaign": campaign, "reference": reference, "team": owner, "due_at": due_text,
                    }),
                },
            )?;
        }
        n += 1;
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------
// API

/// A campaign as listed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CampaignSummary {
    pub id: i64,
    /// `base-moved` or `cve`.
    pub kind: String,
    pub title: String,
    pub root_reference: String,
    pub old_digest: Option<String>,
    pub new_digest: Option<String>,
    pub vuln_id: Option<String>,
    /// `open`, `done` or `cancelled`.
    pub state: String,
    pub opened_at: String,
    pub closed_at: Option<String>,
    /// Items per state.
    pub counts: BTreeMap<String, i64>,
}

/// One descendant's part.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CampaignItem {
    pub reference: String,
    pub team: Option<String>,
    pub wave: i64,
    pub parent_reference: Option<String>,
    /// waiting | to-rebuild | rebuilt | verified | overdue | exempt.
    pub state: String,
    pub due_at: Option<String>,
    pub old_digest: Option<String>,
    pub new_digest: Option<String>,
    /// The plan's new tag for the rebuild (`repo:tag-p1`).
    pub new_reference: Option<String>,
    /// The plan's patched Containerfile, when one could be written.
    pub patched_containerfile: Option<String>,
}

/// A campaign with its progress.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CampaignDetail {
    #[serde(flatten)]
    pub summary: CampaignSummary,
    /// Wave number → its items' references.
    pub waves: BTreeMap<String, Vec<String>>,
    pub items: Vec<CampaignItem>,
}

pub fn summary(tx: &mut dyn Tx, r: &crate::db::Row) -> Result<CampaignSummary> {
    let id = r.i64(0)?;
    let mut counts = BTreeMap::new();
    for c in tx.query(
        "SELECT state, COUNT(*) FROM campaign_items WHERE campaign_id = ? GROUP BY state",
        params![id],
    )? {
        counts.insert(c.string(0)?, c.i64(1)?);
    }
    Ok(CampaignSummary {
        id,
        kind: r.string(1)?,
        title: r.string(2)?,
        root_reference: r.string(3)?,
        old_digest: r.opt_string(4)?,
        new_digest: r.opt_string(5)?,
        vuln_id: r.opt_string(6)?,
        state: r.string(7)?,
        opened_at: rfc3339(r.i64(8)?),
        closed_at: r.opt_i64(9)?.map(rfc3339),
        counts,
    })
}

pub const CAMPAIGN_COLUMNS: &str =
    "id, kind, title, root_reference, old_digest, new_digest, vuln_id, state, opened_at, closed_at, plan";

/// `GET /api/v1/campaigns`'s query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CampaignQuery {
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 500 (default 100).
    pub limit: Option<i64>,
    /// `open`, `done` or `cancelled`.
    pub state: Option<String>,
}

/// Campaigns, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns", params(CampaignQuery),
    responses((status = 200, body = crate::api::common::Page<CampaignSummary>)), security(("token" = [])))]
async fn list_campaigns(
    State(state): State<AppState>,
    who: Principal,
    crate::api::common::ApiQuery(q): crate::api::common::ApiQuery<CampaignQuery>,
) -> ApiResult<Json<crate::api::common::Page<CampaignSummary>>> {
    // A scanner token uploads; it reads nothing back.
    who.require_read()?;
    let limit = crate::api::common::limit(q.limit)?;
    let after = crate::api::common::decode_cursor(q.cursor.as_deref())?;
    if let Some(st) = &q.state {
        if !["open", "done", "cancelled"].contains(&st.as_str()) {
            return Err(ApiError::bad_request(format!(
                "state: {st:?} (open, done or cancelled)"
            )));
        }
    }
    let rows = state
        .db
        .run_read(move |tx| -> Result<Vec<CampaignSummary>> {
            let rows = tx.query(
                &format!(
                    "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE (? IS NULL OR id < ?) AND (? IS NULL OR state = ?)
                     ORDER BY id DESC LIMIT ?"
                ),
                params![after, after, q.state.clone(), q.state, limit + 1],
            )?;
            rows.iter().map(|r| summary(tx, r)).collect()
        })
        .await?;
    Ok(Json(crate::api::common::page(rows, limit, |c| c.id)))
}

/// One campaign: counts per state, waves, items with team, state, due date, old and new
/// digest, and the plan's new tags and patched Containerfiles.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    params(("id" = i64, Path, description = "campaign id")),
    responses((status = 200, body = CampaignDetail), (status = 404, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
async fn get_campaign(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<CampaignDetail>> {
    who.require_read()?;
    let out = state.db.run_read(move |tx| detail(tx, id)).await?;
    out.map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no campaign {id}")))
}

/// A campaign's detail (what `GET /api/v1/campaigns/{id}` answers).
pub fn detail(tx: &mut dyn Tx, id: i64) -> Result<Option<CampaignDetail>> {
    let Some(r) = tx.query_opt(
        &format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?"),
        params![id],
    )?
    else {
        return Ok(None);
    };
    let summary = summary(tx, &r)?;
    let plan: Option<PatchPlan> = r
        .opt_string(10)?
        .and_then(|p| serde_json::from_str(&p).ok());
    let planned: HashMap<String, (String, Option<String>)> = plan
        .iter()
        .flat_map(|p| p.waves.iter().flat_map(|w| w.images.iter()))
        .map(|i| {
            (
                i.reference.clone(),
                (i.new_reference.clone(), i.patched_containerfile.clone()),
            )
        })
        .collect();
    let mut waves: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut items = Vec::new();
    for i in tx.query(
        "SELECT reference, team, wave, parent_reference, state, due_at, old_digest, new_digest
         FROM campaign_items WHERE campaign_id = ? ORDER BY wave, reference",
        params![id],
    )? {
        let reference = i.string(0)?;
        let wave = i.i64(2)?;
        waves
            .entry(wave.to_string())
            .or_default()
            .push(reference.clone());
        let p = planned.get(&reference);
        items.push(CampaignItem {
            team: i.opt_string(1)?,
            wave,
            parent_reference: i.opt_string(3)?,
            state: i.string(4)?,
            due_at: i.opt_i64(5)?.map(rfc3339),
            old_digest: i.opt_string(6)?,
            new_digest: i.opt_string(7)?,
            new_reference: p.map(|p| p.0.clone()),
            patched_containerfile: p.and_then(|p| p.1.clone()),
            reference,
        });
    }
    Ok(Some(CampaignDetail {
        summary,
        waves,
        items,
    }))
}

/// Opening a campaign for a vulnerability.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCampaign {
    /// The CVE (or any alias) to fix everywhere it is found in the catalogued images.
    pub vuln_id: String,
}

/// Opens a campaign from the patch plan for a CVE: every image that inherits it from a
/// root, in waves below the roots (security or admin).
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", request_body = OpenCampaign,
    responses((status = 201, body = CampaignDetail), (status = 403, body = crate::api::error::ErrorBody),
        (status = 422, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
async fn open_campaign(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Json(body): Json<OpenCampaign>,
) -> ApiResult<(axum::http::StatusCode, Json<CampaignDetail>)> {
    who.require(&[Role::Security])?;
    let vuln = body.vuln_id.trim().to_string();
    if vuln.is_empty() || vuln.len() > 200 {
        return Err(ApiError::bad_request("vuln_id: 1 to 200 characters"));
    }
    let request_id = crate::api::request_id(&headers);
    let server = state.clone();
    let out = state
        .db
        .run(move |tx| -> std::result::Result<CampaignDetail, ApiError> {
            let id = open_for_cve(tx, &server, &vuln)?.ok_or_else(|| {
                ApiError::unprocessable(format!(
                    "{vuln}: no catalogued image inherits it from a fixable root"
                ))
            })?;
            let d = detail(tx, id)?.ok_or_else(|| ApiError::internal("campaign vanished"))?;
            crate::audit::record(
                tx,
                &who,
                "campaign.open",
                &format!("campaign:{id}"),
                None::<&()>,
                Some(&d.summary),
                request_id.as_deref(),
            )?;
            Ok(d)
        })
        .await?;
    Ok((axum::http::StatusCode::CREATED, Json(out)))
}

/// Opens a `cve` campaign: the images under each root of the vulnerability (from the
/// stored findings); `None` when nothing is to be rebuilt.
pub fn open_for_cve(tx: &mut dyn Tx, server: &Server, vuln: &str) -> Result<Option<i64>> {
    let graph = crate::lineage::load_graph(tx)?;
    let scans = notify::stored_reports(tx, vuln)?;
    let report = patchline_lineage::impact_cve(&graph, &scans, vuln);
    let Some(first) = report.roots.first() else {
        return Ok(None);
    };
    // Every affected image but the roots themselves (they are fixed in place, then the
    // rest rebuilds); parents first.
    let roots: Vec<&str> = report.roots.iter().map(|r| r.image.as_str()).collect();
    let members: Vec<usize> = report
        .images
        .iter()
        .filter(|i| !roots.contains(&i.image.as_str()))
        .filter_map(|i| graph.find(&i.image))
        .collect();
    if members.is_empty() {
        return Ok(None);
    }
    let root_digest = graph
        .find(&first.image)
        .and_then(|n| graph.node(n).entry.digest.as_ref().map(|d| d.to_string()));
    let severity = tx
        .query(
            &format!(
                "SELECT DISTINCT f.severity FROM findings f WHERE {} AND f.state = 'open'",
                crate::store::VULN_OR_ALIAS
            ),
            params![vuln, vuln],
        )?
        .iter()
        .filter_map(|r| r.string(0).ok())
        .min_by_key(|s| {
            ["critical", "high", "medium", "low"]
                .iter()
                .position(|x| x == s)
                .unwrap_or(4)
        });
    // What each root upgrades; one known fixed version moves a pinned version too.
    let mut fixes: BTreeMap<String, (Vec<String>, BTreeMap<String, String>)> = BTreeMap::new();
    for r in &report.roots {
        let f = fixes.entry(r.image.clone()).or_default();
        if r.action == patchline_lineage::impact::Action::Fix && !f.0.contains(&r.package.name) {
            f.0.push(r.package.name.clone());
            if let [only] = r.fixed_versions.as_slice() {
                f.1.insert(r.package.name.clone(), only.clone());
            }
        }
    }
    let id = open(
        tx,
        server,
        &graph,
        &members,
        Trigger::Cve {
            id: vuln.to_string(),
        },
        Opening {
            kind: "cve",
            title: format!("fix {vuln} at {} root(s)", report.roots.len()),
            root: first.image.clone(),
            old_digest: root_digest,
            new_digest: None,
            vuln_id: Some(vuln.to_string()),
            severity,
            fixes,
        },
    )?;
    Ok(Some(id))
}
