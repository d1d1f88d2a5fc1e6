//! The feeds patchline reads: one module per source format, each a [`Feed`], all listed
//! once in [`FEEDS`]; and what every feed's parser produces, and where it goes ([`Sink`]).
//!
//! A feed knows its name ([`Format`]), whether it yields advisories or enrichment, the
//! file names a directory or archive walk reads for it, how to recognise its documents
//! by content, how to parse them into the OSV-shaped model, and the official download(s)
//! `db update` fetches for it. [`crate::input`] (what to read, size bounds, gzip and zip),
//! and [`crate::update`] (downloads, the default set) only iterate [`FEEDS`]: a new feed
//! is one module here plus one line in the table.
//!
//! Recognition is by content, never by file name alone: a JSON document is scanned once
//! for its shape (its keys, three levels deep, without building it) and every feed is
//! asked; exactly one must claim it. Two claims are reported as an unrecognised document
//! ("ambiguous"), never resolved by table order, so the order of [`FEEDS`] is only the
//! order `db sources` lists the downloads in.

use patchline_model::vuln::{Advisory, Enrichment};

use crate::detect::Shape;
use crate::error::{Error, Origin, Result};

pub mod alpine;
pub mod cve5;
pub mod debian;
pub mod epss;
pub mod kev;
pub mod nvd;
pub mod osv;
pub mod parts;

/// Every feed patchline reads, once. The order is the order of `db sources`.
pub static FEEDS: &[&dyn Feed] = &[
    &osv::OsvFeed,
    &debian::TrackerFeed,
    &alpine::SecdbFeed,
    &parts::PartsFeed,
    &nvd::NvdFeed,
    &cve5::Cve5Feed,
    &kev::KevFeed,
    &epss::EpssFeed,
];

/// One feed format: how to recognise, parse and download it.
pub trait Feed: Sync {
    /// The feed's identity. Its name ([`Format::as_str`]) is what [`Advisory::source`]
    /// holds and what the database records for enrichment rows.
    fn format(&self) -> Format;

    /// What the format is, for people (`Debian security tracker JSON`).
    fn title(&self) -> &'static str;

    /// Advisories (affected packages) or enrichment (facts about a CVE).
    fn yields(&self) -> Yields;

    /// File-name extensions (without the dot, lowercase) a directory or archive walk
    /// reads for this feed; gzip and zip wrappers are [`crate::input`]'s.
    fn extensions(&self) -> &'static [&'static str] {
        &["json"]
    }

    /// Is `doc` in this feed's format? Decided from the content (the JSON shape or the
    /// first bytes); the name is there for feeds whose records need it.
    fn detect(&self, doc: &Document<'_>) -> bool;

    /// Parses a document [`Feed::detect`] accepted into `sink`; returns the number of
    /// records (advisories, or CVEs for enrichment feeds).
    fn parse(&self, origin: &Origin, doc: &Document<'_>, sink: &mut dyn Sink) -> Result<usize>;

    /// Parses `bytes` without probing, when the feed can tell cheaply that they are its
    /// own: the next member of an archive whose previous member was this feed's (osv.dev's
    /// `all.zip` holds one format). `None`: probe it as any document.
    fn parse_unprobed(
        &self,
        _origin: &Origin,
        _bytes: &[u8],
        _sink: &mut dyn Sink,
    ) -> Option<Result<usize>> {
        None
    }

    /// Rank of an enrichment feed when several describe one CVE: lower wins for CVSS
    /// vectors and the description.
    fn enrichment_rank(&self) -> u8 {
        u8::MAX
    }

    /// The official downloads `db update` knows for this feed, each one source. Every
    /// built-in download follows the same rules ([`crate::update`]): a conditional GET
    /// (ETag / Last-Modified from the previous fetch), resumed with `Range` after an
    /// interruption, on every run; whether a download is in the default set is decided
    /// in one place, [`crate::update::default_source_names`].
    fn downloads(&self) -> Vec<Download> {
        Vec::new()
    }
}

/// Does a feed yield advisories or enrichment?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Yields {
    /// Affected packages with versions ranges or distro verdicts ([`Advisory`]).
    Advisories,
    /// CVSS, KEV, EPSS, description, keyed by CVE ([`Enrichment`]).
    Enrichment,
}

/// A source `db update` can download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Download {
    /// The source's name (`osv-Alpine`, `debian-tracker`): what `--source` and the
    /// registry's `feeds` say.
    pub name: String,
    pub url: String,
}

