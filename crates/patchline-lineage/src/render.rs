//! Renderers of the hierarchy (text tree, JSON, Graphviz dot, Mermaid) and of impact
//! reports (text; JSON is the report's serde form).
//!
//! Every image is named by the reference it was catalogued under. In `dot`, each parent
//! link is exactly one line `"PARENT" -> "CHILD";` (no attributes, so the lines can be
//! grepped); stale images are drawn dashed and red through their node attributes.

use std::fmt::Write as _;

use serde::Serialize;
use time::OffsetDateTime;

use crate::graph::{ChosenBy, Graph, Issue, NodeId, Signals};
use crate::impact::{Action, ImpactReport, VulnCounts};

/// Identifier of the JSON graph document.
pub const GRAPH_SCHEMA: &str = "patchline.lineage-graph/v1";

/// What the renderers add to the bare hierarchy.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions<'a> {
    /// Vulnerability counts per node ([`crate::impact::vuln_counts`]).
    pub counts: Option<&'a [Option<VulnCounts>]>,
    /// "Now" for ages; the current time when `None`.
    pub now: Option<OffsetDateTime>,
}

impl RenderOptions<'_> {
    fn now(&self) -> OffsetDateTime {
        self.now.unwrap_or_else(OffsetDateTime::now_utc)
    }
    fn counts(&self, n: NodeId) -> Option<VulnCounts> {
        self.counts.and_then(|c| c.get(n).copied().flatten())
    }
}

/// Seconds since the image's `created` time (RFC 3339), if it parses.
pub fn age_seconds(created: Option<&str>, now: OffsetDateTime) -> Option<i64> {
    let t = OffsetDateTime::parse(created?, &time::format_description::well_known::Rfc3339).ok()?;
    Some((now - t).whole_seconds())
}

/// `45m`, `7h`, `12d`.
pub fn human_age(seconds: i64) -> String {
    match seconds {
        s if s < 0 => "in the future".into(),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn node_summary(
    g: &Graph,
    n: NodeId,
    opts: &RenderOptions<'_>,
    now: OffsetDateTime,
) -> Vec<String> {
    let node = g.node(n);
    let e = &node.entry;
    let mut parts = vec![format!("[{}]", e.tier)];
    if let Some(o) = &e.owner {
        parts.push(o.to_string());
    }
    if let Some(d) = &e.digest {
        parts.push(format!("{}:{}", d.algorithm().as_str(), d.short()));
    }
    if let Some(a) = age_seconds(e.created.as_deref(), now) {
        parts.push(human_age(a));
    }
    if let Some(c) = opts.counts(n) {
        parts.push(format!("vulns {} own / {} inherited", c.own, c.inherited));
    }
    parts
}

fn flags(g: &Graph, n: NodeId) -> Vec<String> {
    let node = g.node(n);
    let mut f = Vec::new();
    if node.stale {
        f.push("STALE: rebuild on the current parent".to_string());
    }
    if !node.aliases.is_empty() {
        f.push(format!("aliases: {}", node.aliases.join(", ")));
    }
    if let Some(x) = &node.external_parent {
        if node.parent.is_none() {
            f.push(format!("from {x} (not catalogued)"));
        }
    }
    if !node.entry.is_resolved() {
        f.push("unresolved".into());
    }
    f
}

/// Deepest level drawn with tree indentation.
const MAX_INDENT: usize = 40;

/// The forest as an indented tree, then the issues.
pub fn text(g: &Graph, opts: &RenderOptions<'_>) -> String {
    let now = opts.now();
    let mut out = String::new();
    // Explicit stack (deep hierarchies must not exhaust the call stack):
    // (node, prefix for its children, connector for itself).
    let mut stack: Vec<(NodeId, String, String)> = g
        .roots()
        .iter()
        .rev()
        .map(|&r| (r, String::new(), String::new()))
        .collect();
    while let Some((n, prefix, connector)) = stack.pop() {
        let mut line = format!(
            "{connector}{}  {}",
            g.node(n).reference(),
            node_summary(g, n, opts, now).join("  ")
        );
        let fl = flags(g, n);
        if !fl.is_empty() {
            let _ = write!(line, "  ({})", fl.join("; "));
        }
        out.push_str(&line);
        out.push('\n');
        let children = g.children(n);
        let depth = g.node(n).depth + 1;
        for (i, &c) in children.iter().enumerate().rev() {
            let last = i + 1 == children.len();
            // Past MAX_INDENT levels the tree stops widening (a chain of thousands of
            // images, each FROM the previous, must not print quadratic indentation).
            let (conn, next) = if depth > MAX_INDENT {
                (format!("{prefix}[depth {depth}] "), prefix.clone())
            } else if last {
                (format!("{prefix}└── "), format!("{prefix}    "))
            } else {
                (format!("{prefix}├── "), format!("{prefix}│   "))
            };
            stack.push((c, next, conn));
        }
    }
    if g.is_empty() {
        out.push_str("(the catalog is empty)\n");
    }
    let issues = g.issues();
    if !issues.is_empty() {
        let _ = writeln!(out, "\nissues ({}):", issues.len());
        for i in issues {
            let _ = writeln!(out, "  {}: {i}", i.kind());
        }
    }
    out
}

#[derive(Serialize)]
struct JsonImage<'a> {
    reference: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    aliases: &'a [String],
    tier: crate::entry::Tier,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a crate::entry::Owner>,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    age_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<&'a str>,
    layers: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chosen_by: Option<ChosenBy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signals: Option<Signals>,
    stale: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer_parent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_parent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    declared_base: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    build_inputs: &'a [String],
    children: Vec<&'a str>,
    depth: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    vulnerabilities: Option<VulnCounts>,
}

#[derive(Serialize)]
struct JsonEdge<'a> {
    parent: &'a str,
    child: &'a str,
    signals: Signals,
    stale: bool,
}

