//! FIRST EPSS scores CSV (<https://www.first.org/epss/data_stats>), as published daily
//! (`epss_scores-YYYY-MM-DD.csv.gz`; gzip is undone by [`crate::input`]):
//!
//! ```text
//! #model_version:v2023.03.01,score_date:2023-10-26T00:00:00+0000
//! cve,epss,percentile
//! CVE-1999-0001,0.01167,0.83602
//! ```
//!
//! The comment line is optional; its `score_date` (date part) becomes [`Epss::date`].
//! Scores and percentiles must be numbers in [0, 1].

use patchline_model::vuln::{Enrichment, Epss};

use super::{Document, Download, Feed, Format, Sink, Yields};
use crate::error::{Origin, Result};
use crate::util::{check_id, shown};

/// FIRST's current EPSS scores (redirects to the dated file), the default source `epss`.
pub const EPSS_URL: &str = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz";

/// The daily EPSS scores.
pub struct EpssFeed;

impl Feed for EpssFeed {
    fn format(&self) -> Format {
        Format::Epss
    }
    fn title(&self) -> &'static str {
        "an EPSS CSV (plain or gzip)"
    }
    fn yields(&self) -> Yields {
        Yields::Enrichment
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["csv"]
    }
    fn detect(&self, doc: &Document<'_>) -> bool {
        doc.json().is_none() && looks_like(doc.bytes())
    }
    fn parse(&self, origin: &Origin, doc: &Document<'_>, sink: &mut dyn Sink) -> Result<usize> {
        parse(origin, doc.bytes(), sink)
    }
    fn enrichment_rank(&self) -> u8 {
        3
    }
    fn downloads(&self) -> Vec<Download> {
        vec![Download {
            name: Format::Epss.as_str().into(),
            url: EPSS_URL.into(),
        }]
    }
}

/// True when `text` starts like an EPSS file.
fn looks_like(text: &[u8]) -> bool {
    let first = text.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let first = String::from_utf8_lossy(first).to_ascii_lowercase();
    first.starts_with("#model_version") || first.replace(' ', "").starts_with("cve,epss")
}

fn parse(origin: &Origin, bytes: &[u8], sink: &mut dyn Sink) -> Result<usize> {
    let bad = |line: u64, msg: String| crate::Error::input(origin, format!("line {line}: {msg}"));
    let mut body = bytes;
    let mut date = None;
    let mut line_offset = 0;
    if body.first() == Some(&b'#') {
        let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
        let comment = String::from_utf8_lossy(&body[1..end]).into_owned();
        for part in comment.split(',') {
            if let Some((k, v)) = part.split_once(':') {
                if k.trim() == "score_date" {
                    let d: String = v.trim().chars().take(10).collect();
                    if d.len() == 10 && d.as_bytes()[4] == b'-' && d.as_bytes()[7] == b'-' {
                        date = Some(d);
                    }
                }
            }
        }
        body = body.get(end + 1..).unwrap_or(&[]);
        line_offset = 1;
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let headers = rdr
        .headers()
        .map_err(|e| bad(line_offset + 1, format!("unreadable CSV header: {e}")))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(c_cve), Some(c_epss), Some(c_pct)) = (col("cve"), col("epss"), col("percentile"))
    else {
        return Err(bad(
            line_offset + 1,
            format!(
                "header {} lacks the columns cve, epss, percentile",
                shown(&headers.iter().collect::<Vec<_>>().join(","))
            ),
        ));
    };
    let mut n = 0;
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0) + line_offset;
            // The csv crate's own text carries its position again, counted without the
            // comment line: say what is wrong, with one line number.
            let what = match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => format!("{len} fields where the header has {expected_len}"),
                csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
                _ => "unreadable".to_string(),
            };
            bad(line, format!("malformed CSV: {what}"))
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0) + line_offset;
        let field = |i: usize, name: &str| {
            rec.get(i)
                .ok_or_else(|| bad(line, format!("missing column {name}")))
        };
        let id = field(c_cve, "cve")?;
        check_id(id).map_err(|e| bad(line, format!("cve {e}")))?;
        let num = |i: usize, name: &str| -> Result<f64> {
            let s = field(i, name)?;
            let v: f64 = s
                .parse()
                .map_err(|_| bad(line, format!("{name} {} is not a number", shown(s))))?;
            if !(0.0..=1.0).contains(&v) {
                return Err(bad(line, format!("{name} {v} is outside [0, 1]")));
            }
            Ok(v)
        };
        let score = num(c_epss, "epss")?;
        let percentile = num(c_pct, "percentile")?;
        sink.enrichment(
            id.to_string(),
            Format::Epss,
            Enrichment {
                epss: Some(Epss {
                    score,
                    percentile,
                    date: date.clone(),
                }),
                ..Enrichment::default()
            },
        )?;
        n += 1;
    }
    Ok(n)
}
