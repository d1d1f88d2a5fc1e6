//! The terminal table of a scan.
//!
//! A header (image, distro and whether it is past its end of life, the advisory DB's age,
//! counts by severity), then one block per vulnerable package in risk order: a line
//! `name installed → version that fixes all` with its source package and the layer that
//! introduced it, then one row per finding (id, severity, state, fixed versions, KEV,
//! EPSS). The footer repeats what limits trust in the result: warnings, an incomplete
//! inventory, an end-of-life distro.
//!
//! Every value comes from the image or the advisory feeds, so control and
//! bidirectional-override characters are escaped before they reach the terminal.

use std::io::{self, Write};

use patchline_model::check::CheckFinding;
use patchline_model::vuln::{Finding, FindingPackage, FixState, ScanReport, Severity};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{by_package, fix_for, state_word, upgrade_target};
use crate::table::{clean, truncate};
use crate::RenderOptions;

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[1;31m";
const PLAIN_RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BLUE: &str = "\x1b[34m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Column titles and the widest a cell may be.
const COLUMNS: [(&str, usize); 6] = [
    ("VULNERABILITY", 32),
    ("SEVERITY", 10),
    ("STATE", 12),
    ("FIXED IN", 40),
    ("KEV", 3),
    ("EPSS", 14),
];

/// Severities from the most to the least severe, as the header counts them.
const ORDER: [Severity; 6] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Negligible,
    Severity::Unknown,
];

pub(crate) fn render(
    report: &ScanReport,
    opts: &RenderOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let paint = |code: &'static str, s: &str| -> String {
        if opts.color && !code.is_empty() {
            format!("{code}{s}{RESET}")
        } else {
            s.to_string()
        }
    };
    let mut out = io::BufWriter::new(out);
    for (i, line) in header(report, opts).into_iter().enumerate() {
        let code = if i == 0 { BOLD } else { "" };
        writeln!(out, "{}", paint(code, &line))?;
    }

    let groups = by_package(report);
    let unmatched = report.packages_not_matched;
    if groups.is_empty() && unmatched > 0 {
        // Never a clean result for what was not looked at.
        let matched = report.packages_scanned.saturating_sub(unmatched);
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let line = if matched == 0 {
            format!(
                "Nothing was examined: {unmatched} package{} could not be matched (see the warnings), so this is not a clean result.",
                plural(unmatched)
            )
        } else {
            format!(
                "No vulnerabilities found in the {matched} package{} matched, but {unmatched} package{} could not be matched (see the warnings): this is not a clean result.",
                plural(matched),
                plural(unmatched)
            )
        };
        writeln!(out, "\n{line}")?;
    } else if groups.is_empty()
        && !report.scanners.is_empty()
        && !report.scanners.iter().any(|s| s == "vuln")
    {
        writeln!(
            out,
            "\nVulnerabilities were not scanned (--scanners {}): the packages were inventoried, not matched.",
            report.scanners.join(",")
        )?;
    } else if groups.is_empty() {
        writeln!(out, "\nNo vulnerabilities found.")?;
    } else {
        let rows: Vec<Vec<[String; 6]>> = groups
            .iter()
            .map(|(_, fs)| fs.iter().map(|f| row(f)).collect())
            .collect();
        let widths: Vec<usize> = COLUMNS
            .iter()
            .enumerate()
            .map(|(i, (title, max))| {
                rows.iter()
                    .flatten()
                    .map(|r| r[i].chars().count())
                    .chain([title.len()])
                    .max()
                    .unwrap_or(0)
                    .min(*max)
            })
            .collect();
        writeln!(out)?;
        let titles = COLUMNS.map(|(t, _)| t.to_string());
        writeln!(out, "  {}", paint(BOLD, &line(&titles, &widths, |_, c| c)))?;
        // The architecture is named only where one name is installed for several.
        let mut seen = std::collections::HashMap::new();
        for (p, _) in &groups {
            *seen.entry(p.name.as_str()).or_insert(0) += 1;
        }
        for ((pkg, fs), rows) in groups.iter().zip(&rows) {
            let show_arch = seen.get(pkg.name.as_str()).is_some_and(|n| *n > 1);
            writeln!(out, "{}", package_line(pkg, fs, show_arch, opts))?;
            for (f, r) in fs.iter().zip(rows) {
                let cells = line(r, &widths, |i, cell| match i {
                    1 => paint(severity_colour(f.severity), &cell),
                    4 if f.kev.is_some() => paint(RED, &cell),
                    _ => cell,
                });
                writeln!(out, "  {cells}")?;
            }
        }
    }

    if !report.checks.is_empty() {
        checks(report, &paint, &mut out)?;
    }
    if !report.unmatched.is_empty() {
        const SHOWN: usize = 20;
        let title = format!("\nNot matched ({}):", report.unmatched.len());
        writeln!(out, "{}", paint(YELLOW, &title))?;
        for u in report.unmatched.iter().take(SHOWN) {
            writeln!(out, "  {}: {}", clean(&u.package), clean(&u.reason))?;
        }
        if report.unmatched.len() > SHOWN {
            writeln!(
                out,
                "  ... and {} more (--format json lists them all)",
                report.unmatched.len() - SHOWN
            )?;
        }
    }
    if !report.warnings.is_empty() {
        let title = format!("\nWarnings ({}):", report.warnings.len());
        writeln!(out, "{}", paint(YELLOW, &title))?;
        for w in &report.warnings {
            writeln!(
                out,
                "  [{}] {}: {}",
                clean(&w.source),
                clean(&w.location),
                clean(&w.message)
            )?;
        }
    }
    if report.distro_eol {
        let msg = "END OF LIFE: this distro release no longer gets security fixes; \
                   vulnerabilities found since are missing from its data.";
        writeln!(out, "\n{}", paint(RED, msg))?;
    }
    if !report.inventory_complete {
        let msg = "INCOMPLETE: some package databases could not be fully read; \
                   vulnerable packages may be missing.";
        writeln!(out, "\n{}", paint(RED, msg))?;
    }
    out.flush()
}

