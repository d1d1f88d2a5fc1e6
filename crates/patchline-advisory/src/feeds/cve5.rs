//! CVE JSON 5.x records (<https://github.com/CVEProject/cve-schema>, as in cvelistV5):
//! `{dataType: "CVE_RECORD", cveMetadata: {cveId, state}, containers: {cna, adp: […]}}`.
//!
//! Each published record becomes an [`Enrichment`]: the CNA's English description and
//! one CVSS vector per version family, the CNA's own preferred over the ADPs' (CISA's
//! "Vulnrichment" adds vectors the CNA did not give). Rejected records carry no facts and
//! are skipped.

use patchline_model::vuln::{Enrichment, SeverityScore};
use serde::Deserialize;

use super::nvd::{english, LangString};
use super::{Document, Feed, Format, Sink, Yields};
use crate::error::{json_error, Origin, Result};
use crate::util::{check_id, nullable};

/// CVE records as the CVE Program publishes them. No built-in download (cvelistV5 is a
/// git repository); import records or a directory of them with `db import`.
pub struct Cve5Feed;

impl Feed for Cve5Feed {
    fn format(&self) -> Format {
        Format::Cve5
    }
    fn title(&self) -> &'static str {
        "CVE JSON 5"
    }
    fn yields(&self) -> Yields {
        Yields::Enrichment
    }
    fn detect(&self, doc: &Document<'_>) -> bool {
        doc.json().is_some_and(|s| {
            s.is_object && (s.has("cveMetadata") || s.string("dataType") == Some("CVE_RECORD"))
        })
    }
    fn parse(&self, origin: &Origin, doc: &Document<'_>, sink: &mut dyn Sink) -> Result<usize> {
        parse(origin, doc.bytes(), sink)
    }
    /// The CNA's own (and CISA ADP's) vectors: after NVD's.
    fn enrichment_rank(&self) -> u8 {
        1
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    cve_metadata: Metadata,
    containers: Containers,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    cve_id: String,
    #[serde(default, deserialize_with = "nullable")]
    state: Option<String>,
}

#[derive(Deserialize)]
struct Containers {
    cna: Container,
    #[serde(default, deserialize_with = "nullable")]
    adp: Vec<Container>,
}

#[derive(Deserialize, Default)]
struct Container {
    #[serde(default, deserialize_with = "nullable")]
    descriptions: Vec<LangString>,
    #[serde(default, deserialize_with = "nullable")]
    metrics: Vec<Metric>,
}

#[derive(Deserialize)]
struct Metric {
    #[serde(rename = "cvssV2_0", default, deserialize_with = "nullable")]
    v2: Option<Vector>,
    #[serde(rename = "cvssV3_0", default, deserialize_with = "nullable")]
    v30: Option<Vector>,
    #[serde(rename = "cvssV3_1", default, deserialize_with = "nullable")]
    v31: Option<Vector>,
    #[serde(rename = "cvssV4_0", default, deserialize_with = "nullable")]
    v40: Option<Vector>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vector {
    vector_string: String,
}

/// Returns 1 when the record was imported, 0 when it was skipped (rejected).
fn parse(origin: &Origin, bytes: &[u8], sink: &mut dyn Sink) -> Result<usize> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let rec: Record = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| json_error(origin, "CVE JSON 5 record", e))?;
    let id = rec.cve_metadata.cve_id;
    check_id(&id)
        .map_err(|e| crate::Error::input(origin, format!("field `cveMetadata.cveId`: {e}")))?;
    if rec.cve_metadata.state.as_deref() == Some("REJECTED") {
        return Ok(0);
    }
    let mut cvss: Vec<SeverityScore> = Vec::new();
    let containers = std::iter::once(&rec.containers.cna).chain(rec.containers.adp.iter());
    for c in containers {
        for m in &c.metrics {
            let found = [
                ("CVSS_V2", &m.v2),
                ("CVSS_V3", &m.v31),
                ("CVSS_V3", &m.v30),
                ("CVSS_V4", &m.v40),
            ];
            for (kind, v) in found {
                if let Some(v) = v {
                    if !v.vector_string.trim().is_empty() && !cvss.iter().any(|s| s.kind == kind) {
                        cvss.push(SeverityScore {
                            kind: kind.into(),
                            score: v.vector_string.clone(),
                        });
                    }
                }
            }
        }
    }
    let description = english(&rec.containers.cna.descriptions);
    sink.enrichment(
        id,
        Format::Cve5,
        Enrichment {
            cvss,
            kev: None,
            epss: None,
            description,
        },
    )?;
    Ok(1)
}
