//! Rendering a plan: pretty JSON (the plan model) and Markdown for people.

use std::fmt::Write as _;

use super::{PatchPlan, PlanError, Trigger};

/// The plan as pretty JSON.
pub fn render_json(plan: &PatchPlan) -> Result<String, PlanError> {
    let mut s = serde_json::to_string_pretty(plan)?;
    s.push('\n');
    Ok(s)
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// A code fence longer than any backtick run in `body`.
fn fence(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

fn trigger_title(t: &Trigger) -> String {
    match t {
        Trigger::Cve { id } => format!("Patch plan for {id}"),
        Trigger::NewBase {
            image,
            new_ref,
            new_digest,
        } => format!("Patch plan for the new base {image} → {new_ref}@{new_digest}"),
    }
}

/// The plan as Markdown: summary, waves with diffs, vendor fixes, blocked and skipped
/// images, owners to notify.
pub fn render_markdown(plan: &PatchPlan) -> String {
    let mut md = String::new();
    let rebuilt: usize = plan.waves.iter().map(|w| w.images.len()).sum();
    let _ = writeln!(md, "# {}\n", trigger_title(&plan.trigger));
    let _ = writeln!(
        md,
        "{rebuilt} image(s) to rebuild in {} wave(s); {} vendor image(s) to fix; {} blocked; {} skipped.\n",
        plan.waves.len(),
        plan.vendor_must_fix.len(),
        plan.blocked.len(),
        plan.skipped.len()
    );
    if !plan.waves.is_empty() {
        let _ = writeln!(md, "| Wave | Image | New tag | Owner | Change |");
        let _ = writeln!(md, "| --- | --- | --- | --- | --- |");
        for w in &plan.waves {
            for p in &w.images {
                let mut change = Vec::new();
                if p.root_of_fix {
                    if let Some(u) = &p.upgrade {
                        change.push(format!("upgrade {} ({})", u.packages.join(" "), u.tool));
                    }
                    if !p.moved_pins.is_empty() {
                        let pins: Vec<String> = p
                            .moved_pins
                            .iter()
                            .map(|m| format!("{}={}", m.package, m.to))
                            .collect();
                        change.push(format!("move pin {}", pins.join(" ")));
                    }
                    if !p.language_fixes.is_empty() {
                        let names: Vec<&str> =
                            p.language_fixes.iter().map(|f| f.name.as_str()).collect();
                        change.push(format!("update {} in its manifests", names.join(" ")));
                    }
                    if change.is_empty() {
                        change.push("upgrade by hand".to_string());
                    }
                }
                if let Some(np) = &p.new_parent {
                    change.push(format!("FROM {}", np.from));
                }
                let _ = writeln!(
                    md,
                    "| {} | `{}` | `{}` | {} | {} |",
                    w.index,
                    cell(&p.reference),
                    cell(&p.new_tag),
                    cell(&p.owner),
                    cell(&change.join("; "))
                );
            }
        }
        md.push('\n');
    }
    for w in &plan.waves {
        let _ = writeln!(md, "## Wave {}\n", w.index);
        for p in &w.images {
            let _ = writeln!(md, "### `{}` → `{}`\n", p.reference, p.new_reference);
            let contact = p
                .contact
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let _ = writeln!(md, "- Owner: {}{contact}", p.owner);
            let _ = writeln!(md, "- Tier: {}", p.tier);
            if let Some(path) = &p.containerfile_path {
                let _ = writeln!(md, "- Containerfile: `{path}`");
            }
            if let Some(np) = &p.new_parent {
                let pin = if np.pin_after_build {
                    format!(
                        " (pin the digest after wave {} is pushed)",
                        np.built_in_wave.unwrap_or(0)
                    )
                } else {
                    " (pinned by digest)".to_string()
                };
                let _ = writeln!(md, "- New parent: `{}`{pin}", np.from);
            }
            if let Some(u) = &p.upgrade {
                let _ = writeln!(md, "- Root of the fix ({}): `RUN {}`", u.distro, u.command);
            } else if p.root_of_fix && p.moved_pins.is_empty() && p.language_fixes.is_empty() {
                let _ = writeln!(md, "- Root of the fix: no upgrade command known, see notes");
            }
            for m in &p.moved_pins {
                let _ = writeln!(
                    md,
                    "- Root of the fix: the pin of `{}` moves to `{}` (RUN at line {})",
                    m.package, m.to, m.line
                );
            }
            for n in &p.notes {
                let _ = writeln!(md, "- Note: {n}");
            }
            if let Some(d) = &p.diff {
                let f = fence(d);
                let _ = writeln!(
                    md,
                    "\n{f}diff\n{}{}{f}",
                    d,
                    if d.ends_with('\n') { "" } else { "\n" }
                );
            }
            md.push('\n');
        }
    }
    if !plan.vendor_must_fix.is_empty() {
        let _ = writeln!(md, "## Vendor must fix\n");
        let _ = writeln!(md, "| Image | Owner | Contact | Packages | Why |");
        let _ = writeln!(md, "| --- | --- | --- | --- | --- |");
        for v in &plan.vendor_must_fix {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} | {} |",
                cell(&v.reference),
                cell(&v.owner),
                cell(v.contact.as_deref().unwrap_or("")),
                cell(&v.packages.join(" ")),
                cell(&v.reason)
            );
        }
        md.push('\n');
    }
    if !plan.blocked.is_empty() {
        let _ = writeln!(md, "## Blocked\n");
        for b in &plan.blocked {
            let _ = writeln!(
                md,
                "- `{}` ({}): waits on the vendor fix of `{}`",
                b.reference, b.owner, b.waiting_on
            );
        }
        md.push('\n');
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(md, "## Skipped\n");
        for s in &plan.skipped {
            let _ = writeln!(md, "- `{}` ({}): {}", s.reference, s.owner, s.reason);
        }
        md.push('\n');
    }
    if !plan.notify.is_empty() {
        let _ = writeln!(md, "## Owners to notify\n");
        for n in &plan.notify {
            let contact = n
                .contact
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let _ = writeln!(md, "- **{}**{contact}", n.owner);
            for a in &n.actions {
                let _ = writeln!(md, "  - {a}");
            }
        }
    }
    md
}
