//! Reading feed inputs: files, directories (recursively), zip archives (osv.dev's
//! `all.zip`) and gzip files, with the format told by content, within size bounds.
//!
//! A path named explicitly must be a feed: an unrecognised shape is an error naming it.
//! Inside a directory or an archive, files whose names do not end in `.json`, `.csv`,
//! `.gz` or `.zip` are skipped (READMEs, YAML originals, licences), and JSON of an
//! unrecognised shape (a JSON schema beside the data) is skipped with a warning. Broken
//! content of a recognised format is always an error.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;

use patchline_model::vuln::{Advisory, Enrichment};

use crate::detect::{self, JsonFormat};
use crate::error::{Error, Origin, Result};
use crate::feed::{Format, Sink};
use crate::{alpine, cve5, debian, epss, kev, nvd, osv, parts};

/// Size bounds on untrusted input.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest single document (a JSON or CSV file, or a gzip's decompressed content).
    pub max_document: u64,
    /// Largest zip member, decompressed.
    pub max_member: u64,
    /// Largest decompressed/compressed ratio of a zip member over 1 MiB (zip bombs reach
    /// ~1000; feed JSON stays under ~30).
    pub max_ratio: u64,
    /// Largest total decompressed size of one archive.
    pub max_archive_total: u64,
    /// Most members in one archive.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_document: 512 << 20,
            max_member: 512 << 20,
            max_ratio: 200,
            max_archive_total: 64 << 30,
            max_entries: 10_000_000,
        }
    }
}

/// What an import read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// Files and archive members parsed as feeds.
    pub documents: usize,
    /// Files and members skipped (not feed-like names, unrecognised JSON).
    pub skipped: usize,
    /// Records per format (advisories for advisory feeds, CVEs for enrichment feeds).
    pub records: BTreeMap<Format, usize>,
}

impl ImportStats {
    pub fn advisories(&self) -> usize {
        self.records
            .iter()
            .filter(|(f, _)| is_advisory_format(**f))
            .map(|(_, n)| n)
            .sum()
    }
    pub fn enrichments(&self) -> usize {
        self.records
            .iter()
            .filter(|(f, _)| !is_advisory_format(**f))
            .map(|(_, n)| n)
            .sum()
    }
    pub fn add(&mut self, other: &ImportStats) {
        self.documents += other.documents;
        self.skipped += other.skipped;
        for (f, n) in &other.records {
            *self.records.entry(*f).or_default() += n;
        }
    }
}

fn is_advisory_format(f: Format) -> bool {
    matches!(
        f,
        Format::Osv | Format::DebianTracker | Format::AlpineSecdb | Format::OsvParts
    )
}

/// Imports a file or a directory tree into `sink`.
pub fn import_path(path: &Path, limits: &Limits, sink: &mut dyn Sink) -> Result<ImportStats> {
    let mut stats = ImportStats::default();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        walk(path, limits, sink, &mut stats)?;
    } else {
        import_file(path, false, limits, sink, &mut stats)?;
    }
    Ok(stats)
}

fn feed_like_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [".json", ".csv", ".gz", ".zip"]
        .iter()
        .any(|ext| n.ends_with(ext))
}

fn walk(dir: &Path, limits: &Limits, sink: &mut dyn Sink, stats: &mut ImportStats) -> Result<()> {
    let mut entries = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        entries.push(e.path());
    }
    // Sorted, so an import is reproducible and a later duplicate wins predictably.
    entries.sort();
    for p in entries {
        let lmeta = std::fs::symlink_metadata(&p).map_err(|e| Error::io(&p, e))?;
        if lmeta.is_dir() {
            walk(&p, limits, sink, stats)?;
            continue;
        }
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || !feed_like_name(&name) {
            stats.skipped += 1;
            continue;
        }
        if lmeta.file_type().is_symlink() {
            // A link to a file is read; a link to a directory is not followed (loops).
            match std::fs::metadata(&p) {
                Ok(m) if m.is_file() => {}
                _ => {
                    sink.warning(
                        &Origin::file(&p),
                        "symbolic link to a non-file: not followed".into(),
                    );
                    stats.skipped += 1;
                    continue;
                }
            }
        } else if !lmeta.is_file() {
            stats.skipped += 1;
            continue;
        }
        import_file(&p, true, limits, sink, stats)?;
    }
    Ok(())
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const ZIP_EMPTY_MAGIC: &[u8] = b"PK\x05\x06";
const GZIP_MAGIC: &[u8] = b"\x1f\x8b";

