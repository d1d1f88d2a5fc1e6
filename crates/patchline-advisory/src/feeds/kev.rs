//! CISA's Known Exploited Vulnerabilities catalog JSON
//! (<https://www.cisa.gov/known-exploited-vulnerabilities-catalog>):
//! `{catalogVersion, dateReleased, count, vulnerabilities: [{cveID, dateAdded, dueDate,
//! knownRansomwareCampaignUse, shortDescription, …}]}`. Each entry becomes an
//! [`Enrichment`] with [`Enrichment::kev`] set (and the short description, used when no
//! NVD or CVE 5 description is known).

use patchline_model::vuln::{Enrichment, Kev};
use serde::Deserialize;

use super::{Document, Download, Feed, Format, Sink, Yields};
use crate::error::{json_error, Origin, Result};
use crate::util::{check_id, nullable};

/// CISA's KEV catalog, the default source `kev`.
pub const KEV_URL: &str =
    "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json";

/// The Known Exploited Vulnerabilities catalog.
pub struct KevFeed;

impl Feed for KevFeed {
    fn format(&self) -> Format {
        Format::Kev
    }
    fn title(&self) -> &'static str {
        "CISA KEV JSON"
    }
    fn yields(&self) -> Yields {
        Yields::Enrichment
    }
    fn detect(&self, doc: &Document<'_>) -> bool {
        doc.json()
            .is_some_and(|s| s.is_object && s.has("catalogVersion") && s.has("vulnerabilities"))
    }
    fn parse(&self, origin: &Origin, doc: &Document<'_>, sink: &mut dyn Sink) -> Result<usize> {
        parse(origin, doc.bytes(), sink)
    }
    /// Only a short description: after NVD and CVE 5.
    fn enrichment_rank(&self) -> u8 {
        2
    }
    fn downloads(&self) -> Vec<Download> {
        vec![Download {
            name: Format::Kev.as_str().into(),
            url: KEV_URL.into(),
        }]
    }
}

#[derive(Deserialize)]
struct Catalog {
    vulnerabilities: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(rename = "cveID")]
    cve_id: String,
    date_added: String,
    #[serde(default, deserialize_with = "nullable")]
    due_date: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    known_ransomware_campaign_use: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    short_description: Option<String>,
}

fn parse(origin: &Origin, bytes: &[u8], sink: &mut dyn Sink) -> Result<usize> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let cat: Catalog = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| json_error(origin, "CISA KEV catalog JSON", e))?;
    let n = cat.vulnerabilities.len();
    for (i, v) in cat.vulnerabilities.into_iter().enumerate() {
        check_id(&v.cve_id).map_err(|e| {
            crate::Error::input(origin, format!("field `vulnerabilities[{i}].cveID`: {e}"))
        })?;
        if v.date_added.trim().is_empty() {
            return Err(crate::Error::input(
                origin,
                format!("field `vulnerabilities[{i}].dateAdded`: is empty"),
            ));
        }
        let e = Enrichment {
            cvss: Vec::new(),
            kev: Some(Kev {
                date_added: v.date_added,
                due_date: v.due_date,
                known_ransomware_campaign_use: v.known_ransomware_campaign_use,
            }),
            epss: None,
            description: v.short_description.filter(|s| !s.trim().is_empty()),
        };
        sink.enrichment(v.cve_id, Format::Kev, e)?;
    }
    Ok(n)
}
