//! Renderings of a [`K8sReport`]: a table for a person, the JSON document
//! ([`K8S_SCHEMA`](super::K8S_SCHEMA)), and SARIF 2.1.0.
//!
//! SARIF reuses `scan`'s renderer as the Docker report does: each container becomes a
//! scan report with no packages whose check findings are the pod's and the container's
//! runtime findings, one SARIF run per container, all runs in one log.
//!
//! Names, images and paths come from the cluster (or a file): the table strips terminal
//! controls from them.

use std::io::{self, Write};

use patchline_model::check::CheckFinding;
use patchline_model::vuln::ScanReport;
use patchline_report::{render_scan, RenderOptions, ScanFormat};

use super::K8sReport;
use crate::report::{empty_report, Format};

pub fn render(report: &K8sReport, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => table(report, out),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, report)?;
            writeln!(out)
        }
        Format::Sarif => sarif(report, out),
    }
}

fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn findings_line(out: &mut dyn Write, f: &CheckFinding) -> io::Result<()> {
    writeln!(
        out,
        "    {:<8} {:<34} {}",
        f.severity.as_str().to_ascii_uppercase(),
        f.id,
        clean(&f.message)
    )
}

fn table(report: &K8sReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "Kubernetes pods from {} ({} pod(s){}); blocking rules: {}",
        clean(&report.source),
        report.pods.len(),
        report
            .namespace
            .as_deref()
            .map(|n| format!(", namespace {}", clean(n)))
            .unwrap_or_default(),
        clean(&report.gate)
    )?;
    for p in &report.pods {
        writeln!(out)?;
        writeln!(
            out,
            "pod {}/{}{}{}",
            clean(&p.namespace),
            clean(&p.name),
            if p.phase.is_empty() {
                String::new()
            } else {
                format!(" ({})", clean(&p.phase))
            },
            if p.blocking.is_empty() {
                ""
            } else {
                "  BLOCKED"
            }
        )?;
        for f in &p.checks {
            findings_line(out, f)?;
        }
        for c in &p.containers {
            let digest = c
                .digest
                .as_ref()
                .and_then(|d| d.digest.clone().or_else(|| d.local_id.clone()))
                .unwrap_or_else(|| "no digest reported".into());
            writeln!(
                out,
                "  {} {} image {} ({})",
                c.kind,
                clean(&c.name),
                clean(&c.image),
                clean(&digest)
            )?;
            for f in &c.checks {
                findings_line(out, f)?;
            }
        }
        for b in &p.blocking {
            writeln!(out, "  blocks: {} ({})", clean(&b.subject), b.rule)?;
        }
    }
    for n in &report.not_checked {
        writeln!(out, "\nnot checked: {n}")?;
    }
    Ok(())
}

fn sarif(report: &K8sReport, out: &mut dyn Write) -> io::Result<()> {
    let mut log: Option<serde_json::Value> = None;
    let mut runs: Vec<ScanReport> = Vec::new();
    for p in &report.pods {
        for c in &p.containers {
            let mut r = empty_report(format!(
                "pod {}/{} container {} ({})",
                p.namespace, p.name, c.name, c.image
            ));
            r.checks = p.checks.iter().chain(c.checks.iter()).cloned().collect();
            runs.push(r);
        }
    }
    if runs.is_empty() {
        runs.push(empty_report(String::new()));
    }
    for r in runs {
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
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}