/// The check findings, most severe first, each on one line; then each check's fix once.
fn checks(
    report: &ScanReport,
    paint: &dyn Fn(&'static str, &str) -> String,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let mut fs: Vec<&CheckFinding> = report.checks.iter().collect();
    fs.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id)));
    let title = format!("\nChecks ({}):", fs.len());
    writeln!(out, "{}", paint(BOLD, &title))?;
    let sev_w = fs
        .iter()
        .map(|f| f.severity.as_str().len())
        .max()
        .unwrap_or(0);
    let id_w = fs.iter().map(|f| f.id.len()).max().unwrap_or(0).min(40);
    for f in &fs {
        let sev = format!("{:<sev_w$}", f.severity.as_str().to_uppercase());
        let mut line = format!(
            "  {}  {:<id_w$}  {}",
            paint(severity_colour(f.severity), &sev),
            clean(&f.id),
            clean(&f.message)
        );
        let loc = f.location();
        if !loc.is_empty() {
            line.push_str(&format!("  [{}]", clean(&loc)));
        }
        if let Some(e) = &f.evidence {
            line.push_str(&format!("  ({})", clean(e)));
        }
        writeln!(out, "{line}")?;
    }
    let mut fixes: Vec<(&str, &str)> = fs.iter().map(|f| (f.id.as_str(), f.fix.as_str())).collect();
    fixes.sort();
    fixes.dedup_by(|a, b| a.0 == b.0);
    writeln!(out, "  Fixes:")?;
    for (id, fix) in fixes {
        writeln!(out, "    {}: {}", clean(id), clean(fix))?;
    }
    Ok(())
}

