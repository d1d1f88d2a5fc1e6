//! Renderings of a [`RuntimeReport`]: a table for a person, the JSON document
//! ([`RUNTIME_SCHEMA`](crate::RUNTIME_SCHEMA)), and SARIF 2.1.0.
//!
//! SARIF reuses `scan`'s renderer: each container becomes a scan report of its image
//! whose check findings are the container's runtime findings, rendered as one SARIF run,
//! and the runs are put into one log. Viewers then show a container's runtime and
//! vulnerability findings under the same rules and severities as `scan`'s.
//!
//! Engine and image text (names, commands, mount paths) is untrusted: the table strips
//! terminal controls from it.

use std::io::{self, Write};

use patchline_model::vuln::{ScanReport, Severity};
use patchline_report::{render_scan, RenderOptions, ScanFormat};

use crate::{ContainerReport, RuntimeReport};

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Sarif,
}

pub fn render(report: &RuntimeReport, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => table(report, out),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, report)?;
            writeln!(out)
        }
        Format::Sarif => sarif(report, out),
    }
}

/// Control characters out of untrusted text, so it cannot move the cursor or recolour
/// the terminal.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn short(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

fn counts(r: &ScanReport) -> String {
    let mut by = [0usize; 6];
    let mut kev = 0;
    for f in &r.findings {
        by[f.severity as usize] += 1;
        kev += usize::from(f.kev.is_some());
    }
    let order = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Negligible,
        Severity::Unknown,
    ];
    let mut parts: Vec<String> = order
        .iter()
        .filter(|s| by[**s as usize] > 0)
        .map(|s| format!("{} {}", by[*s as usize], s.as_str()))
        .collect();
    if kev > 0 {
        parts.push(format!("{kev} known exploited"));
    }
    if parts.is_empty() {
        "no vulnerability".into()
    } else {
        format!("{} vulnerabilities: {}", r.findings.len(), parts.join(", "))
    }
}

fn table(report: &RuntimeReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "Docker Engine {} at {}: {} container(s); blocking rules: {}",
        clean(&report.engine.version),
        clean(&report.engine.host),
        report.containers.len(),
        clean(&report.gate)
    )?;
    for c in &report.containers {
        container_table(report, c, out)?;
    }
    if !report.actions.is_empty() {
        writeln!(out, "\nEnforcement:")?;
        for a in &report.actions {
            writeln!(
                out,
                "  {} {}: {}",
                clean(&a.name),
                short(&a.container),
                a.outcome
            )?;
        }
    }
    for n in &report.not_checked {
        writeln!(out, "\nNot checked: {n}")?;
    }
    Ok(())
}

fn container_table(
    report: &RuntimeReport,
    c: &ContainerReport,
    out: &mut dyn Write,
) -> io::Result<()> {
    let f = &c.facts;
    writeln!(out)?;
    writeln!(
        out,
        "{} ({}) {}  image {} {}{}",
        clean(&f.name),
        short(&f.id),
        clean(&f.state),
        clean(&f.image),
        clean(&f.image_id),
        f.repo_digests
            .first()
            .map(|d| format!(" ({})", clean(d)))
            .unwrap_or_default()
    )?;
    let nets: Vec<String> = f
        .networks
        .iter()
        .map(|n| {
            format!(
                "{}{}",
                clean(&n.name),
                if n.internal { " (internal)" } else { "" }
            )
        })
        .collect();
    writeln!(
        out,
        "  networks: {}",
        if nets.is_empty() {
            "none".into()
        } else {
            nets.join(", ")
        }
    )?;
    match report.images.get(&f.image_id) {
        Some(i) => match (&i.report, &i.error) {
            (Some(r), _) => writeln!(out, "  image: {}", counts(r))?,
            (None, Some(e)) => writeln!(out, "  image: not scanned: {}", clean(e))?,
            (None, None) => writeln!(out, "  image: not scanned")?,
        },
        None => writeln!(out, "  image: not scanned")?,
    }
    if c.checks.is_empty() {
        writeln!(out, "  runtime: no finding")?;
    }
    for k in &c.checks {
        let blocks = c.blocking.iter().any(|b| {
            b.subject.starts_with(&format!("{}: ", k.id)) && b.subject.ends_with(&k.message)
        });
        writeln!(
            out,
            "  {:<8} {:<28} {}{}",
            k.severity.as_str().to_uppercase(),
            k.id,
            clean(&k.message),
            if blocks { "  [blocking]" } else { "" }
        )?;
    }
    let vuln_blocks: Vec<&crate::Block> = c
        .blocking
        .iter()
        .filter(|b| !b.rule.starts_with("checks "))
        .collect();
    if !vuln_blocks.is_empty() {
        writeln!(
            out,
            "  blocking vulnerabilities: {}",
            vuln_blocks
                .iter()
                .map(|b| format!("{} ({})", clean(&b.subject), b.rule))
                .collect::<Vec<_>>()
                .join("; ")
        )?;
    }
    Ok(())
}

/// One SARIF log whose runs are the containers' scan reports.
fn sarif(report: &RuntimeReport, out: &mut dyn Write) -> io::Result<()> {
    let mut log: Option<serde_json::Value> = None;
    for c in &report.containers {
        let image = report.images.get(&c.facts.image_id);
        let mut r: ScanReport = match image.and_then(|i| i.report.clone()) {
            Some(r) => r,
            None => empty_report(c.facts.image.clone()),
        };
        r.image.reference = format!("container {} ({})", c.facts.name, c.facts.image);
        r.checks = c.checks.clone();
        let mut buf = Vec::new();
        render_scan(&r, ScanFormat::Sarif, &RenderOptions::default(), &mut buf)?;
        let doc: serde_json::Value = serde_json::from_slice(&buf).map_err(io::Error::other)?;
        match &mut log {
            None => log = Some(doc),
            Some(l) => {
                if let (Some(runs), Some(more)) = (
                    l.get_mut("runs").and_then(|r| r.as_array_mut()),
                    doc.get("runs").and_then(|r| r.as_array()),
                ) {
                    runs.extend(more.iter().cloned());
                }
            }
        }
    }
    let log = match log {
        Some(l) => l,
        None => {
            // No container: a valid log with no run results.
            let mut buf = Vec::new();
            let c = ContainerReport {
                facts: Default::default(),
                checks: Vec::new(),
                blocking: Vec::new(),
            };
            render_scan(
                &empty_report(c.facts.image.clone()),
                ScanFormat::Sarif,
                &RenderOptions::default(),
                &mut buf,
            )?;
            serde_json::from_slice(&buf).map_err(io::Error::other)?
        }
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// A scan report with no packages, for a container whose image was not scanned: its
/// runtime findings still go into the log.
/// A report of no image scan, for `reference`: what runtime findings are rendered into
/// (Docker containers and Kubernetes pods alike).
pub(crate) fn empty_report(reference: String) -> ScanReport {
    ScanReport {
        schema: patchline_model::vuln::SCAN_SCHEMA.into(),
        tool: Default::default(),
        image: patchline_model::ImageInfo {
            reference,
            ..Default::default()
        },
        distro: None,
        distro_eol: false,
        db: Default::default(),
        packages_scanned: 0,
        packages_not_matched: 0,
        unmatched: Vec::new(),
        packages_managed_by_os: 0,
        findings: Vec::new(),
        inventory_complete: false,
        warnings: Vec::new(),
        checks: Vec::new(),
        scanners: Vec::new(),
        policy: None,
    }
}