/// A document to recognise and parse: its bytes (gzip already undone, without a UTF-8
/// byte order mark), its file or archive member name, and the shape of its JSON.
pub struct Document<'a> {
    name: &'a str,
    bytes: &'a [u8],
    json: Option<Shape>,
}

impl<'a> Document<'a> {
    /// Reads the shape of `bytes` when they are JSON (they start with `{` or `[`); JSON
    /// that does not parse is an error, whatever the feed.
    pub(crate) fn new(origin: &'a Origin, bytes: &'a [u8]) -> Result<Document<'a>> {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
        let json = match first {
            Some(b'{' | b'[') => Some(
                crate::detect::shape(bytes)
                    .map_err(|e| Error::input(origin, format!("malformed JSON: {e}")))?,
            ),
            _ => None,
        };
        Ok(Document {
            name: origin.leaf_name(),
            bytes,
            json,
        })
    }

    /// The file or archive member name, without directories.
    pub fn name(&self) -> &str {
        self.name
    }

    pub fn bytes(&self) -> &[u8] {
        self.bytes
    }

    pub(crate) fn json(&self) -> Option<&Shape> {
        self.json.as_ref()
    }

    /// What the document looked like, for an "unrecognised" message.
    fn describe(&self) -> String {
        if let Some(s) = &self.json {
            return crate::detect::describe(s);
        }
        let body = self.bytes;
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            "an empty file".to_string()
        } else if body.iter().take(512).any(|&b| b == 0) {
            "binary data".to_string()
        } else {
            let line: String = String::from_utf8_lossy(&body[..body.len().min(60)])
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            format!("text starting {line:?}")
        }
    }
}

/// The feed of `doc`: the one feed that claims it, or a description of what it looked
/// like (nobody claimed it, or several did).
pub(crate) fn detect(doc: &Document<'_>) -> std::result::Result<&'static dyn Feed, String> {
    let mut claims = FEEDS.iter().copied().filter(|f| f.detect(doc));
    match (claims.next(), claims.next()) {
        (Some(f), None) => Ok(f),
        (None, _) => Err(doc.describe()),
        (Some(a), Some(b)) => Err(format!(
            "ambiguous: it looks like both {} and {}",
            a.title(),
            b.title()
        )),
    }
}

/// The formats that claim a document (exactly one for every real feed file): for tools
/// and tests that want to know what a file is without importing it.
pub fn claimants(name: &str, bytes: &[u8]) -> Result<Vec<Format>> {
    let origin = Origin {
        file: name.to_string(),
        member: None,
    };
    let doc = Document::new(&origin, bytes)?;
    Ok(FEEDS
        .iter()
        .filter(|f| f.detect(&doc))
        .map(|f| f.format())
        .collect())
}

/// The feed of a format.
pub fn by_format(format: Format) -> &'static dyn Feed {
    FEEDS
        .iter()
        .copied()
        .find(|f| f.format() == format)
        .expect("every format has its feed in FEEDS (a unit test checks it)")
}

/// Does a file or archive member of this name get read in a directory or archive walk?
pub(crate) fn feed_like_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let Some((_, ext)) = n.rsplit_once('.') else {
        return false;
    };
    crate::input::CONTAINER_EXTENSIONS.contains(&ext)
        || FEEDS.iter().any(|f| f.extensions().contains(&ext))
}

/// The file extensions read inside directories, for messages: `.json, .csv, ...`.
pub(crate) fn extension_list() -> String {
    let mut exts: Vec<&str> = FEEDS
        .iter()
        .flat_map(|f| f.extensions().iter().copied())
        .collect();
    exts.extend(crate::input::CONTAINER_EXTENSIONS);
    exts.sort();
    exts.dedup();
    exts.iter()
        .map(|e| format!(".{e}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The formats the feeds read, for messages: `OSV JSON, …, CISA KEV JSON or an EPSS CSV`.
pub(crate) fn titles() -> String {
    let t: Vec<&str> = FEEDS.iter().map(|f| f.title()).collect();
    match t.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => t.join(""),
    }
}

/// The feed formats patchline reads, one per [`Feed`]. The name ([`Format::as_str`]) is
/// what [`Advisory::source`] holds for advisories, and what the database records for
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
        FEEDS.iter().map(|f| f.format()).find(|f| f.as_str() == s)
    }

    /// Does the format yield advisories (rather than enrichment)?
    pub fn is_advisory(self) -> bool {
        by_format(self).yields() == Yields::Advisories
    }

    /// See [`Feed::enrichment_rank`].
    pub(crate) fn enrichment_rank(self) -> u8 {
        by_format(self).enrichment_rank()
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

#[cfg(test)]
mod tests;