fn header(report: &ScanReport, opts: &RenderOptions) -> Vec<String> {
    let img = &report.image;
    let mut first = vec![if img.reference.is_empty() {
        "(unnamed image)".to_string()
    } else {
        clean(&img.reference)
    }];
    if let Some(d) = &img.manifest_digest {
        first.push(d.to_string());
    }
    let mut distro = match &report.distro {
        Some(d) => clean(
            d.pretty_name
                .clone()
                .unwrap_or_else(|| d.purl_qualifier())
                .as_str(),
        ),
        None => "unknown distro".to_string(),
    };
    if report.distro_eol {
        distro.push_str(" (END OF LIFE)");
    }
    first.push(distro);

    let db = &report.db;
    let mut second = match &db.updated_at {
        Some(t) => match age(t, opts) {
            Some(a) => format!("advisory DB updated {} ({a} old)", clean(t)),
            None => format!("advisory DB updated {}", clean(t)),
        },
        None => "advisory DB: update time unknown".to_string(),
    };
    if !db.path.is_empty() {
        second.push_str(&format!(", {}", clean(&db.path)));
    }
    let n = report.packages_scanned;
    let mut second = format!(
        "{second} | {n} package{} scanned",
        if n == 1 { "" } else { "s" }
    );
    if report.packages_not_matched > 0 {
        second.push_str(&format!(", {} not matched", report.packages_not_matched));
    }
    match report.packages_managed_by_os {
        0 => {}
        1 => second
            .push_str(", 1 language package belongs to an OS package and was matched through it"),
        m => second.push_str(&format!(
            ", {m} language packages belong to OS packages and were matched through them"
        )),
    }

    let fs = &report.findings;
    let mut third = format!(
        "{} finding{}",
        fs.len(),
        if fs.len() == 1 { "" } else { "s" }
    );
    let counts: Vec<String> = ORDER
        .iter()
        .filter_map(|s| {
            let c = fs.iter().filter(|f| f.severity == *s).count();
            (c > 0).then(|| format!("{c} {}", s.as_str()))
        })
        .collect();
    if !counts.is_empty() {
        third.push_str(": ");
        third.push_str(&counts.join(", "));
    }
    let kev = fs.iter().filter(|f| f.kev.is_some()).count();
    if kev > 0 {
        third.push_str(&format!(" | {kev} known exploited"));
    }
    if !fs.is_empty() {
        let fixable = fs.iter().filter(|f| f.state == FixState::Fixed).count();
        third.push_str(&format!(" | {fixable} with a fix"));
    }
    vec![first.join(" | "), second, third]
}

/// How long ago `t` (RFC 3339) was, from the render time.
fn age(t: &str, opts: &RenderOptions) -> Option<String> {
    let then = OffsetDateTime::parse(t, &Rfc3339).ok()?;
    let now = opts.timestamp.unwrap_or_else(OffsetDateTime::now_utc);
    let secs = (now - then).whole_seconds().max(0);
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    Some(if secs < 3600 {
        plural(secs / 60, "minute")
    } else if secs < 48 * 3600 {
        plural(secs / 3600, "hour")
    } else {
        plural(secs / 86400, "day")
    })
}

