//! The terminal table.
//!
//! One header line (image, manifest digest, distro, package count), one row per package,
//! a legend of the layers the INTRODUCED and CHANGED columns refer to, then the warnings and,
//! when the inventory is incomplete, a line saying so: the last thing a person reads is
//! whether they can trust the list.
//!
//! Every value comes from the scanned image, so control and bidirectional-override
//! characters are escaped before they reach the terminal. Widths count characters, which
//! is exact for the ASCII that package databases hold and only cosmetic otherwise.

use std::io::{self, Write};

use patchline_model::{Inventory, Package};

use crate::{sorted_packages, RenderOptions};

const BOLD: &str = "\x1b[1m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[1;31m";
const RESET: &str = "\x1b[0m";

struct Column {
    title: &'static str,
    max: usize,
}

const COLUMNS: [Column; 7] = [
    Column {
        title: "NAME",
        max: 40,
    },
    Column {
        title: "VERSION",
        max: 36,
    },
    Column {
        title: "SOURCE",
        max: 40,
    },
    Column {
        title: "ARCH",
        max: 10,
    },
    Column {
        title: "TYPE",
        max: 4,
    },
    Column {
        title: "INTRODUCED",
        max: 10,
    },
    Column {
        title: "CHANGED",
        max: 7,
    },
];

pub(crate) fn render(
    inv: &Inventory,
    opts: &RenderOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let paint = |code: &'static str, s: &str| -> String {
        if opts.color {
            format!("{code}{s}{RESET}")
        } else {
            s.to_string()
        }
    };
    let mut out = io::BufWriter::new(out);
    writeln!(out, "{}", paint(BOLD, &header(inv)))?;

    let pkgs = sorted_packages(inv);
    if pkgs.is_empty() {
        writeln!(out, "\nNo packages found.")?;
    } else {
        let rows: Vec<[String; 7]> = pkgs.iter().map(|p| row(p)).collect();
        let widths: Vec<usize> = COLUMNS
            .iter()
            .enumerate()
            .map(|(i, c)| {
                rows.iter()
                    .map(|r| r[i].chars().count())
                    .chain([c.title.len()])
                    .max()
                    .unwrap_or(0)
                    .min(c.max)
            })
            .collect();
        writeln!(out)?;
        let titles = COLUMNS.map(|c| c.title.to_string());
        writeln!(out, "{}", paint(BOLD, &line(&titles, &widths)))?;
        for r in &rows {
            writeln!(out, "{}", line(r, &widths))?;
        }
    }

    if !inv.image.layers.is_empty() {
        writeln!(out, "\nLayers (index, diff_id, created by):")?;
        for l in &inv.image.layers {
            let mut s = format!("  {:>3}  {}", l.index, l.diff_id.short());
            if let Some(c) = &l.created_by {
                s.push_str("  ");
                s.push_str(&truncate(&clean(c), 80));
            }
            writeln!(out, "{s}")?;
        }
    }

    if !inv.warnings.is_empty() {
        let title = format!("\nWarnings ({}):", inv.warnings.len());
        writeln!(out, "{}", paint(YELLOW, &title))?;
        for w in &inv.warnings {
            writeln!(
                out,
                "  [{}] {}: {}",
                clean(&w.source),
                clean(&w.location),
                clean(&w.message)
            )?;
        }
    }
    if !inv.complete {
        let msg =
            "INCOMPLETE: some package databases could not be fully read; packages may be missing.";
        writeln!(out, "\n{}", paint(RED, msg))?;
    }
    out.flush()
}

fn header(inv: &Inventory) -> String {
    let img = &inv.image;
    let mut parts = vec![if img.reference.is_empty() {
        "(unnamed image)".to_string()
    } else {
        clean(&img.reference)
    }];
    if let Some(d) = &img.manifest_digest {
        parts.push(d.to_string());
    }
    parts.push(match &inv.distro {
        Some(d) => clean(
            d.pretty_name
                .as_deref()
                .map(str::to_string)
                .unwrap_or_else(|| d.purl_qualifier())
                .as_str(),
        ),
        None => "unknown distro".to_string(),
    });
    let n = inv.packages.len();
    parts.push(format!("{n} package{}", if n == 1 { "" } else { "s" }));
    parts.join(" | ")
}

fn row(p: &Package) -> [String; 7] {
    let source = match (&p.source_name, &p.source_version) {
        (Some(n), Some(v)) if v != &p.version => format!("{n} {v}"),
        (Some(n), _) => n.clone(),
        (None, _) => "-".into(),
    };
    let layer = |l: &Option<patchline_model::LayerRef>| {
        l.as_ref()
            .map(|l| l.index.to_string())
            .unwrap_or_else(|| "-".into())
    };
    [
        clean(&p.name),
        clean(&p.version),
        clean(&source),
        clean(p.arch.as_deref().unwrap_or("-")),
        p.ecosystem.to_string(),
        layer(&p.introduced),
        layer(&p.last_changed),
    ]
}

/// Cells padded to their column width, the last one unpadded so lines carry no trailing
/// blanks.
fn line(cells: &[String], widths: &[usize]) -> String {
    let mut s = String::new();
    for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
        let cell = truncate(cell, *w);
        if i + 1 == cells.len() {
            s.push_str(&cell);
        } else {
            let pad = w.saturating_sub(cell.chars().count());
            s.push_str(&cell);
            s.push_str(&" ".repeat(pad + 2));
        }
    }
    s
}

/// Shortens to `max` characters, the last one an ellipsis, so a cut value is visibly cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// Escapes what could move the cursor, recolour or reorder the terminal's text.
pub(crate) fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_with_ellipsis() {
        assert_eq!(truncate("abcdef", 6), "abcdef");
        assert_eq!(truncate("abcdefg", 6), "abcde…");
        assert_eq!(truncate("ééééééé", 3), "éé…");
    }

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(clean("a\x1b[31mb\n"), "a\\u{1b}[31mb\\u{a}");
        assert_eq!(clean("x\u{202E}y"), "x\\u{202e}y");
        assert_eq!(clean("ünïcode"), "ünïcode");
    }
}