fn import_file(
    path: &Path,
    contained: bool,
    limits: &Limits,
    sink: &mut dyn Sink,
    stats: &mut ImportStats,
) -> Result<()> {
    let origin = Origin::file(path);
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut head = [0u8; 4];
    let n = read_up_to(&mut f, &mut head).map_err(|e| Error::io(path, e))?;
    let head = &head[..n];
    if head.starts_with(ZIP_MAGIC) || head.starts_with(ZIP_EMPTY_MAGIC) {
        f.rewind().map_err(|e| Error::io(path, e))?;
        return import_zip(&origin, f, limits, sink, stats);
    }
    if len > limits.max_document {
        return Err(Error::TooLarge {
            origin,
            message: format!(
                "{len} bytes is over the {} byte limit for one document",
                limits.max_document
            ),
        });
    }
    f.rewind().map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::with_capacity(len as usize);
    f.take(limits.max_document + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limits.max_document {
        return Err(too_large_document(&origin, limits));
    }
    import_document(&origin, &bytes, contained, true, limits, sink, stats)
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn too_large_document(origin: &Origin, limits: &Limits) -> Error {
    Error::TooLarge {
        origin: origin.clone(),
        message: format!(
            "over the {} byte limit for one document",
            limits.max_document
        ),
    }
}

/// What the archive-reading thread hands to the importing thread.
enum Msg {
    Advisory(Advisory),
    Enrichment(String, Format, Enrichment),
    Warning(Origin, String),
}

/// A [`Sink`] that forwards records to another thread.
struct ChannelSink(std::sync::mpsc::SyncSender<Msg>);

/// The receiving side is gone: it failed and its own error is the one to report.
fn receiver_gone(origin: &Origin) -> Error {
    Error::input(origin, "import stopped")
}

impl Sink for ChannelSink {
    fn advisory(&mut self, a: Advisory) -> Result<()> {
        self.0
            .send(Msg::Advisory(a))
            .map_err(|_| receiver_gone(&Origin::default()))
    }
    fn enrichment(&mut self, id: String, feed: Format, e: Enrichment) -> Result<()> {
        self.0
            .send(Msg::Enrichment(id, feed, e))
            .map_err(|_| receiver_gone(&Origin::default()))
    }
    fn warning(&mut self, origin: &Origin, message: String) {
        let _ = self.0.send(Msg::Warning(origin.clone(), message));
    }
}

/// Reads an archive on a second thread (inflate and parse) while this one stores the
/// records (serialize, compress, SQLite): the two halves cost about the same, so a bulk
/// import runs nearly twice as fast on two cores.
fn import_zip<R: Read + Seek + Send>(
    origin: &Origin,
    reader: R,
    limits: &Limits,
    sink: &mut dyn Sink,
    stats: &mut ImportStats,
) -> Result<()> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(512);
    std::thread::scope(|scope| {
        let reader_thread = scope.spawn(move || {
            let mut sink = ChannelSink(tx);
            let mut stats = ImportStats::default();
            read_zip(origin, reader, limits, &mut sink, &mut stats).map(|_| stats)
        });
        let mut store_err = None;
        for msg in rx.iter() {
            let r = match msg {
                Msg::Advisory(a) => sink.advisory(a),
                Msg::Enrichment(id, f, e) => sink.enrichment(id, f, e),
                Msg::Warning(o, m) => {
                    sink.warning(&o, m);
                    Ok(())
                }
            };
            if let Err(e) = r {
                store_err = Some(e);
                break;
            }
        }
        // Dropping the receiver stops the reader at its next record.
        drop(rx);
        let read = reader_thread
            .join()
            .unwrap_or_else(|_| Err(Error::input(origin, "the archive reader panicked")));
        if let Some(e) = store_err {
            return Err(e);
        }
        stats.add(&read?);
        Ok(())
    })
}

fn read_zip<R: Read + Seek>(
    origin: &Origin,
    reader: R,
    limits: &Limits,
    sink: &mut dyn Sink,
    stats: &mut ImportStats,
) -> Result<()> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| {
        Error::input(
            origin,
            format!("not a readable zip archive (truncated or corrupt?): {e}"),
        )
    })?;
    if zip.len() > limits.max_entries {
        return Err(Error::TooLarge {
            origin: origin.clone(),
            message: format!(
                "{} zip members is over the limit of {}",
                zip.len(),
                limits.max_entries
            ),
        });
    }
    let mut total: u64 = 0;
    let mut buf = Vec::new();
    // An osv.dev archive holds one format: once a member was OSV, the next ones are
    // parsed as OSV directly, and only one that does not parse as OSV is probed.
    let mut osv_seen = false;
    for i in 0..zip.len() {
        let mut member = zip
            .by_index(i)
            .map_err(|e| Error::input(origin, format!("zip member #{i}: unreadable: {e}")))?;
        if member.is_dir() {
            continue;
        }
        let name = member
            .name()
            .map_err(|e| Error::input(origin, format!("zip member #{i}: bad name: {e}")))?
            .into_owned();
        let morigin = origin.with_member(&name);
        let leaf = name.rsplit('/').next().unwrap_or(&name);
        if leaf.starts_with('.') || !feed_like_name(leaf) {
            stats.skipped += 1;
            continue;
        }
        let declared = member.size();
        let compressed = member.compressed_size().max(1);
        let bomb = |size: u64| size > (1 << 20) && size / compressed > limits.max_ratio;
        if declared > limits.max_member || bomb(declared) {
            return Err(Error::TooLarge {
                origin: morigin,
                message: format!(
                    "declares {declared} bytes from {compressed} compressed (limits: {} bytes, ratio {})",
                    limits.max_member, limits.max_ratio
                ),
            });
        }
        // The declared size may lie: the bounds hold on what is actually inflated.
        let bound = limits
            .max_member
            .min(compressed.saturating_mul(limits.max_ratio).max(1 << 20));
        buf.clear();
        (&mut member)
            .take(bound + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::input(&morigin, format!("unreadable zip member data: {e}")))?;
        if buf.len() as u64 > bound {
            return Err(Error::TooLarge {
                origin: morigin,
                message: format!(
                    "inflates past {bound} bytes from {compressed} compressed (zip bomb?)"
                ),
            });
        }
        total += buf.len() as u64;
        if total > limits.max_archive_total {
            return Err(Error::TooLarge {
                origin: morigin,
                message: format!(
                    "the archive inflates past {} bytes in total",
                    limits.max_archive_total
                ),
            });
        }
        drop(member);
        if buf.starts_with(ZIP_MAGIC) {
            return Err(Error::input(
                &morigin,
                "nested zip archives are not supported",
            ));
        }
        if osv_seen {
            if let Some(a) = osv::parse_if_osv(&morigin, &buf) {
                sink.advisory(a?)?;
                stats.documents += 1;
                *stats.records.entry(Format::Osv).or_default() += 1;
                continue;
            }
        }
        let before = stats.records.get(&Format::Osv).copied();
        import_document(&morigin, &buf, true, true, limits, sink, stats)?;
        osv_seen = stats.records.get(&Format::Osv).copied() != before;
    }
    Ok(())
}