#[derive(Serialize)]
struct JsonIssue<'a> {
    #[serde(flatten)]
    issue: &'a Issue,
    message: String,
}

#[derive(Serialize)]
struct JsonGraph<'a> {
    schema: &'static str,
    images: Vec<JsonImage<'a>>,
    roots: Vec<&'a str>,
    edges: Vec<JsonEdge<'a>>,
    issues: Vec<JsonIssue<'a>>,
}

/// The graph as a JSON document ([`GRAPH_SCHEMA`]): images in topological order with
/// their parent, the signals that support the link, children, vulnerability counts; the
/// edges; the issues with a message each.
pub fn json(g: &Graph, opts: &RenderOptions<'_>) -> serde_json::Value {
    let now = opts.now();
    let name = |n: NodeId| g.node(n).reference();
    let images = g
        .topological_order()
        .iter()
        .map(|&n| {
            let node = g.node(n);
            let e = &node.entry;
            JsonImage {
                reference: &e.reference,
                aliases: &node.aliases,
                tier: e.tier,
                owner: e.owner.as_ref(),
                digest: e.digest.as_ref().map(|d| d.to_string()),
                created: e.created.as_deref(),
                age_seconds: age_seconds(e.created.as_deref(), now),
                platform: e.platform.as_deref(),
                layers: e.diff_ids.len(),
                parent: node.parent.map(name),
                chosen_by: node.chosen_by,
                signals: node.parent.map(|_| node.signals),
                stale: node.stale,
                layer_parent: node.layer_parent.map(name),
                external_parent: node.external_parent.as_deref(),
                declared_base: e.declared_base.as_deref(),
                build_inputs: &e.build_inputs,
                children: g.children(n).iter().map(|&c| name(c)).collect(),
                depth: node.depth,
                vulnerabilities: opts.counts(n),
            }
        })
        .collect();
    let doc = JsonGraph {
        schema: GRAPH_SCHEMA,
        images,
        roots: g.roots().iter().map(|&r| name(r)).collect(),
        edges: g
            .edges()
            .map(|e| JsonEdge {
                parent: name(e.parent),
                child: name(e.child),
                signals: e.signals,
                stale: e.stale,
            })
            .collect(),
        issues: g
            .issues()
            .iter()
            .map(|i| JsonIssue {
                issue: i,
                message: i.to_string(),
            })
            .collect(),
    };
    serde_json::to_value(doc).unwrap_or(serde_json::Value::Null)
}

