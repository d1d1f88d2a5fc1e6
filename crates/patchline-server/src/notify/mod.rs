//! Telling the right owner, once: fix-at-root attribution of new findings, teams'
//! channels (signed generic webhook, Slack-compatible webhook, e-mail over SMTP), an
//! immediate message for KEV and critical findings and a digest for the rest.
//!
//! # Attribution
//!
//! A new finding in image X is placed with the lineage's own fix-at-root analysis
//! ([`patchline_lineage::impact_cve`] over the stored graph and the catalogued images'
//! stored findings of that vulnerability): the **root** is the highest ancestor whose
//! layers carry the package's layer. Its owner gets a `fix` message (package, fixed
//! version, image, every descendant waiting); X's owner, when another team, gets a
//! one-line `waiting` message naming the root and its team. A COTS root goes to the team
//! whose `vendor_relationships` name it, as `vendor` ("vendor must fix"). Images nobody
//! owns in the catalog notify nobody.
//!
//! # Once
//!
//! `notifications` is UNIQUE (team, dedupe_key); the keys are `fix:<root>:<vuln>:<pkg>`,
//! `vendor:<root>:<vuln>:<pkg>` and `waiting:<image>:<vuln>:<pkg>`, so fifty descendants
//! reporting one base package produce one fix message to the base's team, and a finding
//! seen again (a rescan, the same delta replayed) never produces a second message.
//!
//! # When
//!
//! Urgent per the team's `immediate` (KEV, critical by default): a `notify` job at once.
//! The rest stay `pending` until the team's digest (`digest` job: one message per team
//! with everything pending; `weekly` teams at most every seven days, `off` never).
//! Delivery tries every channel, logs each attempt in `deliveries`, and on a failure
//! leaves the job to the queue's backoff: channels that already succeeded are not sent
//! again, a failing one never holds the others.

pub mod channels;
pub mod teams;
pub mod webhook;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use patchline_lineage::impact::Action;
use patchline_lineage::teams::{DigestFrequency, Team};
use patchline_lineage::{CatalogEntry, Graph};
use patchline_model::vuln::{Finding, ScanReport};
use serde::{Deserialize, Serialize};

use crate::db::{now, Result, Tx};
use crate::jobs::{self, Job, JobResult};
use crate::metrics::ChannelLabels;
use crate::params;
use crate::state::Server;
use crate::store::{Delta, StoredFinding};

pub use channels::Message;

/// Payload of a `notify` job.
#[derive(Debug, Serialize, Deserialize)]
pub struct NotifyPayload {
    pub notification_id: i64,
}

/// A notification to queue.
pub struct NewNotification<'a> {
    pub team: &'a str,
    pub dedupe_key: &'a str,
    pub kind: &'a str,
    pub urgent: bool,
    pub subject: String,
    pub text: String,
    pub details: serde_json::Value,
}

/// Inserts a notification unless (team, dedupe key) exists; urgent ones get a `notify`
/// job at once. Returns the new id, `None` when it was already there.
pub fn queue(tx: &mut dyn Tx, n: NewNotification<'_>) -> Result<Option<i64>> {
    let payload = serde_json::json!({
        "subject": n.subject,
        "text": n.text,
        "details": n.details,
    })
    .to_string();
    let row = tx.query_opt(
        "INSERT INTO notifications (team, dedupe_key, kind, urgent, payload, state, created_at)
         VALUES (?, ?, ?, ?, ?, 'pending', ?)
         ON CONFLICT (team, dedupe_key) DO NOTHING RETURNING id",
        params![n.team, n.dedupe_key, n.kind, n.urgent, payload, now()],
    )?;
    let Some(id) = row.map(|r| r.i64(0)).transpose()? else {
        return Ok(None);
    };
    if n.urgent {
        enqueue_delivery(tx, id)?;
    }
    Ok(Some(id))
}