/// Imports one in-memory document (JSON, CSV, or gzip of either) of any supported format.
/// Returns the format and the number of records it held. For the fuzzers and tools that
/// have bytes rather than files.
pub fn import_bytes(
    origin: &Origin,
    bytes: &[u8],
    limits: &Limits,
    sink: &mut dyn Sink,
) -> Result<ImportStats> {
    let mut stats = ImportStats::default();
    import_document(origin, bytes, false, true, limits, sink, &mut stats)?;
    Ok(stats)
}

fn import_document(
    origin: &Origin,
    bytes: &[u8],
    contained: bool,
    may_gunzip: bool,
    limits: &Limits,
    sink: &mut dyn Sink,
    stats: &mut ImportStats,
) -> Result<()> {
    if bytes.starts_with(GZIP_MAGIC) {
        if !may_gunzip {
            return Err(Error::input(origin, "gzip inside gzip is not supported"));
        }
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .take(limits.max_document + 1)
            .read_to_end(&mut out)
            .map_err(|e| Error::input(origin, format!("bad gzip data: {e}")))?;
        if out.len() as u64 > limits.max_document {
            return Err(too_large_document(origin, limits));
        }
        return import_document(origin, &out, contained, false, limits, sink, stats);
    }
    if bytes.starts_with(ZIP_MAGIC) {
        return Err(Error::input(
            origin,
            "a zip archive inside a gzip or zip is not supported",
        ));
    }
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let first = body.iter().copied().find(|b| !b.is_ascii_whitespace());
    let unknown = |detail: String, sink: &mut dyn Sink, stats: &mut ImportStats| {
        if contained {
            sink.warning(
                origin,
                format!("skipped: not a feed this version knows ({detail})"),
            );
            stats.skipped += 1;
            Ok(())
        } else {
            Err(Error::UnknownFormat {
                origin: origin.clone(),
                detail,
            })
        }
    };
    let (format, n) = match first {
        Some(b'{') | Some(b'[') => {
            let shape = detect::shape(body)
                .map_err(|e| Error::input(origin, format!("malformed JSON: {e}")))?;
            let jf = match detect::detect_json(&shape) {
                Ok(f) => f,
                Err(detail) => return unknown(detail, sink, stats),
            };
            match jf {
                JsonFormat::Osv => {
                    let a = osv::parse(origin, body)?;
                    sink.advisory(a)?;
                    (Format::Osv, 1)
                }
                JsonFormat::OsvList { wrapped } => {
                    (Format::Osv, osv::parse_list(origin, body, wrapped, sink)?)
                }
                JsonFormat::DebianTracker => {
                    (Format::DebianTracker, debian::parse(origin, body, sink)?)
                }
                JsonFormat::AlpineSecdb => {
                    (Format::AlpineSecdb, alpine::parse(origin, body, sink)?)
                }
                JsonFormat::Nvd(layout) => (Format::Nvd, nvd::parse(origin, body, layout, sink)?),
                JsonFormat::Cve5 => (Format::Cve5, cve5::parse(origin, body, sink)?),
                JsonFormat::Kev => (Format::Kev, kev::parse(origin, body, sink)?),
                JsonFormat::OsvParts => (Format::OsvParts, parts::parse(origin, body, sink)?),
            }
        }
        _ if epss::looks_like(body) => (Format::Epss, epss::parse(origin, body, sink)?),
        None => return unknown("an empty file".into(), sink, stats),
        _ => {
            let detail = if body.iter().take(512).any(|&b| b == 0) {
                "binary data".to_string()
            } else {
                let line: String = String::from_utf8_lossy(&body[..body.len().min(60)])
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                format!("text starting {line:?}")
            };
            return unknown(detail, sink, stats);
        }
    };
    stats.documents += 1;
    *stats.records.entry(format).or_default() += n;
    Ok(())
}