fn dot_quote(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Graphviz: one node per image named by its catalogued reference, one
/// `"PARENT" -> "CHILD";` line per parent link.
pub fn dot(g: &Graph, opts: &RenderOptions<'_>) -> String {
    let now = opts.now();
    let mut out = String::from(
        "digraph lineage {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
    );
    for &n in g.topological_order() {
        let node = g.node(n);
        let mut label = node.reference().to_string();
        label.push('\n');
        label.push_str(&node_summary(g, n, opts, now).join(" · "));
        let fl = flags(g, n);
        if !fl.is_empty() {
            label.push('\n');
            label.push_str(&fl.join("; "));
        }
        let style = if node.stale {
            ", style=dashed, color=red"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} [label={}{style}];",
            dot_quote(node.reference()),
            dot_quote(&label)
        );
    }
    for e in g.edges() {
        let _ = writeln!(
            out,
            "  {} -> {};",
            dot_quote(g.node(e.parent).reference()),
            dot_quote(g.node(e.child).reference())
        );
    }
    out.push_str("}\n");
    out
}

fn mermaid_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("#quot;"),
            '<' => o.push_str("#lt;"),
            '>' => o.push_str("#gt;"),
            '#' => o.push_str("#35;"),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

/// Mermaid flowchart; node ids are `n0`, `n1`, ... (references are labels). Links to
/// stale images are dotted.
pub fn mermaid(g: &Graph, opts: &RenderOptions<'_>) -> String {
    let now = opts.now();
    let mut out = String::from("flowchart TD\n");
    for &n in g.topological_order() {
        let node = g.node(n);
        let label = format!(
            "{}<br/>{}",
            mermaid_text(node.reference()),
            mermaid_text(&node_summary(g, n, opts, now).join(" · "))
        );
        let _ = writeln!(out, "  n{n}[\"{label}\"]");
    }
    for e in g.edges() {
        let arrow = if e.stale { "-.->" } else { "-->" };
        let _ = writeln!(out, "  n{} {arrow} n{}", e.parent, e.child);
    }
    let stale: Vec<String> = g
        .nodes()
        .iter()
        .filter(|n| n.stale)
        .map(|n| format!("n{}", n.id))
        .collect();
    if !stale.is_empty() {
        out.push_str("  classDef stale stroke:#d00,stroke-dasharray:5 5\n");
        let _ = writeln!(out, "  class {} stale", stale.join(","));
    }
    out
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::Fix => "fix",
        Action::Rebuild => "rebuild",
        Action::VendorMustFix => "vendor must fix",
        Action::RebuildAfterVendor => "rebuild after vendor fix",
    }
}

