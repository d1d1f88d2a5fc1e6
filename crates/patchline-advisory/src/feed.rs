//! What every importer produces, and where it goes.

use patchline_model::vuln::{Advisory, Enrichment};

use crate::error::{Origin, Result};

/// The feed formats patchline reads. The name ([`Format::as_str`]) is what
/// [`Advisory::source`] holds for advisories, and what the database records for
/// enrichment rows (it decides which feed wins when several describe the same CVE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// OSV JSON: one record, a JSON array of records, or osv.dev's `all.zip` members.
    Osv,
    /// security-tracker.debian.org/tracker/data/json.
    DebianTracker,
    /// secdb.alpinelinux.org `<release>/<repo>.json`.
    AlpineSecdb,
    /// NVD CVE API 2.0 responses (paged) or single CVE records.
    Nvd,
    /// CVE JSON 5.x records (cvelistV5).
    Cve5,
    /// CISA Known Exploited Vulnerabilities catalog JSON.
    Kev,
    /// FIRST EPSS scores CSV.
    Epss,
    /// osv.dev vulnfeeds intermediate "parts" JSON (per-CVE, per-distro affected lists).
    OsvParts,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Osv => "osv",
            Format::DebianTracker => "debian-tracker",
            Format::AlpineSecdb => "alpine-secdb",
            Format::Nvd => "nvd",
            Format::Cve5 => "cve5",
            Format::Kev => "kev",
            Format::Epss => "epss",
            Format::OsvParts => "osv-parts",
        }
    }

    pub fn from_name(s: &str) -> Option<Format> {
        Some(match s {
            "osv" => Format::Osv,
            "debian-tracker" => Format::DebianTracker,
            "alpine-secdb" => Format::AlpineSecdb,
            "nvd" => Format::Nvd,
            "cve5" => Format::Cve5,
            "kev" => Format::Kev,
            "epss" => Format::Epss,
            "osv-parts" => Format::OsvParts,
            _ => return None,
        })
    }

    /// Rank of an enrichment feed when several describe one CVE: lower wins for CVSS
    /// vectors and the description. NVD is the reference scorer; CVE 5 carries the CNA's
    /// own (and CISA ADP's) vectors; KEV only a short description.
    pub(crate) fn enrichment_rank(self) -> u8 {
        match self {
            Format::Nvd => 0,
            Format::Cve5 => 1,
            Format::Kev => 2,
            Format::Epss => 3,
            _ => 4,
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Receives the records of a feed as they are parsed. The database writer is one; a
/// [`Collected`] buffer is another (tests, tools).
pub trait Sink {
    fn advisory(&mut self, advisory: Advisory) -> Result<()>;
    /// Facts about `id` (a CVE) from an enrichment feed.
    fn enrichment(&mut self, id: String, feed: Format, enrichment: Enrichment) -> Result<()>;
    /// Something was skipped or looked odd, but the input is still usable.
    fn warning(&mut self, origin: &Origin, message: String);
}

/// A [`Sink`] that keeps everything in memory.
#[derive(Debug, Default)]
pub struct Collected {
    pub advisories: Vec<Advisory>,
    pub enrichments: Vec<(String, Format, Enrichment)>,
    pub warnings: Vec<String>,
}

impl Sink for Collected {
    fn advisory(&mut self, advisory: Advisory) -> Result<()> {
        self.advisories.push(advisory);
        Ok(())
    }
    fn enrichment(&mut self, id: String, feed: Format, enrichment: Enrichment) -> Result<()> {
        self.enrichments.push((id, feed, enrichment));
        Ok(())
    }
    fn warning(&mut self, origin: &Origin, message: String) {
        self.warnings.push(format!("{origin}: {message}"));
    }
}
