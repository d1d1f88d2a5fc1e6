//! NVD CVE API 2.0 JSON (<https://nvd.nist.gov/developers/vulnerabilities>): paged
//! responses (`{resultsPerPage, …, vulnerabilities: [{cve: {…}}]}`), single wrapped
//! records (`{cve: {…}}`) and bare CVE objects.
//!
//! Each CVE becomes an [`Enrichment`]: its English description and at most one CVSS
//! vector per version family (`CVSS_V2`, `CVSS_V3` from v3.1 or else v3.0, `CVSS_V4`),
//! the `Primary` (NVD's own) metric preferred over `Secondary` (CNA) ones. NVD also
//! copies CISA's KEV dates (`cisaExploitAdd`, `cisaActionDue`): they fill
//! [`Enrichment::kev`] when the KEV catalog itself is not imported.

use patchline_model::vuln::{Enrichment, Kev, SeverityScore};
use serde::Deserialize;

use super::{Document, Feed, Format, Sink, Yields};
use crate::detect::Shape;
use crate::error::{json_error, Origin, Result};
use crate::util::{check_id, nullable};

/// NVD's CVE API. No built-in download: the API is paged and rate-limited and serves no
/// bulk file; import its responses with `db import` (or point a custom `NAME=URL` source
/// at a mirror that serves one file).
pub struct NvdFeed;

impl Feed for NvdFeed {
    fn format(&self) -> Format {
        Format::Nvd
    }
    fn title(&self) -> &'static str {
        "NVD CVE API 2.0 JSON"
    }
    fn yields(&self) -> Yields {
        Yields::Enrichment
    }
    fn detect(&self, doc: &Document<'_>) -> bool {
        doc.json().and_then(layout).is_some()
    }
    fn parse(&self, origin: &Origin, doc: &Document<'_>, sink: &mut dyn Sink) -> Result<usize> {
        let layout = doc.json().and_then(layout).unwrap_or(Layout::Bare);
        parse(origin, doc.bytes(), layout, sink)
    }
    /// NVD is the reference scorer: its CVSS vectors and description win.
    fn enrichment_rank(&self) -> u8 {
        0
    }
}

/// How a document holds its CVE records, when it is NVD's.
fn layout(s: &Shape) -> Option<Layout> {
    if !s.is_object {
        return None;
    }
    if s.has("vulnerabilities")
        && (s.string("format") == Some("NVD_CVE") || s.has("resultsPerPage"))
    {
        return Some(Layout::Page);
    }
    if s.has("cve") && s.keys.len() <= 4 {
        return Some(Layout::Wrapped);
    }
    if s.has("id") && s.has("sourceIdentifier") && (s.has("metrics") || s.has("descriptions")) {
        return Some(Layout::Bare);
    }
    None
}

/// How the document holds its CVE records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// `{…, vulnerabilities: [{cve: {…}}]}`
    Page,
    /// `{cve: {…}}`
    Wrapped,
    /// `{id, sourceIdentifier, …}`
    Bare,
}

#[derive(Deserialize)]
struct Page {
    vulnerabilities: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    cve: Box<NvdCve>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NvdCve {
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    descriptions: Vec<LangString>,
    #[serde(default, deserialize_with = "nullable")]
    metrics: Metrics,
    #[serde(default, deserialize_with = "nullable")]
    cisa_exploit_add: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    cisa_action_due: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct LangString {
    #[serde(default, deserialize_with = "nullable")]
    pub lang: String,
    pub value: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Metrics {
    #[serde(default, deserialize_with = "nullable")]
    cvss_metric_v2: Vec<Metric>,
    #[serde(default, deserialize_with = "nullable")]
    cvss_metric_v30: Vec<Metric>,
    #[serde(default, deserialize_with = "nullable")]
    cvss_metric_v31: Vec<Metric>,
    #[serde(default, deserialize_with = "nullable")]
    cvss_metric_v40: Vec<Metric>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metric {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    kind: Option<String>,
    cvss_data: CvssData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CvssData {
    vector_string: String,
}

fn parse(origin: &Origin, bytes: &[u8], layout: Layout, sink: &mut dyn Sink) -> Result<usize> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let err = |e| json_error(origin, "NVD CVE API 2.0 JSON", e);
    let cves: Vec<Box<NvdCve>> = match layout {
        Layout::Page => {
            let p: Page = serde_path_to_error::deserialize(&mut de).map_err(err)?;
            p.vulnerabilities.into_iter().map(|i| i.cve).collect()
        }
        Layout::Wrapped => {
            let i: Item = serde_path_to_error::deserialize(&mut de).map_err(err)?;
            vec![i.cve]
        }
        Layout::Bare => {
            let c: NvdCve = serde_path_to_error::deserialize(&mut de).map_err(err)?;
            vec![Box::new(c)]
        }
    };
    let n = cves.len();
    for (i, cve) in cves.into_iter().enumerate() {
        check_id(&cve.id).map_err(|e| {
            crate::Error::input(origin, format!("field `vulnerabilities[{i}].cve.id`: {e}"))
        })?;
        let mut cvss = Vec::new();
        if let Some(v) = pick(&cve.metrics.cvss_metric_v2) {
            cvss.push(score("CVSS_V2", v));
        }
        let v3 = pick(&cve.metrics.cvss_metric_v31).or_else(|| pick(&cve.metrics.cvss_metric_v30));
        if let Some(v) = v3 {
            cvss.push(score("CVSS_V3", v));
        }
        if let Some(v) = pick(&cve.metrics.cvss_metric_v40) {
            cvss.push(score("CVSS_V4", v));
        }
        let kev = cve.cisa_exploit_add.clone().map(|date_added| Kev {
            date_added,
            due_date: cve.cisa_action_due.clone(),
            known_ransomware_campaign_use: None,
        });
        let e = Enrichment {
            cvss,
            kev,
            epss: None,
            description: english(&cve.descriptions),
        };
        sink.enrichment(cve.id, Format::Nvd, e)?;
    }
    Ok(n)
}

/// The vector of the `Primary` metric, else of the first one.
fn pick(metrics: &[Metric]) -> Option<&str> {
    metrics
        .iter()
        .find(|m| m.kind.as_deref() == Some("Primary"))
        .or_else(|| metrics.first())
        .map(|m| m.cvss_data.vector_string.as_str())
        .filter(|v| !v.trim().is_empty())
}

fn score(kind: &str, vector: &str) -> SeverityScore {
    SeverityScore {
        kind: kind.into(),
        score: vector.into(),
    }
}

/// The English text among several languages (`en`, `en-US`), else the first.
pub(crate) fn english(list: &[LangString]) -> Option<String> {
    list.iter()
        .find(|d| d.lang == "en" || d.lang.starts_with("en-") || d.lang.starts_with("en_"))
        .or_else(|| list.first())
        .map(|d| d.value.trim().to_string())
        .filter(|s| !s.is_empty())
}