/// An impact report for a terminal.
pub fn impact_text(r: &ImpactReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "impact of {} {}: {} image(s): {} to fix, {} to rebuild, {} vendor must fix, {} to rebuild after a vendor fix",
        r.kind,
        r.query,
        r.images.len(),
        r.count(Action::Fix),
        r.count(Action::Rebuild),
        r.count(Action::VendorMustFix),
        r.count(Action::RebuildAfterVendor),
    );
    if let Some(b) = &r.base {
        let _ = write!(out, "base {}", b.image);
        if let Some(o) = &b.owner {
            let _ = write!(out, " (owner {o})");
        }
        if b.new_digest {
            if let (Some(d), Some(c)) = (&b.digest, &b.catalogued_digest) {
                let _ = write!(out, ": new digest {d} (catalogued {c})");
            }
        }
        out.push('\n');
    }
    if !r.roots.is_empty() {
        out.push_str("\nroots (where the fix belongs):\n");
        for root in &r.roots {
            let owner = root
                .owner
                .as_ref()
                .map(|o| o.to_string())
                .unwrap_or_else(|| "no owner".into());
            let _ = write!(
                out,
                "  {} [{}] {}: {}: {} {}",
                root.image,
                root.tier,
                action_word(root.action).to_uppercase(),
                owner,
                root.package.name,
                root.package.version
            );
            if let Some(l) = root.layer {
                let _ = write!(out, " (layer {l})");
            }
            if !root.ids.is_empty() {
                let _ = write!(out, " {}", root.ids.join(", "));
            }
            if !root.fixed_versions.is_empty() {
                let _ = write!(out, "; fixed in {}", root.fixed_versions.join(", "));
            }
            if let Some(f) = &root.fixed_in {
                let _ = write!(out, "; already fixed in {f}");
            }
            let _ = writeln!(out, "; inherited by {} image(s)", root.inherited_by.len());
        }
    }
    if !r.images.is_empty() {
        out.push_str("\naffected images:\n");
        let width = r.images.iter().map(|i| i.image.len()).max().unwrap_or(0);
        for i in &r.images {
            let owner = i.owner.as_ref().map(|o| o.to_string()).unwrap_or_default();
            let _ = write!(
                out,
                "  {:width$}  {:<11}  {:<24}  {}",
                i.image,
                i.tier.as_str(),
                action_word(i.action),
                owner
            );
            let from: Vec<&str> = {
                let mut v: Vec<&str> = i
                    .packages
                    .iter()
                    .filter(|p| p.inherited)
                    .map(|p| p.root.as_str())
                    .collect();
                v.sort();
                v.dedup();
                v
            };
            if !from.is_empty() {
                let _ = write!(out, "  (inherits from {})", from.join(", "));
            }
            out.push('\n');
        }
    }
    for w in &r.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Owner, Tier};
    use crate::testutil::img;

    fn graph() -> Graph {
        let mut base = img("r.example/base:1", Tier::Base, &["d0"]);
        base.owner = Some(Owner::new("platform", Some("p@example.com".into())));
        let mut alias = base.clone();
        alias.reference = "r.example/base:latest".into();
        let ent = img("r.example/ent:1", Tier::Enterprise, &["d0", "e"]);
        let a1 = img("r.example/app1:1", Tier::Application, &["d0", "e", "a1"]);
        let a2 = img("r.example/app2:1", Tier::Application, &["d0", "e", "a2"]);
        let mut stale = img("r.example/old:1", Tier::Application, &["d0", "x", "o"]);
        stale.declared_base = Some("r.example/ent:1".into());
        let cots = img("vendor.example/\"odd\"\\name:1", Tier::Cots, &["v0"]);
        Graph::build(vec![base, alias, ent, a1, a2, stale, cots])
    }

    fn opts() -> RenderOptions<'static> {
        RenderOptions {
            counts: None,
            now: Some(time::macros::datetime!(2026-01-13 00:00 UTC)),
        }
    }

    #[test]
    fn dot_has_one_edge_line_per_parent_link() {
        let g = graph();
        let out = dot(&g, &opts());
        let edges: Vec<&str> = out
            .lines()
            .filter(|l| l.contains("->"))
            .map(str::trim)
            .collect();
        assert_eq!(
            edges,
            [
                r#""r.example/base:1" -> "r.example/ent:1";"#,
                r#""r.example/ent:1" -> "r.example/app1:1";"#,
                r#""r.example/ent:1" -> "r.example/app2:1";"#,
                r#""r.example/ent:1" -> "r.example/old:1";"#,
            ]
        );
        assert!(
            out.contains(r#""vendor.example/\"odd\"\\name:1" [label="#),
            "{out}"
        );
        assert!(out.contains("style=dashed, color=red"), "{out}");
        assert!(out.starts_with("digraph lineage {") && out.ends_with("}\n"));
    }

    #[test]
    fn text_tree() {
        let g = graph();
        let counts = vec![
            Some(VulnCounts {
                own: 2,
                inherited: 0,
            }),
            Some(VulnCounts {
                own: 1,
                inherited: 2,
            }),
            None,
        ];
        let o = RenderOptions {
            counts: Some(&counts),
            ..opts()
        };
        let out = text(&g, &o);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("r.example/base:1  [base]  platform <p@example.com>  sha256:"),
            "{out}"
        );
        assert!(
            lines[0].contains("  12d  vulns 2 own / 0 inherited  (aliases: r.example/base:latest)"),
            "{out}"
        );
        assert!(
            lines[1].starts_with("└── r.example/ent:1  [enterprise]"),
            "{out}"
        );
        assert!(lines[1].contains("vulns 1 own / 2 inherited"), "{out}");
        assert!(lines[2].starts_with("    ├── r.example/app1:1"), "{out}");
        assert!(
            lines[4].starts_with("    └── r.example/old:1") && lines[4].contains("STALE"),
            "{out}"
        );
        assert!(lines[5].starts_with("vendor.example/"), "{out}");
        assert!(
            out.contains("issues (1):\n  stale: r.example/old:1 is stale"),
            "{out}"
        );
    }

    #[test]
    fn mermaid_and_json() {
        let g = graph();
        let m = mermaid(&g, &opts());
        assert!(m.starts_with("flowchart TD\n"));
        assert_eq!(
            m.matches("-->").count() + m.matches("-.->").count(),
            4,
            "{m}"
        );
        assert!(m.contains("#quot;odd#quot;"), "{m}");
        assert!(
            m.contains("class n4 stale") || m.contains(" stale\n"),
            "{m}"
        );
        let j = json(&g, &opts());
        assert_eq!(j["schema"], GRAPH_SCHEMA);
        assert_eq!(j["images"][0]["reference"], "r.example/base:1");
        assert_eq!(j["images"][0]["aliases"][0], "r.example/base:latest");
        assert_eq!(j["images"][0]["age_seconds"], 12 * 86400);
        assert_eq!(j["edges"].as_array().unwrap().len(), 4);
        let old = j["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["reference"] == "r.example/old:1")
            .unwrap();
        assert_eq!(old["stale"], true);
        assert_eq!(old["signals"]["declared"], true);
        assert_eq!(old["signals"]["layers"], false);
        assert_eq!(j["issues"][0]["kind"], "stale");
        assert!(j["issues"][0]["message"]
            .as_str()
            .unwrap()
            .contains("rebuild"));
    }

    #[test]
    fn deep_chains_stay_linear() {
        // 300 images, each built on the previous one (far deeper than the indentation cap).
        let mut layers: Vec<String> = Vec::new();
        let mut entries = Vec::new();
        for i in 0..300 {
            layers.push(format!("l{i}"));
            let l: Vec<&str> = layers.iter().map(String::as_str).collect();
            entries.push(img(&format!("r.example/chain:{i}"), Tier::Application, &l));
        }
        let g = Graph::build(entries);
        assert_eq!(g.node(299).depth, 299);
        let out = text(&g, &opts());
        assert_eq!(out.lines().count(), 300);
        assert!(out.lines().all(|l| l.len() < 400), "indentation is capped");
        assert!(out.contains("[depth 299] r.example/chain:299"));
        assert_eq!(dot(&g, &opts()).matches(" -> ").count(), 299);
    }

    #[test]
    fn ages() {
        assert_eq!(human_age(59), "0m");
        assert_eq!(human_age(7200), "2h");
        assert_eq!(human_age(3 * 86400), "3d");
        let now = time::macros::datetime!(2026-01-02 00:00 UTC);
        assert_eq!(age_seconds(Some("2026-01-01T00:00:00Z"), now), Some(86400));
        assert_eq!(age_seconds(Some("yesterday"), now), None);
    }
}