fn enqueue_delivery(tx: &mut dyn Tx, id: i64) -> Result<()> {
    let key = format!("notify:{id}");
    jobs::enqueue(
        tx,
        jobs::kind::NOTIFY,
        &NotifyPayload {
            notification_id: id,
        },
        jobs::Enqueue {
            dedupe_key: Some(&key),
            priority: 10,
            max_attempts: Some(8),
            ..jobs::Enqueue::default()
        },
    )?;
    Ok(())
}

/// Everything attribution needs, loaded once per delta.
struct Context {
    graph: Graph,
    teams: Vec<Team>,
    entries: HashMap<String, CatalogEntry>,
    /// vulnerability → the impact report over the stored findings.
    reports: HashMap<String, patchline_lineage::ImpactReport>,
}

impl Context {
    fn team(&self, name: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.name == name)
    }

    fn owner(&self, reference: &str) -> Option<String> {
        self.entries
            .get(reference)
            .and_then(|e| e.owner.as_ref())
            .map(|o| o.team.clone())
    }
}

/// The stored findings of `vuln` of every catalogued, scanned image, as scan reports
/// keyed by catalogued reference: what `impact_cve` reads. A scanned image without the
/// vulnerability gets an empty report (it is known not to carry it).
pub(crate) fn stored_reports(tx: &mut dyn Tx, vuln: &str) -> Result<HashMap<String, ScanReport>> {
    let mut out: HashMap<String, ScanReport> = HashMap::new();
    for r in tx.query(
        "SELECT c.reference, i.digest FROM catalog_entries c JOIN images i ON i.id = c.image_id
         WHERE i.last_scanned_at IS NOT NULL",
        &[],
    )? {
        let reference = r.string(0)?;
        let report: ScanReport = serde_json::from_value(serde_json::json!({
            "schema": patchline_model::vuln::SCAN_SCHEMA,
            "tool": patchline_model::Tool::default(),
            "image": {"reference": reference, "manifest_digest": r.string(1)?},
            "db": {"path": "", "schema_version": 0},
            "packages_scanned": 0,
            "findings": [],
            "inventory_complete": true,
        }))
        .map_err(|e| crate::db::DbError::Other(format!("scan report: {e}")))?;
        out.insert(reference, report);
    }
    for r in tx.query(
        "SELECT c.reference, f.doc FROM findings f JOIN catalog_entries c ON c.image_id = f.image_id
         WHERE f.vuln_id = ? AND f.state = 'open' AND f.doc IS NOT NULL",
        params![vuln],
    )? {
        let Ok(f) = serde_json::from_str::<Finding>(r.str(1)?) else {
            continue;
        };
        if let Some(rep) = out.get_mut(r.str(0)?) {
            rep.findings.push(f);
        }
    }
    Ok(out)
}

/// Called in the transaction that stored a scan's or a rematch's delta: queues the
/// notifications it calls for (each (finding, team) once, ever).
pub fn on_delta(tx: &mut dyn Tx, _server: &Server, delta: &Delta) -> Result<()> {
    // Findings that are new, or became KEV (now possibly urgent).
    let mut todo: Vec<&StoredFinding> = delta.new.iter().collect();
    todo.extend(
        delta
            .changed
            .iter()
            .filter(|(f, what)| what == "kev" && f.kev)
            .map(|(f, _)| f),
    );
    if todo.is_empty() {
        return Ok(());
    }
    let refs: Vec<String> = tx
        .query(
            "SELECT reference FROM catalog_entries WHERE image_id = ? ORDER BY reference",
            params![delta.image_id],
        )?
        .iter()
        .map(|r| r.string(0))
        .collect::<Result<_>>()?;
    if refs.is_empty() {
        return Ok(());
    }
    let entries = crate::lineage::load_entries(tx)?;
    let mut ctx = Context {
        graph: Graph::build(entries.clone()),
        teams: teams::all(tx)?,
        entries: entries
            .into_iter()
            .map(|e| (e.reference.clone(), e))
            .collect(),
        reports: HashMap::new(),
    };
    for f in todo {
        if !ctx.reports.contains_key(&f.vuln_id) {
            let scans = stored_reports(tx, &f.vuln_id)?;
            let rep = patchline_lineage::impact_cve(&ctx.graph, &scans, &f.vuln_id);
            ctx.reports.insert(f.vuln_id.clone(), rep);
        }
        let mut nodes_done = Vec::new();
        for reference in &refs {
            let Some(node) = ctx.graph.find(reference) else {
                continue;
            };
            if nodes_done.contains(&node) {
                continue;
            }
            nodes_done.push(node);
            let image = ctx.graph.node(node).reference().to_string();
            attribute(tx, &ctx, f, &image)?;
        }
    }
    Ok(())
}