fn package_line(
    p: &FindingPackage,
    fs: &[&Finding],
    show_arch: bool,
    opts: &RenderOptions,
) -> String {
    let mut s = match p.arch.as_deref().filter(|_| show_arch) {
        Some(a) => format!("{}:{} {}", clean(&p.name), clean(a), clean(&p.version)),
        None => format!("{} {}", clean(&p.name), clean(&p.version)),
    };
    match upgrade_target(fs) {
        Some(t) => {
            s.push_str(" → ");
            s.push_str(&clean(t));
        }
        None => s.push_str(" (no fix available)"),
    }
    let s = if opts.color {
        format!("{BOLD}{s}{RESET}")
    } else {
        s
    };
    let mut notes = Vec::new();
    match (&p.source_name, &p.source_version) {
        (Some(n), Some(v)) if n != &p.name || v != &p.version => {
            notes.push(format!("source {} {}", clean(n), clean(v)))
        }
        (Some(n), None) if n != &p.name => notes.push(format!("source {}", clean(n))),
        _ => {}
    }
    match (&p.introduced, &p.last_changed) {
        (Some(i), Some(c)) if c.index != i.index => notes.push(format!(
            "introduced in layer {} ({}), changed in layer {} ({})",
            i.index,
            i.diff_id.short(),
            c.index,
            c.diff_id.short()
        )),
        (Some(i), _) => notes.push(format!(
            "introduced in layer {} ({})",
            i.index,
            i.diff_id.short()
        )),
        (None, Some(c)) => notes.push(format!(
            "changed in layer {} ({})",
            c.index,
            c.diff_id.short()
        )),
        (None, None) => {}
    }
    if notes.is_empty() {
        format!("\n{s}")
    } else {
        let n = format!("[{}]", notes.join("; "));
        let n = if opts.color {
            format!("{DIM}{n}{RESET}")
        } else {
            n
        };
        format!("\n{s}  {n}")
    }
}

fn row(f: &Finding) -> [String; 6] {
    let fixed = match f.state {
        FixState::Fixed if !f.fixed_versions.is_empty() => {
            // The fix for this version first, then other branches' fixes.
            let first = fix_for(f).unwrap_or("");
            let mut vs: Vec<&str> = vec![first];
            vs.extend(
                f.fixed_versions
                    .iter()
                    .map(String::as_str)
                    .filter(|v| *v != first),
            );
            vs.join(", ")
        }
        _ => "-".into(),
    };
    let epss = f
        .epss
        .as_ref()
        .map(|e| format!("{:.3} (p{:.0})", e.score, e.percentile * 100.0))
        .unwrap_or_else(|| "-".into());
    [
        clean(&f.id),
        f.severity.as_str().to_string(),
        state_word(f.state).to_string(),
        clean(&fixed),
        if f.kev.is_some() { "KEV" } else { "-" }.to_string(),
        epss,
    ]
}

fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => RED,
        Severity::High => PLAIN_RED,
        Severity::Medium => YELLOW,
        Severity::Low => BLUE,
        Severity::Negligible | Severity::Unknown => "",
    }
}

/// Cells padded to their column width (the last one unpadded, so lines carry no trailing
/// blanks), each passed through `style` after padding so colour codes do not count.
fn line(cells: &[String], widths: &[usize], style: impl Fn(usize, String) -> String) -> String {
    let mut s = String::new();
    for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
        let cell = truncate(cell, *w);
        if i + 1 == cells.len() {
            s.push_str(&style(i, cell));
        } else {
            let pad = w.saturating_sub(cell.chars().count());
            let padded = format!("{cell}{}", " ".repeat(pad));
            s.push_str(&style(i, padded));
            s.push_str("  ");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        let opts = RenderOptions {
            timestamp: Some(time::macros::datetime!(2024-05-01 12:00:00 UTC)),
            ..Default::default()
        };
        assert_eq!(
            age("2024-05-01T11:30:00Z", &opts).as_deref(),
            Some("30 minutes")
        );
        assert_eq!(
            age("2024-04-30T12:00:00Z", &opts).as_deref(),
            Some("24 hours")
        );
        assert_eq!(
            age("2024-04-20T12:00:00+02:00", &opts).as_deref(),
            Some("11 days")
        );
        assert_eq!(
            age("2024-06-01T00:00:00Z", &opts).as_deref(),
            Some("0 minutes")
        );
        assert_eq!(age("yesterday", &opts), None);
    }

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(clean("a\x1b[31mb\n"), "a\\u{1b}[31mb\\u{a}");
        assert_eq!(truncate("abcdefg", 6), "abcde…");
    }
}