/// Queues the fix (or vendor) message for the root of finding `f` seen in `image`, and
/// the waiting message for `image`'s owner.
fn attribute(tx: &mut dyn Tx, ctx: &Context, f: &StoredFinding, image: &str) -> Result<()> {
    let report = &ctx.reports[&f.vuln_id];
    let root = report.roots.iter().find(|r| {
        r.package.name == f.package
            && r.package.version == f.version
            && (r.image == image || r.inherited_by.iter().any(|d| d == image))
    });
    let (root_image, action, inherited_by, fixed) = match root {
        Some(r) => (
            r.image.clone(),
            r.action,
            r.inherited_by.clone(),
            r.fixed_versions.clone(),
        ),
        // Not placed (no layer information): the image itself is where it is fixed.
        None => (
            image.to_string(),
            Action::Fix,
            Vec::new(),
            f.fixed_version.clone().into_iter().collect(),
        ),
    };
    let vendor = action == Action::VendorMustFix;
    let root_team = if vendor {
        teams::vendor_team(&ctx.teams, &root_image).or_else(|| ctx.owner(&root_image))
    } else {
        ctx.owner(&root_image)
    };
    let fixed_text = if fixed.is_empty() {
        "no fixed version known yet".to_string()
    } else {
        format!("fixed in {}", fixed.join(", "))
    };
    let urgency = |team: &str| {
        ctx.team(team)
            .map(|t| t.is_immediate(&f.severity, f.kev))
            .unwrap_or(f.kev || f.severity == "critical")
    };
    let kev = if f.kev { ", KEV" } else { "" };
    if let Some(team) = &root_team {
        let (kind, subject, what) = if vendor {
            (
                "vendor",
                format!("[vendor must fix] {} in {root_image}", f.vuln_id),
                format!(
                    "The vendor of {root_image} must ship a fix for {} ({} {}, {}{kev}): {fixed_text}.",
                    f.vuln_id, f.package, f.version, f.severity
                ),
            )
        } else {
            (
                "fix",
                format!("[fix] {} {} in {root_image}", f.vuln_id, f.package),
                format!(
                    "Fix at the root: upgrade {} {} in {root_image} ({}, {}{kev}; {fixed_text}), then rebuild.",
                    f.package, f.version, f.vuln_id, f.severity
                ),
            )
        };
        let mut text = what;
        if !inherited_by.is_empty() {
            text.push_str(&format!(
                "\n{} descendant image(s) wait on this fix: {}",
                inherited_by.len(),
                inherited_by
                    .iter()
                    .take(50)
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let key = format!("{kind}:{root_image}:{}:{}", f.vuln_id, f.package);
        queue(
            tx,
            NewNotification {
                team,
                dedupe_key: &key,
                kind,
                urgent: urgency(team),
                subject,
                text,
                details: serde_json::json!({
                    "vuln_id": f.vuln_id, "ecosystem": f.ecosystem, "package": f.package,
                    "version": f.version, "severity": f.severity, "kev": f.kev,
                    "fixed_versions": fixed, "root": root_image, "action": action,
                    "descendants": inherited_by, "seen_in": image,
                }),
            },
        )?;
    }
    if image != root_image {
        if let Some(team) = ctx.owner(image).filter(|t| Some(t) != root_team.as_ref()) {
            let by = root_team.as_deref().unwrap_or("no owning team");
            let text = if vendor {
                format!(
                    "{image}: {} ({} {}) waiting on {root_image} ({by}): the vendor must fix; rebuild when they ship.",
                    f.vuln_id, f.package, f.version
                )
            } else {
                format!(
                    "{image}: {} ({} {}) waiting on {root_image} ({by}); rebuild once it is fixed.",
                    f.vuln_id, f.package, f.version
                )
            };
            let key = format!("waiting:{image}:{}:{}", f.vuln_id, f.package);
            queue(
                tx,
                NewNotification {
                    team: &team,
                    dedupe_key: &key,
                    kind: "waiting",
                    urgent: urgency(&team),
                    subject: format!("[waiting] {} in {image}", f.vuln_id),
                    text,
                    details: serde_json::json!({
                        "vuln_id": f.vuln_id, "package": f.package, "version": f.version,
                        "severity": f.severity, "kev": f.kev, "image": image,
                        "root": root_image, "root_team": root_team,
                    }),
                },
            )?;
        }
    }
    Ok(())
}

fn load_message(tx: &mut dyn Tx, id: i64) -> Result<Option<(Message, String)>> {
    let Some(r) = tx.query_opt(
        "SELECT team, kind, urgent, payload, state FROM notifications WHERE id = ?",
        params![id],
    )?
    else {
        return Ok(None);
    };
    let payload: serde_json::Value = serde_json::from_str(r.str(3)?).unwrap_or_default();
    let s = |k: &str| payload[k].as_str().unwrap_or_default().to_string();
    Ok(Some((
        Message {
            id,
            team: r.string(0)?,
            kind: r.string(1)?,
            urgent: r.bool(2)?,
            subject: s("subject"),
            text: s("text"),
            details: payload["details"].clone(),
        },
        r.string(4)?,
    )))
}

/// Delivers one notification to its team's channels.
pub fn deliver_job(server: &Arc<Server>, job: &Job) -> JobResult {
    let p: NotifyPayload = job.payload()?;
    let loaded = server.db.read(|tx| -> Result<_> {
        let Some((msg, state)) = load_message(tx, p.notification_id)? else {
            return Ok(None);
        };
        let team = teams::get(tx, &msg.team)?;
        // Channels already delivered in an earlier attempt are not sent again.
        let done: Vec<String> = tx
            .query(
                "SELECT DISTINCT channel FROM deliveries WHERE notification_id = ? AND ok = ?",
                params![p.notification_id, true],
            )?
            .iter()
            .map(|r| r.string(0))
            .collect::<Result<_>>()?;
        Ok(Some((msg, state, team, done)))
    })?;
    let Some((msg, state, team, done)) = loaded else {
        return Ok(());
    };
    if state == "sent" {
        return Ok(());
    }
    let Some(team) = team else {
        anyhow::bail!(
            "notification {}: team {:?} is not in the store (import a catalog with its teams:)",
            msg.id,
            msg.team
        );
    };
    let mut failures = Vec::new();
    let mut results = Vec::new();
    for (i, ch) in team.notify.iter().enumerate() {
        // `webhook#1`: two channels of one kind are told apart.
        let name = format!("{}#{}", ch.kind(), i + 1);
        if done.contains(&name) {
            continue;
        }
        let r = channels::send(ch, &team, &msg, server.config.smtp.as_ref());
        server
            .metrics
            .deliveries
            .get_or_create(&ChannelLabels {
                channel: ch.kind().into(),
                outcome: if r.is_ok() { "ok" } else { "failed" }.into(),
            })
            .inc();
        if let Err(e) = &r {
            tracing::warn!(notification = msg.id, team = %team.name, channel = %name, "delivery failed: {e}");
            failures.push(format!("{name}: {e}"));
        }
        results.push((name, r));
    }
    let last = job.attempts >= job.max_attempts;
    server.db.tx(|tx| -> Result<()> {
        let t = now();
        for (name, r) in &results {
            let (ok, status) = match r {
                Ok(s) => (true, s.clone()),
                Err(e) => (false, e.chars().take(500).collect()),
            };
            let next = (!ok && !last).then(|| t + backoff(job.attempts));
            tx.exec(
                "INSERT INTO deliveries (notification_id, channel, attempt, at, ok, status, next_attempt_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                params![msg.id, name, job.attempts, t, ok, status, next],
            )?;
        }
        if failures.is_empty() {
            tx.exec(
                "UPDATE notifications SET state = 'sent', sent_at = ? WHERE id = ?",
                params![t, msg.id],
            )?;
        } else if last {
            tx.exec(
                "UPDATE notifications SET state = 'failed' WHERE id = ?",
                params![msg.id],
            )?;
        }
        Ok(())
    })?;
    if failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "notification {} to {}: {}",
            msg.id,
            team.name,
            failures.join("; ")
        )
    }
}

/// The queue's backoff after attempt `n` (see `jobs::fail`), for the deliveries log.
fn backoff(n: i64) -> i64 {
    (30i64 << (2 * (n - 1).clamp(0, 6))).min(3600)
}

/// Sends each team the digest of its non-urgent findings: one `digest` notification
/// listing every pending one, which are marked sent as part of it.
pub fn digest_job(server: &Arc<Server>, _job: &Job) -> JobResult {
    server.db.tx(|tx| -> Result<()> {
        let t = now();
        for team in teams::all(tx)? {
            let period = match team.digest {
                DigestFrequency::Off => continue,
                DigestFrequency::Daily => 0,
                DigestFrequency::Weekly => 7 * 86_400 - 3600,
            };
            let key = format!("digest:last:{}", team.name);
            let last: i64 = crate::store::get_state(tx, &key)?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if period > 0 && t - last < period {
                continue;
            }
            let rows = tx.query(
                "SELECT id, kind, payload FROM notifications
                 WHERE team = ? AND state = 'pending' AND urgent = ? AND kind <> 'digest'
                 ORDER BY id LIMIT 1000",
                params![&team.name, false],
            )?;
            if rows.is_empty() {
                continue;
            }
            let mut by_kind: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let mut ids = Vec::new();
            for r in &rows {
                let payload: serde_json::Value =
                    serde_json::from_str(r.str(2)?).unwrap_or_default();
                by_kind
                    .entry(r.string(1)?)
                    .or_default()
                    .push(payload["subject"].as_str().unwrap_or_default().to_string());
                ids.push(r.i64(0)?);
            }
            let mut text = String::new();
            for (kind, subjects) in &by_kind {
                text.push_str(&format!("{kind} ({}):\n", subjects.len()));
                for s in subjects {
                    text.push_str(&format!("  - {s}\n"));
                }
            }
            let dedupe = format!("digest:{}:{t}", team.name);
            let id = queue(
                tx,
                NewNotification {
                    team: &team.name,
                    dedupe_key: &dedupe,
                    kind: "digest",
                    urgent: false,
                    subject: format!("patchline digest for {}: {} item(s)", team.name, ids.len()),
                    text,
                    details: serde_json::json!({ "notifications": ids }),
                },
            )?;
            if let Some(id) = id {
                enqueue_delivery(tx, id)?;
                for n in &ids {
                    tx.exec(
                        "UPDATE notifications SET state = 'sent', sent_at = ? WHERE id = ?",
                        params![t, *n],
                    )?;
                }
            }
            crate::store::set_state(tx, &key, &t.to_string())?;
        }
        Ok(())
    })?;
    Ok(())
}
